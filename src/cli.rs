//! The command line: options, subcommands, and what each one runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{bail, WrapErr};
use color_eyre::Result;

use crate::config::{self, Config, Dirs};
use crate::console::{self, DemoOptions};
use crate::store::{self, audit, Access};

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "A keyboard-driven terminal console for the security operations of a multi-tenant container host",
    long_about = "A keyboard-driven terminal console for the security operations of a multi-tenant \
        container host: tenants and their isolation, the live access log, Falco-style alerts, \
        banned IPs and file integrity, with audited actions.\n\n\
        Run without a command to open the console on the default store; `rampart demo` opens it on \
        a throw-away store with a live simulator. Press ? in the console for every key.",
    after_help = "Files:\n  config   ~/.config/rampart/config.toml (keys: theme, keymap, read_only, tenants,\n           [docker], [fail2ban], [[access_log]], [falco], [detect])\n  \
        themes   ~/.config/rampart/themes/NAME.toml (override or add to: default, light, high-contrast, mono)\n  \
        keymaps  ~/.config/rampart/keymaps/NAME.toml (override or add to: default, emacs)\n  \
        store    ~/.local/share/rampart/rampart.db; log ~/.local/share/rampart/rampart.log (RUST_LOG honoured)\n\n\
        NO_COLOR set in the environment selects the mono theme unless --theme is given."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The store (SQLite) to use [default: ~/.local/share/rampart/rampart.db]
    #[arg(long, global = true, value_name = "PATH", env = "RAMPART_DB")]
    pub db: Option<PathBuf>,
    /// The config file [default: ~/.config/rampart/config.toml; a missing file is fine]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Theme: a name (default, light, high-contrast, mono, or your own) or the path of a .toml file
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Keymap: a name (default, emacs, or your own) or the path of a .toml file
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub keymap: Option<String>,
    /// Show everything, change nothing: every action is disabled
    #[arg(long, global = true)]
    pub read_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the console (the default)
    Console,
    /// Open the console on a throw-away store with a day of history and a live simulator
    Demo {
        /// Seed for the simulated world; the same seed gives the same history
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated events per second (0.1 to 100000)
        #[arg(long, default_value_t = 5.0, value_parser = parse_rate)]
        rate: f64,
        /// Access events in the seeded day of history
        #[arg(long, default_value_t = crate::demo::seed::HISTORY_EVENTS)]
        events: usize,
    },
    /// Run the collector headless (for systemd): sources write into the store, no console
    Collect,
    /// Tenants on the Docker engine: list, isolate, restore (for scripts and runbooks)
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Banned IPs through Fail2Ban: list, unban, ban (for scripts and runbooks)
    Bans {
        #[command(subcommand)]
        command: BansCommand,
    },
    /// Import whole files headless: access logs, Falco output
    Ingest {
        #[command(subcommand)]
        command: IngestCommand,
    },
    /// Alerts, newest first (the Alerts pane, for scripts)
    Alerts {
        #[command(subcommand)]
        command: ListCommand,
    },
    /// Access events, newest first (the Access log pane, for scripts)
    Access {
        #[command(subcommand)]
        command: ListCommand,
    },
    /// The audit log
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Every tenant with its status, containers and networks (synchronised from Docker first)
    List {
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Move every container of NAME to the quarantine network (journaled, audited)
    Isolate {
        name: String,
        /// Why; recorded in the audit log
        #[arg(long)]
        reason: String,
        /// Also pause the containers
        #[arg(long)]
        pause: bool,
    },
    /// Reconnect NAME's containers to the networks they had and leave quarantine
    Restore { name: String },
}

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// Import nginx/Apache combined-format access logs
    Access {
        /// Log files, each read whole; every line is counted as stored or not parsed
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The tenant the requests belong to
        #[arg(long, default_value = "")]
        tenant: String,
    },
    /// Import Falco JSON output (json_output: true) from a file, or `-` for standard input
    Falco {
        /// A file Falco wrote, or `-` for standard input, stored as it comes (`falco … | rampart ingest falco -`)
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// List rows, newest first
    List {
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
        /// Only the last DURATION (90s, 15m, 2h, 7d)
        #[arg(long)]
        since: Option<String>,
        /// Alerts only: at least this severe (emergency … debug)
        #[arg(long)]
        priority: Option<String>,
        /// The console's filter language, as typed after `/`
        #[arg(long)]
        filter: Option<String>,
        /// At most this many rows
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum BansCommand {
    /// Current bans (synchronised from Fail2Ban's database first)
    List {
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
        /// Also expired and unbanned ones
        #[arg(long)]
        all: bool,
    },
    /// Unban IP (from JAIL, or from every jail that holds it)
    Unban {
        ip: String,
        #[arg(long)]
        jail: Option<String>,
    },
    /// Ban IP in JAIL
    Ban {
        ip: String,
        #[arg(long)]
        jail: String,
        /// Why; recorded in the audit log
        #[arg(long)]
        reason: String,
    },
}

/// Exit codes of `rampart tenants isolate|restore` and `rampart bans unban|ban`.
pub mod exit {
    /// Every container done.
    pub const OK: u8 = 0;
    /// Some or all containers failed; the report says which.
    pub const PARTIAL: u8 = 1;
    /// Bad arguments, or no such tenant.
    pub const USAGE: u8 = 2;
    /// The Docker engine or Fail2Ban could not be reached: nothing was done.
    pub const UNREACHABLE: u8 = 3;
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the whole audit log; exits 1 at the first broken row
    Verify,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.1..=100_000.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is outside 0.1 to 100000 events per second"))
    }
}

/// Entry point of the binary.
pub fn main() -> Result<ExitCode> {
    crate::terminal::install_hooks()?;
    let cli = Cli::parse();
    let dirs = Dirs::discover();
    let config_path = cli.global.config.clone().unwrap_or_else(|| dirs.config_file());
    let config = Config::load(&config_path)?;
    let config_dir = config_path.parent().map_or_else(|| dirs.config_dir.clone(), Path::to_path_buf);
    // The store everything but the demo works on, with its folder made and its log opened.
    let store_path = || -> Result<PathBuf> {
        let db = cli.global.db.clone().unwrap_or_else(|| dirs.default_db());
        ensure_parent(&db)?;
        init_logging(&db.with_extension("log"));
        Ok(db)
    };
    let refuse_when_read_only = |changes: bool| {
        let refuse = cli.global.read_only && changes;
        if refuse {
            eprintln!("refused: --read-only");
        }
        refuse
    };
    match cli.command {
        None | Some(Command::Console) => {
            let db = store_path()?;
            console::run(console_options(&cli.global, &config, config_dir, db, None)?)?;
        }
        Some(Command::Demo { seed, rate, events }) => {
            let tmp = tempfile::Builder::new()
                .prefix("rampart-demo-")
                .tempdir()
                .wrap_err("cannot create a temporary folder")?;
            let db = tmp.path().join("demo.db");
            init_logging(&tmp.path().join("rampart.log"));
            let demo = DemoOptions { seed, rate, events };
            console::run(console_options(&cli.global, &config, config_dir, db, Some(demo))?)?;
        }
        Some(Command::Collect) => collect(&store_path()?, &config)?,
        Some(Command::Tenants { command }) => {
            if refuse_when_read_only(!matches!(command, TenantsCommand::List { .. })) {
                return Ok(ExitCode::from(exit::USAGE));
            }
            return crate::tenants_cli::run(&store_path()?, &config, command);
        }
        Some(Command::Bans { command }) => {
            if refuse_when_read_only(!matches!(command, BansCommand::List { .. })) {
                return Ok(ExitCode::from(exit::USAGE));
            }
            return crate::bans_cli::run(&store_path()?, &config, command);
        }
        Some(Command::Ingest { command }) => return crate::query_cli::ingest(&store_path()?, command, &config.detect),
        Some(Command::Alerts { command }) => {
            return crate::query_cli::list(&store_path()?, crate::pane::Pane::Alerts, command)
        }
        Some(Command::Access { command }) => {
            return crate::query_cli::list(&store_path()?, crate::pane::Pane::Access, command)
        }
        Some(Command::Audit { command: AuditCommand::Verify }) => {
            let db = cli.global.db.clone().unwrap_or_else(|| dirs.default_db());
            let conn = store::open(&db, Access::ReadOnly)?;
            let v = audit::verify(&conn).wrap_err("cannot read the audit log")?;
            return Ok(match v.first_break {
                None => {
                    println!("audit log intact: {} rows, every hash chained", v.rows);
                    ExitCode::SUCCESS
                }
                Some((id, why)) => {
                    println!("audit log BROKEN at row {id}: {why}");
                    ExitCode::FAILURE
                }
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn console_options(
    global: &Global,
    config: &Config,
    config_dir: PathBuf,
    db: PathBuf,
    demo: Option<DemoOptions>,
) -> Result<console::Options> {
    let theme_name = config::theme_choice(global.theme.as_deref(), config, crate::terminal::no_color());
    let theme = config::load_theme(&theme_name, &config_dir)?;
    let keymap_name = global.keymap.clone().or_else(|| config.keymap.clone()).unwrap_or_else(|| "default".into());
    let keymap = config::load_keymap(&keymap_name, &config_dir)?;
    let read_only = if global.read_only {
        Some("started with --read-only".to_string())
    } else if config.read_only {
        Some("read_only = true in the config file".to_string())
    } else {
        None
    };
    Ok(console::Options { db, config_dir, theme, keymap, read_only, demo, config: config.clone() })
}

fn ensure_parent(db: &Path) -> Result<()> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
    }
    Ok(())
}

/// Logs go to a file: the terminal belongs to the console. `RUST_LOG` picks the level.
fn init_logging(path: &Path) {
    let Ok(file) = std::fs::OpenOptions::new().create(true).append(true).open(path) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// `rampart collect`: hold the collector lock and run the sources until SIGTERM or Ctrl-C.
fn collect(db: &Path, config: &Config) -> Result<()> {
    let conn = store::open(db, Access::ReadWrite)?;
    let lock = crate::collector::try_lock(db)?;
    if let Err(holder) = lock {
        bail!("another collector already runs on {} ({holder}); only one may", db.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let notes = std::sync::Arc::new(store::writer::ChangeNotes::default());
        let (writer, thread) = store::writer::StoreWriter::spawn(conn, notes);
        let mut sources = tokio::task::JoinSet::new();
        crate::collector::spawn_sources(&mut sources, &writer, config, db);
        eprintln!(
            "rampart collect: collecting into {} (docker, fail2ban, log files, detection rules); stop with SIGTERM or Ctrl-C",
            db.display()
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        sources.shutdown().await;
        drop(writer);
        let _ = thread.join();
        Ok::<(), color_eyre::Report>(())
    })
}
