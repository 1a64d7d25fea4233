//! Configuration: the config file, and themes and keymaps by name (shipped ones are embedded;
//! files of the same name in the config folder override them) or by path.

pub mod check;
pub mod cloudwatch;
pub mod engine_logs;
pub mod keymap;
pub mod keys;
pub mod respond;
pub mod theme;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use keymap::Keymap;
pub use theme::Theme;

/// Shipped themes, embedded so the binary works from anywhere.
pub const THEMES: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// Shipped keymaps.
pub const KEYMAPS: &[(&str, &str)] =
    &[("default", include_str!("../../keymaps/default.toml")), ("emacs", include_str!("../../keymaps/emacs.toml"))];

/// What is wrong with a config, theme or keymap file, said so that the fix is obvious.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}, line {line}: {message}")]
    Invalid { origin: String, line: usize, message: String },
    #[error("unknown {kind} '{name}'; available: {} (or give the path of a .toml file)", available.join(", "))]
    UnknownName { kind: &'static str, name: String, available: Vec<String> },
    #[error("cannot read {path}: {cause}")]
    Unreadable { path: String, cause: String },
    #[error(
        "the config file {path} does not exist — check the path given with --config \
         (only the default config file may be missing)"
    )]
    Missing { path: String },
}

impl ConfigError {
    /// A TOML error, reduced to the file, the line and what the parser said.
    pub fn syntax(origin: &str, text: &str, e: &toml::de::Error) -> ConfigError {
        ConfigError::Invalid {
            origin: origin.to_string(),
            line: e.span().map_or(1, |span| line_of(text, span.start)),
            message: e.message().trim().to_string(),
        }
    }
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// The config file (`~/.config/rampart/config.toml`); every key is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Theme name or path.
    pub theme: Option<String>,
    /// Keymap name or path.
    pub keymap: Option<String>,
    /// Start every console read-only.
    #[serde(default)]
    pub read_only: bool,
    /// Tenants to list even while they have no containers.
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub docker: DockerConfig,
    #[serde(default)]
    pub fail2ban: Fail2banConfig,
    /// Access logs to follow, each for one tenant.
    #[serde(default)]
    pub access_log: Vec<AccessLog>,
    #[serde(default)]
    pub falco: FalcoConfig,
    /// Rampart's own detection rules over access events.
    #[serde(default)]
    pub detect: crate::detect::Rules,
    /// File trees whose signed baselines the collector re-verifies.
    #[serde(default)]
    pub integrity: Vec<crate::integrity::TargetConfig>,
    /// CloudWatch Logs groups to follow.
    #[serde(default)]
    pub cloudwatch: Vec<cloudwatch::GroupConfig>,
    /// Where rampart's own events are published (CloudWatch Logs), when at all.
    pub cloudwatch_publish: Option<cloudwatch::PublishConfig>,
    /// The collector's control socket.
    #[serde(default)]
    pub control: ControlConfig,
    /// Who besides root may ask the collector for which action.
    #[serde(default)]
    pub operators: crate::control::policy::Operators,
    /// Tenants' containers whose standard output is their access log, read from the engine.
    #[serde(default)]
    pub engine_logs: engine_logs::EngineLogsConfig,
    /// Alerts that ban their source address without a key pressed.
    #[serde(default)]
    pub respond: Vec<respond::RespondRule>,
    /// What no automatic action may do.
    #[serde(default)]
    pub guardrails: respond::Guardrails,
}

/// `[control]`: the socket through which consoles of users other than root ask the collector to act.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// The socket's path [default: beside the store, `<store>.sock`].
    pub socket: Option<PathBuf>,
    /// The group that may connect (mode 0660) [default: `rampart`, when it exists].
    pub group: Option<String>,
}

/// `[falco]`: where Falco's JSON output (`json_output: true`) comes from: files it writes, and
/// its `http_output` posting to a listener of rampart's.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct FalcoConfig {
    pub files: Vec<PathBuf>,
    /// Address to accept Falco's `http_output` POSTs on (loopback unless you mean otherwise).
    pub listen: Option<String>,
    /// Largest accepted body, in bytes.
    pub max_body: usize,
    /// The shared secret a POST must carry: in its path (`/falco/<token>`, as Falco's
    /// `http_output.url` can) or in the `X-Rampart-Token` header. Required on an address other
    /// than loopback.
    pub token: Option<String>,
    /// POSTs accepted per second from one source address (one IPv6 /64), in bursts of as many.
    pub per_source_per_second: u32,
}

impl Default for FalcoConfig {
    fn default() -> FalcoConfig {
        FalcoConfig { files: Vec::new(), listen: None, max_body: 1 << 20, token: None, per_source_per_second: 100 }
    }
}

