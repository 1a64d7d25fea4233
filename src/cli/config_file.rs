//! `rampart config check`: reads the config file as every command does and says whether it is
//! good, or every error in it with its file and line; `rampart config example` prints every key.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use super::args::{exit, ConfigArg};
use crate::config::{self, Config, ConfigError, Dirs};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the config file (and the theme and keymap it names): prints `ok` and exits 0, or
    /// every error with its file and line and exits 2
    Check(ConfigArg),
    /// Print a config file with every key commented out: what it does, its default, an example
    /// (docs/config.example.toml is this output)
    Example,
}

/// Runs `rampart config check`.
pub fn run(command: ConfigCommand, dirs: &Dirs) -> ExitCode {
    let arg = match command {
        ConfigCommand::Check(arg) => arg,
        ConfigCommand::Example => {
            print!("{}", config::keys::example());
            return ExitCode::from(exit::OK);
        }
    };
    let (path, given) = match &arg.config {
        Some(path) => (path.clone(), true),
        None => (dirs.config_file(), false),
    };
    match check(&path, given) {
        Ok(what) => {
            println!("ok: {what}");
            ExitCode::from(exit::OK)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            let s = if errors.len() == 1 { "" } else { "s" };
            eprintln!("{} error{s} in {}", errors.len(), path.display());
            ExitCode::from(exit::USAGE)
        }
    }
}

/// Every error of the config file at `path` (which must exist when `given`), and of the theme and
/// keymap it names; else what was checked.
pub fn check(path: &Path, given: bool) -> Result<String, Vec<ConfigError>> {
    if !path.exists() {
        if given {
            return Err(vec![ConfigError::Missing { path: path.display().to_string() }]);
        }
        return Ok(format!("no config file at {} (every default applies)", path.display()));
    }
    let config = Config::load_checked(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut errors = Vec::new();
    if let Some(theme) = &config.theme {
        errors.extend(config::load_theme(theme, dir).err());
    }
    if let Some(keymap) = &config.keymap {
        errors.extend(config::load_keymap(keymap, dir).err());
    }
    if errors.is_empty() {
        Ok(path.display().to_string())
    } else {
        Err(errors)
    }
}
