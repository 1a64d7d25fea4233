//! Every value of the config file checked when the file is read, each error with the file and the
//! line of the value (or of its entry), so that nothing wrong waits to show up on a Sources row.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use toml_edit::{ImDocument, Item, TableLike, Value};

use super::cloudwatch::{parse_duration, GroupConfig, PayloadFormat, PublishConfig};
use super::{line_of, AccessLog, Config, ConfigError, FalcoConfig, LogFormat, TenantFrom};

/// The shortest `poll` a group may have: more often than this is a busy loop against the API.
pub const MIN_POLL: Duration = Duration::from_millis(100);
/// The most FilterLogEvents requests per second rampart sends (the account's quota is 5–25).
pub const MAX_REQUESTS_PER_SECOND: u32 = 1000;

/// One step of the way to a value: a key, or an entry of an array.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    At(usize),
}

/// Finds the line of a value in the file's text.
struct Lines<'t> {
    text: &'t str,
    doc: Option<ImDocument<&'t str>>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Lines<'t> {
        Lines { text, doc: ImDocument::parse(text).ok() }
    }

    /// The line of the value at `path`, else of the nearest thing on the way to it that has one.
    fn of(&self, path: &[Step<'_>]) -> usize {
        let Some(doc) = &self.doc else { return 1 };
        let mut line = 1;
        let mut node = Node::Table(doc.as_table());
        for step in path {
            let next = match (node, *step) {
                (Node::Table(t), Step::Key(k)) => t.get_key_value(k).map(|(key, item)| {
                    if let Some(span) = key.span() {
                        line = line_of(self.text, span.start);
                    }
                    node_of(item)
                }),
                (Node::Tables(list), Step::At(i)) => list.get(i).map(|t| {
                    if let Some(span) = t.span() {
                        line = line_of(self.text, span.start);
                    }
                    Node::Table(t)
                }),
                (Node::Value(Value::Array(list)), Step::At(i)) => list.get(i).map(|v| {
                    if let Some(span) = v.span() {
                        line = line_of(self.text, span.start);
                    }
                    match v {
                        Value::InlineTable(t) => Node::Table(t),
                        other => Node::Value(other),
                    }
                }),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        line
    }
}

/// Where a walk through the document is.
#[derive(Clone, Copy)]
enum Node<'d> {
    Table(&'d dyn TableLike),
    Tables(&'d toml_edit::ArrayOfTables),
    Value(&'d Value),
    Other,
}

fn node_of(item: &Item) -> Node<'_> {
    match item {
        Item::Table(t) => Node::Table(t),
        Item::ArrayOfTables(list) => Node::Tables(list),
        Item::Value(Value::InlineTable(t)) => Node::Table(t),
        Item::Value(v) => Node::Value(v),
        Item::None => Node::Other,
    }
}

/// Collects the errors of one file.
struct Errors<'t> {
    origin: &'t str,
    lines: Lines<'t>,
    found: Vec<ConfigError>,
}

impl Errors<'_> {
    fn add(&mut self, path: &[Step<'_>], message: String) {
        let line = self.lines.of(path);
        self.found.push(ConfigError::Invalid { origin: self.origin.to_string(), line, message });
    }
}

/// Every error in `config` (read from `text`, which came from `origin`), in the order of the file's
/// sections; empty when the config is good.
pub fn check(config: &Config, origin: &str, text: &str) -> Vec<ConfigError> {
    let mut e = Errors { origin, lines: Lines::new(text), found: Vec::new() };
    docker(&mut e, config);
    engine_logs(&mut e, config);
    falco(&mut e, config);
    for (i, log) in config.access_log.iter().enumerate() {
        access_log(&mut e, i, log);
    }
    for (i, target) in config.integrity.iter().enumerate() {
        integrity(&mut e, i, target);
    }
    detect(&mut e, config);
    respond(&mut e, config);
    for (i, group) in config.cloudwatch.iter().enumerate() {
        cloudwatch(&mut e, i, group);
    }
    if let Some(publish) = &config.cloudwatch_publish {
        cloudwatch_publish(&mut e, publish);
    }
    control(&mut e, config);
    let mut found = e.found;
    found.sort_by_key(|err| match err {
        ConfigError::Invalid { line, .. } => *line,
        _ => 0,
    });
    found
}

/// `[control]` and `[operators]`: a socket path a Unix socket can have, and entries that say
/// whether they name a user or a group.
fn control(e: &mut Errors<'_>, config: &Config) {
    if let Some(socket) = &config.control.socket {
        // sun_path holds 108 bytes with the terminating zero.
        if !socket.is_absolute() || socket.as_os_str().len() > 107 {
            e.add(
                &[Step::Key("control"), Step::Key("socket")],
                format!(
                    "[control] socket = \"{}\" must be an absolute path of at most 107 bytes \
                     (e.g. /run/rampart/rampart.sock)",
                    socket.display()
                ),
            );
        }
    }
    if config.control.group.as_deref() == Some("") {
        e.add(
            &[Step::Key("control"), Step::Key("group")],
            "[control] group is empty: name a group, or leave it out".into(),
        );
    }
    for (action, i, why) in config.operators.problems() {
        e.add(&[Step::Key("operators"), Step::Key(action), Step::At(i)], format!("[operators] {action}: {why}"));
    }
}

fn docker(e: &mut Errors<'_>, config: &Config) {
    if let Some(host) = &config.docker.host {
        let known = ["unix://", "tcp://", "http://", "https://"];
        if !known.iter().any(|scheme| host.starts_with(scheme) && host.len() > scheme.len()) {
            e.add(
                &[Step::Key("docker"), Step::Key("host")],
                format!(
                    "[docker] host = \"{host}\" is not an engine address; write unix:///var/run/docker.sock or \
                     tcp://HOST:2376 (or leave it out for DOCKER_HOST, then the local socket)"
                ),
            );
        }
    }
}

fn engine_logs(e: &mut Errors<'_>, config: &Config) {
    let label = config.engine_logs.label.trim();
    let at = [Step::Key("engine_logs"), Step::Key("label")];
    if label.is_empty() {
        e.add(
            &at,
            "[engine_logs] label is empty; name the container label that marks an access log on standard \
             output [default: rampart.access]"
                .into(),
        );
    } else if label == config.docker.label.trim() {
        e.add(
            &at,
            format!(
                "[engine_logs] label = \"{label}\" is the tenant label ([docker] label); the access label says the \
                 format (combined or json), so it must be another [default: rampart.access]"
            ),
        );
    }
}

/// `HOST:PORT` with a port number (`127.0.0.1:2801`, `[::1]:2801`, `localhost:2801`).
fn is_address(text: &str) -> bool {
    text.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

/// The path prefix of the secret in Falco's `http_output.url`: `http://HOST:PORT/falco/<secret>`.
pub const SECRET_PATH: &str = "/falco/";
/// The shortest secret accepted for a listener reachable from other hosts.
pub const MIN_SECRET: usize = 16;
/// Whether `config` may listen as it says: an address other than loopback needs a secret (and a
/// long one), and the rate must be at least 1. The message says how to fix it.
pub fn listener(config: &FalcoConfig) -> Result<(), String> {
    let Some(listen) = &config.listen else { return Ok(()) };
    if config.per_source_per_second == 0 {
        return Err("[falco] per_source_per_second = 0 would refuse every POST: give at least 1".into());
    }
    let secret = config.token.as_deref().unwrap_or_default();
    if loopback_only(listen) {
        return Ok(());
    }
    if secret.is_empty() {
        return Err(format!(
            "[falco] listen = \"{listen}\" is reachable from other hosts (and tenants' containers), and \
             [falco] token is not set: set token to a secret of at least {MIN_SECRET} characters and give it \
             to Falco in http_output.url as http://HOST:PORT{SECRET_PATH}<token> — or listen on 127.0.0.1"
        ));
    }
    if secret.chars().count() < MIN_SECRET {
        return Err(format!(
            "[falco] token is shorter than {MIN_SECRET} characters, too easy to guess for listen = \"{listen}\", \
             which is reachable from other hosts: use a longer secret (`openssl rand -hex 24` makes one)"
        ));
    }
    Ok(())
}

/// Whether every address `listen` names is a loopback address (an address that does not resolve
/// counts as reachable: the bind itself will say what is wrong with it).
fn loopback_only(listen: &str) -> bool {
    match listen.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

fn falco(e: &mut Errors<'_>, config: &Config) {
    if let Some(listen) = &config.falco.listen {
        if !is_address(listen) {
            e.add(
                &[Step::Key("falco"), Step::Key("listen")],
                format!("[falco] listen = \"{listen}\" is not an address and port like 127.0.0.1:2801"),
            );
        }
    }
    // Reachable by whom is asked only of an address that is one.
    let is_one = config.falco.listen.as_deref().is_none_or(is_address);
    if let (true, Err(why)) = (is_one, listener(&config.falco)) {
        let key = match (config.falco.per_source_per_second, &config.falco.token) {
            (0, _) => "per_source_per_second",
            (_, Some(_)) => "token",
            (_, None) => "listen",
        };
        e.add(&[Step::Key("falco"), Step::Key(key)], why);
    }
    if config.falco.max_body == 0 {
        e.add(
            &[Step::Key("falco"), Step::Key("max_body")],
            "[falco] max_body = 0 would refuse every alert; give the largest body to accept, in bytes \
             [default: 1048576]"
                .into(),
        );
    }
}

fn access_log(e: &mut Errors<'_>, i: usize, log: &AccessLog) {
    let at = [Step::Key("access_log"), Step::At(i)];
    if log.path.as_os_str().is_empty() {
        e.add(&[at[0], at[1], Step::Key("path")], "[[access_log]] path is empty; name the log file to follow".into());
    }
    if let Err(why) = log.tenant_rule() {
        let key = if log.tenant_from.is_some() { "tenant_from" } else { "tenant" };
        let why = if why.starts_with("[[access_log]]") {
            why
        } else {
            format!("[[access_log]] {}: {why}", log.path.display())
        };
        e.add(&[at[0], at[1], Step::Key(key)], why);
    }
    if log.format == LogFormat::Combined && log.fields != crate::parse::jsonlines::FieldNames::default() {
        e.add(
            &[at[0], at[1], Step::Key("fields")],
            format!("[[access_log]] {}: [access_log.fields] is for format = \"json\"", log.path.display()),
        );
    }
}

fn integrity(e: &mut Errors<'_>, i: usize, target: &crate::integrity::TargetConfig) {
    if let Some(every) = &target.every {
        if let Err(why) = crate::integrity::parse_every(every) {
            e.add(
                &[Step::Key("integrity"), Step::At(i), Step::Key("every")],
                format!("[[integrity]] {}: every: {why}", target.name),
            );
        }
    }
}

fn detect(e: &mut Errors<'_>, config: &Config) {
    let rules = &config.detect;
    for (i, allowed) in rules.allow.iter().enumerate() {
        if crate::detect::network(allowed).is_none() {
            e.add(
                &[Step::Key("detect"), Step::Key("allow"), Step::At(i)],
                format!(
                    "[detect] allow: \"{allowed}\" is not a network like 192.0.2.0/24, 2001:db8::/32 or one address"
                ),
            );
        }
    }
    for (i, glob) in rules.login.paths.iter().enumerate() {
        if let Err(why) = crate::detect::login::glob(glob) {
            e.add(
                &[Step::Key("detect"), Step::Key("login"), Step::Key("paths"), Step::At(i)],
                format!("[detect.login] paths: \"{glob}\" is not a path glob like /login or */sign_in: {why}"),
            );
        }
    }
    for (i, status) in rules.login.failure_statuses.iter().enumerate() {
        if !(100..=599).contains(status) {
            e.add(
                &[Step::Key("detect"), Step::Key("login"), Step::Key("failure_statuses"), Step::At(i)],
                format!("[detect.login] failure_statuses: {status} is not an HTTP status (100 to 599)"),
            );
        }
    }
    // A known probe matches on every key it gives; one that names no network is told by what the
    // client writes (its path, its user agent), so its requests are not counted but an attack in
    // their target still alerts.
    for (i, probe) in rules.known_probe.iter().enumerate() {
        if let Some((key, why)) = crate::detect::probe::problem(probe) {
            let at = [Step::Key("detect"), Step::Key("known_probe"), Step::At(i), Step::Key(key)];
            let name = if probe.name.is_empty() { String::new() } else { format!(" \"{}\"", probe.name) };
            e.add(&at, format!("[[detect.known_probe]]{name}: {why}"));
        }
    }
    let all = [
        ("brute_force", &rules.brute_force),
        ("credential_stuffing", &rules.credential_stuffing),
        ("password_spray", &rules.password_spray),
        ("cross_tenant", &rules.cross_tenant),
        ("web_attack", &rules.web_attack),
        ("scan_404", &rules.scan_404),
        ("isolated_tenant_access", &rules.isolated_tenant_access),
    ];
    for (name, rule) in all {
        let at = |key| [Step::Key("detect"), Step::Key(name), Step::Key(key)];
        if rule.priority.parse::<crate::store::alerts::Priority>().is_err() {
            e.add(
                &at("priority"),
                format!(
                    "[detect.{name}] priority = \"{}\" is not a Falco priority; use emergency, alert, critical, \
                     error, warning, notice, informational or debug",
                    rule.priority
                ),
            );
        }
        if rule.threshold == 0 {
            e.add(&at("threshold"), format!("[detect.{name}] threshold = 0 would fire on nothing; give 1 or more"));
        }
        if rule.leak_seconds < 0 {
            e.add(
                &at("leak_seconds"),
                format!(
                    "[detect.{name}] leak_seconds = {} cannot be negative; give the seconds for one event to leak out \
                     of the bucket (0: window_seconds / threshold)",
                    rule.leak_seconds
                ),
            );
        }
        if rule.window_seconds <= 0 {
            e.add(
                &at("window_seconds"),
                format!("[detect.{name}] window_seconds = {} is not a window; give 1 or more", rule.window_seconds),
            );
        }
    }
}

fn respond(e: &mut Errors<'_>, config: &Config) {
    for (i, rule) in config.respond.iter().enumerate() {
        let key = |k| [Step::Key("respond"), Step::At(i), Step::Key(k)];
        let name = rule.name.trim();
        if name.is_empty() {
            e.add(
                &key("name"),
                "[[respond]] name is empty; name the rule (the audit log gives it as the actor)".into(),
            );
        } else if config.respond[..i].iter().any(|r| r.name.trim() == name) {
            e.add(
                &key("name"),
                format!("[[respond]] {name}: another rule has this name; each says who acted in the audit log"),
            );
        }
        if rule.rule.is_none() && rule.priority.is_none() {
            e.add(
                &[Step::Key("respond"), Step::At(i)],
                format!(
                    "[[respond]] {name}: give rule (an alert rule's name), priority (the lowest priority that \
                     acts), or both"
                ),
            );
        }
        if let Some(p) = rule.priority.as_deref().filter(|p| p.parse::<crate::store::alerts::Priority>().is_err()) {
            e.add(
                &key("priority"),
                format!(
                    "[[respond]] {name}: priority = \"{p}\" is not a Falco priority; use emergency, alert, critical, \
                     error, warning, notice, informational or debug"
                ),
            );
        }
        if rule.action == crate::config::respond::RespondAction::Ban && rule.jail.trim().is_empty() {
            e.add(&key("jail"), format!("[[respond]] {name}: jail is empty; name the Fail2Ban jail to ban in"));
        }
        if let Some(Err(why)) = rule.ban_for.as_deref().map(parse_duration) {
            e.add(&key("ban_for"), format!("[[respond]] {name}: ban_for: {why}"));
        }
    }
    let guard = &config.guardrails;
    for (i, allowed) in guard.allow.iter().enumerate() {
        if crate::detect::network(allowed).is_none() {
            e.add(
                &[Step::Key("guardrails"), Step::Key("allow"), Step::At(i)],
                format!(
                    "[guardrails] allow: \"{allowed}\" is not a network like 192.0.2.0/24, 2001:db8::/32 or one \
                     address"
                ),
            );
        }
    }
    if guard.max_per_minute == 0 {
        e.add(
            &[Step::Key("guardrails"), Step::Key("max_per_minute")],
            "[guardrails] max_per_minute = 0 would stop every automatic action; give 1 or more [default: 10]".into(),
        );
    }
}

/// A CloudWatch Logs group name: 1–512 of letters, digits, `_ - / . #`.
fn is_group_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '#'))
}

/// `http://…` or `https://…` with a host.
fn is_endpoint(url: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme).is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
    })
}

