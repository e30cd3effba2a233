//! `osect-collector`: the core's QUIC ingest, store and export.
use clap::{Args, Parser, Subcommand};
use osect_collector::cli::{parse_time, utc, AnalysisCmd};
use osect_collector::export::{self, Selection};
use osect_collector::server::Server;
use osect_collector::store::{self, Store};
use osect_collector::{notify, operator, tls::ServerTls};
use osect_wire::Format;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "osect-collector", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Accept batches from devices over QUIC with mutual TLS.
    Serve {
        #[arg(long, default_value = "0.0.0.0:4433")]
        listen: std::net::SocketAddr,
        #[arg(long)]
        store: PathBuf,
        /// The collector's certificate chain and key (PEM).
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
        /// The device CA: client certificates must chain to it.
        #[arg(long)]
        client_ca: PathBuf,
        /// Revocation list (PEM), re-read when it changes.
        #[arg(long)]
        crl: Option<PathBuf>,
        /// Largest batch accepted, in bytes.
        #[arg(long, default_value_t = 16 << 20)]
        max_batch_bytes: usize,
        /// A connection silent this long is closed (the agent sends keep-alives).
        #[arg(long, default_value_t = 60)]
        idle_timeout_secs: u64,
        /// The fleet registry's list (`<device>\t<site>\t<customer>\t<state>`),
        /// re-read when it changes: a batch is stored under the site it
        /// assigns the device to; unlisted and suspended devices are refused.
        /// Without it, the site a batch's header names is taken.
        #[arg(long)]
        fleet_list: Option<PathBuf>,
        /// Most records one batch may hold.
        #[arg(long, default_value_t = osect_collector::admit::DEFAULT_MAX_RECORDS)]
        max_batch_records: usize,
        /// Longest string value a batch may hold, in bytes.
        #[arg(long, default_value_t = osect_collector::admit::DEFAULT_MAX_STRING_BYTES)]
        max_string_bytes: usize,
        /// Largest uncompressed batch body, in bytes.
        #[arg(long, default_value_t = osect_collector::admit::DEFAULT_MAX_BODY_BYTES)]
        max_body_bytes: usize,
        /// Send every new alert to the sinks this TOML file names (webhooks,
        /// syslog receivers), from the store's outbox, at least once.
        #[arg(long)]
        notify: Option<PathBuf>,
    },
    /// Write stored records as Zeek logs, one folder per device.
    Export {
        #[command(flatten)]
        sel: Sel,
        #[arg(long, default_value = "tsv")]
        format: Format,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print what was received: hosts and vendors, connections, operations.
    Summary {
        #[command(flatten)]
        sel: Sel,
    },
    /// List devices: agent version, last batch, backlog, health.
    Devices {
        #[arg(long)]
        store: PathBuf,
        /// A device with no batch for this long is flagged SILENT.
        #[arg(long, default_value_t = 300)]
        silent_after_secs: u64,
    },
    /// List the latest alert notifications and each sink's progress on
    /// them: pending, delivered or failed, attempts, last error.
    Outbox {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        site: Option<String>,
        /// How many of the latest notifications.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Create or replace an operator and write its token to a file.
    OperatorAdd {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        name: String,
        /// Where to write the new token (created with mode 0600).
        #[arg(long)]
        token_out: PathBuf,
    },
    /// Import spool files of a returned device (operator-authenticated).
    Import {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        operator: String,
        /// The operator's token file (from `operator-add`).
        #[arg(long)]
        token_file: PathBuf,
        /// The device serial the files must belong to.
        #[arg(long)]
        device: String,
        /// SHA-256 (hex) of the SubjectPublicKeyInfo of the certificate the
        /// unit sent under: batches deduplicate per device and key.
        #[arg(long, value_parser = operator::parse_key_sha256)]
        key_sha256: [u8; 32],
        /// The site the registry had the unit at: the batches are stored
        /// under it whatever their headers say (without it, the headers'
        /// site is taken).
        #[arg(long)]
        site: Option<String>,
        files: Vec<PathBuf>,
    },
    #[command(flatten)]
    Analysis(AnalysisCmd),
    /// Delete everything stored of a site (every table with a `site` column:
    /// batches, refusals, the analysis) or a device's batches (contract end).
    Delete {
        #[arg(long)]
        store: PathBuf,
        #[arg(long, required_unless_present = "site", conflicts_with = "site")]
        device: Option<String>,
        #[arg(long)]
        site: Option<String>,
        /// Who asked, for the audit log.
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Rows still stored for a site, per table (0 everywhere after `delete`).
    Residue {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        site: String,
        /// `{"site": ..., "rows": N, "tables": {...}}`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct Sel {
    #[arg(long)]
    store: PathBuf,
    #[arg(long, conflicts_with = "site")]
    device: Option<String>,
    #[arg(long)]
    site: Option<String>,
    /// Start (Unix seconds or YYYY-MM-DDTHH:MM:SSZ), inclusive.
    #[arg(long, value_parser = parse_time)]
    from: Option<i64>,
    /// End, exclusive.
    #[arg(long, value_parser = parse_time)]
    to: Option<i64>,
}

impl Sel {
    fn selection(&self) -> Selection<'_> {
        Selection {
            device: self.device.as_deref(),
            site: self.site.as_deref(),
            from_us: self.from.unwrap_or(i64::MIN),
            to_us: self.to.unwrap_or(i64::MAX),
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.cmd {
        Cmd::Serve {
            listen,
            store,
            cert,
            key,
            client_ca,
            crl,
            max_batch_bytes,
            idle_timeout_secs,
            fleet_list,
            max_batch_records,
            max_string_bytes,
            max_body_bytes,
            notify: notify_file,
        } => {
            let opened = Store::open(&store)?;
            // The analysis runs beside ingest on its own connection: a
            // batch is acknowledged once stored, whatever the analysis does.
            // It starts once the store exists, so the two never race to
            // create it (switching a new database to WAL is not retried).
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let _analysis = osect_collector::analyse::spawn_worker(
                store.clone(),
                osect_collector::cli::registry(),
                stop,
            );
            // Set up before serving, so a bad sinks file stops the start.
            let deliverer = match notify_file {
                Some(f) => Some(notify::Deliverer::new(&store, &notify::Config::load(&f)?)?),
                None => None,
            };
            let store = opened;
            let server = Server {
                listen,
                tls: ServerTls {
                    cert,
                    key,
                    client_ca,
                    crl,
                    idle_timeout: Duration::from_secs(idle_timeout_secs),
                },
                max_batch_bytes: max_batch_bytes.min(osect_wire::batch::MAX_FRAME_BYTES),
                fleet_list,
                policy: osect_collector::admit::Policy {
                    limits: osect_wire::batch::Limits {
                        body_bytes: max_body_bytes,
                        records: max_batch_records,
                        str_bytes: max_string_bytes,
                    },
                    ..osect_collector::admit::Policy::project()
                },
            };
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?
                .block_on(async {
                    // The deliverer stops when `_stop` is dropped.
                    let (_stop, stopped) = tokio::sync::watch::channel(false);
                    if let Some(d) = deliverer {
                        tokio::spawn(d.run(stopped));
                    }
                    server.run(store).await
                })?;
        }
        Cmd::Analysis(c) => osect_collector::cli::run(c)?,
        Cmd::Export { sel, format, out } => {
            let store = Store::open(&sel.store)?;
            let n = export::export(&store, &sel.selection(), format, &out)?;
            println!("exported {n} records to {}", out.display());
        }
        Cmd::Summary { sel } => {
            let store = Store::open(&sel.store)?;
            export::summary(&store, &sel.selection(), &mut std::io::stdout().lock())?;
        }
        Cmd::Devices {
            store,
            silent_after_secs,
        } => {
            let store = Store::open(&store)?;
            let now = store::now_us();
            println!(
                "{:<20} {:<14} {:<8} {:>8} {:>8} {:<20} {:>8} {:>10} {:>8} {:>8} {:>8} {:>6}  status",
                "device", "site", "agent", "batches", "last_seq", "last_batch_utc", "backlog", "packets",
                "drops", "evicted", "rec_drop", "lost"
            );
            for d in store.devices()? {
                let silent = now - d.last_received_us > silent_after_secs as i64 * 1_000_000;
                let h = &d.health;
                println!(
                    "{:<20} {:<14} {:<8} {:>8} {:>8} {:<20} {:>8} {:>10} {:>8} {:>8} {:>8} {:>6}  {}",
                    d.device,
                    if d.site.is_empty() { "-" } else { &d.site },
                    d.agent_version,
                    d.batches,
                    d.last_seq,
                    utc(d.last_interval_end_us),
                    h.spool_depth,
                    h.packets,
                    h.kernel_drops,
                    h.flows_evicted,
                    h.records_dropped,
                    h.lost_intervals,
                    if silent {
                        format!("SILENT for {} s", (now - d.last_received_us) / 1_000_000)
                    } else {
                        "ok".into()
                    }
                );
                if let Some(u) = d.unknown_summary() {
                    println!("    {u}");
                }
            }
            osect_collector::admit::write_refusals(&store.refusals()?, &mut std::io::stdout())?;
        }
        Cmd::OperatorAdd {
            store,
            name,
            token_out,
        } => {
            let store = Store::open(&store)?;
            operator::add(&store, &name, &token_out)?;
            println!("operator {name}: token written to {}", token_out.display());
        }
        Cmd::Import {
            store,
            operator: op,
            token_file,
            device,
            key_sha256,
            site,
            files,
        } => {
            let mut store = Store::open(&store)?;
            operator::authenticate(&store, &op, &token_file)?;
            let r = operator::import(
                &mut store,
                &operator::Unit {
                    device: &device,
                    key_sha256: &key_sha256,
                    site: site.as_deref(),
                },
                &op,
                &files,
            )?;
            println!(
                "imported {} new, {} already stored, {} refused",
                r.new, r.duplicate, r.refused
            );
            if r.refused > 0 {
                return Err(format!("{} files refused (see the log)", r.refused).into());
            }
        }
        Cmd::Outbox {
            store,
            site,
            limit,
            json,
        } => {
            Store::open(&store)?;
            let rows = notify::list(&store, site.as_deref(), limit)?;
            notify::write_outbox(&rows, json, &mut std::io::stdout().lock())?;
        }
        Cmd::Delete {
            store,
            device,
            site,
            by,
        } => {
            let mut store = Store::open(&store)?;
            let n = store.delete(device.as_deref(), site.as_deref(), &by)?;
            let per: Vec<String> = n.iter().map(|(t, n)| format!("{t} {n}")).collect();
            println!(
                "deleted {} rows ({})",
                n.values().sum::<u64>(),
                per.join(", ")
            );
        }
        Cmd::Residue { store, site, json } => {
            let tables = Store::open(&store)?.residue(&site)?;
            if json {
                println!(
                    "{}",
                    osect_collector::retention::residue_json(&site, &tables)
                );
            } else {
                for (t, n) in &tables {
                    println!("{t:<24} {n:>10}");
                }
                println!("{:<24} {:>10}", "total", tables.values().sum::<u64>());
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("osect-collector: {e}");
            ExitCode::FAILURE
        }
    }
}
