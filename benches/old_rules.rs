//! The detection rules as they were before issue 27 (main at bce8924), kept only for benches/detection.rs to compare with.

use std::collections::{HashMap, VecDeque};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use serde::Deserialize;

use rampart::store::access::{flags, AccessEvent, Row};
use rampart::store::alerts::{Alert, Priority};

/// One rule's switch, thresholds and priority.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Rule {
    pub enabled: bool,
    /// How many events within `window_seconds` make the rule fire (for counting rules).
    pub threshold: usize,
    pub window_seconds: i64,
    pub priority: String,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule { enabled: true, threshold: 10, window_seconds: 120, priority: "warning".into() }
    }
}

/// `[detect]` in the config file; every rule is on by default.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub brute_force: Rule,
    pub credential_stuffing: Rule,
    pub cross_tenant: Rule,
    pub web_attack: Rule,
    pub scan_404: Rule,
    pub isolated_tenant_access: Rule,
}

impl Default for Rules {
    fn default() -> Rules {
        let rule = |threshold, window_seconds, priority: &str| Rule {
            enabled: true,
            threshold,
            window_seconds,
            priority: priority.into(),
        };
        Rules {
            brute_force: rule(10, 120, "warning"),
            credential_stuffing: rule(5, 300, "error"),
            cross_tenant: rule(1, 60, "critical"),
            web_attack: rule(1, 60, "warning"),
            scan_404: rule(20, 60, "notice"),
            isolated_tenant_access: rule(1, 60, "critical"),
        }
    }
}

/// Text in a path, query or user agent that marks an attack or a scanner.
const ATTACK_MARKS: &[&str] = &[
    "../",
    "..%2f",
    "%2e%2e",
    "/etc/passwd",
    "/etc/shadow",
    "union select",
    "' or 1=1",
    "\" or 1=1",
    "or%201=1",
    "sleep(",
    ";cat ",
    "%3bcat",
    "$(",
    "`",
    "|sh",
    "cmd=",
    "/.env",
    "/.git/",
    "wp-login.php",
];
const SCANNERS: &[&str] = &["sqlmap", "nikto", "nuclei", "masscan", "zgrab", "dirbuster", "gobuster", "wpscan"];

/// Every mark and scanner at once, in one pass over the text, letter case ignored (the first in
/// the lists' order wins where several start at the same place).
static MARKS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .kind(Some(AhoCorasickKind::DFA))
        .build(ATTACK_MARKS.iter().chain(SCANNERS))
        .expect("the attack marks are plain strings")
});

/// The first mark or scanner in `text`.
fn mark_in(text: &str) -> Option<&'static str> {
    let found = MARKS.find(text)?.pattern().as_usize();
    ATTACK_MARKS.iter().chain(SCANNERS).nth(found).copied()
}

/// User agents remembered with the mark each holds, at most (then forgotten all at once), and the
/// longest remembered (a longer one is searched each time): at most 2 MiB of text.
const AGENTS_REMEMBERED: usize = 4_096;
const AGENT_REMEMBERED_LEN: usize = 512;

/// The mark in an event's path, else in its user agent. A log repeats a few hundred user agents
/// among millions of requests and searching one was most of what judging a quiet event cost, so
/// what each holds is remembered.
#[derive(Default)]
struct Marks {
    agents: HashMap<Box<str>, Option<&'static str>, foldhash::fast::RandomState>,
}

impl Marks {
    fn of(&mut self, path: &str, user_agent: &str) -> Option<&'static str> {
        if let Some(mark) = mark_in(path) {
            return Some(mark);
        }
        if user_agent.len() > AGENT_REMEMBERED_LEN {
            return mark_in(user_agent);
        }
        if let Some(known) = self.agents.get(user_agent) {
            return *known;
        }
        let mark = mark_in(user_agent);
        if self.agents.len() >= AGENTS_REMEMBERED {
            self.agents.clear();
        }
        self.agents.insert(user_agent.into(), mark);
        mark
    }
}

pub use rampart::store::detections::Detection;

#[derive(Default)]
struct Window {
    hits: VecDeque<(i64, i64)>,
}

