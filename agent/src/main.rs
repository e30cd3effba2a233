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
        } => load(config.as_ref()).and_then(|cfg| {
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
