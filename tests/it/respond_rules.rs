//! `[[respond]]` rules against a real Fail2Ban: failed logins stored as access events are judged
//! by the detection rules, and the alert bans its source address with no key pressed — never an
//! allowed network, at most `max_per_minute` actions a minute (then rampart stops and says so),
//! "would ban" in a dry run; audited with the rule as actor and the alert, shown as rampart's.

use crate::support;
use crate::support::f2b::{Fail2ban, FINITE};

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart::config::respond::{Guardrails, RespondRule};
use rampart::config::Config;
use rampart::store::access::AccessEvent;
use rampart::store::writer::{ChangeNotes, StoreWriter, Write};
use rampart::store::{self, Access};

fn until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(60), "never got there: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn config(f2b: &Fail2ban, dry_run: bool, max_per_minute: u32) -> Config {
    Config {
        fail2ban: f2b.config.clone(),
        respond: vec![RespondRule {
            name: "ban-brute-force".into(),
            rule: Some("Brute-force login".into()),
            priority: None,
            action: Default::default(),
            jail: FINITE.into(),
            ban_for: None,
            dry_run,
        }],
        guardrails: Guardrails { allow: vec!["198.51.100.0/24".into()], max_per_minute },
        ..Default::default()
    }
}

/// The collector's detection rules, `[[respond]]` rules and Fail2Ban source on `db`.
pub struct Running {
    pub runtime: tokio::runtime::Runtime,
    pub writer: Option<StoreWriter>,
    thread: Option<std::thread::JoinHandle<rampart::store::writer::WriterStats>>,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    fn start(db: &Path, config: Config) -> Running {
        Running::start_with(db, config, false)
    }

