//! Detection rules over access events, emitting alerts in Falco's shape (source `rampart`), each
//! linked to the events that caused it. Rules see events one at a time, in order; counting rules
//! are leaky buckets per key (an address, or the tenant a spray targets), so one rule catches the
//! burst and the patient attacker while keeping a few numbers per key.

mod few;
pub mod grammar;
pub mod incident;
pub mod judge;
pub mod login;
pub mod probe;
pub mod runner;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use serde::Deserialize;

use crate::parse::decode::Target;
use crate::store::access::{AccessEvent, Row};
use crate::store::alerts::{Alert, Priority};
use few::{Distinct, Recent};
use incident::Incident;
use login::{LoginPaths, Outcome, Pending};
use probe::{Known, Probes};

/// One rule's switch, bucket and priority. A counting rule is a leaky bucket per key: each event
/// it counts adds one, one leaks out every `leak_seconds`, and it fires when the bucket holds more
/// than `threshold - 1` (the `threshold`-th event of a burst, or of a patient attacker who comes
/// back faster than the bucket leaks). What it raises is one incident: the key's events while
/// the bucket holds anything (a full bucket spills: it holds at most `threshold`), and within
/// `window_seconds` of the last, are added to that alert (its count, when last seen) instead of
/// raising another.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Rule {
    pub enabled: bool,
    /// How full the bucket must be to fire (1: every event it counts fires).
    pub threshold: usize,
    /// Seconds for one event to leak out of the bucket; 0: `window_seconds / threshold` (then
    /// the rule fires on `threshold` events within `window_seconds`, as a sliding window would).
    pub leak_seconds: i64,
    /// How long after its last event an incident stays open at least, though its bucket be empty.
    pub window_seconds: i64,
    /// For a spray: how many different addresses, and as many different users, must be in the bucket.
    pub distinct: usize,
    pub priority: String,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule {
            enabled: true,
            threshold: 10,
            leak_seconds: 0,
            window_seconds: 120,
            distinct: 0,
            priority: "warning".into(),
        }
    }
}

impl Rule {
    /// Milliseconds for one event to leak out.
    fn leak_ms(&self) -> f64 {
        if self.leak_seconds > 0 {
            self.leak_seconds as f64 * 1000.0
        } else {
            self.window_seconds.max(1) as f64 * 1000.0 / self.threshold.max(1) as f64
        }
    }

    /// How long a full bucket takes to empty, or the quiet window if longer, in ms.
    fn memory_ms(&self) -> i64 {
        (self.leak_ms() * self.threshold as f64) as i64 + self.window_seconds * 1000
    }

    fn overflows(&self, level: f64) -> bool {
        level > self.threshold as f64 - 1.0
    }
}

/// `[detect]` in the config file; every rule is on by default.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub brute_force: Rule,
    pub credential_stuffing: Rule,
    pub password_spray: Rule,
    pub cross_tenant: Rule,
    pub web_attack: Rule,
    pub scan_404: Rule,
    pub isolated_tenant_access: Rule,
    /// Networks never alerted on (`192.0.2.0/24`, `2001:db8::/32`, or one address): the company's
    /// own scanner, a monitoring probe.
    pub allow: Vec<String>,
    /// `[detect.login]`: login paths and the statuses of a failure.
    pub login: login::Logins,
    /// `[[detect.known_probe]]`: health checkers and scanners of one's own, never counted.
    pub known_probe: Vec<probe::KnownProbe>,
}

/// A network as `address/prefix` (or one address); `None` when it is not one.
pub fn network(text: &str) -> Option<(std::net::IpAddr, u8)> {
    let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
    let address: std::net::IpAddr = address.trim().parse().ok()?;
    let most = if address.is_ipv4() { 32 } else { 128 };
    let prefix = if prefix.is_empty() { most } else { prefix.trim().parse().ok().filter(|p| *p <= most)? };
    Some((address, prefix))
}

/// Whether `ip` lies in the network `(base, prefix)`.
pub fn within(ip: std::net::IpAddr, (base, prefix): (std::net::IpAddr, u8)) -> bool {
    use std::net::IpAddr::{V4, V6};
    let (a, b, bits) = match (ip, base) {
        (V4(a), V4(b)) => (u128::from(u32::from(a)) << 96, u128::from(u32::from(b)) << 96, prefix),
        (V6(a), V6(b)) => (u128::from(a), u128::from(b), prefix),
        (V6(a), V4(b)) => match a.to_ipv4_mapped() {
            Some(a) => (u128::from(u32::from(a)) << 96, u128::from(u32::from(b)) << 96, prefix),
            None => return false,
        },
        (V4(_), V6(_)) => return false,
    };
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
    a & mask == b & mask
}

impl Default for Rules {
    fn default() -> Rules {
        let rule = |threshold, leak_seconds, window_seconds, priority: &str| Rule {
            enabled: true,
            threshold,
            leak_seconds,
            window_seconds,
            distinct: 0,
            priority: priority.into(),
        };
        Rules {
            // Ten failures in a burst, or one every < 10 min for a few hours.
            brute_force: rule(10, 600, 120, "warning"),
            // Five users tried (and not logged in as afterwards) from one address, one leaking per 10 min.
            credential_stuffing: rule(5, 600, 300, "error"),
            // Twenty failures against one tenant from ten or more addresses and users, one leaking per minute.
            password_spray: Rule { distinct: 10, ..rule(20, 60, 600, "error") },
            cross_tenant: rule(1, 0, 60, "critical"),
            web_attack: rule(1, 0, 60, "warning"),
            // Twenty different missing paths, one leaking per 30 min: a scan spread over a day too.
            scan_404: rule(20, 1800, 60, "notice"),
            isolated_tenant_access: rule(1, 0, 60, "critical"),
            allow: Vec::new(),
            login: login::Logins::default(),
            known_probe: Vec::new(),
        }
    }
}

impl Rules {
    fn all(&self) -> [&Rule; 7] {
        [
            &self.brute_force,
            &self.credential_stuffing,
            &self.password_spray,
            &self.cross_tenant,
            &self.web_attack,
            &self.scan_404,
            &self.isolated_tenant_access,
        ]
    }
}

/// User agents of scanners.
const SCANNERS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nuclei",
    "masscan",
    "zgrab",
    "dirbuster",
    "gobuster",
    "wpscan",
    "nmap scripting engine",
    "acunetix",
    "netsparker",
    "feroxbuster",
    "ffuf",
];

/// Every scanner at once, in one pass over the text, letter case ignored.
static SCANNER_NAMES: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .kind(Some(AhoCorasickKind::DFA))
        .build(SCANNERS)
        .expect("the scanner names are plain strings")
});

/// The first scanner named in `text`.
fn scanner_in(text: &str) -> Option<&'static str> {
    SCANNERS.get(SCANNER_NAMES.find(text)?.pattern().as_usize()).copied()
}

/// User agents remembered with the scanner each names, at most (then forgotten all at once), and
/// the longest remembered (a longer one is searched each time): at most 2 MiB of text.
const AGENTS_REMEMBERED: usize = 4_096;
const AGENT_REMEMBERED_LEN: usize = 512;

/// The scanner a user agent names. A log repeats a few hundred user agents among millions of
/// requests, so what each holds is remembered.
#[derive(Default)]
struct Scanners {
    agents: HashMap<Box<str>, Option<&'static str>, foldhash::fast::RandomState>,
}

impl Scanners {
    fn of(&mut self, user_agent: &str) -> Option<&'static str> {
        if user_agent.len() > AGENT_REMEMBERED_LEN {
            return scanner_in(user_agent);
        }
        if let Some(known) = self.agents.get(user_agent) {
            return *known;
        }
        let found = scanner_in(user_agent);
        if self.agents.len() >= AGENTS_REMEMBERED {
            self.agents.clear();
        }
        self.agents.insert(user_agent.into(), found);
        found
    }
}

/// An attack read in a request target, and the target as decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attack {
    pub why: &'static str,
    pub decoded: String,
}

/// Whether a target has anything to decode, resolve or judge: an escape, a query, a quote, a
/// shell metacharacter or a `<`, or a `/.` or `//` (one pass; most requests have none).
fn maybe_attack(raw: &str) -> bool {
    if raw.starts_with('.') {
        return true;
    }
    let mut prev = 0;
    for b in raw.bytes() {
        match b {
            b'%' | b'+' | b'\\' | b'?' | b'\'' | b'"' | b'`' | b';' | b'|' | b'&' | b'$' | b'(' | b'<' | b'\0' => {
                return true
            }
            b'.' | b'/' if prev == b'/' => return true,
            _ => prev = b,
        }
    }
    false
}

