//! CloudWatch Logs out: `rampart collect` with `[cloudwatch_publish]` on a real moto server puts every
//! audit row, alert, ban and end of a ban into the host's stream exactly once, across restarts, a lost cursor and an
//! outage; each store on a host publishes and is verified as its own, whatever other stores put
//! into the same stream; `rampart audit verify` finds rows deleted from the end of the local log,
//! or all of them, a dropped guard trigger, and exits 1 on local tampering even when the published
//! copy cannot be read.

use crate::support::moto;
use crate::support::wait_for;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use moto::{Fault, FaultProxy, Moto};
use rampart::store::{self, audit, Access};

const GROUP: &str = "/rampart/test-host";

fn write_config(dir: &Path, url: &str) {
    let config =
        format!("[cloudwatch_publish]\ngroup = \"{GROUP}\"\nregion = \"us-east-1\"\nendpoint_url = \"{url}\"\n");
    std::fs::write(dir.join("config.toml"), config).unwrap();
}

fn db(dir: &Path) -> PathBuf {
    dir.join("r.db")
}

/// Appends audit rows the way responders do (one immediate transaction each).
fn audit_rows(dir: &Path, from: usize, n: usize) {
    let mut conn = store::open(&db(dir), Access::ReadWrite).unwrap();
    for i in from..from + n {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let entry = audit::NewEntry {
            ts: now_ms(),
            operator: "alice".into(),
            host: "test-host".into(),
            action: "unban".into(),
            target: format!("192.0.2.{i}"),
            reason: Some(format!("case {i}")),
            outcome: "ok".into(),
            detail_json: "{}".into(),
            ..Default::default()
        };
        audit::append(&tx, &entry).unwrap();
        tx.commit().unwrap();
    }
}

