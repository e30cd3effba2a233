use clap::{Parser, Subcommand};
use osect_collector::store::now_us;
use osect_console::auth;
use osect_console::db::{ConsoleDb, Lang, Role};
use osect_console::server::{self, Tls};
use osect_console::web::{App, Config};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "osect-console",
    version,
    about = "The core's web console and JSON API"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the console: HTTPS with --cert and --key, plain HTTP on loopback only.
    Serve {
        #[arg(long)]
        store: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The registry's fleet list (`serial<TAB>site<TAB>customer<TAB>state`);
        /// without it every site belongs to the customer `default`.
        #[arg(long)]
        fleet_list: Option<PathBuf>,
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        #[arg(long, default_value_t = 8)]
        session_hours: u32,
        /// A sensor with no batch for this long is shown as silent.
        #[arg(long, default_value_t = 300)]
        silent_after_secs: u64,
        /// Time zone of sites without analysis settings (the analysis keeps
        /// each site's own, set with osect-collector's commands).
        #[arg(long, default_value = osect_console::i18n::DEFAULT_TIME_ZONE)]
        time_zone: String,
        /// Create a throw-away operator login, print it with the URL, and
        /// remove it when the console stops (for the demo).
        #[arg(long)]
        demo_login: bool,
    },
    /// Users: add, disable, list, issue API tokens.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user; the password is read from standard input, or generated
    /// and printed once with --generate.
    Add {
        #[arg(long)]
        store: PathBuf,
        name: String,
        /// The service operator's staff: every customer.
        #[arg(
            long,
            conflicts_with = "customer",
            required_unless_present = "customer"
        )]
        operator: bool,
        /// A customer's staff: that customer's sites only.
        #[arg(long)]
        customer: Option<String>,
        /// With --customer: may also change the sites' zones and
        /// maintenance windows.
        #[arg(long, requires = "customer")]
        admin: bool,
        #[arg(long, default_value = "ja")]
        lang: String,
        #[arg(long)]
        generate: bool,
    },
    /// Disable a user, ending its sessions and API tokens.
    Disable {
        #[arg(long)]
        store: PathBuf,
        name: String,
    },
    List {
        #[arg(long)]
        store: PathBuf,
    },
    /// Issue an API token for a user; it is printed once and stored hashed.
    Token {
        #[arg(long)]
        store: PathBuf,
        name: String,
        #[arg(long, default_value = "")]
        label: String,
    },
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("osect-console: {e}");
        std::process::exit(1);
    }
}

fn name_ok(what: &str, v: &str) -> Result<()> {
    osect_console::web::check_name(what, v).map_err(|f| f.message.into())
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Serve {
            store,
            listen,
            fleet_list,
            cert,
            key,
            session_hours,
            silent_after_secs,
            time_zone,
            demo_login,
        } => {
            let tls = cert.zip(key).map(|(cert, key)| Tls { cert, key });
            let listener = server::bind(listen, tls.as_ref())?;
            let bound = listener.local_addr()?;
            let mut cfg = Config::new(store.clone());
            cfg.fleet_list = fleet_list;
            cfg.https = tls.is_some();
            cfg.session_ttl_us = i64::from(session_hours) * 3600 * 1_000_000;
            cfg.silent_after_us = silent_after_secs as i64 * 1_000_000;
            cfg.default_time_zone = time_zone;
            let app = App::new(cfg)?;
            let url = format!(
                "{}://{bound}/",
                if tls.is_some() { "https" } else { "http" }
            );
            let demo = if demo_login {
                let name = format!("demo-{}", auth::random_hex(3)?);
                let password = auth::generate_password()?;
                let db = ConsoleDb::open(&store)?;
                db.add_user(
                    &name,
                    &Role::Operator,
                    &auth::hash_password(&password)?,
                    Lang::Ja,
                    now_us(),
                )?;
                println!("console: {url}  user: {name}  password: {password}");
                Some((db, name))
            } else {
                None
            };
            println!("console listening on {url}");
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let served = rt.block_on(server::serve(app, listener, tls.as_ref(), async {
                let _ = tokio::signal::ctrl_c().await;
            }));
            if let Some((mut db, name)) = demo {
                db.remove_user(&name)?;
                println!("console stopped; demo login {name} removed");
            }
            served?;
        }
        Cmd::User { cmd } => user(cmd)?,
    }
    Ok(())
}

fn user(cmd: UserCmd) -> Result<()> {
    match cmd {
        UserCmd::Add {
            store,
            name,
            operator,
            customer,
            admin,
            lang,
            generate,
        } => {
            name_ok("user name", &name)?;
            let role = match (operator, customer) {
                (true, _) => Role::Operator,
                (false, Some(c)) => {
                    name_ok("customer", &c)?;
                    if admin {
                        Role::CustomerAdmin(c)
                    } else {
                        Role::Customer(c)
                    }
                }
                (false, None) => return Err("give --operator or --customer NAME".into()),
            };
            let lang = Lang::parse(&lang).ok_or(format!("--lang: ja or en, not {lang:?}"))?;
            let password = if generate {
                auth::generate_password()?
            } else {
                let mut s = String::new();
                std::io::stdin()
                    .take(auth::MAX_PASSWORD as u64 * 4 + 2)
                    .read_to_string(&mut s)?;
                s.lines().next().unwrap_or("").to_owned()
            };
            let hash = auth::hash_password(&password)?;
            ConsoleDb::open(&store)?.add_user(&name, &role, &hash, lang, now_us())?;
            match role.customer() {
                None => println!("user {name} added: operator"),
                Some(c) => println!("user {name} added: {} {c}", role.as_str()),
            }
            if generate {
                println!("password: {password}");
            }
        }
        UserCmd::Disable { store, name } => {
            ConsoleDb::open(&store)?.disable_user(&name)?;
            println!("user {name} disabled; its sessions and tokens are ended");
        }
        UserCmd::List { store } => {
            println!(
                "{:<24} {:<14} {:<20} {:<5} {:<9}",
                "name", "role", "customer", "lang", "state"
            );
            for u in ConsoleDb::open(&store)?.users()? {
                println!(
                    "{:<24} {:<14} {:<20} {:<5} {:<9}",
                    u.name,
                    u.role.as_str(),
                    u.role.customer().unwrap_or("-"),
                    u.lang.code(),
                    if u.disabled { "disabled" } else { "enabled" }
                );
            }
        }
        UserCmd::Token { store, name, label } => {
            let token = auth::random_hex(32)?;
            ConsoleDb::open(&store)?.add_token(
                &name,
                &auth::secret_sha256(&token),
                &label,
                now_us(),
            )?;
            println!("{token}");
            eprintln!(
                "API token for {name}: shown once, use it as 'Authorization: Bearer <token>'"
            );
        }
    }
    Ok(())
}