/// `[[access_log]]`: a log file, its format, and how its requests find their tenant.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccessLog {
    pub path: PathBuf,
    /// Every request belongs to this tenant…
    pub tenant: Option<String>,
    /// …or the tenant is the first label of the virtual `host`, of the `referer`'s host, or the
    /// first segment of the `path`.
    pub tenant_from: Option<TenantFrom>,
    #[serde(default)]
    pub format: LogFormat,
    /// JSON field names, for `format = "json"`.
    #[serde(default)]
    pub fields: crate::parse::jsonlines::FieldNames,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TenantFrom {
    Host,
    Referer,
    Path,
    /// A JSON field of its own (`[cloudwatch.fields] tenant`); `[[cloudwatch]]` entries only.
    Field,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Combined,
    Json,
}

impl AccessLog {
    /// How lines of this log find their tenant, or why the entry is incomplete.
    pub fn tenant_rule(&self) -> Result<crate::parse::TenantRule, String> {
        use crate::parse::TenantRule;
        match (&self.tenant, self.tenant_from) {
            (Some(t), None) => Ok(TenantRule::Fixed(t.clone())),
            (None, Some(TenantFrom::Host)) if self.format == LogFormat::Combined => {
                Err("tenant_from = \"host\" needs format = \"json\" (the combined format has no host)".into())
            }
            (None, Some(TenantFrom::Host)) => Ok(TenantRule::Host),
            (None, Some(TenantFrom::Referer)) => Ok(TenantRule::Referer),
            (None, Some(TenantFrom::Path)) => Ok(TenantRule::PathPrefix),
            (None, Some(TenantFrom::Field)) => Err(format!(
                "[[access_log]] {}: tenant_from = \"field\" is for [[cloudwatch]] entries; use \"host\", \"referer\" or \"path\"",
                self.path.display()
            )),
            _ => {
                Err(format!("[[access_log]] {} needs either tenant or tenant_from (and not both)", self.path.display()))
            }
        }
    }
}

/// `[fail2ban]`: where Fail2Ban keeps its database and listens for `fail2ban-client`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Fail2banConfig {
    /// Fail2Ban's SQLite database (`dbfile` in fail2ban.conf), read read-only.
    pub database: PathBuf,
    /// Fail2Ban's control socket, passed to `fail2ban-client -s`.
    pub socket: PathBuf,
    /// The client program.
    pub client: PathBuf,
}

impl Default for Fail2banConfig {
    fn default() -> Fail2banConfig {
        Fail2banConfig {
            database: "/var/lib/fail2ban/fail2ban.sqlite3".into(),
            socket: "/var/run/fail2ban/fail2ban.sock".into(),
            client: "fail2ban-client".into(),
        }
    }
}

/// `[docker]`: how tenants are found.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DockerConfig {
    /// Where the engine listens (`unix:///…`, `tcp://…`); unset means DOCKER_HOST, then the local socket.
    pub host: Option<String>,
    /// The container label whose value names the tenant.
    pub label: String,
    /// The network earlier versions attached isolated containers to; isolate and restore now only take them off it.
    pub quarantine_network: String,
}

impl Default for DockerConfig {
    fn default() -> DockerConfig {
        DockerConfig { host: None, label: "rampart.tenant".into(), quarantine_network: "rampart-quarantine".into() }
    }
}

impl Config {
    /// Reads the config file and checks every value; a missing file is an empty config. The
    /// first error found is the one returned (`rampart config check` lists them all).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_checked(path).map_err(|mut errors| {
            let more = errors.len() - 1;
            let mut first = errors.swap_remove(0);
            if let (ConfigError::Invalid { message, .. }, 1..) = (&mut first, more) {
                let s = if more == 1 { "" } else { "s" };
                message.push_str(&format!(" (and {more} more error{s}: `rampart config check` lists them all)"));
            }
            first
        })
    }

    /// Reads a config file named on the command line: unlike the default one, it must exist, so
    /// that a typo cannot silently drop what the file says (`read_only`, where Fail2Ban listens).
    pub fn load_given(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ConfigError::Missing { path: path.display().to_string() })
            }
            _ => Config::load(path),
        }
    }

    /// Reads the config file and checks every value, returning every error found (never empty on
    /// `Err`); a missing file is an empty config.
    pub fn load_checked(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let origin = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(vec![ConfigError::Unreadable { path: origin, cause: e.to_string() }]),
        };
        let config: Config = toml::from_str(&text).map_err(|e| vec![ConfigError::syntax(&origin, &text, &e)])?;
        let errors = check::check(&config, &origin, &text);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors)
        }
    }
}

