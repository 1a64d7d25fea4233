//! The incident report of a scripted incident, at fixed times (no dependence on today's date):
//! alerts, the involved addresses' traffic counted, a ban and its unban, an isolation with what
//! became of each container, an integrity run with its changed files, and the actors, in time order.

use std::path::Path;

use rampart::store::alerts::{self, Alert, Priority};
use rampart::store::{self, access, audit, bans, integrity, tenants, Access};

/// 2026-11-26T10:00:00Z.
const T0: i64 = 1_795_687_200_000;
const MIN: i64 = 60_000;

fn scripted_incident(db: &Path) {
    let conn = store::open(db, Access::ReadWrite).unwrap();
    tenants::upsert(&conn, "acme", "", T0).unwrap();
    let event = |ts: i64, ip: &str, path: &str, status: i64| access::AccessEvent {
        ts,
        tenant: "acme".into(),
        src_ip: ip.into(),
        method: "POST".into(),
        path: path.into(),
        status,
        source: "test".into(),
        ..Default::default()
    };
    let mut events = Vec::new();
    for i in 0..30 {
        events.push(event(T0 + 5 * MIN + i * 1000, "203.0.113.7", "/login", 401));
    }
    events.push(event(T0 + 6 * MIN, "203.0.113.7", "/admin", 200));
    events.push(event(T0 + 6 * MIN, "198.51.100.2", "/", 200)); // not involved: not in the report
    events.push(event(T0 - 60 * MIN, "203.0.113.7", "/old", 200)); // before the range
    access::insert_many(&conn, &events).unwrap();
    let alert = |ts: i64, priority, rule: &str, output: &str| Alert {
        id: 0,
        ts,
        priority,
        rule: rule.into(),
        source: "syscall".into(),
        hostname: "h".into(),
        tenant: Some("acme".into()),
        output: output.into(),
        output_fields_json: "{}".into(),
        tags: String::new(),
        src_ip: Some("203.0.113.7".into()),
        acked_by: None,
        acked_at: None,
    };
    alerts::insert(&conn, &alert(T0 + 6 * MIN, Priority::Warning, "Brute-force login", "30 failed logins")).unwrap();
    alerts::insert(
        &conn,
        &alert(T0 + 7 * MIN, Priority::Critical, "Terminal shell in container", "shell in acme-web [link](http://x)"),
    )
    .unwrap();
    bans::insert(
        &conn,
        &bans::Ban {
            jail: "web-login".into(),
            ip: "203.0.113.7".into(),
            banned_at: T0 + 6 * MIN + 30_000,
            ban_seconds: 600,
            failures: 30,
            tenant: Some("acme".into()),
            unbanned_at: Some(T0 + 40 * MIN),
            unbanned_by: Some("bob".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let row = |ts: i64, operator: &str, action: &str, target: &str, reason: Option<&str>, detail: serde_json::Value| {
        audit::append(
            &conn,
            &audit::NewEntry {
                ts,
                operator: operator.into(),
                ssh_client: Some("192.0.2.10".into()),
                host: "h".into(),
                action: action.into(),
                target: target.into(),
                reason: reason.map(str::to_string),
                outcome: "ok".into(),
                detail_json: detail.to_string(),
            },
        )
        .unwrap();
    };
    row(
        T0 + 8 * MIN,
        "alice",
        "isolate",
        "tenant acme",
        Some("shell in container"),
        serde_json::json!({ "message": "isolated acme: 2/2 containers", "containers": [
            { "container": "acme-web", "ok": true, "detail": "cut off acme-net (172.20.0.2)" },
            { "container": "acme-db", "ok": true, "detail": "cut off acme-net (172.20.0.3)" } ] }),
    );
    row(T0 + 40 * MIN, "bob", "unban", "203.0.113.7 in web-login", None, serde_json::json!({ "message": "unbanned" }));
    row(T0 + 50 * MIN, "carol", "unban", "192.0.2.99 in sshd", None, serde_json::json!({})); // another address
    integrity::upsert_target(
        &conn,
        &integrity::Target {
            name: "acme-www".into(),
            tenant: Some("acme".into()),
            root: "/srv/acme".into(),
            manifest_path: "/m".into(),
            pubkey_path: "/k".into(),
            key_fingerprint: None,
            every_ms: None,
            baselined_at: None,
        },
    )
    .unwrap();
    let change = |path: &str, kind: &str| integrity::Change {
        path: path.into(),
        kind: kind.into(),
        before_json: None,
        after_json: None,
    };
    integrity::insert_run(
        &conn,
        &integrity::Run {
            target: "acme-www".into(),
            started: T0 + 9 * MIN,
            finished: Some(T0 + 9 * MIN + 500),
            signature_ok: Some(true),
            checked: 120,
            modified: 1,
            added: 1,
            ..Default::default()
        },
        &[change("/srv/acme/index.php", "modified"), change("/srv/acme/.x.php", "added")],
    )
    .unwrap();
}

fn report(db: &Path, format: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["--db", db.to_str().unwrap(), "report", "acme", "--since", "2026-11-26T10:00", "--until"])
        .args(["2026-11-26T11:00", "--format", format])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_report_of_a_scripted_incident_tells_it_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    scripted_incident(&db);
    assert_eq!(
        report(&db, "md"),
        "# Incident report: tenant acme

From 2026-11-26T10:00:00.000Z to 2026-11-26T11:00:00.000Z (UTC).

## Summary

- 2 alerts, 1 addresses involved, 1 bans, 1 unbans
- 2 actions audited, 1 integrity runs

## Addresses involved

| address | requests | 4xx | 5xx | first | last | most requested |
|---|---:|---:|---:|---|---|---|
| 203.0.113.7 | 31 | 30 | 0 | 2026-11-26T10:05:00.000Z | 2026-11-26T10:06:00.000Z | `/login` ×30, `/admin` ×1 |

## Timeline

- `2026-11-26T10:06:00.000Z` **alert** Warning Brute-force login from 203.0.113.7
  - 30 failed logins
- `2026-11-26T10:06:30.000Z` **ban** 203.0.113.7 banned in web-login \\(10m00s, 30 failures\\)
- `2026-11-26T10:07:00.000Z` **alert** Critical Terminal shell in container from 203.0.113.7
  - shell in acme-web \\[link\\]\\(http://x\\)
- `2026-11-26T10:08:00.000Z` **action** isolate tenant acme by alice from 192.0.2.10: ok: isolated acme: 2/2 containers — \"shell in container\"
  - ok acme-web: cut off acme-net \\(172.20.0.2\\)
  - ok acme-db: cut off acme-net \\(172.20.0.3\\)
- `2026-11-26T10:09:00.000Z` **integrity** acme-www drift: 120 checked, 1 modified, 1 added, 0 removed, 0 unreadable; signature valid
  - added /srv/acme/.x.php
  - modified /srv/acme/index.php
- `2026-11-26T10:40:00.000Z` **action** unban 203.0.113.7 in web-login by bob from 192.0.2.10: ok: unbanned
- `2026-11-26T10:40:00.000Z` **unban** 203.0.113.7 unbanned from web-login by bob
"
    );
    let json: serde_json::Value = serde_json::from_str(&report(&db, "json")).unwrap();
    let kinds: Vec<&str> = json["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["alert", "ban", "alert", "action", "integrity", "action", "unban"]);
    assert_eq!(json["timeline"][3]["operator"], "alice");
    assert_eq!(json["timeline"][3]["detail"]["containers"][1]["container"], "acme-db");
    assert_eq!(json["traffic"][0]["requests"], 31);
    assert_eq!(json["timeline"][4]["changes"][0]["path"], "/srv/acme/.x.php");
}

#[test]
fn a_report_needs_a_range_that_makes_sense() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    scripted_incident(&db);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "report",
            "acme",
            "--since",
            "2026-11-26T11:00",
            "--until",
            "2026-11-26T10:00",
        ])
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: --since 2026-11-26T11:00 is not before --until 2026-11-26T10:00"
    );
}