impl Window {
    /// Adds an event and forgets those older than `span` ms; returns how many remain.
    fn push(&mut self, ts: i64, id: i64, span: i64) -> usize {
        self.hits.push_back((ts, id));
        while self.hits.front().is_some_and(|(t, _)| *t < ts - span) {
            self.hits.pop_front();
        }
        self.hits.len()
    }

    fn ids(&self) -> Vec<i64> {
        self.hits.iter().map(|(_, id)| *id).collect()
    }
}

/// A source address as the rules key it: parsed when it is one (a fixed-size key, hashed and
/// compared without following a pointer), else the text as it came.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Address {
    Ip(std::net::IpAddr),
    Other(Box<str>),
}

impl Address {
    fn of(text: &str) -> Address {
        text.parse().map_or_else(|_| Address::Other(text.into()), Address::Ip)
    }
}

#[derive(Default)]
struct PerIp {
    failures: Window,
    /// The users of the failed logins within the credential-stuffing window, oldest first, and
    /// how many times each of them is in it (so the distinct ones are the counts' keys).
    users: VecDeque<(i64, Box<str>)>,
    user_counts: HashMap<Box<str>, u32>,
    not_found: Window,
    /// When each rule last fired for this address, so one attack is one alert per window.
    fired: HashMap<&'static str, i64>,
    /// The newest event the rules kept state for.
    last: i64,
}

impl PerIp {
    /// Adds a failed login by `user`, forgets those older than `span` ms; returns how many
    /// different users remain.
    fn tried(&mut self, ts: i64, user: &str, span: i64) -> usize {
        *self.user_counts.entry(user.into()).or_default() += 1;
        self.users.push_back((ts, user.into()));
        while let Some((_, old)) = self.users.front().filter(|(t, _)| *t < ts - span) {
            if let Some(n) = self.user_counts.get_mut(old) {
                *n -= 1;
                if *n == 0 {
                    self.user_counts.remove(old);
                }
            }
            self.users.pop_front();
        }
        self.user_counts.len()
    }
}

/// Events between two sweeps of the addresses the rules have forgotten.
const SWEEP_EVERY: u32 = 1 << 16;

/// The rules with their state.
pub struct Detector {
    rules: Rules,
    /// State for the addresses some rule is counting or has fired for; only events that concern
    /// a rule (a failed login, a 404, an attack mark, a crossing, an isolated tenant) look here.
    per_ip: HashMap<Address, PerIp, foldhash::fast::RandomState>,
    /// Events since the last sweep of `per_ip`.
    since_sweep: u32,
    /// Which tenant each container address belongs to.
    pub addresses: HashMap<String, String>,
    /// Isolated tenants, each with when it was isolated (ms): requests before that are not flagged,
    /// so judging an older log does not accuse traffic of a tenant isolated since.
    pub isolated: HashMap<String, i64>,
    marks: Marks,
}

impl Detector {
    pub fn new(rules: Rules) -> Detector {
        Detector {
            rules,
            per_ip: HashMap::default(),
            since_sweep: 0,
            addresses: HashMap::new(),
            isolated: HashMap::new(),
            marks: Marks::default(),
        }
    }

    /// The longest window of any rule, in ms: how far back the rules remember.
    pub fn memory_ms(&self) -> i64 {
        let r = &self.rules;
        [&r.brute_force, &r.credential_stuffing, &r.cross_tenant, &r.web_attack, &r.scan_404, &r.isolated_tenant_access]
            .iter()
            .map(|rule| rule.window_seconds * 1000)
            .max()
            .unwrap_or(0)
    }

    /// Looks at one event (in arrival order) and returns what it completes.
    pub fn observe(&mut self, e: &AccessEvent) -> Vec<Detection> {
        self.observe_row(e.id, &e.as_row())
    }