/// The attack in a request target (path and query), judged on what it decodes to: a path that
/// climbs above the root (also once a filter has stripped `../` from it: `....//`), a NUL byte,
/// SQL, command or script injection in the path or a parameter, a parameter that climbs above
/// where it starts or names a stream wrapper (`php://`, `file://`, `data:`), a path segment naming
/// a secrets file (`/.env`).
pub fn attack_in(raw: &str) -> Option<Attack> {
    if !maybe_attack(raw) {
        return None;
    }
    let target = Target::of(raw);
    let found = |why| Some(Attack { why, decoded: target.shown() });
    if target.above_root > 0 {
        return found("path traversal above the root");
    }
    if target.above_root_once_stripped > 0 {
        return found("path traversal through a filter that strips ../ once");
    }
    if target.path.contains('\0') || target.values.iter().any(|v| v.contains('\0')) {
        return found("a NUL byte");
    }
    for text in std::iter::once(&target.path).chain(&target.values) {
        if let Some(why) = grammar::sql_injection(text)
            .or_else(|| grammar::command_injection(text))
            .or_else(|| grammar::script_injection(text))
        {
            return found(why);
        }
    }
    for value in &target.values {
        if value.contains("..") {
            if traverses(value) {
                return found("path traversal in a parameter");
            }
            if traverses(&crate::parse::decode::strip_climbs_once(value)) {
                return found("path traversal in a parameter, through a filter that strips ../ once");
            }
        }
        if let Some(why) = grammar::wrapper(value) {
            return found(why);
        }
    }
    if target.path.contains("/.")
        && target.path.split('/').any(|segment| SECRETS.iter().any(|s| segment.eq_ignore_ascii_case(s)))
    {
        return found("a probe for a secrets file");
    }
    None
}

/// What the last few thousand request targets that needed judging held: a log repeats its
/// targets (a search, a page with a query) far more often than it has new ones, and decoding
/// allocates. Bounded like the user agents.
#[derive(Default)]
struct Targets {
    seen: HashMap<Box<str>, Option<Attack>, foldhash::fast::RandomState>,
}

impl Targets {
    fn of(&mut self, raw: &str) -> Option<Attack> {
        if !maybe_attack(raw) {
            return None;
        }
        if raw.len() > AGENT_REMEMBERED_LEN {
            return attack_in(raw);
        }
        if let Some(known) = self.seen.get(raw) {
            return known.clone();
        }
        let found = attack_in(raw);
        if self.seen.len() >= AGENTS_REMEMBERED {
            self.seen.clear();
        }
        self.seen.insert(raw.into(), found.clone());
        found
    }
}

/// Whether a parameter's value climbs above where it starts, or climbs twice (`/var/www/../../etc`).
fn traverses(value: &str) -> bool {
    crate::parse::decode::resolve(value).1 > 0 || value.split(['/', '\\']).filter(|s| *s == "..").count() >= 2
}

/// Path segments that name files holding secrets, which no site serves: a request for one is a probe.
const SECRETS: &[&str] =
    &[".env", ".git", ".svn", ".hg", ".htpasswd", ".aws", ".ssh", ".docker", ".npmrc", ".git-credentials"];

pub use crate::store::detections::Detection;

/// A leaky bucket's level as of its last event.
#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    level: f64,
    at: i64,
}

impl Bucket {
    /// The level at `ts`, after what leaked since the last event (never below 0).
    fn drain(&mut self, ts: i64, leak_ms: f64) -> f64 {
        if ts > self.at {
            self.level = (self.level - (ts - self.at) as f64 / leak_ms).max(0.0);
            self.at = ts;
        }
        self.level
    }

    fn add(&mut self, ts: i64, leak_ms: f64, amount: f64) -> f64 {
        self.drain(ts, leak_ms);
        self.level = (self.level + amount).max(0.0);
        self.level
    }

    /// One event counted by `rule`: the level after it — a full bucket spills, so it holds at most
    /// the rule's threshold and empties within `threshold` leaks of the last event — and whether
    /// it had emptied before it.
    fn count(&mut self, ts: i64, rule: &Rule) -> (f64, bool) {
        let emptied = self.drain(ts, rule.leak_ms()) == 0.0;
        self.level = (self.level + 1.0).min(rule.threshold.max(1) as f64);
        (self.level, emptied)
    }
}

/// A source address as the rules key it: parsed when it is one (a fixed-size key, hashed and
/// compared without following a pointer), else the text as it came.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Address {
    Ip(std::net::IpAddr),
    Other(Box<str>),
}

impl Address {
    fn of(text: &str) -> Address {
        crate::parse::address::ip(text).map_or_else(|| Address::Other(text.into()), Address::Ip)
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Ip(ip) => ip.fmt(f),
            Address::Other(text) => f.write_str(text),
        }
    }
}

/// Most users, paths or addresses a bucket tells apart; past it, new ones still fill the bucket.
const DISTINCT_KEPT: usize = 1_024;

/// A missing path's worth that an answered request from the same address takes back out of its
/// scan bucket.
const ANSWERED_CREDIT: f64 = 0.25;

/// A failed login's worth that a successful login from the same address takes back out of its
/// brute-force bucket: an office that logs in fine outweighs its typos. Successes take back at
/// most half the bucket's worth until that has leaked away, so an attacker who makes a login look
/// successful after each try (a page served after it) only slows the bucket down.
const SUCCESS_CREDIT: f64 = 2.0;

/// The rules that count per address, by their place in [`PerIp::incidents`].
const BRUTE_FORCE: usize = 0;
const STUFFING: usize = 1;
const SCAN: usize = 2;
const WEB_ATTACK: usize = 3;
const CROSS_TENANT: usize = 4;
const ISOLATED: usize = 5;

#[derive(Default)]
struct PerIp {
    failures: Bucket,
    failed: Recent,
    /// What successful logins have taken back out of `failures` lately.
    credited: Bucket,
    /// Users who failed to log in and have not logged in since, with the stuffing bucket.
    users: HashSet<Box<str>, foldhash::fast::RandomState>,
    stuffing: Bucket,
    /// Different missing paths asked for (by hash), with the scan bucket.
    missing: Distinct,
    not_found: Bucket,
    missed: Recent,
    /// The buckets of the rules that fire on one event (web attack, cross-tenant, isolated
    /// tenant), which say how long their incidents stay open.
    single: [Bucket; 3],
    /// Each rule's open incident for this address, by [`BRUTE_FORCE`] … [`ISOLATED`].
    incidents: [Option<Box<Incident>>; 6],
    /// The newest event the rules kept state for.
    last: i64,
}

impl PerIp {
    /// Counts an event of the per-address rule in `which` place, whose bucket stands at `level`
    /// after it (`emptied` before it): into its open incident, or raising the alert `raise` makes
    /// from the address's state (read only then: most events raise nothing). True when an open
    /// incident grew (its alert is brought up to date at the next flush).
    #[allow(clippy::too_many_arguments)]
    fn counted(
        &mut self,
        rules: &Rules,
        which: usize,
        id: i64,
        ts: i64,
        (level, emptied): (f64, bool),
        out: &mut Vec<Detection>,
        raise: impl FnOnce(&'static str, &Rule, &PerIp) -> Detection,
    ) -> bool {
        let (name, rule) = rule_of(rules, which);
        let mut slot = self.incidents[which].take();
        let changed = incident::count(&mut slot, rule, id, ts, level, emptied, out, || raise(name, rule, self));
        self.incidents[which] = slot;
        changed
    }

    /// Whether a failed login as `user` counts in the stuffing bucket: a user this address has not
    /// failed as since the bucket last emptied (it is then remembered).
    fn stuffing_counts(&mut self, user: &str, ts: i64, stuffing: &Rule) -> bool {
        if self.stuffing.drain(ts, stuffing.leak_ms()) == 0.0 {
            self.users.clear();
        }
        if self.users.contains(user) || self.users.len() >= DISTINCT_KEPT {
            return false;
        }
        self.users.insert(user.into());
        true
    }
}

/// A spray's bucket for one tenant: failed logins, and from which addresses and for which users.
#[derive(Default)]
struct Spray {
    bucket: Bucket,
    from: HashMap<Address, u32, foldhash::fast::RandomState>,
    users: HashSet<Box<str>, foldhash::fast::RandomState>,
    /// The failures in the bucket and whose they are (a login takes an address's back out).
    events: VecDeque<(i64, Address)>,
    /// The open incident: one spray, one alert, until the bucket has emptied.
    incident: Option<Box<Incident>>,
}

/// How many of one address's failures count in a spray's bucket: a spray is many addresses
/// trying a few times each (one address trying often is a brute force).
const SPRAY_PER_ADDRESS: u32 = 3;
/// Most events a spray's alert links when it is raised.
const SPRAY_EVENTS: usize = 500;

/// Events between two sweeps of the addresses the rules have forgotten.
const SWEEP_EVERY: u32 = 1 << 16;

/// Most logins waiting for the next request to tell how they went (then forgotten all at once).
const PENDING_KEPT: usize = 65_536;

/// An incident whose alert needs bringing up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dirty {
    Ip(Address, usize),
    Spray(Box<str>),
}

