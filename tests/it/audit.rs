//! `rampart audit list`: the rows that real headless actions wrote (bans and an unban through a
//! real Fail2Ban), every column as the store holds it, as text made safe for a terminal and as
//! JSON, with `--since` (a duration or a date), `--filter` and `--limit`.

use crate::support::f2b::{Fail2ban, FINITE, PERMANENT};

use std::path::Path;
use std::process::Output;

use rampart::store::{self, audit, Access};
use serde_json::Value;

fn run(db: &Path, config: &Path, args: &[&str]) -> Output {
    crate::support::rampart()
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()])
        .args(args)
        .env("SUDO_USER", "alice")
        .output()
        .unwrap()
}

fn list(db: &Path, args: &[&str]) -> (Output, String, String) {
    let out =
        crate::support::rampart().args(["audit", "list", "--db", db.to_str().unwrap()]).args(args).output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    (out, stdout, stderr)
}

fn json_rows(db: &Path, args: &[&str]) -> Vec<Value> {
    let (out, stdout, stderr) = list(db, &[&["--json"], args].concat());
    assert!(out.status.success(), "{stderr}");
    for c in ['\u{1b}', '\u{9b}', '\u{202e}'] {
        assert!(!stdout.contains(c), "raw {c:?} in the JSON: {stdout}");
    }
    serde_json::from_str::<Value>(&stdout).unwrap().as_array().unwrap().clone()
}

#[test]
fn audit_list_shows_every_column_of_the_rows_real_actions_wrote() {
    let f = Fail2ban::start();
    f.fail(FINITE, "203.0.113.99", 3);
    f.wait_banned(FINITE, "203.0.113.99");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[fail2ban]\ndatabase = \"{}\"\nsocket = \"{}\"\n",
            f.config.database.display(),
            f.config.socket.display()
        ),
    )
    .unwrap();
    // A reason with terminal controls in it: an OSC that sets the title, a C1 CSI, a bidi override.
    let hostile = "case 7 \u{1b}]0;pwned\u{7}\u{9b}2J\u{202e}evil";
    assert_eq!(
        run(&db, &config, &["bans", "ban", "192.0.2.200", "--jail", PERMANENT, "--reason", hostile]).status.code(),
        Some(0)
    );
    assert_eq!(run(&db, &config, &["bans", "unban", "203.0.113.99"]).status.code(), Some(0));
    assert_eq!(
        run(&db, &config, &["bans", "ban", "192.0.2.201", "--jail", "nope", "--reason", "r"]).status.code(),
        Some(2)
    );

    // Every row as the store holds it, newest first.
    let conn = store::open(&db, Access::ReadOnly).unwrap();
    let mut stored: Vec<audit::AuditRow> = conn
        .prepare(&format!("{} ORDER BY id DESC", audit::SELECT))
        .unwrap()
        .query_map([], audit::from_row)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    stored.sort_by_key(|e| std::cmp::Reverse((e.new.ts, e.id)));
    assert!(stored.len() >= 2, "the ban and the unban were audited: {stored:?}");
    let rows = json_rows(&db, &[]);
    assert_eq!(rows.len(), stored.len());
    for (row, e) in rows.iter().zip(&stored) {
        let detail: Value = serde_json::from_str(&e.new.detail_json).unwrap();
        let want = serde_json::json!({
            "id": e.id, "time": rampart::text::format::timestamp(e.new.ts), "operator": e.new.operator,
            "ssh_client": e.new.ssh_client, "host": e.new.host, "action": e.new.action, "target": e.new.target,
            "reason": e.new.reason, "outcome": e.new.outcome,
            "claimed": detail.get("claimed").cloned().unwrap_or(Value::Null), "detail": detail,
            "prev_hash": e.prev_hash, "hash": e.hash,
        });
        assert_eq!(row, &want);
    }
    let ban =
        rows.iter().find(|r| r["action"] == "ban" && r["target"].as_str().unwrap().contains("192.0.2.200")).unwrap();
    assert_eq!(ban["reason"], hostile, "the reason as recorded, its controls escaped in the JSON text");
    assert_eq!(ban["outcome"], "ok");
    assert!(rows.iter().any(|r| r["action"] == "unban" && r["target"].as_str().unwrap().contains("203.0.113.99")));

    // The table: every control made inert, each row's values and the start of its hash.
    let (out, text, _) = list(&db, &[]);
    assert!(out.status.success());
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(c), "raw {c:?} in the table: {text}");
    }
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("TIME (UTC)") && lines[0].contains("OPERATOR") && lines[0].contains("HASH"), "{text}");
    assert_eq!(lines.len(), stored.len() + 1, "{text}");
    for (line, e) in lines[1..].iter().zip(&stored) {
        assert!(line.starts_with(&rampart::text::format::timestamp(e.new.ts)), "{line}");
        assert!(line.contains(&e.new.action) && line.contains(&e.hash[..12]), "{line}");
    }
    assert!(text.contains("case 7"), "{text}");

    // --since as a duration or a date (fixed dates far apart: true on any day), --filter, --limit.
    assert_eq!(json_rows(&db, &["--since", "1h"]).len(), stored.len());
    assert_eq!(json_rows(&db, &["--since", "2000-01-01"]).len(), stored.len());
    assert_eq!(json_rows(&db, &["--since", "2000-01-01 08:00"]).len(), stored.len());
    let (out, text, said) = list(&db, &["--since", "2999-01-01"]);
    assert!(out.status.success() && text.is_empty(), "{text}");
    assert_eq!(said.trim(), "no rows");
    let unbans = json_rows(&db, &["--filter", "action:unban"]);
    assert_eq!(unbans.len(), 1);
    assert_eq!(unbans[0]["id"], rows.iter().find(|r| r["action"] == "unban").unwrap()["id"]);
    let (out, text, said) = list(&db, &["--limit", "1"]);
    assert!(out.status.success());
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_eq!(said.trim(), format!("{} more — use --limit to see more", stored.len() - 1));
    let (out, _, said) = list(&db, &["--since", "yesterday"]);
    assert!(!out.status.success());
    assert!(said.contains("yesterday"), "{said}");
}
