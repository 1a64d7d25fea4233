//! `[[respond]]` rules: an alert of a given rule (and/or priority) bans its source address in a
//! Fail2Ban jail through the same responder as the `b` key, with rampart's rule as the actor and
//! the alert in the reason — within the guardrails: never an allowed network or a loopback
//! address, at most `max_per_minute` actions in any minute (beyond it rampart stops acting and
//! says so: an alert, an audit row per action not taken, and its row in the Sources view), and
//! "would ban" instead of a ban in a dry run. A rule may instead raise the alert's tenant for
//! isolation as a suggestion ([`SUGGESTED`], an alert the operator confirms by isolating it in the
//! console), or — only when it says `action = "isolate"` — isolate it at once.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

use super::{record, Backend, Operator, Request};
use crate::config::respond::{Guardrails, RespondAction, RespondRule};
use crate::config::Config;
use crate::store::alerts::{Alert, Priority};
use crate::store::automatic::{self, AutomaticBan};
use crate::store::status::Health;
use crate::store::writer::{StoreWriter, Tables, Write};
use crate::store::{self, cursors, now_ms, Access};

/// The Sources view's row of the rules, and their cursor (the last alert judged).
pub const SOURCE: &str = "respond";
/// The rule of the alert that says rampart stopped acting.
pub const STOPPED: &str = "Automatic response stopped";
/// The rule of the alert that raises a tenant for isolation.
pub const SUGGESTED: &str = "Isolation suggested";
/// How often new alerts are looked for.
const POLL: Duration = Duration::from_millis(100);
/// An address banned in a jail is not banned there again for this long (one attack, one ban).
const ONCE_PER: Duration = Duration::from_secs(600);

/// rampart itself as the actor of an automatic action (`rampart (rule ban-brute-force)`): what
/// the audit row names instead of a person.
pub fn rampart_as(what: &str) -> Operator {
    Operator {
        name: format!("rampart ({what})"),
        ssh_client: None,
        host: crate::host::name(),
        evidence: Default::default(),
    }
}

/// An alert as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub id: i64,
    pub priority: Priority,
    pub rule: String,
    pub src_ip: Option<String>,
    pub tenant: Option<String>,
}

/// The first rule that acts on `alert`.
pub fn matching<'r>(rules: &'r [RespondRule], alert: &Seen) -> Option<&'r RespondRule> {
    if alert.rule == STOPPED || alert.rule == SUGGESTED {
        return None;
    }
    rules.iter().find(|r| {
        let rule_ok = r.rule.as_deref().is_none_or(|name| name == alert.rule);
        let priority_ok = match r.priority.as_deref().map(str::parse::<Priority>) {
            None => true,
            Some(Ok(lowest)) => alert.priority <= lowest,
            Some(Err(_)) => false,
        };
        rule_ok && priority_ok
    })
}

/// What the guardrails say of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Act,
    /// In an allowed network (or loopback), said as the network.
    Allowed(String),
    /// The cap is reached: this many actions in the last minute.
    Capped(usize),
}

/// The guardrails, with the actions of the last minute.
pub struct Guard {
    allow: Vec<((IpAddr, u8), String)>,
    max: usize,
    recent: VecDeque<Instant>,
}

impl Guard {
    pub fn new(g: &Guardrails) -> Guard {
        let allow = g.allow.iter().filter_map(|text| Some((crate::detect::network(text)?, text.clone()))).collect();
        Guard { allow, max: g.max_per_minute.max(1) as usize, recent: VecDeque::new() }
    }

    /// Whether an action against `ip` may be taken at `now`; counts it when it may.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Verdict {
        if ip.is_loopback() || ip.is_unspecified() {
            return Verdict::Allowed("loopback".into());
        }
        if let Some((_, text)) = self.allow.iter().find(|(net, _)| crate::detect::within(ip, *net)) {
            return Verdict::Allowed(format!("[guardrails] allow \"{text}\""));
        }
        self.cap(now)
    }

    /// Whether the rate cap lets one more action be taken at `now`; counts it when it does.
    pub fn cap(&mut self, now: Instant) -> Verdict {
        while self.recent.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.max {
            return Verdict::Capped(self.recent.len());
        }
        self.recent.push_back(now);
        Verdict::Act
    }
}

