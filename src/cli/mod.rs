//! The command line: options, subcommands, and what each one runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use color_eyre::eyre::{bail, eyre, WrapErr};
use color_eyre::Result;

#[macro_use]
mod out;
mod args;
mod ask;
mod audit;
mod bans;
mod cloudwatch;
mod collect;
mod config_file;
mod drill;
mod ingest;
mod integrity;
mod lists;
mod report;
mod tenants;

use self::args::{exit, ActArgs, ConfigArg, ConsoleArgs, HostArgs, LookArgs, ReadOnlyArg, StoreArg, Takes};
use self::audit::AuditCommand;
use self::bans::BansCommand;
use self::ingest::IngestCommand;
use self::lists::{AccessCommand, AlertsCommand};
use self::tenants::TenantsCommand;
use crate::config::{self, Config, Dirs};
use crate::console::{self, DemoOptions};
use crate::store::{self, Access};

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
    after_help = "Files:\n  config   ~/.config/rampart/config.toml (every key, with its default and an example:\n           `rampart config example`; check a file with `rampart config check`)\n  \
        themes   ~/.config/rampart/themes/NAME.toml (override or add to: default, light, high-contrast, mono)\n  \
        keymaps  ~/.config/rampart/keymaps/NAME.toml (override or add to: default, emacs)\n  \
        store    ~/.local/share/rampart/rampart.db; log beside the store, named after it\n           (~/.local/share/rampart/rampart.log; RUST_LOG honoured)\n  \
        service  installed as a service, with no config of your own: /etc/rampart/config.toml and\n           /var/lib/rampart/rampart.db, and actions go through the collector's socket\n\n\
        Check a file-integrity baseline without rampart (`rampart help integrity` says more):\n  \
        openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \\\n      \
        -verify public.pem -signature MANIFEST.sig MANIFEST\n\n\
        Exit status: 0 done; 1 it failed; 2 a mistake in how it was called, or a read-only refusal; 3 the\n\
        engine, Fail2Ban or the collector does not answer. `rampart integrity` differs: 0 clean, 1 drift,\n\
        2 signature failure, 3 a mistake in how it was called; `rampart drill`: 0 when every stage passed.\n\n\
        NO_COLOR set in the environment selects the mono theme unless --theme is given.\n\
        Each command lists the options it takes (`rampart COMMAND --help`); options written before the\n\
        command's name are accepted where that command takes them."
)]
pub struct Cli {
    /// On an error, print the full report with its chain of causes (as RUST_BACKTRACE=1 does)
    /// instead of one line
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// The console's options (also accepted before a command's name, where that command takes them).
    #[command(flatten)]
    pub console: ConsoleArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the console (the default)
    Console(ConsoleArgs),
    /// Open the console on a throw-away store with a day of history and a live simulator
    Demo {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        look: LookArgs,
        #[command(flatten)]
        read_only: ReadOnlyArg,
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
    Collect(HostArgs),
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
    /// File integrity: RSA-signed baselines of file trees and their verification
    /// (options go before the subcommand: `rampart integrity --db PATH verify NAME`)
    Integrity {
        #[command(flatten)]
        act: ActArgs,
        #[command(subcommand)]
        command: integrity::IntegrityCommand,
    },
    /// CloudWatch Logs as the AWS credentials see it: groups, and a group's events (tail, --follow)
    Cloudwatch {
        #[command(subcommand)]
        command: cloudwatch::CloudwatchCommand,
    },
    /// Import whole files headless: access logs, Falco output
    Ingest {
        #[command(subcommand)]
        command: IngestCommand,
    },
    /// Alerts, newest first by the time of the alert (the Alerts pane, for scripts)
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Access events, newest first by the time of the request (the Access log pane, for scripts)
    Access {
        #[command(subcommand)]
        command: AccessCommand,
    },
    /// What happened to a tenant over a time range, in time order, for an incident ticket
    Report(self::report::ReportArgs),
    /// A fire drill: a throw-away attacker container attacks a tenant, and each stage (seen, alerted,
    /// banned, contained, drift found) is checked with its latency; cleaned up afterwards
    Drill(self::drill::DrillArgs),
    /// The audit log: check it (`verify`), list it for scripts (`list`)
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The config file: `check` it (every value, with file and line; exit 0 when good, 2 when not),
    /// or print an `example` with every key
    Config {
        #[command(subcommand)]
        command: self::config_file::ConfigCommand,
    },
    /// Print a shell completion script (bash: `source <(rampart completions bash)`)
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a folder
    Man {
        /// Write rampart.1 and a page for every command (rampart-bans-unban.1, …) into this folder
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

impl Command {
    /// Whether the command only reads: `--read-only` before its name is then already true of it.
    fn only_reads(&self) -> bool {
        matches!(
            self,
            Command::Tenants { command: TenantsCommand::List { .. } }
                | Command::Bans { command: BansCommand::List { .. } }
                | Command::Alerts { .. }
                | Command::Access { .. }
                | Command::Audit { .. }
                | Command::Report(_)
                | Command::Cloudwatch { .. }
                | Command::Config { .. }
                | Command::Completions { .. }
                | Command::Man { .. }
        )
    }

    /// The command's words (`bans unban`) and the shared options it takes.
    fn takes(&mut self) -> (&'static str, Takes<'_>) {
        match self {
            Command::Console(c) => (
                "console",
                Takes {
                    store: Some(&mut c.store),
                    config: Some(&mut c.config),
                    look: Some(&mut c.look),
                    read_only: Some(&mut c.read_only),
                },
            ),
            Command::Demo { config, look, read_only, .. } => {
                ("demo", Takes { store: None, config: Some(config), look: Some(look), read_only: Some(read_only) })
            }
            Command::Collect(host) => ("collect", host.takes()),
            Command::Tenants { command } => match command {
                TenantsCommand::List { host, .. } => ("tenants list", host.takes()),
                TenantsCommand::Isolate { act, .. } => ("tenants isolate", act.takes()),
                TenantsCommand::Restore { act, .. } => ("tenants restore", act.takes()),
            },
            Command::Bans { command } => match command {
                BansCommand::List { host, .. } => ("bans list", host.takes()),
                BansCommand::Unban { act, .. } => ("bans unban", act.takes()),
                BansCommand::Ban { act, .. } => ("bans ban", act.takes()),
            },
            Command::Integrity { act, .. } => ("integrity", act.takes()),
            Command::Ingest { command } => match command {
                IngestCommand::Access { act, .. } => ("ingest access", act.takes()),
                IngestCommand::Falco { act, .. } => ("ingest falco", act.takes()),
            },
            Command::Alerts { command: AlertsCommand::List { list, .. } } => {
                ("alerts list", Takes { store: Some(&mut list.store), ..Takes::default() })
            }
            Command::Access { command: AccessCommand::List { list, .. } } => {
                ("access list", Takes { store: Some(&mut list.store), ..Takes::default() })
            }
            Command::Audit { command: AuditCommand::Verify { host } } => ("audit verify", host.takes()),
            Command::Audit { command: AuditCommand::List { list } } => {
                ("audit list", Takes { store: Some(&mut list.store), ..Takes::default() })
            }
            Command::Report(args) => ("report", Takes { store: Some(&mut args.store), ..Takes::default() }),
            Command::Drill(args) => ("drill", args.act.takes()),
            Command::Cloudwatch { .. } => ("cloudwatch", Takes::default()),
            Command::Config { command: self::config_file::ConfigCommand::Check(arg) } => {
                ("config check", Takes { config: Some(arg), ..Takes::default() })
            }
            Command::Config { command: self::config_file::ConfigCommand::Example } => {
                ("config example", Takes::default())
            }
            Command::Completions { .. } => ("completions", Takes::default()),
            Command::Man { .. } => ("man", Takes::default()),
        }
    }
}

/// Parses the command line. An option written before a command's name goes to that command when
/// it takes it (the command's own spelling of it wins); when the command does not take it, that is
/// a usage error, as it is when written after the name — except `--read-only` before a command
/// that only reads.
pub fn parse() -> Cli {
    use clap::parser::ValueSource;
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches().unwrap_or_else(|e| {
        // `rampart integrity` promises exit 3 for usage errors (1 and 2 mean drift and a bad signature).
        if e.use_stderr() && std::env::args().skip(1).any(|a| a == "integrity") {
            let _ = e.print();
            std::process::exit(crate::integrity::exit::ERROR.into());
        }
        e.exit()
    });
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The command's own options may sit at any level below the top (`integrity --db X list`).
    let mut levels = Vec::new();
    let mut level = &matches;
    while let Some((_, sub)) = level.subcommand() {
        levels.push(sub);
        level = sub;
    }
    let typed_before = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let typed_after = |id: &str| {
        levels.iter().any(|m| m.ids().any(|i| i.as_str() == id) && m.value_source(id) == Some(ValueSource::CommandLine))
    };
    let Some(command) = cli.command.as_mut() else { return cli };
    let leading = &cli.console;
    let only_reads = command.only_reads();
    let (words, takes) = command.takes();
    let refuse = |option: &str| -> ! {
        let message =
            format!("{option} does nothing for `rampart {words}`; `rampart {words} --help` lists its options");
        Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message).exit()
    };
    if typed_before("db") {
        let store = takes.store.unwrap_or_else(|| refuse("--db"));
        if !typed_after("db") {
            store.db.clone_from(&leading.store.db);
        }
    }
    if typed_before("config") {
        let config = takes.config.unwrap_or_else(|| refuse("--config"));
        if !typed_after("config") {
            config.config.clone_from(&leading.config.config);
        }
    }
    for (id, option) in [("theme", "--theme"), ("keymap", "--keymap")] {
        if typed_before(id) && takes.look.is_none() {
            refuse(option);
        }
    }
    if let Some(look) = takes.look {
        look.theme = look.theme.take().or_else(|| leading.look.theme.clone());
        look.keymap = look.keymap.take().or_else(|| leading.look.keymap.clone());
    }
    match (typed_before("read_only"), takes.read_only) {
        (true, Some(read_only)) => read_only.read_only = true,
        // `rampart --read-only bans list` (an alias, say): a command that only reads is read-only.
        (true, None) if !only_reads => refuse("--read-only"),
        _ => {}
    }
    cli
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.1..=100_000.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is outside 0.1 to 100000 events per second"))
    }
}

/// Entry point of the binary: runs the command, and ends as [`out::end`] says when it failed.
pub fn main() -> ExitCode {
    if let Err(e) = crate::terminal::install_hooks() {
        eprintln!("error: cannot install the error report hooks: {e}");
        return ExitCode::FAILURE;
    }
    let cli = parse();
    let verbose = cli.verbose;
    run(cli).unwrap_or_else(|report| out::end(report, verbose))
}

fn run(cli: Cli) -> Result<ExitCode> {
    let dirs = Dirs::discover();
    let command = cli.command.unwrap_or(Command::Console(cli.console));
    match command {
        Command::Console(args) => {
            let loaded = load_config(&args.config, &dirs)?;
            let db = store_path(&args.store, &dirs)?;
            let read_only = read_only_reason(&args.read_only, &loaded);
            console::run(console_options(&args.look, loaded, read_only, db, None)?)?;
        }
        Command::Demo { config, look, read_only, seed, rate, events } => {
            let loaded = load_config(&config, &dirs)?;
            let read_only = read_only_reason(&read_only, &loaded);
            let tmp = tempfile::Builder::new()
                .prefix("rampart-demo-")
                .tempdir()
                .wrap_err("cannot create a temporary folder")?;
            let db = tmp.path().join("demo.db");
            init_logging(&tmp.path().join("rampart.log"));
            let demo = DemoOptions { seed, rate, events };
            console::run(console_options(&look, loaded, read_only, db, Some(demo))?)?;
        }
        Command::Collect(host) => {
            let loaded = load_config(&host.config, &dirs)?;
            collect(&store_path(&host.store, &dirs)?, &loaded.config)?;
        }
        Command::Tenants { command } => {
            let (host, acting) = match &command {
                TenantsCommand::List { host, .. } => (host, None),
                TenantsCommand::Isolate { act, .. } | TenantsCommand::Restore { act, .. } => {
                    (&act.host, Some(&act.read_only))
                }
            };
            let loaded = load_config(&host.config, &dirs)?;
            if refused_when_read_only(acting, &loaded) {
                return Ok(ExitCode::from(exit::USAGE));
            }
            if crate::control::client::acts_through_collector(&db_of(&host.store, &dirs)) {
                // Only the collector reaches the engine and writes the store: others read it, or ask.
                return match (ask::of_tenants(&command), &command) {
                    (Some(asked), _) => ask::run(&socket_of(&host.store, &loaded, &dirs), &asked),
                    (None, TenantsCommand::List { json, .. }) => {
                        tenants::list(&listed_store(&host.store, &dirs), *json).map(|()| ExitCode::SUCCESS)
                    }
                    (None, _) => Ok(ExitCode::from(exit::USAGE)),
                };
            }
            return tenants::run(&store_path(&host.store, &dirs)?, &loaded.config, command);
        }
        Command::Bans { command } => {
            let (host, acting) = match &command {
                BansCommand::List { host, .. } => (host, None),
                BansCommand::Unban { act, .. } | BansCommand::Ban { act, .. } => (&act.host, Some(&act.read_only)),
            };
            let loaded = load_config(&host.config, &dirs)?;
            if refused_when_read_only(acting, &loaded) {
                return Ok(ExitCode::from(exit::USAGE));
            }
            if crate::control::client::acts_through_collector(&db_of(&host.store, &dirs)) {
                return match (ask::of_bans(&command), &command) {
                    (Some(asked), _) => ask::run(&socket_of(&host.store, &loaded, &dirs), &asked),
                    (None, BansCommand::List { json, all, limit, .. }) => {
                        bans::list(&listed_store(&host.store, &dirs), *json, *all, *limit).map(|()| ExitCode::SUCCESS)
                    }
                    (None, _) => Ok(ExitCode::from(exit::USAGE)),
                };
            }
            return bans::run(&store_path(&host.store, &dirs)?, &loaded.config, command);
        }
        Command::Ingest { command } => {
            let (IngestCommand::Access { act, .. } | IngestCommand::Falco { act, .. }) = &command;
            let loaded = load_config(&act.host.config, &dirs)?;
            if refused_when_read_only(Some(&act.read_only), &loaded) {
                return Ok(ExitCode::from(exit::USAGE));
            }
            return ingest::ingest(&store_path(&act.host.store, &dirs)?, command, &loaded.config.detect);
        }
        Command::Cloudwatch { command } => return cloudwatch::run(command),
        Command::Integrity { act, command } => {
            let loaded = load_config(&act.host.config, &dirs)?;
            let changes = matches!(
                command,
                integrity::IntegrityCommand::Keygen { .. }
                    | integrity::IntegrityCommand::Baseline { .. }
                    | integrity::IntegrityCommand::Accept { .. }
            );
            if changes && refused_when_read_only(Some(&act.read_only), &loaded) {
                return Ok(ExitCode::from(exit::USAGE));
            }
            let read_only = act.read_only.read_only || loaded.config.read_only;
            let store = || store_path(&act.host.store, &dirs);
            return integrity::run(&store, &loaded.config, read_only, command);
        }
        Command::Alerts { command: AlertsCommand::List { list, priority } } => {
            let db = listed_store(&list.store, &dirs);
            return lists::list(&db, crate::pane::Pane::Alerts, list, priority, false);
        }
        Command::Access { command: AccessCommand::List { list, all } } => {
            let db = listed_store(&list.store, &dirs);
            return lists::list(&db, crate::pane::Pane::Access, list, None, all);
        }
        Command::Audit { command: AuditCommand::Verify { host } } => {
            let loaded = load_config(&host.config, &dirs)?;
            return audit::verify(&host.store, loaded.config.cloudwatch_publish.as_ref(), &dirs);
        }
        Command::Audit { command: AuditCommand::List { list } } => {
            let db = store_path(&list.store, &dirs)?;
            return audit::list(&db, list);
        }
        Command::Drill(args) => {
            let loaded = load_config(&args.act.host.config, &dirs)?;
            if refused_when_read_only(Some(&args.act.read_only), &loaded) {
                return Ok(ExitCode::from(exit::USAGE));
            }
            let db = store_path(&args.act.host.store, &dirs)?;
            return drill::run(&db, &loaded.config, args);
        }
        Command::Report(args) => {
            let db = listed_store(&args.store, &dirs);
            report::run(&db, &args)?;
        }
        Command::Config { command } => return Ok(self::config_file::run(command, &dirs)),
        Command::Completions { shell } => {
            // Written whole into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "rampart", &mut script);
            out::bytes(&script)?;
        }
        Command::Man { out_dir } => {
            // The page of `config example` carries the config file's reference: every key.
            let reference = format!(
                "Every key of the config file (a commented example: rampart config example):\n\n{}",
                config::keys::reference()
            );
            let command = <Cli as clap::CommandFactory>::command()
                .mut_subcommand("config", |c| c.mut_subcommand("example", |e| e.after_long_help(reference)));
            match out_dir {
                None => {
                    let mut page = Vec::new();
                    clap_mangen::Man::new(command).render(&mut page).wrap_err("cannot make the manual page")?;
                    out::bytes(&page)?;
                }
                Some(dir) => {
                    std::fs::create_dir_all(&dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
                    clap_mangen::generate_to(command, &dir)
                        .wrap_err_with(|| format!("cannot write the manual pages into {}", dir.display()))?;
                    eprintln!(
                        "manual pages written into {} (read one with: man -l {}/rampart.1)",
                        dir.display(),
                        dir.display()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A config file as a command reads it, with where it came from.
struct Loaded {
    config: Config,
    path: PathBuf,
    /// Where the config's themes/ and keymaps/ folders are.
    dir: PathBuf,
}

/// Reads the config file named with `--config` (which must exist) or the default one (which may not).
fn load_config(arg: &ConfigArg, dirs: &Dirs) -> Result<Loaded> {
    let (config, path) = match &arg.config {
        Some(path) => (Config::load_given(path)?, path.clone()),
        None => {
            let path = dirs.config_file();
            (Config::load(&path)?, path)
        }
    };
    let dir = path.parent().map_or_else(|| dirs.config_dir.clone(), Path::to_path_buf);
    Ok(Loaded { config, path, dir })
}

/// Why nothing may be changed, if so: `--read-only`, or `read_only = true` in the config file.
fn read_only_reason(flag: &ReadOnlyArg, loaded: &Loaded) -> Option<String> {
    if flag.read_only {
        Some("started with --read-only".to_string())
    } else if loaded.config.read_only {
        Some(format!("read_only = true in {}", loaded.path.display()))
    } else {
        None
    }
}

/// For a command that would act (`acting` holds its `--read-only`): says so and returns true
/// when read-only mode forbids it.
fn refused_when_read_only(acting: Option<&ReadOnlyArg>, loaded: &Loaded) -> bool {
    let Some(why) = acting.and_then(|flag| read_only_reason(flag, loaded)) else { return false };
    eprintln!("refused: read-only ({why}); nothing was done");
    true
}

/// The store a command that only lists reads: nothing is created for it (a mistyped `--db` leaves
/// no folder or log behind); its log is opened when the store exists.
fn listed_store(arg: &StoreArg, dirs: &Dirs) -> PathBuf {
    let db = arg.db.clone().unwrap_or_else(|| dirs.default_db());
    if db.exists() {
        init_logging(&db.with_extension("log"));
    }
    db
}

/// The store a command works on: `--db`, else the default one.
fn db_of(arg: &StoreArg, dirs: &Dirs) -> PathBuf {
    arg.db.clone().unwrap_or_else(|| dirs.default_db())
}

/// The control socket of the collector of the store a command works on.
fn socket_of(arg: &StoreArg, loaded: &Loaded, dirs: &Dirs) -> PathBuf {
    crate::control::socket_path(&loaded.config.control, &db_of(arg, dirs))
}

/// The store a command works on, with its folder made and its log opened.
fn store_path(arg: &StoreArg, dirs: &Dirs) -> Result<PathBuf> {
    let db = arg.db.clone().unwrap_or_else(|| dirs.default_db());
    ensure_parent(&db)?;
    init_logging(&collect::log_path(&db));
    Ok(db)
}

fn console_options(
    look: &LookArgs,
    loaded: Loaded,
    read_only: Option<String>,
    db: PathBuf,
    demo: Option<DemoOptions>,
) -> Result<console::Options> {
    let Loaded { config, dir: config_dir, .. } = loaded;
    let theme_name = config::theme_choice(look.theme.as_deref(), &config, crate::terminal::no_color());
    let theme = config::load_theme(&theme_name, &config_dir)?;
    let keymap_name = look.keymap.clone().or_else(|| config.keymap.clone()).unwrap_or_else(|| "default".into());
    let keymap = config::load_keymap(&keymap_name, &config_dir)?;
    Ok(console::Options { db, config_dir, theme, keymap, read_only, demo, config })
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
    crate::collector::bound_memory();
    if let Err(why) = crate::collector::check(config) {
        bail!("{why}");
    }
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
        let listening = crate::control::server::open(config, db).map_err(|why| eyre!("{why}"))?;
        let access = format!("control socket {} ({})", listening.path.display(), listening.access);
        sources.spawn(crate::control::server::serve(listening, writer.clone(), std::sync::Arc::new(config.clone())));
        eprintln!("{}\n{access}", collect::started(db, config));
        sources.spawn(collect::say_changes(db.to_owned()));
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