    /// With the engine-logs follower too, as a collector runs it.
    pub fn start_with(db: &Path, config: Config, engine_logs: bool) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let conn = store::open(db, Access::ReadWrite).unwrap();
        let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
        let config = Arc::new(config);
        let mut tasks = vec![
            runtime.spawn(rampart::detect::runner::run(writer.clone(), db.to_owned(), config.detect.clone())),
            runtime.spawn(rampart::respond::rules::run(writer.clone(), config.clone(), db.to_owned())),
            runtime.spawn(rampart::sources::fail2ban::run(writer.clone(), config.fail2ban.clone())),
        ];
        if engine_logs {
            let (docker, logs) = (config.docker.clone(), config.engine_logs.clone());
            tasks.push(runtime.spawn(rampart::sources::engine_logs::run(writer.clone(), docker, logs)));
        }
        Running { runtime, writer: Some(writer), thread: Some(thread), tasks }
    }

    /// Ten failed logins from `ip`: one more than the brute-force rule lets pass.
    fn brute_force(&self, ip: &str, from: i64) {
        self.brute_force_on("acme", ip, from)
    }

    /// The same against `tenant`.
    fn brute_force_on(&self, tenant: &str, ip: &str, from: i64) {
        let writer = self.writer.as_ref().unwrap();
        for i in 0..10 {
            let e = AccessEvent {
                ts: from + i * 1000,
                tenant: tenant.into(),
                src_ip: ip.into(),
                method: "POST".into(),
                path: "/login".into(),
                status: 401,
                source: "test".into(),
                ..Default::default()
            };
            writer.blocking_send(Write::Access(e)).unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks.drain(..) {
            let _ = self.runtime.block_on(t);
        }
        drop(self.writer.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn audit(db: &Path) -> Vec<(String, String, String, String)> {
    let conn = store::open(db, Access::ReadOnly).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT operator, reason, outcome, json_extract(detail_json, '$.message') FROM audit \
             WHERE operator LIKE 'rampart (rule %' ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
}

fn alert_ids(db: &Path, rule: &str) -> Vec<i64> {
    let conn = store::open(db, Access::ReadOnly).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM alerts WHERE rule = ? ORDER BY id").unwrap();
    stmt.query_map([rule], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_brute_force_is_banned_with_no_key_pressed_within_the_guardrails() {
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let running = Running::start(&db, config(&f2b, false, 2));
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    until("the rules at work", || support::status_says(&reader, "respond", "1 rules (0 dry runs)"));
    for (n, ip) in ["203.0.113.1", "198.51.100.7", "203.0.113.2", "203.0.113.3"].iter().enumerate() {
        running.brute_force(ip, support::NOW + n as i64 * 60_000);
    }
    until("every alert judged", || audit(&db).len() == 4);
    let mut banned = f2b.banned(FINITE);
    banned.sort();
    assert_eq!(banned, ["203.0.113.1", "203.0.113.2"], "the allowed network and the one over the cap are not");
    let alerts = alert_ids(&db, "Brute-force login");
    assert_eq!(alerts.len(), 4);
    let reason = |i: usize| format!("alert {} (Brute-force login), rule ban-brute-force", alerts[i]);
    let rows = audit(&db);
    let actor = "rampart (rule ban-brute-force)".to_string();
    let capped = "not banned: 2 automatic actions in the last minute, the most [guardrails] max_per_minute = 2 \
                  allows; rampart stops acting until the minute has passed";
    assert_eq!(
        rows,
        [
            (actor.clone(), reason(0), "ok".into(), format!("banned 203.0.113.1 in {FINITE}")),
            (
                actor.clone(),
                reason(1),
                "failed".into(),
                "not banned: 198.51.100.7 is in [guardrails] allow \"198.51.100.0/24\", which is never banned".into()
            ),
            (actor.clone(), reason(2), "ok".into(), format!("banned 203.0.113.2 in {FINITE}")),
            (actor.clone(), reason(3), "failed".into(), capped.to_string()),
        ]
    );
    // Said beside the audit: an alert, and the rules' row in the Sources view.
    assert_eq!(alert_ids(&db, rampart::respond::rules::STOPPED).len(), 1);
    let (summary, detail): (String, String) = reader
        .query_row("SELECT summary, detail FROM source_status WHERE source = 'respond'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((summary.as_str(), detail.as_str()), ("stopped", capped));
    // The Bans pane shows the rules' bans as rampart's, once Fail2Ban's database has them.
    until("the bans marked as rampart's", || {
        let sources: Vec<(String, String)> = reader
            .prepare("SELECT ip, source FROM bans ORDER BY ip")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        sources == [("203.0.113.1".to_string(), "rampart".to_string()), ("203.0.113.2".into(), "rampart".into())]
    });
    drop(running);
    assert_eq!(rampart::store::audit::verify(&reader).unwrap().first_break, None);
}

#[test]
fn a_dry_run_says_what_it_would_ban_and_bans_nothing() {
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let running = Running::start(&db, config(&f2b, true, 10));
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    until("the rules at work", || support::status_says(&reader, "respond", "1 rules (1 dry runs)"));
    running.brute_force("203.0.113.1", support::NOW);
    until("the alert judged", || audit(&db).len() == 1);
    let alert = alert_ids(&db, "Brute-force login")[0];
    assert_eq!(
        audit(&db),
        [(
            "rampart (rule ban-brute-force)".to_string(),
            format!("alert {alert} (Brute-force login), rule ban-brute-force"),
            "ok".to_string(),
            format!("would ban 203.0.113.1 in {FINITE} (dry run) for alert {alert}"),
        )]
    );
    drop(running);
    assert!(f2b.banned(FINITE).is_empty());
    let would: String = reader.query_row("SELECT outcome FROM automatic_bans", [], |r| r.get(0)).unwrap();
    assert_eq!(would, "would ban");
}

#[test]
fn a_brute_force_in_a_containers_own_log_is_banned_with_no_key_pressed() {
    let lab = crate::support::lab::Lab::new(&[]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let config =
        Config { docker: lab.config.clone(), engine_logs: crate::engine_logs::config(&lab), ..config(&f2b, false, 10) };
    let running = Running::start_with(&db, config, true);
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    until("the rules at work", || support::status_says(&reader, "respond", "1 rules"));
    // The tenant's web container logs ten failed logins to its standard output.
    let script = r#"for i in 10 11 12 13 14 15 16 17 18 19; do
echo "203.0.113.50 - - [05/Dec/2026:10:00:$i +0000] \"POST /login HTTP/1.1\" 401 12 \"-\" \"hydra\""; done
exec sleep 3600"#;
    let web = crate::engine_logs::logging_container(&lab, "web", "acme", "combined", script);
    f2b.wait_banned(FINITE, "203.0.113.50");
    // Fail2Ban lists the ban a moment before the audit row that follows its confirmation.
    until("the ban audited", || !audit(&db).is_empty());
    let rows = audit(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].0.as_str(), rows[0].2.as_str()), ("rampart (rule ban-brute-force)", "ok"));
    let tenants: Vec<String> = reader
        .prepare("SELECT DISTINCT tenant || ' ' || source FROM access_events")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tenants, [format!("acme engine:{web}")]);
    drop(running);
}

#[test]
fn a_ban_for_a_time_is_lifted_by_rampart_once_the_time_is_over() {
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let mut config = config(&f2b, false, 10);
    config.respond[0].ban_for = Some("1s".into());
    let running = Running::start(&db, config);
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    until("the rules at work", || support::status_says(&reader, "respond", "1 rules"));
    running.brute_force("203.0.113.1", support::NOW);
    f2b.wait_banned(FINITE, "203.0.113.1");
    f2b.wait("the ban lifted by rampart", || f2b.banned(FINITE).is_empty());
    let actions = || -> Vec<String> {
        reader
            .prepare(
                "SELECT action || ' ' || target || ' ' || outcome FROM audit WHERE operator = \
                 'rampart (rule ban-brute-force)' ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    until("the unban audited", || actions().len() == 2);
    assert_eq!(actions(), [format!("ban 203.0.113.1 in {FINITE} ok"), format!("unban 203.0.113.1 in {FINITE} ok")]);
    drop(running);
}

fn suggestions(db: &Path) -> Vec<(Option<String>, String)> {
    let conn = store::open(db, Access::ReadOnly).unwrap();
    let mut stmt = conn.prepare("SELECT tenant, output FROM alerts WHERE rule = ? ORDER BY id").unwrap();
    stmt.query_map([rampart::respond::rules::SUGGESTED], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_rule_that_suggests_isolation_raises_the_tenant_and_isolates_nothing() {
    use rampart::config::respond::RespondAction;
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let mut config = config(&f2b, false, 10);
    config.respond[0].action = RespondAction::SuggestIsolation;
    config.respond[0].name = "isolate-brute-force".into();
    let running = Running::start(&db, config);
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    until("the rules at work", || support::status_says(&reader, "respond", "1 rules"));
    running.brute_force("203.0.113.1", support::NOW);
    // A second attack on the same tenant is not suggested twice.
    running.brute_force("203.0.113.2", support::NOW + 60_000);
    until("the suggestion", || !suggestions(&db).is_empty());
    until("both alerts judged", || alert_ids(&db, "Brute-force login").len() == 2);
    let alert = alert_ids(&db, "Brute-force login")[0];
    drop(running);
    assert_eq!(
        suggestions(&db),
        [(
            Some("acme".to_string()),
            format!(
                "rule isolate-brute-force suggests isolating acme (alert {alert} (Brute-force login), rule \
                 isolate-brute-force): confirm with :isolate acme (or i on the Tenants pane); rampart does not \
                 isolate it by itself"
            )
        )]
    );
    let acted: i64 = reader.query_row("SELECT count(*) FROM audit", [], |r| r.get(0)).unwrap();
    assert_eq!(acted, 0, "nothing isolated, nothing banned");
    assert!(f2b.banned(FINITE).is_empty());
}

#[test]
fn a_rule_that_says_isolate_isolates_the_tenant_on_the_real_engine() {
    use rampart::config::respond::RespondAction;
    let lab = crate::support::lab::Lab::new(&[2]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let mut config = Config { docker: lab.config.clone(), ..config(&f2b, false, 10) };
    config.respond[0].action = RespondAction::Isolate;
    config.respond[0].name = "isolate-brute-force".into();
    let running = Running::start(&db, config.clone());
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    until("the rules at work", || support::status_says(&reader, "respond", "1 rules"));
    let tenant = &lab.tenants[0];
    let web_ip = lab.address_on(&tenant.containers[0], &tenant.network).unwrap();
    assert!(lab.reaches(&tenant.containers[1], &web_ip));
    running.brute_force_on(&tenant.name, "203.0.113.1", support::NOW);
    until("the isolation audited", || !audit(&db).is_empty());
    let rows = audit(&db);
    assert_eq!(rows[0].0, "rampart (rule isolate-brute-force)");
    assert_eq!(rows[0].2, "ok", "{rows:?}");
    assert!(!lab.reaches(&tenant.containers[1], &web_ip), "isolated");
    drop(running);
    let conn = store::open(&db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let backend = rampart::respond::Backend::Live(Arc::new(config));
    let restore = rampart::respond::Request::Restore { tenant: tenant.name.clone() };
    let outcome = lab.runtime.block_on(rampart::respond::perform(&writer, &backend, &support::operator(), &restore));
    assert!(outcome.ok, "{outcome:?}");
    drop(writer);
    thread.join().unwrap();
}
