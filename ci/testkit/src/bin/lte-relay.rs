//! `lte-relay`: an LTE-like UDP link between the agent and the collector
//! (see `osect_testkit::relay`). Reads `down`, `up`, `rebind` and `stats`
//! commands, one per line, on stdin; prints its counters on `stats` and at
//! the end of stdin.
use clap::Parser;
use osect_testkit::relay::{Command, Counters, Impairments, Relay};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

#[derive(Parser)]
#[command(about)]
struct Args {
    /// Where the agent sends.
    #[arg(long)]
    listen: SocketAddr,
    /// The collector.
    #[arg(long)]
    upstream: SocketAddr,
    /// One-way delay range in ms, `MIN-MAX`.
    #[arg(long, default_value = "50-400")]
    delay_ms: String,
    /// Long-run loss fraction (in bursts).
    #[arg(long, default_value_t = 0.05)]
    loss: f64,
    /// Mean loss burst length, in datagrams.
    #[arg(long, default_value_t = 3.0)]
    burst: f64,
    #[arg(long, default_value_t = 0.02)]
    reorder: f64,
    /// Rate per direction in kbit/s (0: unlimited).
    #[arg(long, default_value_t = 1000)]
    rate_kbit: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Upstream source addresses to cycle through on rebind.
    #[arg(long, value_delimiter = ',')]
    source_ips: Vec<IpAddr>,
    /// Scheduled outages, `START+SECS` after start (repeatable).
    #[arg(long)]
    outage: Vec<String>,
    /// Rebind the upstream socket every this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    rebind_every: u64,
}

fn pair(s: &str, sep: char) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once(sep)
        .ok_or_else(|| format!("{s:?}: expected A{sep}B"))?;
    Ok((
        a.parse().map_err(|_| format!("{s:?}: bad number"))?,
        b.parse().map_err(|_| format!("{s:?}: bad number"))?,
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let a = Args::parse();
    let (dmin, dmax) = pair(&a.delay_ms, '-')?;
    let imp = Impairments {
        delay_min: Duration::from_millis(dmin),
        delay_max: Duration::from_millis(dmax),
        loss: a.loss,
        burst: a.burst,
        reorder: a.reorder,
        rate_bps: a.rate_kbit * 1000,
        seed: a.seed,
        ..Impairments::default()
    };
    eprintln!("lte-relay {} -> {}: {imp:?}", a.listen, a.upstream);
    let counters = Arc::new(Counters::default());
    let relay = Relay {
        listen: a.listen,
        upstream: a.upstream,
        imp,
        source_ips: a.source_ips,
        counters: counters.clone(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    for o in &a.outage {
        let (start, secs) = pair(o, '+')?;
        let tx = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(start)).await;
            let _ = tx.send(Command::Down).await;
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let _ = tx.send(Command::Up).await;
        });
    }
    if a.rebind_every > 0 {
        let tx = tx.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(a.rebind_every)).await;
                if tx.send(Command::Rebind).await.is_err() {
                    return;
                }
            }
        });
    }
    let relay_task = tokio::spawn(relay.run(rx));
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let cmd = match line.trim() {
            "down" => Command::Down,
            "up" => Command::Up,
            "rebind" => Command::Rebind,
            "stats" => {
                println!("{}", counters.line());
                continue;
            }
            "" => continue,
            other => {
                eprintln!("lte-relay: unknown command {other:?}");
                continue;
            }
        };
        tx.send(cmd).await?;
    }
    println!("{}", counters.line());
    relay_task.abort();
    Ok(())
}