/// The rules with their state.
pub struct Detector {
    rules: Rules,
    /// State for the addresses some rule is counting or has fired for; only events that concern
    /// a rule (a login, a 404, an attack, a crossing, an isolated tenant) look here.
    per_ip: HashMap<Address, PerIp, foldhash::fast::RandomState>,
    /// Spray buckets by the tenant logged in to.
    sprays: HashMap<Box<str>, Spray, foldhash::fast::RandomState>,
    /// Incidents that have grown since their alerts were last brought up to date.
    dirty: Vec<Dirty>,
    /// Logins posted and answered 2xx/3xx, by (a hash of) the address, until its next request tells.
    pending: HashMap<u64, Pending, foldhash::fast::RandomState>,
    /// Hashes addresses for `pending` (seeded at random: no one can make two addresses collide).
    address_hash: foldhash::fast::RandomState,
    /// Events since the last sweep of `per_ip`.
    since_sweep: u32,
    /// Which tenant each container address belongs to.
    pub addresses: HashMap<String, String>,
    /// Isolated tenants, each with when it was isolated (ms): requests before that are not flagged,
    /// so judging an older log does not accuse traffic of a tenant isolated since.
    pub isolated: HashMap<String, i64>,
    scanners: Scanners,
    targets: Targets,
    logins: LoginPaths,
    probes: Probes,
    /// `rules.allow`, parsed (entries that are no network were refused by the config check).
    allowed: Vec<(std::net::IpAddr, u8)>,
}

/// A hash of a path, to tell paths apart without keeping them.
fn path_hash(path: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(27).hash_one(path)
}

impl Detector {
    pub fn new(rules: Rules) -> Detector {
        let allowed = rules.allow.iter().filter_map(|n| network(n)).collect();
        Detector {
            allowed,
            logins: LoginPaths::new(&rules.login.paths),
            probes: Probes::new(&rules.known_probe),
            rules,
            per_ip: HashMap::default(),
            sprays: HashMap::default(),
            dirty: Vec::new(),
            pending: HashMap::default(),
            address_hash: foldhash::fast::RandomState::default(),
            since_sweep: 0,
            addresses: HashMap::new(),
            isolated: HashMap::new(),
            scanners: Scanners::default(),
            targets: Targets::default(),
        }
    }

    /// The longest any rule remembers, in ms: a full bucket's time to empty plus its quiet window.
    pub fn memory_ms(&self) -> i64 {
        self.rules.all().iter().map(|rule| rule.memory_ms()).max().unwrap_or(0)
    }

    /// Looks at one event (in arrival order) and returns the alerts it raises (an event that adds
    /// to an open incident raises none: [`Detector::flush`] brings its alert up to date).
    pub fn observe(&mut self, e: &AccessEvent) -> Vec<Detection> {
        self.observe_row(e.id, &e.as_row())
    }

    /// The open incidents' alerts brought up to date with what the events observed since the last
    /// flush added to them (their counts, last seen, the events to link). Called after each chunk.
    pub fn flush(&mut self) -> Vec<Detection> {
        let mut out = Vec::new();
        for dirty in std::mem::take(&mut self.dirty) {
            match dirty {
                Dirty::Ip(address, which) => {
                    let incident = self.per_ip.get_mut(&address).and_then(|ip| ip.incidents[which].as_deref_mut());
                    if let Some(incident) = incident.filter(|i| i.dirty) {
                        out.push(incident.update());
                    }
                }
                Dirty::Spray(tenant) => {
                    let r = &self.rules.password_spray;
                    let Some(spray) = self.sprays.get_mut(&tenant) else { continue };
                    let level = spray.bucket.level;
                    let (text, why) = spray_says(spray, &tenant, r, level);
                    if let Some(incident) = spray.incident.as_deref_mut().filter(|i| i.dirty) {
                        incident.retell(text, why);
                        out.push(incident.update());
                    }
                }
            }
        }
        out
    }

    fn address_key(&self, src_ip: &str) -> u64 {
        use std::hash::BuildHasher;
        self.address_hash.hash_one(src_ip)
    }