    /// Looks at event `id`, borrowed from wherever it lies (a stored row read back, or the packed
    /// rows an import has just inserted), and returns what it completes.
    pub fn observe_row(&mut self, id: i64, e: &Row<'_>) -> Vec<Detection> {
        let mut out = Vec::new();
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.sweep(e.ts);
        }
        let failed = e.flags & flags::AUTH_FAILURE != 0 || (e.status == 401 && e.method == "POST");
        let not_found = e.status == 404;
        let mark = self.marks.of(e.path, e.user_agent);
        let crossed = match (self.addresses.get(e.src_ip), e.target_tenant) {
            (Some(from), _) if from != e.tenant => Some(from.as_str()),
            (_, Some(target)) if target != e.tenant => Some(e.tenant),
            _ => None,
        };
        let isolated = self.isolated.get(e.tenant).is_some_and(|since| e.ts >= *since);
        if !(failed || not_found || mark.is_some() || crossed.is_some() || isolated) {
            // Most events: nothing any rule counts or fires on, so no address state is touched.
            return out;
        }
        let rules = &self.rules;
        let ip = self.per_ip.entry(Address::of(e.src_ip)).or_default();
        ip.last = e.ts;
        let mut fire = |name: &'static str, rule: &Rule, ip: &mut PerIp, events: Vec<i64>, text: String| {
            if !rule.enabled {
                return;
            }
            let cooldown = rule.window_seconds * 1000;
            if ip.fired.get(name).is_some_and(|at| e.ts - at < cooldown) {
                return;
            }
            ip.fired.insert(name, e.ts);
            out.push(Detection::raised(alert(e, name, rule, text), events));
        };
        if failed {
            let r = &rules.brute_force;
            if ip.failures.push(e.ts, id, r.window_seconds * 1000) >= r.threshold {
                let ids = ip.failures.ids();
                let n = ids.len();
                fire(
                    "Brute-force login",
                    r,
                    ip,
                    ids,
                    format!("{n} failed logins from {} on {} within {}s", e.src_ip, e.tenant, r.window_seconds),
                );
            }
            if let Some(user) = e.user {
                let r = &rules.credential_stuffing;
                let distinct = ip.tried(e.ts, user, r.window_seconds * 1000);
                if distinct >= r.threshold {
                    let ids = ip.failures.ids();
                    fire(
                        "Credential stuffing",
                        r,
                        ip,
                        ids,
                        format!(
                            "{} tried {distinct} different users on {} within {}s",
                            e.src_ip, e.tenant, r.window_seconds
                        ),
                    );
                }
            }
        }
        if not_found {
            let r = &rules.scan_404;
            if ip.not_found.push(e.ts, id, r.window_seconds * 1000) >= r.threshold {
                let ids = ip.not_found.ids();
                let n = ids.len();
                fire(
                    "404 scanning burst",
                    r,
                    ip,
                    ids,
                    format!("{n} not-found responses to {} on {} within {}s", e.src_ip, e.tenant, r.window_seconds),
                );
            }
        }
        if let Some(mark) = mark {
            fire(
                "Web attack pattern",
                &rules.web_attack,
                ip,
                vec![id],
                format!("{} sent '{mark}' to {} {}", e.src_ip, e.tenant, e.path),
            );
        }
        if let Some(from) = crossed {
            fire(
                "Cross-tenant access",
                &rules.cross_tenant,
                ip,
                vec![id],
                format!("{} of tenant {from} reached {} {}", e.src_ip, e.tenant, e.path),
            );
        }
        if isolated {
            fire(
                "Access to an isolated tenant",
                &rules.isolated_tenant_access,
                ip,
                vec![id],
                format!("{} reached isolated tenant {} {}", e.src_ip, e.tenant, e.path),
            );
        }
        out
    }

    /// Forgets the addresses no rule has seen within its longest window as of `now`: their
    /// windows hold nothing that could count again, and no rule's cooldown is still running.
    fn sweep(&mut self, now: i64) {
        self.since_sweep = 0;
        let keep_from = now.saturating_sub(self.memory_ms());
        self.per_ip.retain(|_, ip| ip.last >= keep_from);
    }
}

fn alert(e: &Row<'_>, rule_name: &str, rule: &Rule, output: String) -> Alert {
    Alert {
        id: 0,
        ts: e.ts,
        priority: rule.priority.parse().unwrap_or(Priority::Warning),
        rule: rule_name.into(),
        source: "rampart".into(),
        hostname: String::new(),
        tenant: Some(e.tenant.to_string()).filter(|t| !t.is_empty()),
        output,
        output_fields_json: serde_json::json!({ "fd.cip": e.src_ip, "http.path": e.path, "http.status": e.status })
            .to_string(),
        tags: "rampart,access".into(),
        src_ip: Some(e.src_ip.to_string()),
        acked_by: None,
        acked_at: None,
    }
}