fn alert(dir: &Path, source: &str, rule: &str) {
    let conn = store::open(&db(dir), Access::ReadWrite).unwrap();
    let a = rampart::store::alerts::Alert {
        id: 0,
        ts: now_ms(),
        priority: rampart::store::alerts::Priority::Critical,
        rule: rule.into(),
        source: source.into(),
        hostname: "test-host".into(),
        tenant: Some("acme".into()),
        output: format!("{rule} fired"),
        output_fields_json: "{}".into(),
        tags: "rampart,scan".into(),
        src_ip: Some("192.0.2.9".into()),
        acked_by: None,
        acked_at: None,
    };
    rampart::store::alerts::insert(&conn, &a).unwrap();
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Every event of the host's stream: how often each `kind:id` appears.
async fn published(client: &aws_sdk_cloudwatchlogs::Client) -> BTreeMap<String, usize> {
    published_where(client, |_| true).await
}

/// The store id of the store in `dir`.
fn store_id(dir: &Path) -> String {
    audit::identity(&store::open(&db(dir), Access::ReadOnly).unwrap()).unwrap().unwrap().id
}

/// The events of the host's stream that store `id` published: how often each `kind:id` appears.
async fn published_by(client: &aws_sdk_cloudwatchlogs::Client, id: &str) -> BTreeMap<String, usize> {
    published_where(client, |v| v["store"] == id).await
}

async fn published_where(
    client: &aws_sdk_cloudwatchlogs::Client,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> BTreeMap<String, usize> {
    let stream = rampart::host::name();
    let mut seen = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let Ok(out) = client
            .get_log_events()
            .log_group_name(GROUP)
            .log_stream_name(&stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
        else {
            return seen;
        };
        for e in out.events() {
            let v: serde_json::Value = serde_json::from_str(e.message().unwrap()).unwrap();
            if !keep(&v) {
                continue;
            }
            *seen.entry(format!("{}:{}", v["kind"].as_str().unwrap(), v["id"])).or_insert(0) += 1;
        }
        let next = out.next_forward_token().map(str::to_string);
        if out.events().is_empty() || next == token {
            return seen;
        }
        token = next;
    }
}

fn status(dir: &Path) -> Option<(String, String)> {
    let conn = store::open(&db(dir), Access::ReadOnly).ok()?;
    conn.query_row(
        "SELECT state, detail FROM source_status WHERE source = ?",
        [rampart::sources::cloudwatch_publish::status_name(GROUP)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

/// Waits until the publisher says it has published everything it found: `published` since it started.
async fn caught_up(dir: &Path, published: usize) {
    let want = format!("ok: {published} events published");
    wait_for("the publisher caught up", || status(dir), |s| s.as_ref().is_some_and(|s| s.1.starts_with(&want)));
}

fn expected(
    audit: impl IntoIterator<Item = usize>,
    alerts: impl IntoIterator<Item = usize>,
) -> BTreeMap<String, usize> {
    audit
        .into_iter()
        .map(|i| format!("audit:{i}"))
        .chain(alerts.into_iter().map(|i| format!("alert:{i}")))
        .map(|k| (k, 1))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_rows_and_alerts_are_published_once_across_restarts_a_lost_cursor_and_an_outage() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let client = moto::client(&moto.url);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_config(dir, &proxy.url);
    store::open(&db(dir), Access::ReadWrite).unwrap();
    audit_rows(dir, 1, 3);
    alert(dir, "rampart", "Path traversal");
    alert(dir, "cloudwatch:/ecs/falco", "From another host");
    alert(dir, "rampart", "Scanner");

    let first = moto::collector(dir);
    caught_up(dir, 5).await;
    let mut want = expected(1..=3, 1..=1);
    want.insert("alert:3".into(), 1);
    assert_eq!(published(&client).await, want, "alert 2 came from CloudWatch: not published again");
    drop(first);

    // A plain restart resumes from the cursor.
    audit_rows(dir, 4, 2);
    let second = moto::collector(dir);
    caught_up(dir, 2).await;
    drop(second);

    // PutLogEvents landed but the cursor was never written (a crash between the two): the
    // restarted publisher reads how far the stream got instead of sending everything again.
    let conn = store::open(&db(dir), Access::ReadWrite).unwrap();
    conn.execute("DELETE FROM cursors WHERE source = ?", [rampart::sources::cloudwatch_publish::status_name(GROUP)])
        .unwrap();
    drop(conn);
    audit_rows(dir, 6, 1);
    let _third = moto::collector(dir);
    caught_up(dir, 1).await;
    let mut want = expected(1..=6, 1..=1);
    want.insert("alert:3".into(), 1);
    assert_eq!(published(&client).await, want);

    // Throttled, then the endpoint goes away altogether, while rows keep coming.
    proxy.inject(Fault::Throttle, 8);
    audit_rows(dir, 7, 1);
    wait_for("throttled shown", || status(dir), |s| s.as_ref().is_some_and(|s| s.1.contains("throttled")));
    caught_up(dir, 2).await;
    proxy.go_away();
    audit_rows(dir, 8, 2);
    alert(dir, "rampart", "Brute force");
    wait_for(
        "unreachable shown",
        || status(dir),
        |s| s.as_ref().is_some_and(|s| s.0 == "down" && s.1.contains("unreachable")),
    );
    proxy.come_back();
    caught_up(dir, 5).await;
    let mut want = expected(1..=9, 1..=1);
    want.insert("alert:3".into(), 1);
    want.insert("alert:4".into(), 1);
    assert_eq!(published(&client).await, want, "nothing lost, nothing twice");
}

/// A ban as the Fail2Ban source stores it.
fn ban(ip: &str, banned_at: i64) -> rampart::store::bans::Ban {
    rampart::store::bans::Ban {
        jail: "sshd".into(),
        ip: ip.into(),
        banned_at,
        ban_seconds: 3_600,
        source: "fail2ban".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bans_and_their_ends_by_fail2ban_or_by_an_operator_are_published_once() {
    use rampart::store::bans;
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_config(dir, &moto.url);
    let conn = store::open(&db(dir), Access::ReadWrite).unwrap();
    let jails = ["sshd".to_string()];
    let (a, b) = (ban("192.0.2.10", now_ms() - 2_000), ban("192.0.2.11", now_ms() - 1_000));
    bans::sync_fail2ban(&conn, Some(&[a.clone(), b.clone()]), &[], &jails, now_ms()).unwrap();
    let collector = moto::collector(dir);
    caught_up(dir, 2).await;

    // Fail2Ban lets 192.0.2.10 go (`fail2ban-client set sshd unbanip`, as its source then sees it):
    // the ban ended without an operator, and the ban row itself was published before.
    bans::sync_fail2ban(&conn, Some(std::slice::from_ref(&b)), &[], &jails, now_ms()).unwrap();
    caught_up(dir, 3).await;
    drop(collector);
    // An operator lifts the other one while no collector runs; ending it twice records one end.
    assert!(bans::mark_unbanned(&conn, 2, "alice", now_ms()).unwrap());
    assert!(!bans::mark_unbanned(&conn, 2, "alice", now_ms()).unwrap());
    let _again = moto::collector(dir);
    caught_up(dir, 1).await;

    let seen = published(&client).await;
    let want: BTreeMap<String, usize> =
        ["ban:1", "ban:2", "unban:1", "unban:2"].iter().map(|k| (k.to_string(), 1)).collect();
    assert_eq!(seen, want);
    let ends: Vec<(i64, String)> = conn
        .prepare("SELECT ban, by FROM ban_ends ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ends, [(1, "fail2ban".to_string()), (2, "alice".to_string())]);
}

/// `rampart audit verify` with the publish config.
fn verify(dir: &Path) -> (Option<i32>, String) {
    let out = moto::rampart(dir)
        .args(["audit", "verify", "--db"])
        .arg(db(dir))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_finds_rows_deleted_from_the_end_and_an_emptied_table_by_the_published_copy() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_config(dir, &moto.url);
    store::open(&db(dir), Access::ReadWrite).unwrap();
    audit_rows(dir, 1, 5);
    let collector = moto::collector(dir);
    caught_up(dir, 5).await;
    drop(collector);

    let (code, text) = verify(dir);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("published copy in /rampart/test-host"), "{text}");

    // Root on the host drops the append-only trigger and deletes the last two rows: the local
    // chain alone still verifies.
    let conn = store::open(&db(dir), Access::ReadWrite).unwrap();
    conn.execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id > 3;").unwrap();
    let local = audit::verify(&conn).unwrap();
    assert_eq!(local.first_break, None, "the local chain cannot see it");
    let (code, text) = verify(dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("audit log intact: 3 rows"), "{text}");
    assert!(text.contains("the guard trigger audit_no_delete on table audit is MISSING"), "{text}");
    assert!(
        text.contains("rows 4..5 are published but missing from the end of the local log (deleted from its end)"),
        "{text}"
    );

    conn.execute_batch("DELETE FROM audit;").unwrap();
    let (code, text) = verify(dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the local audit log is EMPTY, but 5 rows (1..5) were published"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_console_with_format_rampart_sees_another_hosts_published_alerts_and_audit_rows() {
    let moto = Moto::start();
    let publisher = tempfile::tempdir().unwrap();
    let publisher = publisher.path();
    write_config(publisher, &moto.url);
    store::open(&db(publisher), Access::ReadWrite).unwrap();
    audit_rows(publisher, 1, 2);
    alert(publisher, "rampart", "Path traversal");
    alert(publisher, "rampart", "Scanner");
    let _host = moto::collector(publisher);
    caught_up(publisher, 4).await;

    // Another machine's collector follows every /rampart/ group.
    let fleet = tempfile::tempdir().unwrap();
    let fleet = fleet.path();
    std::fs::write(
        fleet.join("config.toml"),
        format!(
            "[[cloudwatch]]\ngroup_prefix = \"/rampart/\"\nformat = \"rampart\"\nregion = \"us-east-1\"\n\
             endpoint_url = \"{}\"\nsince = \"1h\"\npoll = \"300ms\"\n",
            moto.url
        ),
    )
    .unwrap();
    let _fleet = moto::collector(fleet);
    let source = format!("cloudwatch:{GROUP}");
    let seen = wait_for(
        "the other host's alerts",
        || {
            let Ok(conn) = store::open(&db(fleet), Access::ReadOnly) else { return vec![] };
            let mut stmt =
                conn.prepare("SELECT rule, hostname, tags FROM alerts WHERE source = ? ORDER BY id").unwrap();
            stmt.query_map([&source], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        },
        |rows| rows.len() >= 2,
    );
    // The host is the stream the alert came from, not the hostname it carries.
    let host = rampart::host::name();
    assert_eq!(
        seen,
        [
            ("Path traversal".to_string(), host.clone(), "rampart,scan".to_string()),
            ("Scanner".to_string(), host, "rampart,scan".to_string())
        ]
    );
    // The audit rows are kept apart, as the other host's (not counted as lines that did not parse).
    let fleet_rows = wait_for(
        "the other host's audit rows",
        || {
            let Ok(conn) = store::open(&db(fleet), Access::ReadOnly) else { return vec![] };
            rampart::store::fleet::newest(&conn, 10).unwrap_or_default()
        },
        |rows| rows.len() >= 2,
    );
    let summaries: Vec<(String, String, i64, String)> =
        fleet_rows.into_iter().rev().map(|r| (r.origin, r.kind, r.ref_id, r.summary)).collect();
    let origin = rampart::host::name();
    assert_eq!(
        summaries,
        [
            (origin.clone(), "audit".into(), 1, "unban 192.0.2.1 by alice: ok — case 1".into()),
            (origin, "audit".into(), 2, "unban 192.0.2.2 by alice: ok — case 2".into()),
        ]
    );
    let conn = store::open(&db(fleet), Access::ReadOnly).unwrap();
    let detail: String =
        conn.query_row("SELECT detail FROM source_status WHERE source = ?", [&source], |r| r.get(0)).unwrap();
    assert!(!detail.contains("not parsed"), "{detail}");
    // The fleet's own store does not publish: it has no [cloudwatch_publish], and what it read
    // from CloudWatch would not be published again anyway.
    assert_eq!(
        conn.query_row("SELECT count(*) FROM audit", [], |r| r.get::<_, i64>(0)).unwrap(),
        0,
        "other hosts' audit rows never enter this host's chain"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_store_on_a_host_with_published_history_publishes_all_its_rows_and_both_verify_clean() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let first = tempfile::tempdir().unwrap();
    let first = first.path();
    write_config(first, &moto.url);
    store::open(&db(first), Access::ReadWrite).unwrap();
    audit_rows(first, 1, 5);
    alert(first, "rampart", "Scanner");
    let collector = moto::collector(first);
    caught_up(first, 6).await;
    drop(collector);

    // A new store on the same host (a reinstall, a database moved aside): the same group and
    // stream, its own ids from 1 and its own audit chain.
    let second = tempfile::tempdir().unwrap();
    let second = second.path();
    write_config(second, &moto.url);
    store::open(&db(second), Access::ReadWrite).unwrap();
    audit_rows(second, 1, 3);
    let collector = moto::collector(second);
    caught_up(second, 3).await;
    drop(collector);
    let (one, two) = (store_id(first), store_id(second));
    assert_ne!(one, two);
    assert_eq!(published_by(&client, &two).await, expected(1..=3, []), "every row of the new store");
    assert_eq!(published_by(&client, &one).await, expected(1..=5, 1..=1), "the first store's, untouched");

    for (dir, rows, other) in [(first, 5, &two), (second, 3, &one)] {
        let (code, text) = verify(dir);
        assert_eq!(code, Some(0), "{text}");
        assert!(!text.contains("BROKEN"), "{text}");
        assert!(text.contains(&format!("agrees: {rows} rows of this store")), "{text}");
        assert!(text.contains(&format!("audit rows 1..{} of another store ({other})", 8 - rows)), "{text}");
    }

    // The first store publishes a long stretch after the second, so that the stream's newest
    // thousand events are all the first store's; then the second loses its cursor (a crash after a
    // put) and finds its own position further back: nothing twice, nothing skipped.
    audit_rows(first, 6, 1_200);
    let collector = moto::collector(first);
    caught_up(first, 1_200).await;
    drop(collector);
    let conn = store::open(&db(second), Access::ReadWrite).unwrap();
    conn.execute("DELETE FROM cursors WHERE source = ?", [rampart::sources::cloudwatch_publish::status_name(GROUP)])
        .unwrap();
    drop(conn);
    audit_rows(second, 4, 1);
    let collector = moto::collector(second);
    caught_up(second, 1).await;
    drop(collector);
    assert_eq!(published_by(&client, &two).await, expected(1..=4, []));
    assert_eq!(published_by(&client, &one).await, expected(1..=1_205, 1..=1));
    let (code, text) = verify(second);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("agrees: 4 rows of this store"), "{text}");
}

/// A CloudWatch endpoint nobody answers on.
fn unreachable(dir: &Path) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    write_config(dir, &format!("http://127.0.0.1:{port}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_reports_dropped_or_replaced_guards_and_exits_1_on_local_tampering_even_without_the_copy() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_config(dir, &moto.url);
    store::open(&db(dir), Access::ReadWrite).unwrap();
    audit_rows(dir, 1, 4);
    let collector = moto::collector(dir);
    caught_up(dir, 4).await;
    drop(collector);
    assert_eq!(verify(dir).0, Some(0));

    // Nothing wrong locally, the copy unreadable: 2, as before.
    unreachable(dir);
    let (code, text) = verify(dir);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("cannot compare with the published copy"), "{text}");

    // Root drops the append-only guard (and changes nothing else yet): tampering, exit 1.
    let conn = store::open(&db(dir), Access::ReadWrite).unwrap();
    conn.execute_batch("DROP TRIGGER audit_no_delete;").unwrap();
    let (code, text) = verify(dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("audit log UNGUARDED: the guard trigger audit_no_delete on table audit is MISSING"),
        "{text}"
    );
    assert!(text.contains("cannot compare with the published copy"), "{text}");

    // ... and replaces the other guard by one that lets everything through, then rewrites a row.
    conn.execute_batch(
        "DROP TRIGGER audit_no_update;
         CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT 1; END;
         UPDATE audit SET reason = 'nothing happened' WHERE id = 2;",
    )
    .unwrap();
    let (code, text) = verify(dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("audit log BROKEN at row 2: its content does not match its hash"), "{text}");
    assert!(text.contains("the guard trigger audit_no_update on table audit was REPLACED"), "{text}");
    assert!(text.contains("cannot compare with the published copy"), "{text}");

    // With the copy readable again (the rewritten row kept its old hash, so the copy agrees), the
    // local break alone is still exit 1.
    write_config(dir, &moto.url);
    let (code, text) = verify(dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("audit log BROKEN at row 2"), "{text}");
    assert!(text.contains("agrees: 4 rows of this store"), "{text}");
}
