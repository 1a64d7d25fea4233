//! Detection rules over access events, emitting alerts in Falco's shape (source `rampart`), each
//! linked to the events that caused it. Rules see events one at a time, in order, keeping only
//! short sliding windows per source address, so they run as fast as events arrive.

pub mod judge;
pub mod runner;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};

use serde::Deserialize;

use crate::store::access::{flags, AccessEvent, Row};
use crate::store::alerts::{Alert, Priority};

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
        .build(ATTACK_MARKS.iter().chain(SCANNERS))
        .expect("the attack marks are plain strings")
});

pub use crate::store::judged::Detection;

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

#[derive(Default)]
struct PerIp {
    failures: Window,
    users: VecDeque<(i64, String)>,
    not_found: Window,
    /// When each rule last fired for this address, so one attack is one alert per window.
    fired: HashMap<&'static str, i64>,
}

/// The rules with their state.
pub struct Detector {
    rules: Rules,
    per_ip: HashMap<String, PerIp>,
    /// Which tenant each container address belongs to.
    pub addresses: HashMap<String, String>,
    /// Isolated tenants, each with when it was isolated (ms): requests before that are not flagged,
    /// so judging an older log does not accuse traffic of a tenant isolated since.
    pub isolated: HashMap<String, i64>,
    /// The path and user agent of the event being judged, in one reused buffer.
    text: String,
}

impl Detector {
    pub fn new(rules: Rules) -> Detector {
        Detector {
            rules,
            per_ip: HashMap::new(),
            addresses: HashMap::new(),
            isolated: HashMap::new(),
            text: String::new(),
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
        let rules = &self.rules;
        let source_tenant = self.addresses.get(e.src_ip).cloned();
        let isolated = self.isolated.get(e.tenant).is_some_and(|since| e.ts >= *since);
        if !self.per_ip.contains_key(e.src_ip) {
            // (An address seen before, the usual case, costs no allocation.)
            self.per_ip.insert(e.src_ip.to_string(), PerIp::default());
        }
        let Some(ip) = self.per_ip.get_mut(e.src_ip) else { return out };
        let mut fire = |name: &'static str, rule: &Rule, ip: &mut PerIp, events: Vec<i64>, text: String| {
            if !rule.enabled {
                return;
            }
            let cooldown = rule.window_seconds * 1000;
            if ip.fired.get(name).is_some_and(|at| e.ts - at < cooldown) {
                return;
            }
            ip.fired.insert(name, e.ts);
            out.push(Detection { alert: alert(e, name, rule, text), events });
        };
        let failed = e.flags & flags::AUTH_FAILURE != 0 || (e.status == 401 && e.method == "POST");
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
                ip.users.push_back((e.ts, user.to_string()));
                while ip.users.front().is_some_and(|(t, _)| *t < e.ts - r.window_seconds * 1000) {
                    ip.users.pop_front();
                }
                let distinct: HashSet<&str> = ip.users.iter().map(|(_, u)| u.as_str()).collect();
                if distinct.len() >= r.threshold {
                    let n = distinct.len();
                    let ids = ip.failures.ids();
                    fire(
                        "Credential stuffing",
                        r,
                        ip,
                        ids,
                        format!("{} tried {n} different users on {} within {}s", e.src_ip, e.tenant, r.window_seconds),
                    );
                }
            }
        }
        if e.status == 404 {
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
        self.text.clear();
        self.text.extend([e.path, " ", e.user_agent]);
        let mark =
            MARKS.find(self.text.as_str()).map(|m| ATTACK_MARKS.iter().chain(SCANNERS).nth(m.pattern().as_usize()));
        let mark = mark.flatten();
        if let Some(mark) = mark {
            fire(
                "Web attack pattern",
                &rules.web_attack,
                ip,
                vec![id],
                format!("{} sent '{mark}' to {} {}", e.src_ip, e.tenant, e.path),
            );
        }
        let crossed = match (&source_tenant, e.target_tenant) {
            (Some(from), _) if from != e.tenant => Some(from.clone()),
            (_, Some(target)) if target != e.tenant => Some(e.tenant.to_string()),
            _ => None,
        };
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

    fn run(d: &mut Detector, events: &[AccessEvent]) -> Vec<Detection> {
        events.iter().flat_map(|e| d.observe(e)).collect()
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