    /// Looks at event `id`, borrowed from wherever it lies (a stored row read back, or the packed
    /// rows an import has just inserted), and returns the alerts it raises.
    pub fn observe_row(&mut self, id: i64, e: &Row<'_>) -> Vec<Detection> {
        let mut out = Vec::new();
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.sweep(e.ts);
        }
        if !self.allowed.is_empty() && e.src_ip.parse().is_ok_and(|ip| self.allowed.iter().any(|n| within(ip, *n))) {
            return out;
        }
        if !self.probes.is_empty() {
            match self.probes.of(e.src_ip, e.path, e.user_agent) {
                Known::No => {}
                Known::FromItsNetwork => return out,
                Known::ByWhatItSends => {
                    // Not counted; but what the target holds is no one's to vouch for.
                    if let Some(attack) = self.targets.of(e.path) {
                        self.single(id, e, WEB_ATTACK, || attack_alert(e, &attack), &mut out);
                    }
                    return out;
                }
            }
        }
        if !self.pending.is_empty() {
            self.tell_pending(e, &mut out);
        }
        let failure_status = self.rules.login.failure_statuses.contains(&e.status);
        let posted = e.method == "POST" && (200..400).contains(&e.status);
        let to_login = (failure_status || posted) && self.logins.is_login(e.path);
        let failed = to_login && failure_status;
        if to_login && posted && !failed {
            self.wait_for_next(id, e);
        }
        let not_found = e.status == 404;
        let attack = self.targets.of(e.path);
        let scanner = if attack.is_none() { self.scanners.of(e.user_agent) } else { None };
        if e.status < 400 && !self.per_ip.is_empty() {
            self.answered(e);
        }
        let crossed = match (self.addresses.get(e.src_ip), e.target_tenant) {
            (Some(from), _) if from != e.tenant => Some(from.clone()),
            (_, Some(target)) if target != e.tenant => Some(e.tenant.to_string()),
            _ => None,
        };
        let isolated = self.isolated.get(e.tenant).is_some_and(|since| e.ts >= *since);
        if !(failed || not_found || attack.is_some() || scanner.is_some() || crossed.is_some() || isolated) {
            // Most events: nothing any rule counts or fires on, so no address state is touched.
            return out;
        }
        if failed {
            self.failure(id, e, &mut out);
        }
        if not_found {
            self.not_found(id, e, &mut out);
        }
        // What an alert says is written only when one is raised (an attack going on adds to its
        // incident without it).
        if let Some(attack) = attack {
            self.single(id, e, WEB_ATTACK, || attack_alert(e, &attack), &mut out);
        } else if let Some(scanner) = scanner {
            let says = || {
                let why =
                    serde_json::json!({ "rampart.why": "a scanner's user agent", "user_agent.original": e.user_agent });
                (format!("{} scanned {} with {scanner}: {}", e.src_ip, e.tenant, e.path), why)
            };
            self.single(id, e, WEB_ATTACK, says, &mut out);
        }
        if let Some(from) = crossed {
            let says =
                || (format!("{} of tenant {from} reached {} {}", e.src_ip, e.tenant, e.path), serde_json::Value::Null);
            self.single(id, e, CROSS_TENANT, says, &mut out);
        }
        if isolated {
            let says =
                || (format!("{} reached isolated tenant {} {}", e.src_ip, e.tenant, e.path), serde_json::Value::Null);
            self.single(id, e, ISOLATED, says, &mut out);
        }
        out
    }

    /// An event a one-event rule fires on (a web attack, a crossing, an isolated tenant reached):
    /// one incident per address until the rule's bucket has emptied; `says` writes a new alert's
    /// text and fields.
    fn single(
        &mut self,
        id: i64,
        e: &Row<'_>,
        which: usize,
        says: impl FnOnce() -> (String, serde_json::Value),
        out: &mut Vec<Detection>,
    ) {
        let address = Address::of(e.src_ip);
        let (_, rule) = rule_of(&self.rules, which);
        let ip = self.per_ip.entry(address.clone()).or_default();
        ip.last = ip.last.max(e.ts);
        let level = ip.single[which - WEB_ATTACK].count(e.ts, rule);
        let changed = ip.counted(&self.rules, which, id, e.ts, level, out, |name, rule, _| {
            let (text, why) = says();
            Detection::raised(alert(e, name, rule, text, why), vec![id])
        });
        mark(&mut self.dirty, changed, &address, which);
    }

    /// A missing path asked for: a new one fills the address's scan bucket.
    fn not_found(&mut self, id: i64, e: &Row<'_>, out: &mut Vec<Detection>) {
        let r = &self.rules.scan_404;
        let address = Address::of(e.src_ip);
        let ip = self.per_ip.entry(address.clone()).or_default();
        ip.last = ip.last.max(e.ts);
        let path = e.path.split('?').next().unwrap_or(e.path);
        if ip.not_found.drain(e.ts, r.leak_ms()) == 0.0 {
            ip.missing.clear();
        }
        if ip.missing.len() >= DISTINCT_KEPT || !ip.missing.insert(path_hash(path)) {
            return;
        }
        let counted = ip.not_found.count(e.ts, r);
        ip.missed.push(id, r.threshold.clamp(1, 100));
        let level = counted.0;
        let changed = ip.counted(&self.rules, SCAN, id, e.ts, counted, out, |name, rule, ip| {
            let (ids, distinct) = (ip.missed.ids(), ip.missing.len());
            let text = format!(
                "{} asked {} for {distinct} different missing paths (bucket {level:.1}, fires at {})",
                e.src_ip, e.tenant, rule.threshold
            );
            let why = serde_json::json!({ "rampart.bucket_level": round(level), "rampart.paths": distinct });
            Detection::raised(alert(e, name, rule, text, why), ids)
        });
        mark(&mut self.dirty, changed, &address, SCAN);
    }

    /// A failed login (`e` as the login was posted): counted by the spray, brute-force and
    /// credential-stuffing buckets.
    fn failure(&mut self, id: i64, e: &Row<'_>, out: &mut Vec<Detection>) {
        let address = Address::of(e.src_ip);
        if self.rules.password_spray.enabled {
            if !self.sprays.contains_key(e.tenant) {
                self.sprays.insert(e.tenant.into(), Spray::default());
            }
            if let Some(spray) = self.sprays.get_mut(e.tenant) {
                if spray_failure(spray, &self.rules.password_spray, id, e, &address, out) {
                    self.dirty.push(Dirty::Spray(e.tenant.into()));
                }
            }
        }
        let brute = &self.rules.brute_force;
        let ip = self.per_ip.entry(address.clone()).or_default();
        ip.last = ip.last.max(e.ts);
        let counted = ip.failures.count(e.ts, brute);
        ip.failed.push(id, brute.threshold.clamp(1, 100));
        let level = counted.0;
        let changed = ip.counted(&self.rules, BRUTE_FORCE, id, e.ts, counted, out, |name, r, ip| {
            let ids = ip.failed.ids();
            let text = format!(
                "failed logins from {} on {}: the bucket holds {level:.1} (fires at {}, one leaks every {:.0}s)",
                e.src_ip,
                e.tenant,
                r.threshold,
                r.leak_ms() / 1000.0
            );
            Detection::raised(alert(e, name, r, text, serde_json::json!({ "rampart.bucket_level": round(level) })), ids)
        });
        mark(&mut self.dirty, changed, &address, BRUTE_FORCE);
        let stuffing = &self.rules.credential_stuffing;
        if !e.user.is_some_and(|user| ip.stuffing_counts(user, e.ts, stuffing)) {
            return;
        }
        let counted = ip.stuffing.count(e.ts, stuffing);
        let level = counted.0;
        let changed = ip.counted(&self.rules, STUFFING, id, e.ts, counted, out, |name, r, ip| {
            let (ids, distinct) = (ip.failed.ids(), ip.users.len());
            let text = format!(
                "{} tried {distinct} different users on {} without logging in as them (bucket {level:.1}, fires at {})",
                e.src_ip, e.tenant, r.threshold
            );
            let why = serde_json::json!({ "rampart.bucket_level": round(level), "rampart.users": distinct });
            Detection::raised(alert(e, name, r, text, why), ids)
        });
        mark(&mut self.dirty, changed, &address, STUFFING);
    }

    /// A login posted to a login path and answered 2xx/3xx: how it went is told by what the same
    /// address asks for next. A login it posted before and is still waiting on was told by this one.
    fn wait_for_next(&mut self, id: i64, e: &Row<'_>) {
        if self.pending.len() >= PENDING_KEPT {
            self.pending.clear();
        }
        let key = self.address_key(e.src_ip);
        self.pending.insert(
            key,
            Pending {
                id,
                ts: e.ts,
                tenant: e.tenant.into(),
                user: e.user.map(Into::into),
                path: e.path.into(),
                status: e.status,
            },
        );
    }

    /// What request `e` says of the login its address posted before, if it is waiting on one.
    fn tell_pending(&mut self, e: &Row<'_>, out: &mut Vec<Detection>) {
        let key = self.address_key(e.src_ip);
        let Some(pending) = self.pending.get(&key) else { return };
        if login::is_asset(e.path) {
            return;
        }
        let to_login = self.logins.is_login(e.path);
        let outcome = login::told(pending, e.ts, to_login, e.method, e.status);
        if outcome == Outcome::Wait {
            return;
        }
        let Some(p) = self.pending.remove(&key) else { return };
        let posted = Row {
            ts: p.ts,
            tenant: &p.tenant,
            src_ip: e.src_ip,
            user: p.user.as_deref(),
            method: "POST",
            path: &p.path,
            status: p.status,
            bytes: 0,
            user_agent: e.user_agent,
            target_tenant: None,
            flags: 0,
            source: e.source,
        };
        match outcome {
            Outcome::Failed => self.failure(p.id, &posted, out),
            Outcome::Succeeded => self.logged_in(&posted),
            Outcome::Wait | Outcome::Unknown => {}
        }
    }

    /// A request answered (below 400) from an address the rules keep state for: it takes back a
    /// quarter of a missing path from the address's scan bucket (people who mostly find what they
    /// ask for are not scanning; a scanner mostly misses).
    fn answered(&mut self, e: &Row<'_>) {
        let Some(ip) = self.per_ip.get_mut(&Address::of(e.src_ip)) else { return };
        if ip.not_found.level > 0.0 {
            ip.not_found.add(e.ts, self.rules.scan_404.leak_ms(), -ANSWERED_CREDIT);
        }
    }

    /// A successful login (`e` as it was posted): it takes back failures — some of the address's
    /// brute-force bucket, the user from its stuffing bucket, and all it put in the tenant's spray
    /// bucket.
    fn logged_in(&mut self, e: &Row<'_>) {
        let address = Address::of(e.src_ip);
        let r = &self.rules;
        if let Some(ip) = self.per_ip.get_mut(&address) {
            let leak = r.brute_force.leak_ms();
            let room = r.brute_force.threshold as f64 / 2.0 - ip.credited.drain(e.ts, leak);
            let credit = SUCCESS_CREDIT.min(room).min(ip.failures.drain(e.ts, leak));
            if credit > 0.0 {
                ip.failures.add(e.ts, leak, -credit);
                ip.credited.add(e.ts, leak, credit);
            }
            if let Some(user) = e.user {
                if ip.users.remove(user) {
                    ip.stuffing.add(e.ts, r.credential_stuffing.leak_ms(), -1.0);
                }
            }
        }
        if let Some(spray) = self.sprays.get_mut(e.tenant) {
            if let Some(n) = spray.from.remove(&address) {
                spray.bucket.add(e.ts, r.password_spray.leak_ms(), -f64::from(n.min(SPRAY_PER_ADDRESS)));
                spray.events.retain(|(_, from)| *from != address);
            }
        }
    }

    /// Forgets the addresses whose buckets have all emptied as of `now` and whose incidents have
    /// closed (an address seen once is forgotten as soon as its one event has leaked out, not
    /// after the longest any rule remembers), likewise the sprays, and the logins nothing told.
    fn sweep(&mut self, now: i64) {
        self.since_sweep = 0;
        let r = &self.rules;
        let rules: [&Rule; 6] = [
            &r.brute_force,
            &r.credential_stuffing,
            &r.scan_404,
            &r.web_attack,
            &r.cross_tenant,
            &r.isolated_tenant_access,
        ];
        self.per_ip.retain(|_, ip| {
            ip.failures.drain(now, r.brute_force.leak_ms()) > 0.0
                || ip.credited.drain(now, r.brute_force.leak_ms()) > 0.0
                || ip.stuffing.drain(now, r.credential_stuffing.leak_ms()) > 0.0
                || ip.not_found.drain(now, r.scan_404.leak_ms()) > 0.0
                || ip.single.iter_mut().zip(&rules[WEB_ATTACK..]).any(|(b, rule)| b.drain(now, rule.leak_ms()) > 0.0)
                || ip.incidents.iter().zip(rules).any(|(i, rule)| incident::open(i, now, rule))
        });
        let r = &self.rules.password_spray;
        self.sprays.retain(|_, s| s.bucket.drain(now, r.leak_ms()) > 0.0 || incident::open(&s.incident, now, r));
        self.pending.retain(|_, p| now - p.ts <= login::RETRY_MS);
    }
}

