//! The options commands share (`--db`, `--config`, `--theme`/`--keymap`, `--read-only`, list
//! options), which of them a command takes, and the exit codes of the commands that act. A leaf:
//! every command's file uses it.

use std::path::PathBuf;

use clap::Args;

/// `--db`: the store a command works on.
#[derive(Debug, Clone, Default, Args)]
pub struct StoreArg {
    /// The store (SQLite) to use [default: ~/.local/share/rampart/rampart.db]
    #[arg(long, value_name = "PATH", env = "RAMPART_DB")]
    pub db: Option<PathBuf>,
}

/// `--config`: the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArg {
    /// The config file [default: ~/.config/rampart/config.toml, which may be missing; a file named here must exist]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// `--theme`, `--keymap`: how the console looks and which keys it takes.
#[derive(Debug, Clone, Default, Args)]
pub struct LookArgs {
    /// Theme: a name (default, light, high-contrast, mono, or your own) or the path of a .toml file
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Keymap: a name (default, emacs, or your own) or the path of a .toml file
    #[arg(long, value_name = "NAME|PATH")]
    pub keymap: Option<String>,
}

/// `--read-only`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReadOnlyArg {
    /// Change nothing: the console shows every action disabled; a command that would act refuses (exit 2).
    /// `read_only = true` in the config file does the same
    #[arg(long)]
    pub read_only: bool,
}

/// The console's options.
#[derive(Debug, Clone, Default, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub look: LookArgs,
    #[command(flatten)]
    pub read_only: ReadOnlyArg,
}

/// What a command that reads the host takes: the store, and the config that says where things are.
#[derive(Debug, Clone, Default, Args)]
pub struct HostArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// What a command that changes something takes: the host's options, and `--read-only`.
#[derive(Debug, Clone, Default, Args)]
pub struct ActArgs {
    #[command(flatten)]
    pub host: HostArgs,
    #[command(flatten)]
    pub read_only: ReadOnlyArg,
}

/// What every headless list takes.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// One JSON array instead of a table
    #[arg(long)]
    pub json: bool,
    /// Only the last DURATION (90s, 15m, 2h, 7d)
    #[arg(long)]
    pub since: Option<String>,
    /// The console's filter language, as typed after `/`
    #[arg(long)]
    pub filter: Option<String>,
    /// At most this many rows
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// The shared options a command takes: each is `None` where the command has no use for it.
#[derive(Default)]
pub struct Takes<'a> {
    pub store: Option<&'a mut StoreArg>,
    pub config: Option<&'a mut ConfigArg>,
    pub look: Option<&'a mut LookArgs>,
    pub read_only: Option<&'a mut ReadOnlyArg>,
}

impl HostArgs {
    pub fn takes(&mut self) -> Takes<'_> {
        Takes { store: Some(&mut self.store), config: Some(&mut self.config), ..Takes::default() }
    }
}

impl ActArgs {
    pub fn takes(&mut self) -> Takes<'_> {
        Takes { read_only: Some(&mut self.read_only), ..self.host.takes() }
    }
}

/// Exit codes of `rampart tenants isolate|restore` and `rampart bans unban|ban`.
pub mod exit {
    /// Every container done.
    pub const OK: u8 = 0;
    /// Some or all containers failed; the report says which.
    pub const PARTIAL: u8 = 1;
    /// Bad arguments, or no such tenant; also a refusal in read-only mode.
    pub const USAGE: u8 = 2;
    /// The Docker engine or Fail2Ban could not be reached: nothing was done.
    pub const UNREACHABLE: u8 = 3;
}

/// A reason for the audit log: something must be said.
pub fn parse_reason(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("a reason is required: say why (it is recorded in the audit log)".into())
    } else {
        Ok(s.trim().to_string())
    }
}
