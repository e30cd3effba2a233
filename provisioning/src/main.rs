//! `osect-provision`: the provisioning station's tool.
use clap::{Parser, Subcommand};
use osect_provision::config::Station;
use osect_provision::flows::{self, At, Ctx, Report};
use osect_provision::modem::{self, Locator};
use osect_provision::modem_sim::{self, ModemSim, Script};
use osect_provision::pki;
use osect_provision::registry::{DeviceState, Registry, Site};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod terms_cmd;

const DEFAULT_CONFIG: &str = "/etc/osect/station.toml";

#[derive(Parser)]
#[command(name = "osect-provision", version, about)]
struct Cli {
    /// The station configuration (default /etc/osect/station.toml if present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The fleet registry file (overrides the station config).
    #[arg(long, global = true)]
    registry: Option<PathBuf>,
    /// The PKI directory (overrides the station config).
    #[arg(long, global = true)]
    pki: Option<PathBuf>,
    /// Who is acting, for the audit log (default $SUDO_USER or $USER).
    #[arg(long, global = true)]
    operator: Option<String>,
    /// Registry listings and results as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// The fleet list for the collector (overrides collector.fleet_list).
    #[arg(long, global = true)]
    fleet_list: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Certificate authorities, server certificate, revocation list.
    #[command(subcommand)]
    Pki(PkiCmd),
    /// Create, check and read the fleet registry.
    #[command(subcommand)]
    Registry(RegistryCmd),
    /// Customer sites and their sensor settings.
    #[command(subcommand)]
    Site(SiteCmd),
    /// Give a unit in stock its identity, check modem and SIM, set the APN,
    /// write its config, record it and run the self-test.
    Factory {
        #[arg(long)]
        serial: String,
        #[arg(long, default_value = "/data")]
        device_dir: PathBuf,
        /// The modem's tty, or `auto` to scan the candidate ttys.
        #[arg(long)]
        modem: Locator,
        /// Skip the self-test against a collector.
        #[arg(long)]
        no_selftest: bool,
    },
    /// Bind a provisioned unit to a site and write the site's settings to it.
    Assign {
        serial: String,
        #[arg(long)]
        site: String,
        #[arg(long, default_value = "/data")]
        device_dir: PathBuf,
    },
    /// Mark an assigned unit as shipped.
    Ship { serial: String },
    /// Mark a shipped unit as working at its site.
    Activate { serial: String },
    /// Replace the unit serving a site by a spare (send-back); the failed
    /// unit's certificate is revoked at once.
    Swap {
        #[arg(long)]
        site: String,
        /// The spare (a provisioned unit without a site).
        #[arg(long)]
        replacement: String,
        /// The failed unit (needed when the site has several).
        #[arg(long)]
        failed: Option<String>,
        /// The spare's data directory.
        #[arg(long, default_value = "/data")]
        device_dir: PathBuf,
        #[arg(long, default_value = "failure reported")]
        reason: String,
        /// The customer caused the failure: the repair cost charged to their
        /// contract (annex 1, 2.4).
        #[arg(long, value_name = "YEN")]
        customer_caused: Option<i64>,
    },
    /// Receive a returned unit: import its un-sent spool, wipe it, list its
    /// SIM for deactivation, put it back to stock (or retire it).
    ReceiveReturn {
        serial: String,
        #[arg(long, default_value = "/data")]
        device_dir: PathBuf,
        #[arg(long)]
        retire: bool,
        /// The unit's modem, to read which SIM it holds.
        #[arg(long)]
        modem: Option<Locator>,
        /// The operator's collector token for the spool import.
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Record a replacement SIM (its ICCID must be the expected one) and redo the APN.
    SimSwap {
        serial: String,
        #[arg(long)]
        iccid: String,
        #[arg(long)]
        modem: Locator,
    },
    /// Record a replacement USB modem (its IMEI must be the expected one) and redo the APN.
    ModemSwap {
        serial: String,
        #[arg(long)]
        imei: String,
        #[arg(long)]
        modem: Locator,
    },
    /// Contract end: revoke the site's units and delete its data at the collector.
    Decommission {
        #[arg(long)]
        site: String,
    },
    /// Re-issue a unit's certificate (same key) when it nears expiry.
    Renew {
        serial: String,
        #[arg(long, default_value = "/data")]
        device_dir: PathBuf,
        /// Renew even if not yet due.
        #[arg(long)]
        force: bool,
    },
    /// Show a modem's identity, SIM, registration, signal and operator.
    ModemInfo {
        #[arg(long)]
        modem: Locator,
    },
    /// Customers: contacts, delivery address, sites.
    #[command(subcommand)]
    Customer(CustomerCmd),
    /// Contracts (one per sensor) and their life under the terms of service.
    #[command(subcommand)]
    Contract(ContractCmd),
    /// The business-day calendar: holidays and closing days.
    Calendar {
        /// List the year's holidays and closing days.
        #[arg(long)]
        year: Option<i32>,
        /// Tell whether a day is a business day, and the terms' days before it.
        #[arg(long)]
        date: Option<String>,
    },
    /// Deadlines of the terms coming within --days, and those missed.
    Due {
        /// The day to count from (default: today in Japan).
        #[arg(long)]
        today: Option<String>,
        #[arg(long, default_value_t = 14)]
        days: i64,
    },
    /// Invoices per customer per billing month.
    #[command(subcommand)]
    Invoice(InvoiceCmd),
    /// Payments against invoices.
    #[command(subcommand)]
    Payment(PaymentCmd),
    /// The price and tax tables, with the day each amount takes effect.
    #[command(subcommand)]
    Price(PriceCmd),
    /// Suspend a contract (art. 15-17): the collector refuses its unit's batches.
    Suspend {
        contract: i64,
        #[arg(long)]
        reason: String,
        /// The first day of the suspension (default: today).
        #[arg(long)]
        on: Option<String>,
        /// When the customer was notified (art. 16-2).
        #[arg(long)]
        notice: Option<String>,
    },
    /// Resume a suspended contract.
    Resume {
        contract: i64,
        #[arg(long)]
        on: Option<String>,
    },
    /// Terminate a contract (art. 13, 14): billing ends on the day, the unit
    /// is revoked, the site's data deletion is scheduled.
    Terminate {
        contract: i64,
        /// `customer` (art. 13) or `operator` (art. 14).
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
        /// When the termination was notified.
        #[arg(long)]
        notice: String,
        /// The termination day (default: today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Scheduled deletions of terminated customers' data; `--run` deletes
    /// those due at the collector and checks nothing is left.
    Deletions {
        #[arg(long)]
        run: bool,
        #[arg(long)]
        today: Option<String>,
    },
    /// Run a simulated LTE modem on a pseudo-terminal (tests and demos).
    SimulateModem {
        #[arg(long, value_enum, default_value = "normal")]
        script: Script,
        #[arg(long, default_value = "867698040000001")]
        imei: String,
        #[arg(long, default_value = "89882390000000000001")]
        iccid: String,
        #[arg(long, default_value = "901280000000001")]
        imsi: String,
        /// Where the tty symlink appears.
        #[arg(long)]
        link_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum CustomerCmd {
    /// Add a customer or change their details.
    Add {
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        billing_contact: String,
        #[arg(long)]
        delivery_contact: String,
        #[arg(long)]
        delivery_address: String,
        /// A site of the customer (repeatable).
        #[arg(long)]
        site: Vec<String>,
    },
    List,
    Show {
        id: String,
    },
}

#[derive(Subcommand)]
enum ContractCmd {
    /// An application for one sensor (art. 6; art. 7 for more sensors).
    Add {
        #[arg(long)]
        customer: String,
        #[arg(long)]
        site: String,
        /// The application date.
        #[arg(long)]
        applied: String,
        /// The requested opening date (開通希望日).
        #[arg(long)]
        opening: String,
        #[arg(long)]
        device: Option<String>,
    },
    /// Record an event: accept, refuse, ship, deliver, install, test, open.
    Record {
        contract: i64,
        event: String,
        /// Its date (default: today; for `open`, the date the terms give).
        #[arg(long)]
        on: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Tie a sensor to the contract.
    Device { contract: i64, serial: String },
    /// A contract with the terms' dates.
    Show { contract: i64 },
    List {
        #[arg(long)]
        customer: Option<String>,
    },
    /// An equipment failure (annex 1, 2) and whether it is charged.
    Failure {
        contract: i64,
        /// sensor, dongle or sim.
        #[arg(long)]
        equipment: String,
        /// initial-defect, natural or customer.
        #[arg(long)]
        cause: String,
        #[arg(long)]
        on: Option<String>,
        /// The repair cost of a sensor failure the customer caused.
        #[arg(long, value_name = "YEN", allow_negative_numbers = true)]
        charge: Option<i64>,
    },
}

#[derive(Subcommand)]
enum InvoiceCmd {
    /// Issue a customer's invoice for a billing month.
    Make {
        #[arg(long)]
        customer: String,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        /// The issue date (default: today).
        #[arg(long)]
        issued: Option<String>,
    },
    /// An invoice as text (or written as CSV and HTML).
    Show {
        invoice: i64,
        #[arg(long)]
        csv: Option<PathBuf>,
        #[arg(long)]
        html: Option<PathBuf>,
    },
    List {
        #[arg(long)]
        customer: Option<String>,
    },
}

#[derive(Subcommand)]
enum PaymentCmd {
    /// Record a payment against an invoice.
    Add {
        #[arg(long)]
        invoice: i64,
        #[arg(long, allow_negative_numbers = true)]
        yen: i64,
        /// The payment date.
        #[arg(long)]
        on: String,
    },
}

#[derive(Subcommand)]
enum PriceCmd {
    /// Set an amount from a day: initial, monthly or dongle in yen; tax in per mille (100 = 10%).
    Set {
        #[arg(long)]
        item: String,
        #[arg(long, allow_negative_numbers = true)]
        value: i64,
        #[arg(long)]
        from: String,
    },
    List,
}

#[derive(Subcommand)]
enum PkiCmd {
    /// Create the offline root, the device CA and the core CA (non-interactive).
    Init,
    /// Issue the collector's server certificate under the core CA.
    ServerCert {
        #[arg(long)]
        name: String,
        /// Extra IP address SANs.
        #[arg(long)]
        ip: Vec<IpAddr>,
        #[arg(long)]
        out_cert: PathBuf,
        #[arg(long)]
        out_key: PathBuf,
        #[arg(long, default_value_t = 825)]
        days: u32,
    },
    /// Re-issue the revocation list (PKI/devices.crl) with a fresh nextUpdate.
    Crl,
}

#[derive(Subcommand)]
enum RegistryCmd {
    /// Create the registry file.
    Init,
    /// Check that the registry is intact.
    Check,
    /// The audit log, oldest first.
    Audit {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Every device with its state, site, SIM and modem.
    Devices,
    /// Which device served which site, and when.
    History {
        #[arg(long)]
        site: Option<String>,
    },
    /// SIMs, with those to deactivate.
    Sims,
    /// Revoked certificates.
    Revoked,
    /// Write the fleet list now (it is rewritten by every change to it).
    FleetList,
}

#[derive(Subcommand)]
enum SiteCmd {
    /// Add a site or change its settings.
    Add {
        #[arg(long)]
        site: String,
        /// The monitored (mirror-port) interface.
        #[arg(long)]
        interface: String,
        #[arg(long, default_value_t = 60)]
        batch_interval: u64,
        /// The collector endpoint for this site (`host:port`).
        #[arg(long)]
        endpoint: String,
        #[arg(long)]
        label: Vec<String>,
    },
    List,
}

fn operator(given: Option<String>) -> Result<String, String> {
    let name = given
        .or_else(|| std::env::var("SUDO_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.is_empty())
        .ok_or("who is acting? give --operator NAME")?;
    if name.len() > 64 || name.chars().any(|c| c.is_control()) {
        return Err(format!("{name:?} is not an operator name"));
    }
    Ok(name)
}

fn station(cli: &Cli) -> Result<Station, String> {
    let mut s = match &cli.config {
        Some(p) => Station::load(p)?,
        None if Path::new(DEFAULT_CONFIG).exists() => Station::load(Path::new(DEFAULT_CONFIG))?,
        None => Station::default(),
    };
    if let Some(r) = &cli.registry {
        s.registry = r.clone();
    }
    if let Some(p) = &cli.pki {
        s.pki = p.clone();
    }
    if let Some(p) = &cli.fleet_list {
        s.collector.fleet_list = p.clone();
    }
    Ok(s)
}

fn print(r: Report) {
    for l in r.lines {
        println!("{l}");
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let station = station(&cli)?;
    // Only what changes the registry is audited, and needs to know who acts.
    let audited = !matches!(
        cli.cmd,
        Cmd::SimulateModem { .. }
            | Cmd::ModemInfo { .. }
            | Cmd::Pki(PkiCmd::Init | PkiCmd::ServerCert { .. })
            | Cmd::Registry(_)
            | Cmd::Calendar { .. }
            | Cmd::Due { .. }
    );
    let operator = match operator(cli.operator.clone()) {
        Ok(o) => o,
        Err(e) if audited => return Err(e),
        Err(_) => String::new(),
    };
    let ctx = Ctx { station, operator };
    let e = |e: flows::FlowError| e.to_string();
    match cli.cmd {
        Cmd::Pki(PkiCmd::Init) => {
            let pki = ctx.pki();
            let hours = ctx.station.certificates.crl_valid_hours;
            if pki.init(hours).map_err(|e| e.to_string())? {
                println!("PKI created in {}", pki.dir.display());
                println!(
                    "move {} offline: only the device CA is needed from now on",
                    pki.path(pki::ROOT_KEY).display()
                );
            } else {
                println!(
                    "PKI in {} already exists; nothing changed",
                    pki.dir.display()
                );
            }
        }
        Cmd::Pki(PkiCmd::ServerCert {
            name,
            ip,
            out_cert,
            out_key,
            days,
        }) => {
            let info = ctx
                .pki()
                .server_cert(&name, &ip, days, &out_cert, &out_key)
                .map_err(|e| e.to_string())?;
            println!(
                "server certificate for {name} written to {} (key {}), valid until {}",
                out_cert.display(),
                out_key.display(),
                osect_provision::registry::format_time(info.not_after)
            );
        }
        Cmd::Pki(PkiCmd::Crl) => {
            let n = flows::atomically(&ctx, "pki crl", |tx, files| {
                let n = flows::write_crl(&ctx, tx, files)?;
                tx.audit("crl", None, None, &format!("re-issued with {n} entries"))
                    .at("registry")?;
                Ok(n)
            })
            .map_err(e)?;
            println!(
                "{} re-issued with {n} revoked certificate(s)",
                ctx.pki().crl_path().display()
            );
        }
        Cmd::Registry(c) => registry_cmd(&ctx, c, cli.json)?,
        Cmd::Site(SiteCmd::Add {
            site,
            interface,
            batch_interval,
            endpoint,
            label,
        }) => {
            if batch_interval == 0 {
                return Err("--batch-interval must be at least 1 second".into());
            }
            let s = Site {
                site_id: site,
                interface,
                batch_interval_secs: batch_interval,
                core_endpoint: endpoint,
                labels: label,
                open: true,
            };
            print(flows::fleet::site_add(&ctx, &s).map_err(e)?);
        }
        Cmd::Site(SiteCmd::List) => {
            let reg = Registry::open(&ctx.station.registry).map_err(|e| e.to_string())?;
            for s in reg.sites().map_err(|e| e.to_string())? {
                println!(
                    "{:<16} {:<7} interface={} batch={}s core={} labels=[{}]",
                    s.site_id,
                    if s.open { "open" } else { "closed" },
                    s.interface,
                    s.batch_interval_secs,
                    s.core_endpoint,
                    s.labels.join(",")
                );
            }
        }
        Cmd::Factory {
            serial,
            device_dir,
            modem,
            no_selftest,
        } => print(
            flows::factory::run(
                &ctx,
                &flows::factory::Args {
                    serial,
                    device_dir,
                    modem,
                    no_selftest,
                },
            )
            .map_err(e)?,
        ),
        Cmd::Assign {
            serial,
            site,
            device_dir,
        } => print(flows::fleet::assign(&ctx, &serial, &site, &device_dir).map_err(e)?),
        Cmd::Ship { serial } => {
            print(flows::fleet::advance(&ctx, &serial, DeviceState::Shipped).map_err(e)?)
        }
        Cmd::Activate { serial } => {
            print(flows::fleet::advance(&ctx, &serial, DeviceState::Active).map_err(e)?)
        }
        Cmd::Swap {
            site,
            replacement,
            failed,
            device_dir,
            reason,
            customer_caused,
        } => print(
            flows::fleet::swap(
                &ctx,
                &flows::fleet::SwapArgs {
                    site: &site,
                    replacement: &replacement,
                    failed: failed.as_deref(),
                    device_dir: &device_dir,
                    reason: &reason,
                    customer_caused,
                },
            )
            .map_err(e)?,
        ),
        Cmd::ReceiveReturn {
            serial,
            device_dir,
            retire,
            modem,
            token_file,
        } => print(
            flows::returns::run(
                &ctx,
                &flows::returns::Args {
                    serial,
                    device_dir,
                    retire,
                    modem,
                    token_file,
                },
            )
            .map_err(e)?,
        ),
        Cmd::SimSwap {
            serial,
            iccid,
            modem,
        } => print(flows::sim::sim_swap(&ctx, &serial, &iccid, &modem).map_err(e)?),
        Cmd::ModemSwap {
            serial,
            imei,
            modem,
        } => print(flows::sim::modem_swap(&ctx, &serial, &imei, &modem).map_err(e)?),
        Cmd::Decommission { site } => print(flows::fleet::decommission(&ctx, &site).map_err(e)?),
        Cmd::Renew {
            serial,
            device_dir,
            force,
        } => print(flows::renew::run(&ctx, &serial, &device_dir, force).map_err(e)?),
        Cmd::ModemInfo { modem } => modem_info(&ctx, &modem)?,
        Cmd::Customer(c) => terms_cmd::customer(&ctx, c, cli.json)?,
        Cmd::Contract(c) => terms_cmd::contract(&ctx, c, cli.json)?,
        Cmd::Calendar { year, date } => terms_cmd::calendar(&ctx, year, date, cli.json)?,
        Cmd::Due { today, days } => terms_cmd::due(&ctx, today, days, cli.json)?,
        Cmd::Invoice(c) => terms_cmd::invoice(&ctx, c, cli.json)?,
        Cmd::Payment(c) => terms_cmd::payment(&ctx, c, cli.json)?,
        Cmd::Price(c) => terms_cmd::price(&ctx, c, cli.json)?,
        Cmd::Suspend {
            contract,
            reason,
            on,
            notice,
        } => terms_cmd::report(
            flows::contract::suspend(&ctx, contract, on.as_deref(), &reason, notice.as_deref()),
            cli.json,
        )?,
        Cmd::Resume { contract, on } => terms_cmd::report(
            flows::contract::resume(&ctx, contract, on.as_deref()),
            cli.json,
        )?,
        Cmd::Terminate {
            contract,
            by,
            reason,
            notice,
            on,
        } => terms_cmd::report(
            flows::contract::terminate(
                &ctx,
                &flows::contract::Termination {
                    id: contract,
                    by: &by,
                    reason: &reason,
                    notice: &notice,
                    on: on.as_deref(),
                },
            ),
            cli.json,
        )?,
        Cmd::Deletions { run, today } => terms_cmd::deletions(&ctx, run, today, cli.json)?,
        Cmd::SimulateModem {
            script,
            imei,
            iccid,
            imsi,
            link_dir,
        } => {
            let sim = ModemSim::start(
                modem_sim::Profile::new(script, &imei, &iccid, &imsi),
                &link_dir,
            )
            .map_err(|e| format!("cannot start the modem simulator: {e}"))?;
            println!("{}", sim.tty().display());
            // Runs until the process is stopped.
            loop {
                std::thread::park();
            }
        }
    }
    Ok(())
}

fn modem_info(ctx: &Ctx, loc: &Locator) -> Result<(), String> {
    let m = &ctx.station.modem;
    let mut s = modem::Session::connect(loc, &m.candidates, None, &m.timing())
        .map_err(|e| e.to_string())?;
    let info = s.info().clone();
    println!("port:         {}", s.path().display());
    println!("manufacturer: {}", info.manufacturer);
    println!("model:        {}", info.model);
    println!("firmware:     {}", info.firmware);
    println!("IMEI:         {}", info.imei);
    let sim = s.step(|m| m.sim_state()).map_err(|e| e.to_string())?;
    println!("SIM:          {sim}");
    if sim == modem::sim::SimState::Ready {
        let iccid = s.step(|m| m.iccid()).map_err(|e| e.to_string())?;
        let imsi = s.step(|m| m.imsi()).map_err(|e| e.to_string())?;
        println!("ICCID:        {iccid}");
        println!("IMSI:         {imsi}");
    }
    let apn = s.step(|m| m.apn()).map_err(|e| e.to_string())?;
    println!(
        "APN:          {}",
        apn.map_or("-".into(), |(pdp, apn)| format!("{apn} ({pdp})"))
    );
    let reg = s.step(|m| m.registration()).map_err(|e| e.to_string())?;
    println!("registration: {reg}");
    let sig = s.step(|m| m.signal()).map_err(|e| e.to_string())?;
    println!(
        "signal:       RSSI {} dBm, RSRP {} dBm, RSRQ {} dB",
        sig.rssi_dbm.map_or("?".into(), |v| v.to_string()),
        sig.rsrp_dbm.map_or("?".into(), |v| v.to_string()),
        sig.rsrq_db.map_or("?".into(), |v| v.to_string())
    );
    let op = s.step(|m| m.operator()).map_err(|e| e.to_string())?;
    println!("operator:     {}", op.unwrap_or_else(|| "-".into()));
    Ok(())
}

fn registry_cmd(ctx: &Ctx, c: RegistryCmd, json: bool) -> Result<(), String> {
    let path = &ctx.station.registry;
    if let RegistryCmd::FleetList = c {
        let n = flows::atomically(ctx, "fleet list", |tx, files| {
            flows::contract::write_fleet_list(ctx, tx, files)
        })
        .map_err(|e| e.to_string())?
        .ok_or("no fleet list configured (collector.fleet_list or --fleet-list)")?;
        println!(
            "fleet list {} written ({n} device(s))",
            ctx.station.collector.fleet_list.display()
        );
        return Ok(());
    }
    if let RegistryCmd::Init = c {
        if Registry::create(path).map_err(|e| e.to_string())? {
            println!("registry {} created", path.display());
        } else {
            println!(
                "registry {} already exists; nothing changed",
                path.display()
            );
        }
        return Ok(());
    }
    let reg = Registry::open(path).map_err(|e| e.to_string())?;
    let s = |e: osect_provision::registry::RegistryError| e.to_string();
    if json {
        let v = match c {
            RegistryCmd::Audit { limit } => serde_json::to_value(reg.audit(limit).map_err(s)?),
            RegistryCmd::Devices => serde_json::to_value(reg.devices().map_err(s)?),
            RegistryCmd::History { site } => {
                serde_json::to_value(reg.assignments(site.as_deref()).map_err(s)?)
            }
            RegistryCmd::Sims => serde_json::to_value(reg.sims().map_err(s)?),
            RegistryCmd::Revoked => serde_json::to_value(reg.revoked().map_err(s)?),
            RegistryCmd::Init | RegistryCmd::Check | RegistryCmd::FleetList => {
                return Err("--json is for listings".into())
            }
        };
        let text = v
            .and_then(|v| serde_json::to_string_pretty(&v))
            .map_err(|e| e.to_string())?;
        println!("{text}");
        return Ok(());
    }
    match c {
        RegistryCmd::Init | RegistryCmd::FleetList => {}
        RegistryCmd::Check => println!("registry {} is intact", path.display()),
        RegistryCmd::Audit { limit } => {
            for a in reg.audit(limit).map_err(s)? {
                println!(
                    "{:>5} {} {:<10} {:<16} device={} site={} {}",
                    a.id,
                    a.at,
                    a.operator,
                    a.action,
                    a.device.as_deref().unwrap_or("-"),
                    a.site.as_deref().unwrap_or("-"),
                    a.detail
                );
            }
        }
        RegistryCmd::Devices => {
            for d in reg.devices().map_err(s)? {
                println!(
                    "{:<14} {:<11} site={} imei={} iccid={} cert={} until {}",
                    d.serial,
                    d.state,
                    d.site.as_deref().unwrap_or("-"),
                    d.imei.as_deref().unwrap_or("-"),
                    d.iccid.as_deref().unwrap_or("-"),
                    d.cert_fingerprint
                        .as_deref()
                        .map_or("-", |f| &f[..f.len().min(16)]),
                    d.cert_not_after.as_deref().unwrap_or("-")
                );
            }
        }
        RegistryCmd::History { site } => {
            for a in reg.assignments(site.as_deref()).map_err(s)? {
                println!(
                    "{:<14} {:<16} {} .. {} {}",
                    a.device,
                    a.site,
                    a.started_at,
                    a.ended_at.as_deref().unwrap_or("now"),
                    a.end_reason.as_deref().unwrap_or("")
                );
            }
        }
        RegistryCmd::Sims => {
            for r in reg.sims().map_err(s)? {
                println!(
                    "{} device={} imsi={} in {} .. {}{}",
                    r.iccid,
                    r.device,
                    r.imsi.as_deref().unwrap_or("-"),
                    r.inserted_at,
                    r.removed_at.as_deref().unwrap_or("now"),
                    r.deactivation_requested_at
                        .map(|t| format!(" DEACTIVATE (listed {t})"))
                        .unwrap_or_default()
                );
            }
        }
        RegistryCmd::Revoked => {
            for (serial, device, at) in reg.revoked().map_err(s)? {
                println!("{serial} device={device} revoked {at}");
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("osect-provision: {e}");
            ExitCode::FAILURE
        }
    }
}
