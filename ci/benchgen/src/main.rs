//! `osect-benchgen`: writes the benchmark's captures (see `ci/bench`).

use clap::{Parser, Subcommand};
use osect_benchgen::{cases, write_flood, write_poll_burst, Base};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The corpus captures (Ethernet ones, `<case>/trace.pcap*` directly
    /// under CORPUS) repeated until both minimums are reached.
    Mix {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 5_000_000)]
        min_packets: u64,
        #[arg(long, default_value_t = 200_000)]
        min_flows: u64,
        /// Cases whose name starts with this are left out (link-layer and
        /// tunnel oddities rather than plant traffic).
        #[arg(long, default_value = "zeek-core-")]
        exclude_prefix: String,
        /// Only cases whose name starts with one of these (repeatable; none:
        /// every case), e.g. the industrial ones: icsnpp- and nttcom-.
        #[arg(long)]
        include_prefix: Vec<String>,
        /// Start a repetition every this many seconds, side by side with
        /// the ones before (a dense capture); default: each after the last.
        #[arg(long)]
        every_secs: Option<f64>,
    },
    /// PACKETS frames between random addresses and ports.
    Flood {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        packets: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// A Modbus/TCP master polling a PLC REQUESTS times (each answered)
    /// within SECS seconds of one minute: a burst of cyclic operations in
    /// one interval.
    PollBurst {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        requests: u64,
        #[arg(long, default_value_t = 50)]
        secs: u64,
        /// Distinct values each register answers with (1 to 65,536): the
        /// folded rows are 8 times this many.
        #[arg(long, default_value_t = 4)]
        values: u32,
    },
}

fn create(path: &Path) -> Result<File, String> {
    File::create(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Mix {
            corpus,
            out,
            min_packets,
            min_flows,
            exclude_prefix,
            include_prefix,
            every_secs,
        } => {
            let files = cases(&corpus, &include_prefix, &exclude_prefix)?;
            let (base, skipped) = Base::load(&files)?;
            if base.packets() == 0 {
                return Err(format!("no Ethernet captures under {}", corpus.display()));
            }
            let by_packets = min_packets.div_ceil(base.packets() as u64);
            let by_flows = min_flows.div_ceil(base.flows.max(1) as u64);
            let reps = by_packets.max(by_flows).max(1);
            let file = create(&out)?;
            let w = match every_secs {
                Some(s) => base.write_spaced(reps, (s * 1e6) as i64, file),
                None => base.write_repeated(reps, file),
            }
            .map_err(|e| format!("{}: {e}", out.display()))?;
            println!(
                "mix: {} captures ({} skipped: not Ethernet), {} packets, {} flows, {} bytes per repetition; \
                 {reps} repetitions -> {} packets, ~{} flows, {} bytes in {}",
                base.files,
                skipped.len(),
                base.packets(),
                base.flows,
                base.bytes,
                w.packets,
                reps * base.flows as u64,
                w.bytes,
                out.display()
            );
        }
        Cmd::Flood { out, packets, seed } => {
            let w = write_flood(packets, seed, create(&out)?)
                .map_err(|e| format!("{}: {e}", out.display()))?;
            println!(
                "flood: {} packets, {} bytes in {}",
                w.packets,
                w.bytes,
                out.display()
            );
        }
        Cmd::PollBurst {
            out,
            requests,
            secs,
            values,
        } => {
            let w = write_poll_burst(requests, secs, values, create(&out)?)
                .map_err(|e| format!("{}: {e}", out.display()))?;
            println!(
                "poll burst: {requests} Modbus requests and their responses in {secs} s, \
                 {values} values a register, {} packets, {} bytes in {}",
                w.packets,
                w.bytes,
                out.display()
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("osect-benchgen: {e}");
            ExitCode::FAILURE
        }
    }
}