/// Marks `address`'s incident of the rule in `which` place for the next flush, when counting an
/// event into it `changed` it.
fn mark(dirty: &mut Vec<Dirty>, changed: bool, address: &Address, which: usize) {
    if changed {
        dirty.push(Dirty::Ip(address.clone(), which));
    }
}

/// The per-address rule in `which` place, with its name.
fn rule_of(rules: &Rules, which: usize) -> (&'static str, &Rule) {
    match which {
        BRUTE_FORCE => ("Brute-force login", &rules.brute_force),
        STUFFING => ("Credential stuffing", &rules.credential_stuffing),
        SCAN => ("404 scanning burst", &rules.scan_404),
        WEB_ATTACK => ("Web attack pattern", &rules.web_attack),
        CROSS_TENANT => ("Cross-tenant access", &rules.cross_tenant),
        _ => ("Access to an isolated tenant", &rules.isolated_tenant_access),
    }
}

/// What an attack in a request target makes an alert say.
fn attack_alert(e: &Row<'_>, attack: &Attack) -> (String, serde_json::Value) {
    (
        format!("{} sent {} to {}: {} (decoded: {})", e.src_ip, attack.why, e.tenant, e.path, attack.decoded),
        serde_json::json!({ "rampart.why": attack.why, "rampart.raw": e.path, "rampart.decoded": attack.decoded }),
    )
}

/// A failed login against `e.tenant` counted in its spray bucket: into the open incident, or the
/// alert when the bucket overflows with failures from enough different addresses and users.
/// True when an open incident grew.
fn spray_failure(
    spray: &mut Spray,
    r: &Rule,
    id: i64,
    e: &Row<'_>,
    address: &Address,
    out: &mut Vec<Detection>,
) -> bool {
    let emptied = spray.bucket.drain(e.ts, r.leak_ms()) == 0.0;
    if emptied {
        spray.from.clear();
        spray.users.clear();
        spray.events.clear();
    }
    if !spray.from.contains_key(address) && spray.from.len() >= DISTINCT_KEPT {
        return false;
    }
    let tries = spray.from.entry(address.clone()).or_default();
    *tries += 1;
    if *tries > SPRAY_PER_ADDRESS {
        return false;
    }
    if let Some(user) = e.user.filter(|_| spray.users.len() < DISTINCT_KEPT) {
        if !spray.users.contains(user) {
            spray.users.insert(user.into());
        }
    }
    let (level, _) = spray.bucket.count(e.ts, r);
    spray.events.push_back((id, address.clone()));
    if spray.events.len() > SPRAY_EVENTS {
        spray.events.pop_front();
    }
    let (addresses, users) = (spray.from.len(), spray.users.len());
    if emptied && spray.incident.as_ref().is_some_and(|i| e.ts - i.last() >= r.window_seconds * 1000) {
        incident::close(&mut spray.incident, out);
    }
    // Users count only where the log names them (a form login's user is often not in the log).
    let ready = r.overflows(level) && addresses >= r.distinct && (users >= r.distinct || users == 0);
    if spray.incident.is_none() && !ready {
        return false;
    }
    match spray.incident.as_deref_mut() {
        Some(open) => open.join(id, e.ts, level),
        None => {
            let (text, why) = spray_says(spray, e.tenant, r, level);
            let events = spray.events.iter().map(|(id, _)| *id).collect();
            incident::raise(
                &mut spray.incident,
                Detection::raised(alert(e, "Password spray", r, text, why), events),
                level,
                out,
            );
            false
        }
    }
}

/// What a spray's alert says: the bucket, and the addresses and users in it.
fn spray_says(spray: &Spray, tenant: &str, r: &Rule, level: f64) -> (String, serde_json::Value) {
    let (addresses, users) = (spray.from.len(), spray.users.len());
    let mut named: Vec<&Address> = spray.from.keys().collect();
    named.sort();
    let shown: Vec<String> = named.iter().take(10).map(|a| a.to_string()).collect();
    let more = if addresses > shown.len() { format!(" and {} more", addresses - shown.len()) } else { String::new() };
    let text = format!(
        "password spray on {tenant}: failed logins from {addresses} addresses for {users} users (bucket {level:.1}, fires at {}): {}{more}",
        r.threshold,
        shown.join(", ")
    );
    let why = serde_json::json!({
        "rampart.bucket_level": round(level),
        "rampart.addresses": named.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "rampart.users": users,
    });
    (text, why)
}

/// A level to one decimal, as the alert shows it.
fn round(level: f64) -> f64 {
    (level * 10.0).round() / 10.0
}