#[cfg(feature = "real-components")]
#[test]
fn report_from_the_console_is_written_to_a_file_whose_path_is_shown() {
    let t = crate::support::tmux::Tmux::start("report");
    let db = t.dir.path().join("r.db");
    scripted_incident(&db);
    let config = t.dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    t.type_text(&format!("{} --db {} --config {}", env!("CARGO_BIN_EXE_rampart"), db.display(), config.display()));
    t.key("Enter");
    t.wait_for("acme");
    t.type_text(":report acme 2026-11-26T10:00");
    t.key("Enter");
    let screen = t.wait_for("report written to");
    let written: Vec<std::path::PathBuf> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("rampart-report-acme-"))
        .collect();
    assert_eq!(written.len(), 1, "{screen}");
    let shown = written[0].display().to_string();
    assert!(screen.replace('\n', "").contains(&shown[..shown.len().min(60)]), "{shown} not shown:\n{screen}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&written[0]).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&written[0]).unwrap();
    assert!(text.starts_with("# Incident report: tenant acme\n\nFrom 2026-11-26T10:00:00.000Z to "), "{text}");
    // The same timeline as `rampart report` up to 11:00 (the console, collecting, has since
    // re-verified the target and run the detection rules).
    let cli = report(&db, "md");
    let timeline = |t: &str| {
        let lines = t.split("## Timeline").nth(1).unwrap().lines();
        lines
            .take_while(|l| !l.starts_with("- `") || l["- `".len()..] < *"2026-11-26T11")
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(timeline(&text), timeline(&cli));
    assert!(timeline(&text).contains("**action** isolate tenant acme by alice"), "{text}");
    t.key("q");
}