/// Where rampart keeps things by default (XDG on Linux).
#[derive(Debug, Clone)]
pub struct Dirs {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

/// Where the Debian package puts the config file and the collector keeps its store.
pub const SYSTEM_CONFIG_DIR: &str = "/etc/rampart";
pub const SYSTEM_DATA_DIR: &str = "/var/lib/rampart";

impl Dirs {
    /// The user's folders (XDG); on a host where rampart is installed as a service
    /// (`/etc/rampart/config.toml` exists) and the user has no config file of their own, the
    /// system's, so that every operator's console opens the collector's store.
    pub fn discover() -> Dirs {
        let user = match directories::ProjectDirs::from("", "", "rampart") {
            Some(p) => Dirs { config_dir: p.config_dir().to_owned(), data_dir: p.data_dir().to_owned() },
            None => Dirs { config_dir: PathBuf::from(".rampart"), data_dir: PathBuf::from(".rampart") },
        };
        let system = Dirs { config_dir: SYSTEM_CONFIG_DIR.into(), data_dir: SYSTEM_DATA_DIR.into() };
        if !user.config_file().exists() && system.config_file().exists() {
            system
        } else {
            user
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn default_db(&self) -> PathBuf {
        self.data_dir.join("rampart.db")
    }
}

/// A theme or keymap found by name or path, as text plus where it came from.
struct Found {
    origin: String,
    text: String,
}

fn find(kind: &'static str, spec: &str, user_dir: &Path, shipped: &[(&str, &str)]) -> Result<Found, ConfigError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map(|text| Found { origin: path.display().to_string(), text })
            .map_err(|e| ConfigError::Unreadable { path: path.display().to_string(), cause: e.to_string() })
    };
    if spec.contains('/') || spec.ends_with(".toml") {
        return read(Path::new(spec));
    }
    let user_file = user_dir.join(format!("{spec}.toml"));
    if user_file.is_file() {
        return read(&user_file);
    }
    if let Some((name, text)) = shipped.iter().find(|(n, _)| *n == spec) {
        return Ok(Found { origin: format!("{kind}s/{name}.toml"), text: text.to_string() });
    }
    Err(ConfigError::UnknownName { kind, name: spec.to_string(), available: available(user_dir, shipped) })
}

/// Shipped names, then user files, sorted and without duplicates.
fn available(user_dir: &Path, shipped: &[(&str, &str)]) -> Vec<String> {
    let mut names: Vec<String> = shipped.iter().map(|(n, _)| n.to_string()).collect();
    if let Ok(entries) = std::fs::read_dir(user_dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    names.push(stem.to_string());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// A shipped theme; `extends` resolves through here, so user files cannot form a cycle.
pub fn shipped_theme(name: &str) -> Result<Theme, ConfigError> {
    let (_, text) = THEMES.iter().find(|(n, _)| *n == name).ok_or_else(|| ConfigError::UnknownName {
        kind: "theme",
        name: name.to_string(),
        available: THEMES.iter().map(|(n, _)| n.to_string()).collect(),
    })?;
    Theme::parse(&format!("themes/{name}.toml"), text, &|_| Err(no_nested_extends()))
}

fn no_nested_extends() -> ConfigError {
    ConfigError::Invalid { origin: "themes".into(), line: 1, message: "shipped themes do not extend others".into() }
}

/// Loads a theme by name (user folder first, then shipped) or by path.
pub fn load_theme(spec: &str, config_dir: &Path) -> Result<Theme, ConfigError> {
    let found = find("theme", spec, &config_dir.join("themes"), THEMES)?;
    Theme::parse(&found.origin, &found.text, &shipped_theme)
}

/// Loads a keymap by name (user folder first, then shipped) or by path; its `extends` names a
/// shipped keymap (`default` unless it says otherwise).
pub fn load_keymap(spec: &str, config_dir: &Path) -> Result<Keymap, ConfigError> {
    let found = find("keymap", spec, &config_dir.join("keymaps"), KEYMAPS)?;
    Keymap::parse(&found.origin, &found.text)
}

/// A shipped keymap; each is complete (`extends = "none"`), so `extends` cannot form a cycle.
pub fn shipped_keymap(name: &str) -> Result<Keymap, ConfigError> {
    let (_, text) = KEYMAPS.iter().find(|(n, _)| *n == name).ok_or_else(|| ConfigError::UnknownName {
        kind: "keymap",
        name: name.to_string(),
        available: KEYMAPS.iter().map(|(n, _)| n.to_string()).collect(),
    })?;
    Keymap::parse_extending(&format!("keymaps/{name}.toml"), text, &|_| {
        Err(ConfigError::Invalid {
            origin: "keymaps".into(),
            line: 1,
            message: "shipped keymaps do not extend others".into(),
        })
    })
}

/// The theme to start with: an explicit choice wins, then NO_COLOR (mono), then the config file.
pub fn theme_choice(flag: Option<&str>, config: &Config, no_color: bool) -> String {
    match (flag, no_color, &config.theme) {
        (Some(t), _, _) => t.to_string(),
        (None, true, _) => "mono".to_string(),
        (None, false, Some(t)) => t.clone(),
        (None, false, None) => "default".to_string(),
    }
}