fn alert(e: &Row<'_>, rule_name: &str, rule: &Rule, output: String, why: serde_json::Value) -> Alert {
    let mut fields = serde_json::json!({ "fd.cip": e.src_ip, "http.path": e.path, "http.status": e.status });
    if let (Some(fields), serde_json::Value::Object(why)) = (fields.as_object_mut(), why) {
        fields.extend(why);
    }
    Alert {
        id: 0,
        ts: e.ts,
        priority: rule.priority.parse().unwrap_or(Priority::Warning),
        rule: rule_name.into(),
        source: "rampart".into(),
        hostname: String::new(),
        tenant: Some(e.tenant.to_string()).filter(|t| !t.is_empty()),
        output,
        output_fields_json: fields.to_string(),
        tags: "rampart,access".into(),
        src_ip: Some(e.src_ip.to_string()),
        acked_by: None,
        acked_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, ts_s: i64, ip: &str, status: i64, path: &str, user: Option<&str>) -> AccessEvent {
        AccessEvent {
            id,
            ts: ts_s * 1000,
            tenant: "acme".into(),
            src_ip: ip.into(),
            user: user.map(str::to_string),
            method: if path == "/login" { "POST".into() } else { "GET".into() },
            path: path.into(),
            status,
            user_agent: "Mozilla/5.0".into(),
            ..Default::default()
        }
    }

    /// The alerts `events` raise (not the updates of open incidents).
    fn run(d: &mut Detector, events: &[AccessEvent]) -> Vec<Detection> {
        run_all(d, events).into_iter().filter(|f| !f.update).collect()
    }

    /// What `events` raise, then the updates of the incidents they left open.
    fn run_all(d: &mut Detector, events: &[AccessEvent]) -> Vec<Detection> {
        let mut found: Vec<_> = events.iter().flat_map(|e| d.observe(e)).collect();
        found.extend(d.flush());
        found
    }

    /// A day's worth of ordinary traffic: many clients, some 404s and failed logins each.
    fn normal() -> Vec<AccessEvent> {
        (0..20_000)
            .map(|i| {
                let ip = format!("198.51.100.{}", i % 200);
                let (status, path, user) = match i % 50 {
                    0 => (401, "/login", Some("alice")),
                    1 | 2 => (404, "/favicon.ico", None),
                    _ => (200, "/api/v1/orders?page=2", Some("alice")),
                };
                event(i, i * 4, &ip, status, path, user)
            })
            .collect()
    }

    #[test]
    fn quiet_on_normal_traffic() {
        let mut d = Detector::new(Rules::default());
        assert_eq!(run(&mut d, &normal()), vec![]);
    }

    #[test]
    fn brute_force_fires_once_with_its_events() {
        let mut d = Detector::new(Rules::default());
        let burst: Vec<_> =
            (0..12).map(|i| event(100 + i, 1000 + i * 5, "203.0.113.9", 401, "/login", Some("admin"))).collect();
        let found = run(&mut d, &burst);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].alert.rule, "Brute-force login");
        assert_eq!(found[0].alert.priority, Priority::Warning);
        assert_eq!(found[0].events, (100..110).collect::<Vec<_>>());
        assert_eq!(found[0].alert.source, "rampart");
    }

    #[test]
    fn credential_stuffing_is_many_users_from_one_address() {
        let mut d = Detector::new(Rules::default());
        let users = ["a", "b", "c", "d", "e"];
        let tries: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(i, u)| event(i as i64, 10 + i as i64, "203.0.113.10", 401, "/login", Some(u)))
            .collect();
        let found = run(&mut d, &tries);
        assert_eq!(found.iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(), ["Credential stuffing"]);
    }

    #[test]
    fn credential_stuffing_counts_the_users_still_in_its_bucket() {
        let mut d = Detector::new(Rules::default());
        let at = |i: i64, ts: i64, user: &str| event(i, ts, "203.0.113.16", 401, "/login", Some(user));
        // Four users, then a pause long enough for the bucket (one user leaks out every 600 s)
        // to empty, then four more: never five at once.
        let mut tries: Vec<_> =
            ["a", "b", "c", "d"].iter().enumerate().map(|(i, u)| at(i as i64, i as i64, u)).collect();
        tries.extend(["e", "f", "g", "a"].iter().enumerate().map(|(i, u)| at(10 + i as i64, 2_500 + i as i64, u)));
        assert!(run(&mut d, &tries).iter().all(|f| f.alert.rule != "Credential stuffing"));
        // The same user again and again is one user.
        assert!(run(&mut d, &(0..6).map(|i| at(20 + i, 2_505, "g")).collect::<Vec<_>>())
            .iter()
            .all(|f| f.alert.rule != "Credential stuffing"));
        let found = run(&mut d, &[at(30, 2_506, "h")]);
        assert_eq!(found.iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(), ["Credential stuffing"]);
        assert!(found[0].alert.output.contains("tried 5 different users"), "{}", found[0].alert.output);
    }

    #[test]
    fn a_user_who_logs_in_after_a_typo_is_no_stuffing_and_an_office_no_brute_force() {
        let mut d = Detector::new(Rules::default());
        let office = "192.0.2.10";
        // 40 people behind one address log in within 40 minutes; every second one mistypes first.
        // A login is answered 302, and the browser follows it to the dashboard.
        let mut events = Vec::new();
        for p in 0..40i64 {
            let user = format!("staff{p}");
            if p % 2 == 0 {
                events.push(event(4 * p, 60 * p, office, 401, "/login", Some(&user)));
            }
            events.push(event(4 * p + 1, 60 * p + 5, office, 302, "/login", Some(&user)));
            events.push(event(4 * p + 2, 60 * p + 5, office, 200, "/static/app.css", None));
            events.push(event(4 * p + 3, 60 * p + 6, office, 200, "/dashboard", Some(&user)));
        }
        assert_eq!(run(&mut d, &events), vec![]);
        // The same failures without the logins that followed them are an attack.
        let mut d = Detector::new(Rules::default());
        let failures: Vec<_> = events.iter().filter(|e| e.status == 401).cloned().collect();
        let rules: std::collections::BTreeSet<_> = run(&mut d, &failures).into_iter().map(|f| f.alert.rule).collect();
        assert_eq!(rules.into_iter().collect::<Vec<_>>(), ["Brute-force login", "Credential stuffing"]);
    }

    /// An application that answers a failed login with a redirect back to its login page
    /// (`302 → /login?error`), or with the form again (200), and a successful one with a redirect
    /// to a page it then serves.
    fn form_logins(ip: &str, status: i64, then: &str, then_status: i64, n: i64) -> Vec<AccessEvent> {
        (0..n)
            .flat_map(|i| {
                let mut css = event(3 * i + 1, 25 * i, ip, 200, "/static/app.css", None);
                css.method = "GET".into();
                [
                    event(3 * i, 25 * i, ip, status, "/login", Some("admin")),
                    css,
                    event(3 * i + 2, 25 * i + 1, ip, then_status, then, None),
                ]
            })
            .collect()
    }

    #[test]
    fn a_failed_login_is_what_the_application_answers_one_with() {
        // Redirected back to the login page: failures, a slow brute force.
        let back = form_logins("203.0.113.21", 302, "/login?error", 200, 40);
        let found = run(&mut Detector::new(Rules::default()), &back);
        assert_eq!(found.iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(), ["Brute-force login"]);
        assert_eq!(found[0].events, (0..10).map(|i| 3 * i).collect::<Vec<_>>(), "the posted logins are linked");
        // The form shown again (200), then posted again.
        let again: Vec<_> = (0..40).map(|i| event(i, 25 * i, "203.0.113.22", 200, "/login", Some("admin"))).collect();
        let found = run(&mut Detector::new(Rules::default()), &again);
        assert_eq!(found.iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(), ["Brute-force login"]);
        // 403 on a login path; 401s elsewhere (an API token expired) are no logins.
        let refused: Vec<_> = (0..12).map(|i| event(i, 5 * i, "203.0.113.23", 403, "/login", None)).collect();
        assert_eq!(run(&mut Detector::new(Rules::default()), &refused).len(), 1);
        let api: Vec<_> = (0..100)
            .map(|i| {
                let mut e = event(i, 5 * i, "198.51.100.7", 401, "/api/v1/notifications", None);
                e.method = "POST".into();
                e
            })
            .collect();
        assert_eq!(run(&mut Detector::new(Rules::default()), &api), vec![]);
        // Tuned: this application answers a failure with 422, and logs in at /auth.
        let rules: Rules = toml::from_str("[login]\npaths = [\"/auth\"]\nfailure_statuses = [422]\n").unwrap();
        let tuned: Vec<_> = (0..12).map(|i| event(i, 5 * i, "203.0.113.24", 422, "/auth", None)).collect();
        assert_eq!(run(&mut Detector::new(rules.clone()), &tuned).len(), 1);
        assert_eq!(run(&mut Detector::new(rules), &refused), vec![], "403 on /login is no failure there");
    }

    #[test]
    fn a_login_redirected_to_a_page_served_is_a_success_and_weighs_against_failures() {
        // A typo (401), then a login redirected to the dashboard, eight times over: no attack.
        let mut events = Vec::new();
        for i in 0..8i64 {
            events.push(event(4 * i, 60 * i, "192.0.2.30", 401, "/login", Some("ann")));
            events.extend(form_logins("192.0.2.30", 302, "/dashboard", 200, 1).into_iter().map(|mut e| {
                e.id += 4 * i + 1;
                e.ts += (60 * i + 10) * 1000;
                e
            }));
        }
        assert_eq!(run(&mut Detector::new(Rules::default()), &events), vec![]);
        // Without the dashboard served, each login posted again after one answered 302 says that
        // one failed (a client that does not follow redirects, trying again): 16 in 8 minutes.
        let unfollowed: Vec<_> = events.iter().filter(|e| e.path != "/dashboard").cloned().collect();
        let found = run(&mut Detector::new(Rules::default()), &unfollowed);
        assert_eq!(found.iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(), ["Brute-force login"]);
        // An attacker who has a page served after each try only slows the bucket: successes take
        // back at most half of it while that leaks away.
        let mut faked = Vec::new();
        for i in 0..30i64 {
            faked.push(event(3 * i, 20 * i, "203.0.113.27", 401, "/login", Some("admin")));
            faked.extend(form_logins("203.0.113.27", 302, "/", 200, 1).into_iter().map(|mut e| {
                e.id += 3 * i + 1;
                e.ts += (20 * i + 5) * 1000;
                e
            }));
        }
        let found = run(&mut Detector::new(Rules::default()), &faked);
        assert_eq!(found.iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(), ["Brute-force login"]);
    }

    #[test]
    fn a_patient_brute_force_fills_the_bucket_a_window_never_would() {
        let mut d = Detector::new(Rules::default());
        // One failure every 25 s: never 10 within 120 s, yet an alert at the tenth.
        let slow: Vec<_> = (0..40).map(|i| event(i, i * 25, "203.0.113.20", 401, "/login", Some("admin"))).collect();
        let found = run(&mut d, &slow);
        assert_eq!(found.iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(), ["Brute-force login"]);
        assert_eq!(found[0].events, (0..10).collect::<Vec<_>>());
        assert!(
            found[0].alert.output.contains("the bucket holds 9.6 (fires at 10, one leaks every 600s)"),
            "{}",
            found[0].alert.output
        );
    }

    #[test]
    fn a_slow_attack_over_hours_is_one_incident_until_its_bucket_has_emptied() {
        let mut d = Detector::new(Rules::default());
        // One failure every 25 s for two hours, judged in chunks of 50 events.
        let slow: Vec<_> = (0..288).map(|i| event(i, i * 25, "203.0.113.20", 401, "/login", None)).collect();
        let mut found = Vec::new();
        for chunk in slow.chunks(50) {
            found.extend(run_all(&mut d, chunk));
        }
        let raised: Vec<_> = found.iter().filter(|f| !f.update).collect();
        assert_eq!(raised.len(), 1, "one alert for two hours, not one per quiet window");
        let updates: Vec<_> = found.iter().filter(|f| f.update).collect();
        assert_eq!(updates.len(), 6, "brought up to date once a chunk");
        assert!(updates.iter().all(|u| (u.alert.ts, &u.alert.rule) == (raised[0].alert.ts, &raised[0].alert.rule)));
        let linked: Vec<i64> = found.iter().flat_map(|f| f.events.iter().copied()).collect();
        assert_eq!(linked, (0..288).collect::<Vec<_>>(), "every failure linked once");
        let last = updates.last().unwrap();
        assert!(
            last.alert.output.ends_with("— 288 events in all, the last at 1970-01-01 01:59:35 UTC"),
            "{}",
            last.alert.output
        );
        let fields: serde_json::Value = serde_json::from_str(&last.alert.output_fields_json).unwrap();
        assert_eq!(
            (fields["rampart.count"].as_i64(), fields["rampart.last_seen"].as_i64()),
            (Some(288), Some(7_175_000))
        );
        // Within the bucket's drain (10 × 600 s) the same address is the same incident …
        let later = event(300, 7_175 + 5_000, "203.0.113.20", 401, "/login", None);
        assert_eq!(run_all(&mut d, &[later]).iter().filter(|f| !f.update).count(), 0);
        // … and once it has emptied, a new one.
        let much_later: Vec<_> =
            (0..10).map(|i| event(400 + i, 7_175 + 5_000 + 6_001 + i, "203.0.113.20", 401, "/login", None)).collect();
        assert_eq!(run(&mut d, &much_later).len(), 1);
        // A scan over a day: one incident.
        let mut d = Detector::new(Rules::default());
        let scan: Vec<_> =
            (0..300).map(|i| event(i, i * 280, "203.0.113.13", 404, &format!("/probe/{i}"), None)).collect();
        assert_eq!(
            run(&mut d, &scan).iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(),
            ["404 scanning burst"]
        );
        // sqlmap for an hour: one incident.
        let mut d = Detector::new(Rules::default());
        let sqlmap: Vec<_> = (0..3_600)
            .map(|i| {
                let mut e = event(i, i, "203.0.113.12", 200, &format!("/item?id={i}"), None);
                e.user_agent = "sqlmap/1.8".into();
                e
            })
            .collect();
        assert_eq!(run(&mut d, &sqlmap).len(), 1);
    }

    #[test]
    fn a_spray_from_many_addresses_is_one_alert_naming_them() {
        let mut d = Detector::new(Rules::default());
        let spray: Vec<_> = (0..60i64)
            .map(|i| event(i, 1000 + i * 4, &format!("100.64.0.{}", i / 2 + 1), 401, "/login", Some(&format!("u{i}"))))
            .collect();
        let found = run(&mut d, &spray);
        assert_eq!(found.iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(), ["Password spray"]);
        // The bucket leaks one a minute, so it passes 19 at the 21st failure (of 11 addresses).
        assert_eq!(found[0].events, (0..21).collect::<Vec<_>>());
        assert!(
            found[0].alert.output.starts_with("password spray on acme: failed logins from 11 addresses for 21 users"),
            "{}",
            found[0].alert.output
        );
        let fields: serde_json::Value = serde_json::from_str(&found[0].alert.output_fields_json).unwrap();
        assert_eq!(fields["rampart.addresses"].as_array().unwrap().len(), 11);
    }

    #[test]
    fn addresses_the_rules_no_longer_remember_are_forgotten() {
        let mut d = Detector::new(Rules::default());
        // A 404 from a new address every 10 ms for 4,000 s: 400,000 addresses in all, each of
        // which is forgotten once its one 404 has leaked out of the scan bucket (1,800 s).
        for i in 0..400_000i64 {
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            let mut e = event(i, 0, &ip, 404, "/missing", None);
            e.ts = i * 10;
            assert!(d.observe(&e).is_empty());
        }
        let bound = (d.rules.scan_404.leak_ms() / 10.0) as usize + SWEEP_EVERY as usize;
        assert!(d.per_ip.len() <= bound, "{} addresses kept, at most {bound} expected", d.per_ip.len());
        // Ordinary requests keep no state at all.
        let mut quiet = Detector::new(Rules::default());
        run(&mut quiet, &normal().into_iter().filter(|e| e.status == 200).collect::<Vec<_>>());
        assert!(quiet.per_ip.is_empty());
    }

    #[test]
    fn web_attacks_and_scanners() {
        let mut d = Detector::new(Rules::default());
        let found = run(&mut d, &[event(1, 1, "203.0.113.11", 403, "/../../etc/passwd", None)]);
        assert_eq!(found[0].alert.rule, "Web attack pattern");
        let mut scanner = event(2, 2, "203.0.113.12", 200, "/", None);
        scanner.user_agent = "sqlmap/1.8.4#stable".into();
        assert_eq!(d.observe(&scanner)[0].alert.rule, "Web attack pattern");
        assert!(
            d.observe(&event(3, 3, "203.0.113.12", 200, "/?q=' OR 1=1--", None)).is_empty(),
            "one alert per window per address"
        );
    }

    #[test]
    fn attacks_are_judged_on_what_the_target_decodes_to_and_words_are_not_attacks() {
        let why = |raw: &str| attack_in(raw).map(|a| a.why);
        assert_eq!(
            attack_in("/static/%252e%252e%252f%252e%252e%252fetc%252fpasswd"),
            Some(Attack { why: "path traversal above the root", decoded: "/etc/passwd".into() })
        );
        assert_eq!(why("/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd"), Some("path traversal above the root"));
        assert_eq!(
            why("/download?file=%252e%252e%252f%252e%252e%252fetc%252fpasswd"),
            Some("path traversal in a parameter")
        );
        assert_eq!(why("/view?file=/var/www/../../etc/passwd"), Some("path traversal in a parameter"));
        assert_eq!(why("/app/..;/..;/etc/passwd"), Some("path traversal above the root"));
        assert_eq!(why("/item?id=-1+union+select+1,2,3"), Some("a value closed, then UNION SELECT"));
        assert_eq!(why("/x?u=%24(id)"), Some("a shell metacharacter, then a command"));
        assert_eq!(why("/img/a.png%00.php"), Some("a NUL byte"));
        assert_eq!(
            why("/products?id=1%20UNION%20SELECT%20username,password%20FROM%20users--"),
            Some("a value closed, then UNION SELECT")
        );
        assert_eq!(why("/item?id=5%27%20OR%201%3D1--"), Some("a value closed, then an always-true condition"));
        assert_eq!(why("/ping?host=127.0.0.1%3Bcat%20/etc/passwd"), Some("a shell metacharacter, then a command"));
        assert_eq!(why("/cgi-bin/;cat /etc/shadow"), Some("a shell metacharacter, then a command"));
        assert_eq!(why("/app/.git/config"), Some("a probe for a secrets file"));
        assert_eq!(why("/.ENV"), Some("a probe for a secrets file"));
        assert_eq!(
            why("/static/....//....//....//etc/passwd"),
            Some("path traversal through a filter that strips ../ once")
        );
        assert_eq!(
            why("/view?file=..././..././etc/passwd"),
            Some("path traversal in a parameter, through a filter that strips ../ once")
        );
        assert_eq!(
            why("/view?file=%252e%252e%252e%252e%252f%252fetc%252fpasswd"),
            Some("path traversal in a parameter, through a filter that strips ../ once")
        );
        assert_eq!(why("/index.php?page=php://filter/convert.base64-encode/resource=config"), Some("a php:// wrapper"));
        assert_eq!(why("/fetch?url=file:///etc/passwd"), Some("a file:// URL"));
        assert_eq!(why("/index.php?page=data:text/plain;base64,PD9waHAgc3lzdGVtKCJpZCIpOz8%2B"), Some("a data: URL"));
        assert_eq!(why("/search?q=%3Cscript%3Ealert(1)%3C/script%3E"), Some("an HTML tag that runs script"));
        assert_eq!(
            why("/search?q=%253Cimg%2520src%253Dx%2520onerror%253Dalert(1)%253E"),
            Some("an HTML tag with an event handler")
        );
        assert_eq!(why("/go?next=javascript:alert(document.cookie)"), Some("a javascript: URL"));
        assert_eq!(why("/<svg onload=alert(1)>"), Some("an HTML tag with an event handler"));
        for benign in [
            "/search?q=select+chairs",
            "/search?q=union+jack",
            "/search?q=drop+table+tennis",
            "/search?q=o%27reilly+books",
            "/search?q=tom+%26+jerry%3B+cat+toys",
            "/docs/etc/passwd.html",
            "/man/5/passwd",
            "/blog/2026/11/../11/union-select-explained",
            "/docs/./getting-started",
            "/files//report.pdf",
            "/.well-known/security.txt",
            "/api/v1/orders?page=2&sort=-date",
            "/search?q=script+writing+tips",
            "/search?q=javascript+tutorial",
            "/search?q=javascript%3A+the+good+parts",
            "/search?q=i+%3C3+cats",
            "/search?q=onerror+handling",
            "/search?q=php%3A%2F%2F+wrappers+explained",
            "/search?q=data%3A+2026+report",
            "/docs/....ellipsis/more",
            "/",
        ] {
            assert_eq!(attack_in(benign), None, "{benign}");
        }
    }

    #[test]
    fn allowed_networks_are_never_alerted_on() {
        let rules = Rules { allow: vec!["192.0.2.0/24".into(), "2001:db8::/32".into()], ..Rules::default() };
        let mut d = Detector::new(rules);
        let mut scanner = event(1, 1, "192.0.2.77", 404, "/../../etc/passwd", None);
        scanner.user_agent = "nuclei".into();
        assert_eq!(d.observe(&scanner), vec![]);
        assert_eq!(d.observe(&event(2, 2, "2001:db8::7", 200, "/?id=1%27%20OR%201%3D1--", None)), vec![]);
        assert_eq!(d.observe(&event(3, 3, "192.0.3.1", 200, "/?id=1%27%20OR%201%3D1--", None)).len(), 1);
        assert_eq!(network("10.0.0.0/33"), None);
        assert_eq!(network("10.0.0.1"), Some(("10.0.0.1".parse().unwrap(), 32)));
        assert!(within("::ffff:192.0.2.9".parse().unwrap(), network("192.0.2.0/24").unwrap()));
        assert!(!within("192.0.3.9".parse().unwrap(), network("192.0.2.0/24").unwrap()));
        assert!(within("8.8.8.8".parse().unwrap(), network("0.0.0.0/0").unwrap()));
    }

    #[test]
    fn known_probes_are_never_counted_and_hide_no_attack_unless_their_network_vouches() {
        let rules: Rules = toml::from_str(
            "[[known_probe]]\nname = \"our scanner\"\nnetwork = \"10.8.0.0/16\"\nuser_agent = \"AcmeScan\"\n\
             [[known_probe]]\nname = \"health\"\npath = \"/healthz\"\nuser_agent = \"kube-probe/\"\n",
        )
        .unwrap();
        let mut d = Detector::new(rules);
        let agent = |mut e: AccessEvent, ua: &str| {
            e.user_agent = ua.into();
            e
        };
        // The company's scanner: attacks, missing paths, a scanner's name, from its network.
        let scanner: Vec<_> = (0..50)
            .map(|i| {
                agent(
                    event(i, i, "10.8.3.4", 404, &format!("/admin{i}.php?id=1%27%20OR%201%3D1--"), None),
                    "AcmeScan nikto",
                )
            })
            .collect();
        assert_eq!(run_all(&mut d, &scanner), vec![]);
        // A health checker's 404s every 10 s all day.
        let health: Vec<_> = (0..8_640)
            .map(|i| agent(event(100 + i, i * 10, "192.0.2.50", 404, "/healthz", None), "kube-probe/1.29"))
            .collect();
        assert_eq!(run_all(&mut d, &health), vec![]);
        // Its name from another network, or its path and agent with an attack in the query.
        let elsewhere = agent(event(9_000, 9_000, "203.0.113.70", 200, "/../../etc/passwd", None), "AcmeScan");
        assert_eq!(run(&mut d, &[elsewhere]).len(), 1);
        let hidden =
            agent(event(9_001, 9_001, "203.0.113.71", 200, "/healthz?x=%3Cscript%3E", None), "kube-probe/1.29");
        assert_eq!(run(&mut d, &[hidden])[0].alert.output, "203.0.113.71 sent an HTML tag that runs script to acme: /healthz?x=%3Cscript%3E (decoded: /healthz?x=<script>)");
        // Without the probes, the same requests alert.
        let mut plain = Detector::new(Rules::default());
        assert_eq!(run(&mut plain, &scanner).len(), 2, "a web attack and a scan");
        assert_eq!(run(&mut plain, &health[..30]).len(), 0, "one path asked for again and again is no scan");
    }

    #[test]
    fn judged_targets_are_remembered_within_a_bound() {
        let mut targets = Targets::default();
        assert_eq!(targets.of("/index.html"), None);
        assert!(targets.seen.is_empty(), "a target with nothing to judge is not kept");
        for i in 0..3 * AGENTS_REMEMBERED {
            let raw =
                if i % 5 == 0 { format!("/item?id={i}%27%20OR%201%3D1--") } else { format!("/search?q=chair+{i}") };
            assert_eq!(targets.of(&raw), attack_in(&raw), "{raw}");
            assert_eq!(targets.of(&raw), attack_in(&raw), "{raw}, remembered");
            assert!(targets.seen.len() <= AGENTS_REMEMBERED);
        }
    }

    #[test]
    fn a_spray_in_a_log_that_names_no_users_is_told_by_its_addresses() {
        let mut d = Detector::new(Rules::default());
        let spray: Vec<_> = (0..60i64)
            .map(|i| event(i, 1000 + i * 4, &format!("100.64.0.{}", i / 2 + 1), 401, "/login", None))
            .collect();
        let rules: Vec<_> = run(&mut d, &spray).into_iter().map(|f| f.alert.rule).collect();
        assert_eq!(rules, ["Password spray"]);
    }

    #[test]
    fn missing_paths_among_many_answered_requests_are_no_scan() {
        // An office browsing all day: one missing page in ten, each a different one.
        let office: Vec<_> = (0..2_000i64)
            .map(|i| {
                let (status, path) = if i % 10 == 0 { (404, format!("/old/{i}")) } else { (200, "/app".to_string()) };
                event(i, i * 15, "192.0.2.10", status, &path, None)
            })
            .collect();
        assert_eq!(run(&mut Detector::new(Rules::default()), &office), vec![]);
        // The same missing pages without the answered ones are a scan spread over eight hours.
        let misses: Vec<_> = office.into_iter().filter(|e| e.status == 404).collect();
        let rules: Vec<_> =
            run(&mut Detector::new(Rules::default()), &misses).into_iter().map(|f| f.alert.rule).collect();
        assert_eq!(rules.first().map(String::as_str), Some("404 scanning burst"));
    }

    #[test]
    fn scanners_are_known_by_user_agent_and_remembered_within_a_bound() {
        let mut scanners = Scanners::default();
        assert_eq!(scanners.of("SQLMap/1.8"), Some("sqlmap"), "letter case ignored");
        assert_eq!(scanners.of("SQLMap/1.8"), Some("sqlmap"), "the same answer remembered");
        for i in 0..3 * AGENTS_REMEMBERED {
            let agent = if i % 7 == 0 { format!("nikto/{i}") } else { format!("Mozilla/{i}") };
            assert_eq!(scanners.of(&agent), scanner_in(&agent), "{agent}");
            assert!(scanners.agents.len() <= AGENTS_REMEMBERED);
        }
        let long = format!("{}nuclei", "x".repeat(AGENT_REMEMBERED_LEN));
        assert_eq!(scanners.of(&long), Some("nuclei"));
        assert!(!scanners.agents.contains_key(long.as_str()), "a long user agent is searched, not kept");
    }

    #[test]
    fn not_found_bursts() {
        let mut d = Detector::new(Rules::default());
        let scan: Vec<_> =
            (0..25).map(|i| event(i, 100 + i, "203.0.113.13", 404, &format!("/admin{i}"), None)).collect();
        let found = run(&mut d, &scan);
        assert_eq!(found.iter().map(|f| f.alert.rule.as_str()).collect::<Vec<_>>(), ["404 scanning burst"]);
        assert_eq!(found[0].events.len(), 20);
    }

    #[test]
    fn cross_tenant_by_address_or_by_marking() {
        let mut d = Detector::new(Rules::default());
        d.addresses.insert("10.21.0.4".into(), "globex".into());
        let found = d.observe(&event(1, 1, "10.21.0.4", 200, "/internal", None));
        assert_eq!(found[0].alert.rule, "Cross-tenant access");
        assert_eq!(found[0].alert.priority, Priority::Critical);
        assert!(
            d.observe(&{
                let mut e = event(2, 2, "10.20.0.2", 200, "/", None);
                e.tenant = "globex".into();
                e
            })
            .is_empty(),
            "its own tenant is fine"
        );
    }

    #[test]
    fn any_access_to_an_isolated_tenant() {
        let mut d = Detector::new(Rules::default());
        d.isolated.insert("acme".into(), 1000);
        assert!(d.observe(&event(1, 0, "198.51.100.1", 200, "/", None)).is_empty(), "before it was isolated");
        assert_eq!(
            d.observe(&event(2, 1, "198.51.100.1", 200, "/", None))[0].alert.rule,
            "Access to an isolated tenant"
        );
    }

    #[test]
    fn rules_can_be_turned_off_and_tuned() {
        let rules: Rules = toml::from_str("[brute_force]\nthreshold = 3\nwindow_seconds = 10\npriority = \"critical\"\n[web_attack]\nenabled = false\n").unwrap();
        let mut d = Detector::new(rules);
        let found = run(&mut d, &(0..3).map(|i| event(i, i, "203.0.113.14", 401, "/login", None)).collect::<Vec<_>>());
        assert_eq!((found[0].alert.rule.as_str(), found[0].alert.priority), ("Brute-force login", Priority::Critical));
        assert!(d.observe(&event(9, 9, "203.0.113.15", 200, "/../etc/passwd", None)).is_empty());
    }
}