fn cloudwatch(e: &mut Errors<'_>, i: usize, g: &GroupConfig) {
    let label = g.label();
    let key = |k| [Step::Key("cloudwatch"), Step::At(i), Step::Key(k)];
    let entry = [Step::Key("cloudwatch"), Step::At(i)];
    match (&g.group, &g.group_prefix) {
        (Some(_), Some(_)) => {
            e.add(&key("group_prefix"), format!("[[cloudwatch]] {label}: give group or group_prefix, not both"))
        }
        (None, None) => {
            e.add(&entry, "[[cloudwatch]] needs group (one log group) or group_prefix (every group under it)".into())
        }
        _ => {}
    }
    for (name, value) in [("group", &g.group), ("group_prefix", &g.group_prefix)] {
        if let Some(v) = value.as_deref().filter(|v| !is_group_name(v)) {
            e.add(
                &key(name),
                format!(
                    "[[cloudwatch]] {name} = \"{v}\" is not a log group name (1 to 512 of letters, digits, _ - / . #)"
                ),
            );
        }
    }
    if !g.streams.is_empty() && g.stream_prefix.is_some() {
        e.add(&key("stream_prefix"), format!("[[cloudwatch]] {label}: give streams or stream_prefix, not both"));
    }
    let tenant_key = if g.tenant_from.is_some() { "tenant_from" } else { "tenant" };
    let tenant_error = match (&g.tenant, g.tenant_from) {
        (Some(_), Some(_)) => Some("give tenant or tenant_from, not both".to_string()),
        (None, Some(TenantFrom::Field)) if g.format != PayloadFormat::Json => {
            Some("tenant_from = \"field\" needs format = \"json\"".to_string())
        }
        (None, Some(TenantFrom::Host)) if g.format == PayloadFormat::Text => {
            Some("tenant_from = \"host\" needs format = \"json\"".to_string())
        }
        (None, None) if matches!(g.format, PayloadFormat::Json | PayloadFormat::Text) => {
            Some("needs either tenant or tenant_from (access events belong to a tenant)".to_string())
        }
        _ => None,
    };
    if let Some(why) = tenant_error {
        e.add(&key(tenant_key), format!("[[cloudwatch]] {label}: {why}"));
    }
    for (name, value) in [("since", &g.since), ("poll", &g.poll), ("overlap", &g.overlap)] {
        let Some(text) = value else { continue };
        match parse_duration(text) {
            Err(why) => e.add(&key(name), format!("[[cloudwatch]] {label}: {name}: {why}")),
            Ok(d) if name == "poll" && d < MIN_POLL => e.add(
                &key(name),
                format!(
                    "[[cloudwatch]] {label}: poll = \"{text}\" is shorter than {} ms, which would poll without \
                     pause; give 100ms or more [default: 5s]",
                    MIN_POLL.as_millis()
                ),
            ),
            Ok(_) => {}
        }
    }
    if let Some(rate) = g.requests_per_second.filter(|r| !(1..=MAX_REQUESTS_PER_SECOND).contains(r)) {
        e.add(
            &key("requests_per_second"),
            format!(
                "[[cloudwatch]] {label}: requests_per_second = {rate} is outside 1 to {MAX_REQUESTS_PER_SECOND} \
                 (the account's quota is 5 to 25 a second per region, shared with every other client) [default: 3]"
            ),
        );
    }
    endpoint(e, &key("endpoint_url"), "[[cloudwatch]]", g.endpoint_url.as_deref());
    region(e, &key("region"), "[[cloudwatch]]", g.region.as_deref());
}

