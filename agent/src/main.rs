use clap::{Parser, Subcommand};
use osect_agent::config::Config;
use osect_agent::replay::{self, ReplayOptions};
use osect_wire::Format;
use std::path::PathBuf;
use std::process::ExitCode;

/// osect-agent: passive OT network sensor.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Read pcap/pcapng files and write Zeek-compatible logs.
    Replay {
        /// Capture files, processed in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory for the log files.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "tsv")]
        format: Format,
        /// Analyse packets with bad checksums too (Zeek's -C).
        #[arg(long)]
        ignore_checksums: bool,
        /// Close an interval every SECS seconds of capture time.
        #[arg(long, value_name = "SECS")]
        interval: Option<u64>,
        /// Connection and address records only: no application parsers.
        #[arg(long)]
        no_app: bool,
        /// Agent configuration (limits); defaults otherwise.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also write the uplink batches `run --pcap` would send for these
        /// files (one `<seq>.osb` per interval) into this directory.
        #[arg(long, value_name = "DIR")]
        batch_out: Option<PathBuf>,
    },
    /// Capture (or read --pcap files), batch, spool and send to the collector.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Read capture files instead of the live interface.
        #[arg(long)]
        pcap: Vec<PathBuf>,
        /// Pace of --pcap: `max` or a factor of the recorded pace.
        #[arg(long, default_value = "max")]
        speed: osect_agent::run::Speed,
        /// After the input ends or SIGTERM, seconds the uplink may keep
        /// sending the spool.
        #[arg(long, default_value_t = 10)]
        drain_secs: u64,
    },
    /// Send one test batch to the collector and wait for its acknowledgement.
    Selftest {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
    },
    /// Check a configuration file and print it as understood.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
}

fn load(path: Option<&PathBuf>) -> Result<Config, String> {
    match path {
        Some(p) => Config::load(p).map_err(|e| e.to_string()),
        None => Ok(Config::default()),
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Replay {
            files,
            out,
            format,
            ignore_checksums,
            interval,
            no_app,
            config,
            batch_out,
        } => load(config.as_ref()).and_then(|mut cfg| {
            if let Some(dir) = &batch_out {
                if let Some(iv) = interval {
                    cfg.batch.interval_secs = iv.max(1);
                }
                let n = osect_agent::run::write_batches(&cfg, &files, dir)?;
                println!("{n} batches -> {}", dir.display());
            }
            let opts = ReplayOptions {
                out: out.clone(),
                format,
                ignore_checksums,
                interval_secs: interval,
                app_layer: !no_app,
            };
            replay::replay(&files, &cfg, &opts)
                .map(|s| print!("{}", replay::describe(&s, &out)))
                .map_err(|e| e.to_string())
        }),
        Cmd::Run {
            config,
            pcap,
            speed,
            drain_secs,
        } => load(Some(&config)).and_then(|cfg| {
            let opts = osect_agent::run::RunOptions {
                pcap,
                speed,
                drain: std::time::Duration::from_secs(drain_secs),
            };
            osect_agent::run::run(&cfg, &opts)
                .map(|s| {
                    println!(
                        "{} batches closed, {} left in the spool",
                        s.batches_closed, s.spool_left
                    )
                })
                .map_err(|e| e.to_string())
        }),
        Cmd::Selftest {
            config,
            timeout_secs,
        } => load(Some(&config)).and_then(|cfg| {
            osect_agent::selftest::selftest(&cfg, std::time::Duration::from_secs(timeout_secs))
                .map(|rtt| println!("selftest ok: batch acknowledged in {} ms", rtt.as_millis()))
                .map_err(|e| e.to_string())
        }),
        Cmd::CheckConfig { config } => load(Some(&config)).map(|c| println!("{c:#?}")),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("osect-agent: {e}");
            ExitCode::FAILURE
        }
    }
}