/// Alerts after `after`, oldest first, at most 200.
fn alerts_after(conn: &Connection, after: i64) -> rusqlite::Result<Vec<Seen>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, priority, rule, src_ip, tenant FROM alerts WHERE id > ? ORDER BY id LIMIT 200")?;
    let rows = stmt.query_map(params![after], |r| {
        Ok(Seen {
            id: r.get(0)?,
            priority: Priority::from_rank(r.get(1)?),
            rule: r.get(2)?,
            src_ip: r.get(3)?,
            tenant: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// Where judging starts: after the last alert judged before, or (the first time) after every
/// alert there is now: history never bans anyone.
fn start_position(conn: &Connection) -> rusqlite::Result<i64> {
    if let Some(p) = cursors::get(conn, SOURCE)?.and_then(|p| p.parse().ok()) {
        return Ok(p);
    }
    conn.query_row("SELECT ifnull(max(id), 0) FROM alerts", [], |r| r.get(0))
}

/// The rules at work: the config, the guardrails' state, what was banned lately.
struct Rules {
    writer: StoreWriter,
    config: Arc<Config>,
    guard: Guard,
    stopped: bool,
    banned: HashMap<(String, String), Instant>,
}

impl Rules {
    /// Records an action not taken or only said (dry run), with its audit row; false once the
    /// writer is gone.
    async fn note(&self, rule: &RespondRule, alert: &Seen, ip: &str, ok: bool, message: String, outcome: &str) -> bool {
        let operator = rampart_as(&format!("rule {}", rule.name));
        let request = Request::Ban { ip: ip.into(), jail: rule.jail.clone(), reason: reason(alert, rule) };
        let row = AutomaticBan {
            ts: now_ms(),
            jail: rule.jail.clone(),
            ip: ip.into(),
            rule: rule.name.clone(),
            alert_id: alert.id,
            dry_run: rule.dry_run,
            outcome: outcome.into(),
            until: None,
        };
        let detail =
            serde_json::json!({ "backend": "fail2ban", "automatic": true, "alert": alert.id, "dry_run": rule.dry_run });
        self.writer
            .call(move |conn| {
                let _ = automatic::insert(conn, &row);
                (record(conn, &operator, &request, ok, &message, detail), Tables::AUDIT | Tables::BANS)
            })
            .await
            .is_ok()
    }

    async fn status(&self, health: Health, summary: &str, detail: String) -> bool {
        crate::sources::report_as(&self.writer, SOURCE, health, summary.into(), detail).await
    }

    /// Acts on one alert as the first matching rule says; false once the writer is gone.
    async fn judge(&mut self, alert: &Seen) -> bool {
        let Some(rule) = matching(&self.config.respond, alert).cloned() else { return true };
        if rule.action != RespondAction::Ban {
            return self.isolation(&rule, alert).await;
        }
        let Some(ip) = alert.src_ip.as_deref().and_then(|ip| ip.trim().parse::<IpAddr>().ok()) else { return true };
        let now = Instant::now();
        let text = ip.to_string();
        let key = (rule.jail.clone(), text.clone());
        if self.banned.get(&key).is_some_and(|at| now.duration_since(*at) < ONCE_PER) {
            return true;
        }
        match self.guard.check(ip, now) {
            Verdict::Allowed(why) => {
                let message = format!("not banned: {text} is in {why}, which is never banned");
                return self.note(&rule, alert, &text, false, message, "allowed").await;
            }
            Verdict::Capped(n) => {
                let max = self.config.guardrails.max_per_minute;
                let message = format!(
                    "not banned: {n} automatic actions in the last minute, the most [guardrails] max_per_minute = \
                     {max} allows; rampart stops acting until the minute has passed"
                );
                if !self.stopped {
                    self.stopped = true;
                    if !self.stop_alert(&message).await
                        || !self.status(Health::Degraded, "stopped", message.clone()).await
                    {
                        return false;
                    }
                }
                return self.note(&rule, alert, &text, false, message, "capped").await;
            }
            Verdict::Act => {}
        }
        if std::mem::take(&mut self.stopped) && !self.status(Health::Ok, "acting", self.acting()).await {
            return false;
        }
        // Forget what is past its time, so the map holds at most ten minutes of bans.
        self.banned.retain(|_, at| now.duration_since(*at) < ONCE_PER);
        self.banned.insert(key, now);
        if rule.dry_run {
            let message = format!("would ban {text} in {} (dry run) for alert {}", rule.jail, alert.id);
            return self.note(&rule, alert, &text, true, message, "would ban").await;
        }
        let operator = rampart_as(&format!("rule {}", rule.name));
        let request = Request::Ban { ip: text.clone(), jail: rule.jail.clone(), reason: reason(alert, &rule) };
        let at = now_ms();
        let backend = Backend::Live(self.config.clone());
        let outcome = super::perform(&self.writer, &backend, &operator, &request).await;
        let row = AutomaticBan {
            ts: at,
            jail: rule.jail.clone(),
            ip: text,
            rule: rule.name.clone(),
            alert_id: alert.id,
            dry_run: false,
            outcome: if outcome.ok { "banned".into() } else { outcome.message.clone() },
            until: ban_for(&rule).map(|d| at + d.as_millis() as i64),
        };
        self.writer.call(move |conn| (automatic::insert(conn, &row), Tables::BANS)).await.is_ok()
    }

    /// A rule that suggests isolating the alert's tenant, or (only when it says so) isolates it;
    /// once per tenant and rule in [`ONCE_PER`], within the rate cap. False once the writer is gone.
    async fn isolation(&mut self, rule: &RespondRule, alert: &Seen) -> bool {
        let Some(tenant) = alert.tenant.as_deref().map(str::trim).filter(|t| !t.is_empty()) else { return true };
        let now = Instant::now();
        let key = (format!("isolation by {}", rule.name), tenant.to_string());
        if self.banned.get(&key).is_some_and(|at| now.duration_since(*at) < ONCE_PER) {
            return true;
        }
        if let Some(ip) = alert.src_ip.as_deref().and_then(|ip| ip.trim().parse::<IpAddr>().ok()) {
            if let Verdict::Allowed(_) | Verdict::Capped(_) = self.guard.check(ip, now) {
                return true;
            }
        } else if let Verdict::Capped(_) = self.guard.cap(now) {
            return true;
        }
        self.banned.retain(|_, at| now.duration_since(*at) < ONCE_PER);
        self.banned.insert(key, now);
        let operator = rampart_as(&format!("rule {}", rule.name));
        let why = reason(alert, rule);
        if rule.action == RespondAction::Isolate && !rule.dry_run {
            let request = Request::Isolate { tenant: tenant.to_string(), reason: why, pause: false };
            super::perform(&self.writer, &Backend::Live(self.config.clone()), &operator, &request).await;
            return true;
        }
        let suggestion = Alert {
            id: 0,
            ts: now_ms(),
            priority: Priority::Critical,
            rule: SUGGESTED.into(),
            source: "rampart".into(),
            hostname: crate::host::name(),
            tenant: Some(tenant.to_string()),
            output: format!(
                "rule {} suggests isolating {tenant} ({why}): confirm with :isolate {tenant} (or i on the Tenants \
                 pane); rampart does not isolate it by itself",
                rule.name
            ),
            output_fields_json: serde_json::json!({ "rampart.alert": alert.id, "rampart.rule": rule.name }).to_string(),
            tags: "rampart,respond,suggestion".into(),
            src_ip: alert.src_ip.clone(),
            acked_by: None,
            acked_at: None,
        };
        self.writer.send(Write::Alert(suggestion)).await.is_ok()
    }

    /// The alert that says rampart stopped acting.
    async fn stop_alert(&self, message: &str) -> bool {
        let alert = Alert {
            id: 0,
            ts: now_ms(),
            priority: Priority::Critical,
            rule: STOPPED.into(),
            source: "rampart".into(),
            hostname: crate::host::name(),
            tenant: None,
            output: format!("[[respond]] rules stopped acting: {message}"),
            output_fields_json: "{}".into(),
            tags: "rampart,respond".into(),
            src_ip: None,
            acked_by: None,
            acked_at: None,
        };
        self.writer.send(Write::Alert(alert)).await.is_ok()
    }

    fn acting(&self) -> String {
        let dry = self.config.respond.iter().filter(|r| r.dry_run).count();
        format!(
            "{} rules ({dry} dry runs), at most {} actions a minute",
            self.config.respond.len(),
            self.config.guardrails.max_per_minute
        )
    }
}

/// How long the rule's bans last before rampart lifts them, if it does.
fn ban_for(rule: &RespondRule) -> Option<Duration> {
    rule.ban_for.as_deref().and_then(|t| crate::config::cloudwatch::parse_duration(t).ok())
}

/// Lifts every ban made for a time that is over (`due`), through the `u` key's responder, the
/// rule as the actor; false once the writer is gone.
async fn lift(writer: &StoreWriter, config: &Arc<Config>, due: Vec<automatic::Due>) -> bool {
    for d in due {
        let operator = rampart_as(&format!("rule {}", d.rule));
        let request = Request::Unban { ban_id: d.ban_id, ip: d.ip.clone(), jail: d.jail.clone() };
        let outcome = super::perform(writer, &Backend::Live(config.clone()), &operator, &request).await;
        if !outcome.ok {
            tracing::warn!("lifting the ban of {} in {} failed: {}", d.ip, d.jail, outcome.message);
        }
        let id = d.id;
        if writer.call(move |conn| (automatic::lifted(conn, id, now_ms()), Tables::BANS)).await.is_err() {
            return false;
        }
    }
    true
}

/// The audit row's reason: the alert that caused the action.
fn reason(alert: &Seen, rule: &RespondRule) -> String {
    format!("alert {} ({}), rule {}", alert.id, alert.rule, rule.name)
}

/// Runs until the writer goes away: judges every new alert (by id, through its own read-only
/// connection to `db`) and acts as the rules say.
pub async fn run(writer: StoreWriter, config: Arc<Config>, db: PathBuf) {
    if config.respond.is_empty() {
        return;
    }
    let Ok(reader) = store::open(&db, Access::ReadOnly) else { return };
    let mut position = match start_position(&reader) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("the [[respond]] rules cannot read the alerts: {e}");
            return;
        }
    };
    let guard = Guard::new(&config.guardrails);
    let mut rules = Rules { writer, config, guard, stopped: false, banned: HashMap::new() };
    if !rules.status(Health::Ok, "acting", rules.acting()).await {
        return;
    }
    loop {
        let alerts = match alerts_after(&reader, position) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("the [[respond]] rules cannot read the alerts: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let due = automatic::due(&reader, now_ms()).unwrap_or_else(|e| {
            tracing::warn!("the [[respond]] rules cannot read their bans: {e}");
            Vec::new()
        });
        if !due.is_empty() && !lift(&rules.writer, &rules.config, due).await {
            return;
        }
        if alerts.is_empty() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        for alert in &alerts {
            if !rules.judge(alert).await {
                return;
            }
            position = alert.id;
        }
        let at = position.to_string();
        let saved = rules.writer.call(move |conn| (cursors::put(conn, SOURCE, &at, now_ms()), Tables::NONE)).await;
        if saved.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(rule: Option<&str>, priority: Option<&str>) -> RespondRule {
        RespondRule {
            name: "r".into(),
            rule: rule.map(String::from),
            priority: priority.map(String::from),
            action: RespondAction::Ban,
            jail: "j".into(),
            ban_for: None,
            dry_run: false,
        }
    }

    fn seen(rule: &str, priority: Priority) -> Seen {
        Seen { id: 1, priority, rule: rule.into(), src_ip: Some("203.0.113.9".into()), tenant: None }
    }

    #[test]
    fn a_rule_matches_by_name_and_by_lowest_priority() {
        let by_name = [rule(Some("Brute-force login"), None)];
        assert!(matching(&by_name, &seen("Brute-force login", Priority::Debug)).is_some());
        assert!(matching(&by_name, &seen("Web attack", Priority::Emergency)).is_none());
        let by_priority = [rule(None, Some("critical"))];
        assert!(matching(&by_priority, &seen("x", Priority::Critical)).is_some());
        assert!(matching(&by_priority, &seen("x", Priority::Emergency)).is_some());
        assert!(matching(&by_priority, &seen("x", Priority::Error)).is_none());
        let both = [rule(Some("x"), Some("warning"))];
        assert!(matching(&both, &seen("x", Priority::Notice)).is_none());
        assert!(matching(&[rule(None, Some("debug"))], &seen(STOPPED, Priority::Critical)).is_none(), "never its own");
    }

    #[test]
    fn the_guard_refuses_allowed_networks_and_caps_a_minute() {
        let mut guard = Guard::new(&Guardrails { allow: vec!["198.51.100.0/24".into()], max_per_minute: 2 });
        let t0 = Instant::now();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            guard.check(ip("198.51.100.7"), t0),
            Verdict::Allowed("[guardrails] allow \"198.51.100.0/24\"".into())
        );
        assert_eq!(guard.check(ip("::1"), t0), Verdict::Allowed("loopback".into()));
        assert_eq!(guard.check(ip("203.0.113.1"), t0), Verdict::Act);
        assert_eq!(guard.check(ip("203.0.113.2"), t0 + Duration::from_secs(1)), Verdict::Act);
        assert_eq!(guard.check(ip("203.0.113.3"), t0 + Duration::from_secs(59)), Verdict::Capped(2));
        assert_eq!(
            guard.check(ip("203.0.113.3"), t0 + Duration::from_secs(60)),
            Verdict::Act,
            "the first left the minute"
        );
    }
}