fn cloudwatch_publish(e: &mut Errors<'_>, p: &PublishConfig) {
    let key = |k| [Step::Key("cloudwatch_publish"), Step::Key(k)];
    if let Some(group) = p.group.as_deref().filter(|g| !is_group_name(g)) {
        e.add(
            &key("group"),
            format!("[cloudwatch_publish] group = \"{group}\" is not a log group name (1 to 512 of letters, digits, _ - / . #)"),
        );
    }
    endpoint(e, &key("endpoint_url"), "[cloudwatch_publish]", p.endpoint_url.as_deref());
    region(e, &key("region"), "[cloudwatch_publish]", p.region.as_deref());
}

fn endpoint(e: &mut Errors<'_>, at: &[Step<'_>], section: &str, url: Option<&str>) {
    if let Some(url) = url.filter(|u| !is_endpoint(u)) {
        e.add(
            at,
            format!(
                "{section} endpoint_url = \"{url}\" is not a URL; write it as https://logs.us-east-1.amazonaws.com \
                 or http://127.0.0.1:5000"
            ),
        );
    }
}

fn region(e: &mut Errors<'_>, at: &[Step<'_>], section: &str, region: Option<&str>) {
    let good = |r: &str| !r.is_empty() && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if let Some(r) = region.filter(|r| !good(r)) {
        e.add(at, format!("{section} region = \"{r}\" is not an AWS region like us-east-1 or eu-west-2"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn falco(listen: &str, token: Option<&str>) -> FalcoConfig {
        FalcoConfig { listen: Some(listen.into()), token: token.map(str::to_string), ..Default::default() }
    }

    #[test]
    fn a_listener_other_hosts_can_reach_needs_a_long_secret() {
        assert_eq!(listener(&falco("127.0.0.1:2801", None)), Ok(()));
        assert_eq!(listener(&falco("[::1]:2801", None)), Ok(()));
        let open = listener(&falco("0.0.0.0:2801", None)).unwrap_err();
        assert!(open.contains("token is not set") && open.contains("/falco/<token>"), "{open}");
        assert!(listener(&falco("0.0.0.0:2801", Some("short"))).unwrap_err().contains("shorter than 16"));
        assert_eq!(listener(&falco("0.0.0.0:2801", Some("0123456789abcdef0123"))), Ok(()));
        let zero = FalcoConfig { per_source_per_second: 0, ..falco("127.0.0.1:2801", None) };
        assert!(listener(&zero).unwrap_err().contains("per_source_per_second"));
    }
}
