//! CloudWatch Logs in: `rampart collect` following groups on a real moto server, every event
//! stored exactly once across pages, late events, restarts, throttling, 5xx and an endpoint that goes away.

use crate::support::moto;
use crate::support::wait_for;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::Collector;
use moto::{Fault, FaultProxy, Moto};

/// A `rampart collect` process on its own store and `config`, killed when dropped.
fn start_collector(dir: &Path, config: &str) -> Collector {
    std::fs::write(dir.join("config.toml"), config).unwrap();
    moto::collector(dir)
}

/// Rows of `table` from `source`, and how many distinct `column` values they have.
fn counts(db: &Path, table: &str, column: &str, source: &str) -> (i64, i64) {
    let Ok(conn) = rampart::store::open(db, rampart::store::Access::ReadOnly) else { return (0, 0) };
    conn.query_row(&format!("SELECT count(*), count(DISTINCT {column}) FROM {table} WHERE source = ?"), [source], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap_or((0, 0))
}

fn status(db: &Path, source: &str) -> Option<(String, String)> {
    let conn = rampart::store::open(db, rampart::store::Access::ReadOnly).ok()?;
    conn.query_row("SELECT state, detail FROM source_status WHERE source = ?", [source], |r| Ok((r.get(0)?, r.get(1)?)))
        .ok()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A JSON access-log line, unique by its path.
fn access_line(n: usize) -> String {
    format!(
        r#"{{"time":"2026-11-26T11:00:00+00:00","remote_addr":"192.0.2.{}","request_method":"GET","request_uri":"/item/{n}","status":200,"body_bytes_sent":10,"http_user_agent":"curl"}}"#,
        n % 250 + 1
    )
}

fn json_group_config(group: &str, url: &str) -> String {
    format!(
        "[[cloudwatch]]\ngroup = \"{group}\"\nformat = \"json\"\ntenant = \"acme\"\nregion = \"us-east-1\"\n\
         endpoint_url = \"{url}\"\nsince = \"1h\"\npoll = \"300ms\"\noverlap = \"10m\"\nrequests_per_second = 50\n"
    )
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("r.db")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_is_stored_once_across_pages_streams_late_events_and_a_restart() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let group = "/ecs/production/flask-app";
    let streams = ["web-1", "web-2", "web-3"];
    moto::create(&client, group, &streams).await;
    // 15,000 events over three streams, from 30 to 5 minutes ago: the collector asks for at most
    // 5,000 a page, so the backfill takes several pages.
    let base = now_ms() - 30 * 60_000;
    let mut n = 0;
    for (s, stream) in streams.iter().enumerate() {
        let events: Vec<(i64, String)> = (0..5_000)
            .map(|i| {
                n += 1;
                (base + (i * 3 + s as i64) * 100, access_line(n))
            })
            .collect();
        moto::put(&client, group, stream, &events).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = format!("cloudwatch:{group}");
    let config = json_group_config(group, &moto.url);

    // A restart half-way through the backfill: the first run is killed as soon as rows appear.
    let first = start_collector(dir.path(), &config);
    wait_for("the first rows", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 > 0);
    drop(first);
    let _second = start_collector(dir.path(), &config);
    let seen = wait_for("15,000 events", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 15_000);
    assert_eq!(seen, (15_000, 15_000), "each event stored exactly once");
    wait_for("the group ok", || status(&db(&dir), &source), |s| s.as_ref().is_some_and(|s| s.0 == "ok"));

    // While following: new events, and late ones — minutes behind what was already stored.
    let now = now_ms();
    let fresh: Vec<(i64, String)> = (0..50).map(|i| (now + i, access_line(20_000 + i as usize))).collect();
    moto::put(&client, group, "web-1", &fresh).await;
    wait_for("the fresh events", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 15_050);
    let late: Vec<(i64, String)> = (0..30).map(|i| (now - 4 * 60_000 + i, access_line(30_000 + i as usize))).collect();
    moto::put(&client, group, "web-2", &late).await;
    let seen = wait_for("the late events", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 15_080);
    assert_eq!(seen, (15_080, 15_080));
    // Several more polls re-read the overlap window; nothing is stored twice.
    let polls_before = status(&db(&dir), &source);
    let more: Vec<(i64, String)> = vec![(now_ms(), access_line(40_000))];
    moto::put(&client, group, "web-3", &more).await;
    let seen = wait_for("one more", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 15_081);
    assert_eq!(seen, (15_081, 15_081), "status before: {polls_before:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn falco_alerts_land_with_their_group_as_source_and_bad_lines_are_counted() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let group = "/ecs/production/falco";
    moto::create(&client, group, &["host-a"]).await;
    let now = now_ms();
    let alert = |i: i64| {
        format!(
            r#"{{"output":"shell {i}","priority":"Critical","rule":"Terminal shell in container","time":"2026-11-26T11:54:56.789Z","output_fields":{{"container.name":"globex-web-1"}}}}"#
        )
    };
    let mut events: Vec<(i64, String)> = (0..20).map(|i| (now - 60_000 + i, alert(i))).collect();
    events.push((now - 30_000, "not json at all".into()));
    moto::put(&client, group, "host-a", &events).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[cloudwatch]]\ngroup = \"{group}\"\nformat = \"falco\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\npoll = \"300ms\"\n",
        moto.url
    );
    let _c = start_collector(dir.path(), &config);
    let source = format!("cloudwatch:{group}");
    let seen = wait_for("20 alerts", || counts(&db(&dir), "alerts", "output", &source), |c| c.0 >= 20);
    assert_eq!(seen, (20, 20));
    let (state, detail) =
        wait_for("the status", || status(&db(&dir), &source), |s| s.as_ref().is_some_and(|s| s.0 == "ok")).unwrap();
    assert_eq!(state, "ok");
    assert!(detail.contains("1 not parsed"), "{detail}");
    let conn = rampart::store::open(&db(&dir), rampart::store::Access::ReadOnly).unwrap();
    let host: String = conn.query_row("SELECT hostname FROM alerts LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_eq!(host, "host-a", "the stream names the host");
    // The line that did not parse is kept, with its stream and why, and counted with the rows.
    assert_eq!(kept(&db(&dir), &source), [("host-a: not a Falco alert".to_string(), "not json at all".to_string())]);
    assert_eq!(source_counts(&db(&dir), &source), (Some(20), Some(1)));
    drop(conn);

    // After a restart the overlap window is read again: nothing is kept or counted twice, and
    // what is new is.
    drop(_c);
    moto::put(&client, group, "host-a", &[(now_ms(), alert(20)), (now_ms(), "{\"half\": ".into())]).await;
    let _c = start_collector(dir.path(), &config);
    let seen = wait_for("21 alerts", || counts(&db(&dir), "alerts", "output", &source), |c| c.0 >= 21);
    assert_eq!(seen, (21, 21));
    wait_for("2 kept", || kept(&db(&dir), &source).len(), |n| *n >= 2);
    wait_for("a poll after", || status(&db(&dir), &source), |s| s.as_ref().is_some_and(|s| s.0 == "ok"));
    let lines = kept(&db(&dir), &source);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].1, "{\"half\": ", "newest first");
    assert_eq!(source_counts(&db(&dir), &source), (Some(21), Some(2)));
    let (_, detail) = status(&db(&dir), &source).unwrap();
    assert!(detail.starts_with("ok: 21 events stored; 2 not parsed"), "the header says the same: {detail}");
}

/// A source's kept unparsed lines, newest first: (reason up to its first colon pair, line).
fn kept(db: &Path, source: &str) -> Vec<(String, String)> {
    let Ok(conn) = rampart::store::open(db, rampart::store::Access::ReadOnly) else { return vec![] };
    let lines = rampart::store::unparsed::of(&conn, source).unwrap_or_default();
    lines.into_iter().map(|l| (l.reason.split(':').take(2).collect::<Vec<_>>().join(":"), l.line)).collect()
}

/// A source's counts of rows stored and lines not parsed, as the Sources view shows them.
fn source_counts(db: &Path, source: &str) -> (Option<i64>, Option<i64>) {
    let conn = rampart::store::open(db, rampart::store::Access::ReadOnly).unwrap();
    conn.query_row("SELECT stored, unparsed FROM source_status WHERE source = ?", [source], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tenant_from_a_field_and_the_host_from_the_stream() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let group = "/ecs/production/shared";
    moto::create(&client, group, &["web-1", "web-2"]).await;
    let now = now_ms();
    let line = |n: usize, customer: Option<&str>| {
        let customer = customer.map_or(String::new(), |c| format!(r#","customer":"{c}""#));
        format!(
            r#"{{"time":"2026-11-26T11:00:00+00:00","client":"192.0.2.{n}","request_method":"GET","request_uri":"/item/{n}","status":200{customer}}}"#
        )
    };
    moto::put(&client, group, "web-1", &[(now - 3_000, line(1, Some("Acme"))), (now - 2_000, line(2, Some("globex")))])
        .await;
    moto::put(&client, group, "web-2", &[(now - 1_500, line(3, Some("acme"))), (now - 1_000, line(4, None))]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[cloudwatch]]\ngroup = \"{group}\"\nformat = \"json\"\ntenant_from = \"field\"\nregion = \"us-east-1\"\n\
         endpoint_url = \"{}\"\npoll = \"300ms\"\n[cloudwatch.fields]\ntenant = \"customer\"\nip = \"client\"\n",
        moto.url
    );
    let _c = start_collector(dir.path(), &config);
    let source = format!("cloudwatch:{group}");
    wait_for("3 events", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 3);
    wait_for("the line without a tenant", || kept(&db(&dir), &source).len(), |n| *n >= 1);
    let conn = rampart::store::open(&db(&dir), rampart::store::Access::ReadOnly).unwrap();
    let rows: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT path, tenant, host FROM access_events ORDER BY path")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let row = |p: &str, t: &str, h: &str| (p.to_string(), t.to_string(), Some(h.to_string()));
    assert_eq!(
        rows,
        [row("/item/1", "acme", "web-1"), row("/item/2", "globex", "web-1"), row("/item/3", "acme", "web-2")]
    );
    let lines = rampart::store::unparsed::of(&conn, &source).unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].reason, "web-2: no tenant in 'customer'");
    assert!(lines[0].line.contains("/item/4"), "{:?}", lines[0]);
    // The host is a filter field of the Access pane (and of `rampart access list`).
    let out = moto::rampart(dir.path())
        .args(["access", "list", "--json", "--filter", "host:web-2", "--db"])
        .arg(db(&dir))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("/item/3") && !text.contains("/item/1"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_names_the_iam_action_and_recovers() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let client = moto::client(&moto.url);
    let group = "/ecs/production/locked";
    moto::create(&client, group, &["a"]).await;
    let now = now_ms();
    let batch: Vec<(i64, String)> = (0..50).map(|i| (now - 60_000 + i, access_line(i as usize))).collect();
    moto::put(&client, group, "a", &batch).await;
    // More refusals than the SDK retries (it does not retry these at all) before the first read.
    proxy.inject(Fault::AccessDenied, 4);
    let dir = tempfile::tempdir().unwrap();
    let source = format!("cloudwatch:{group}");
    let _c = start_collector(dir.path(), &json_group_config(group, &proxy.url));
    let seen = wait_for(
        "access denied shown",
        || summary(&db(&dir), &source),
        |s| s.as_ref().is_some_and(|s| s.0 == "access denied"),
    )
    .unwrap();
    assert_eq!(
        seen.1,
        format!("access denied: the credentials need the IAM action logs:FilterLogEvents on {group}"),
        "the detail names the action"
    );
    let seen = wait_for("recovered", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 50);
    assert_eq!(seen, (50, 50));
    wait_for("ok again", || summary(&db(&dir), &source), |s| s.as_ref().is_some_and(|s| s.0 == "ok"));
}

/// A source's STATE words and its detail up to the retry note.
fn summary(db: &Path, source: &str) -> Option<(String, String)> {
    let conn = rampart::store::open(db, rampart::store::Access::ReadOnly).ok()?;
    conn.query_row("SELECT summary, detail FROM source_status WHERE source = ?", [source], |r| {
        let detail: String = r.get(1)?;
        Ok((
            r.get::<_, Option<String>>(0)?.unwrap_or_default(),
            detail.split("; retrying").next().unwrap_or("").to_string(),
        ))
    })
    .ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_server_errors_and_a_vanished_endpoint_are_reported_and_lose_nothing() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.url);
    let client = moto::client(&moto.url);
    let group = "/ecs/production/api";
    moto::create(&client, group, &["a", "b"]).await;
    let now = now_ms();
    let batch = |from: usize, ts: i64| -> Vec<(i64, String)> {
        (0..100).map(|i| (ts + i as i64, access_line(from + i))).collect()
    };
    moto::put(&client, group, "a", &batch(0, now - 60_000)).await;
    let dir = tempfile::tempdir().unwrap();
    let source = format!("cloudwatch:{group}");
    let _c = start_collector(dir.path(), &json_group_config(group, &proxy.url));
    wait_for("the first 100", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 100);

    // Throttled: more refusals in a row than the SDK retries, so the source itself backs off.
    proxy.inject(Fault::Throttle, 8);
    moto::put(&client, group, "b", &batch(100, now_ms())).await;
    wait_for(
        "throttled shown",
        || status(&db(&dir), &source),
        |s| s.as_ref().is_some_and(|s| s.1.contains("throttled")),
    );
    wait_for("recovered", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 200);
    wait_for("ok again", || status(&db(&dir), &source), |s| s.as_ref().is_some_and(|s| s.0 == "ok"));

    // Server errors.
    proxy.inject(Fault::ServerError, 8);
    moto::put(&client, group, "a", &batch(200, now_ms())).await;
    wait_for("5xx shown", || status(&db(&dir), &source), |s| s.as_ref().is_some_and(|s| s.1.contains("server error")));
    wait_for("recovered", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 300);

    // The endpoint goes away (connections refused), events keep arriving, then it comes back.
    proxy.go_away();
    moto::put(&client, group, "b", &batch(300, now_ms())).await;
    wait_for(
        "unreachable shown",
        || status(&db(&dir), &source),
        |s| s.as_ref().is_some_and(|s| s.0 == "down" && s.1.contains("unreachable")),
    );
    proxy.come_back();
    let seen = wait_for("everything", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 400);
    assert_eq!(seen, (400, 400), "nothing lost, nothing twice");
    assert!(proxy.injected.load(std::sync::atomic::Ordering::Acquire) >= 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_say_which_chain_was_tried() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), json_group_config("/g", &moto.url)).unwrap();
    let mut child = crate::support::rampart()
        .args(["collect", "--db"])
        .arg(db(&dir))
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", dir.path())
        .env("DOCKER_HOST", format!("unix://{}/no-docker.sock", dir.path().display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (state, detail) =
        wait_for("the credentials problem", || status(&db(&dir), "cloudwatch:/g"), |s| s.is_some()).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(state, "down");
    assert!(detail.starts_with("no AWS credentials found; tried the standard chain"), "{detail}");
    assert!(detail.contains("AWS_ACCESS_KEY_ID"), "{detail}");
}

/// `rampart cloudwatch …` with the given credentials environment.
fn cli(dir: &Path, keys: bool, args: &[&str]) -> std::process::Output {
    let mut c = crate::support::rampart();
    c.arg("cloudwatch")
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", dir);
    if keys {
        c.env("AWS_ACCESS_KEY_ID", "testing").env("AWS_SECRET_ACCESS_KEY", "testing");
    } else {
        c.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    }
    c.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_groups_and_tail_with_exit_codes() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    moto::create(&client, "/ecs/production/falco", &["a", "b"]).await;
    let now = now_ms();
    moto::put(&client, "/ecs/production/falco", "a", &[(now - 5_000, "first".into())]).await;
    moto::put(&client, "/ecs/production/falco", "b", &[(now - 4_000, "second".into())]).await;
    let dir = tempfile::tempdir().unwrap();
    let aws = ["--region", "us-east-1", "--endpoint-url", &moto.url];

    let out = cli(dir.path(), true, &[&["groups", "--json"], &aws[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r#""name":"/ecs/production/falco""#), "{text}");

    let out = cli(dir.path(), true, &[&["tail", "/ecs/production/falco", "--since", "1h"], &aws[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].ends_with(" a first") && lines[1].ends_with(" b second"), "{text}");

    let out = cli(dir.path(), true, &[&["tail", "/no/such/group"], &aws[..]].concat());
    assert_eq!(out.status.code(), Some(6), "no such group: {}", String::from_utf8_lossy(&out.stderr));

    let out = cli(dir.path(), false, &[&["groups"], &aws[..]].concat());
    assert_eq!(out.status.code(), Some(4), "no credentials: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_ACCESS_KEY_ID"));
}

#[tokio::test(flavor = "multi_thread")]
async fn detection_rules_judge_access_events_read_from_cloudwatch() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let group = "/ecs/production/login";
    moto::create(&client, group, &["web-1"]).await;
    // Twelve failed logins from one address within a minute: the brute-force rule's ten in 120 s.
    let base = now_ms() - 5 * 60_000;
    let events: Vec<(i64, String)> = (0..12)
        .map(|i| {
            let line = format!(
                r#"{{"time":"2026-11-26T11:00:{i:02}+00:00","remote_addr":"203.0.113.66","request_method":"POST","request_uri":"/login?try={i}","status":401,"body_bytes_sent":10,"http_user_agent":"hydra"}}"#
            );
            (base + i * 1_000, line)
        })
        .collect();
    moto::put(&client, group, "web-1", &events).await;
    let dir = tempfile::tempdir().unwrap();
    let _collector = start_collector(dir.path(), &json_group_config(group, &moto.url));
    let source = format!("cloudwatch:{group}");
    let linked = wait_for(
        "a brute-force alert over the group's events",
        || {
            let Ok(conn) = rampart::store::open(&db(&dir), rampart::store::Access::ReadOnly) else { return vec![] };
            let Ok(mut stmt) = conn.prepare(
                "SELECT a.rule, a.src_ip, e.source FROM alerts a JOIN alert_events l ON l.alert = a.id \
                 JOIN access_events e ON e.id = l.event WHERE a.source = 'rampart' ORDER BY e.id",
            ) else {
                return vec![];
            };
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        },
        |rows| !rows.is_empty(),
    );
    assert!(linked.len() >= 10, "the alert names the failed logins it was raised for: {linked:?}");
    for (rule, ip, from) in &linked {
        assert_eq!((rule.as_str(), ip.as_str(), from.as_str()), ("Brute-force login", "203.0.113.66", source.as_str()));
    }
}

/// A group's read position as its cursor holds it (`newest`, and the counts beside it).
fn position(db: &Path, source: &str) -> Option<serde_json::Value> {
    let conn = rampart::store::open(db, rampart::store::Access::ReadOnly).ok()?;
    let text: String = conn.query_row("SELECT position FROM cursors WHERE source = ?", [source], |r| r.get(0)).ok()?;
    serde_json::from_str(&text).ok()
}

/// `n` access lines stamped at `ts`, unique by `from`.
fn lines_at(from: usize, n: usize, ts: i64) -> Vec<(i64, String)> {
    (0..n).map(|i| (ts + i as i64, access_line(from + i))).collect()
}

const HUNDRED_MINUTES: i64 = 100 * 60_000;

#[tokio::test(flavor = "multi_thread")]
async fn an_event_stamped_in_the_future_is_stored_counted_and_holds_nothing_back() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let group = "/ecs/production/skewed";
    moto::create(&client, group, &["web-1", "web-2"]).await;
    let dir = tempfile::tempdir().unwrap();
    let source = format!("cloudwatch:{group}");
    let _c = start_collector(dir.path(), &json_group_config(group, &moto.url));
    wait_for("the first pass", || status(&db(&dir), &source), |s| s.as_ref().is_some_and(|s| s.0 == "ok"));

    // Ten events now, one stamped 100 minutes ahead (CloudWatch takes up to two hours), ten more now.
    moto::put(&client, group, "web-1", &lines_at(0, 10, now_ms())).await;
    wait_for("10 events", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 10);
    moto::put(&client, group, "web-2", &lines_at(100, 1, now_ms() + HUNDRED_MINUTES)).await;
    wait_for("the future event", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 11);
    let (state, detail) = wait_for(
        "the clock skew on the Sources row",
        || summary(&db(&dir), &source),
        |s| s.as_ref().is_some_and(|s| s.0 == "clock skew"),
    )
    .unwrap();
    assert!(detail.contains("clock skew: 1 events from the future"), "{state}: {detail}");
    moto::put(&client, group, "web-1", &lines_at(200, 10, now_ms())).await;
    let seen = wait_for("all 21", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 21);
    assert_eq!(seen, (21, 21), "the events after the future one are stored, each once");
    let newest = position(&db(&dir), &source).and_then(|p| p["newest"].as_i64()).unwrap();
    assert!(newest <= now_ms(), "the read position never passes this host's clock: {newest}");
    let (state, detail) = status(&db(&dir), &source).unwrap();
    assert_eq!(state, "degraded", "{detail}");
    assert!(detail.contains("clock skew: 1 events from the future"), "counted once across re-reads: {detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_follow_is_not_blinded_by_an_event_stamped_in_the_future() {
    use std::io::BufRead;
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let group = "/ecs/production/skewed-tail";
    moto::create(&client, group, &["web-1", "web-2"]).await;
    let dir = tempfile::tempdir().unwrap();
    let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
    let mut child = moto::rampart(dir.path())
        .args(["cloudwatch", "tail", group, "--follow", "--json", "--since", "1h", "--region", "us-east-1"])
        .args(["--endpoint-url", &moto.url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let printed = || lines.lock().unwrap().len();

    moto::put(&client, group, "web-1", &lines_at(0, 10, now_ms())).await;
    wait_for("10 lines", printed, |n| *n >= 10);
    moto::put(&client, group, "web-2", &lines_at(100, 1, now_ms() + HUNDRED_MINUTES)).await;
    wait_for("the future event", printed, |n| *n >= 11);
    moto::put(&client, group, "web-1", &lines_at(200, 10, now_ms())).await;
    let n = wait_for("all 21", printed, |n| *n >= 21);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(n, 21, "each once: {:?}", lines.lock().unwrap());
    let paths: std::collections::BTreeSet<String> =
        lines.lock().unwrap().iter().map(|l| l.split("/item/").nth(1).unwrap_or("").to_string()).collect();
    assert_eq!(paths.len(), 21);
    let said = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert!(said.contains("clock skew: an event of stream web-2 is stamped"), "{said}");
}

/// A published row as another host's `[cloudwatch_publish]` puts it.
fn published_audit(origin: &str, id: i64, action: &str) -> String {
    serde_json::json!({"kind": "audit", "origin": origin, "id": id, "ts": now_ms(), "operator": "alice",
        "action": action, "target": "acme", "outcome": "ok", "after": {"audit": id}})
    .to_string()
}

/// The Fleet view's rows: (host, group, stream, summary), oldest first.
fn fleet_rows(db: &Path) -> Vec<(String, String, String, String)> {
    let Ok(conn) = rampart::store::open(db, rampart::store::Access::ReadOnly) else { return vec![] };
    let rows = rampart::store::fleet::newest(&conn, 100).unwrap_or_default();
    rows.into_iter().rev().map(|r| (r.origin, r.group, r.stream, r.summary)).collect()
}

fn rampart_prefix_config(url: &str) -> String {
    format!(
        "[[cloudwatch]]\ngroup_prefix = \"/rampart/\"\nformat = \"rampart\"\nregion = \"us-east-1\"\n\
         endpoint_url = \"{url}\"\nsince = \"1h\"\npoll = \"300ms\"\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_claiming_another_hosts_origin_is_refused_and_the_real_one_stored() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    moto::create(&client, "/rampart/evil", &["evil", "web-2"]).await;
    moto::create(&client, "/rampart/web-2", &["web-2"]).await;
    let now = now_ms();
    // Whoever may put into /rampart/evil claims to be web-2: an audit row and an Emergency alert.
    let alert = serde_json::json!({"kind": "alert", "origin": "web-2", "id": 9, "hostname": "web-2",
        "priority": "Emergency", "rule": "Forged", "output": "forged", "time": "2026-11-26T11:54:56.789Z"});
    moto::put(
        &client,
        "/rampart/evil",
        "evil",
        &[(now - 3_000, published_audit("web-2", 1, "forged")), (now - 2_000, alert.to_string())],
    )
    .await;
    // And puts a row naming itself web-2 into a stream named web-2 of its own group: taken as
    // that stream's, in that group, and no longer able to take the real web-2's place.
    moto::put(&client, "/rampart/evil", "web-2", &[(now - 1_000, published_audit("web-2", 1, "lookalike"))]).await;
    let dir = tempfile::tempdir().unwrap();
    let _c = start_collector(dir.path(), &rampart_prefix_config(&moto.url));
    let source = "cloudwatch:/rampart/evil";
    let (state, detail) = wait_for(
        "the refusals on the Sources row",
        || summary(&db(&dir), source),
        |s| s.as_ref().is_some_and(|s| s.1.contains("2 published rows refused")),
    )
    .unwrap();
    assert_eq!(state, "origin refused", "{detail}");
    assert!(detail.contains(r#"claims origin "web-2" in stream "evil""#), "{detail}");
    wait_for("the lookalike", || fleet_rows(&db(&dir)).len(), |n| *n >= 1);
    let forged_alerts = counts(&db(&dir), "alerts", "rule", source);
    assert_eq!(forged_alerts, (0, 0), "the forged alert is not stored");

    // web-2 publishes its real row with the same id: it is stored.
    moto::put(&client, "/rampart/web-2", "web-2", &[(now_ms(), published_audit("web-2", 1, "isolate"))]).await;
    let rows = wait_for("the real row", || fleet_rows(&db(&dir)), |rows| rows.len() >= 2);
    let row = |group: &str, what: &str| {
        ("web-2".to_string(), group.to_string(), "web-2".to_string(), format!("{what} acme by alice: ok"))
    };
    assert_eq!(rows, [row("/rampart/evil", "lookalike"), row("/rampart/web-2", "isolate")]);
    let (state, detail) = status(&db(&dir), source).unwrap();
    assert_eq!(state, "degraded", "{detail}");
    assert!(detail.contains("2 published rows refused"), "counted once across re-reads: {detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_does_not_read_back_its_own_published_stream() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let host = rampart::host::name();
    let own_group = format!("/rampart/{host}");
    // The documented set-up: publish to /rampart/<host> (the default), follow every /rampart/ group.
    moto::create(&client, &own_group, &[]).await;
    moto::create(&client, "/rampart/web-9", &["web-9"]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[cloudwatch_publish]\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n\n{}",
        moto.url,
        rampart_prefix_config(&moto.url)
    );
    {
        let conn = rampart::store::open(&db(&dir), rampart::store::Access::ReadWrite).unwrap();
        let a = rampart::store::alerts::Alert {
            id: 0,
            ts: now_ms(),
            priority: rampart::store::alerts::Priority::Critical,
            rule: "Own rule".into(),
            source: "rampart".into(),
            hostname: host.clone(),
            tenant: Some("acme".into()),
            output: "own alert".into(),
            output_fields_json: "{}".into(),
            tags: "rampart".into(),
            src_ip: None,
            acked_by: None,
            acked_at: None,
        };
        rampart::store::alerts::insert(&conn, &a).unwrap();
    }
    let _c = start_collector(dir.path(), &config);
    // The alert is published into the host's own stream…
    let published = wait_for(
        "the own alert published",
        || {
            let client = client.clone();
            let (group, host) = (own_group.clone(), host.clone());
            std::thread::spawn(move || {
                tokio::runtime::Runtime::new().unwrap().block_on(async move {
                    let out = client.get_log_events().log_group_name(group).log_stream_name(host).send().await;
                    out.ok().and_then(|o| o.events().first().and_then(|e| e.timestamp()))
                })
            })
            .join()
            .unwrap()
        },
        Option::is_some,
    )
    .unwrap();
    // …and the follower of /rampart/ reads past it, while another host's alert is stored.
    let alert = serde_json::json!({"kind": "alert", "origin": "web-9", "id": 1, "priority": "Critical",
        "rule": "Other host", "output": "x", "time": "2026-11-26T11:54:56.789Z"});
    moto::put(&client, "/rampart/web-9", "web-9", &[(now_ms(), alert.to_string())]).await;
    wait_for("web-9's alert", || counts(&db(&dir), "alerts", "rule", "cloudwatch:/rampart/web-9"), |c| c.0 >= 1);
    let own_source = format!("cloudwatch:{own_group}");
    wait_for(
        "a pass over the own group past the published alert",
        || position(&db(&dir), &own_source).and_then(|p| p["newest"].as_i64()),
        |n| n.is_some_and(|n| n >= published),
    );
    let conn = rampart::store::open(&db(&dir), rampart::store::Access::ReadOnly).unwrap();
    let own: i64 = conn.query_row("SELECT count(*) FROM alerts WHERE rule = 'Own rule'", [], |r| r.get(0)).unwrap();
    assert_eq!(own, 1, "the host's own alert shows once");
    let (_, detail) = status(&db(&dir), &own_source).unwrap();
    assert!(detail.contains(&format!("this host's own stream {host} is not read")), "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_later_than_the_overlap_window_are_found_and_counted() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    let group = "/ecs/production/late";
    moto::create(&client, group, &["web-1", "web-2"]).await;
    let dir = tempfile::tempdir().unwrap();
    let source = format!("cloudwatch:{group}");
    let config = json_group_config(group, &moto.url).replace("overlap = \"10m\"", "overlap = \"1m\"");
    let _c = start_collector(dir.path(), &config);
    wait_for("the first pass", || status(&db(&dir), &source), |s| s.as_ref().is_some_and(|s| s.0 == "ok"));
    let now = now_ms();
    moto::put(&client, group, "web-1", &lines_at(0, 5, now)).await;
    wait_for("5 events", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 5);
    wait_for(
        "the window moved to them",
        || position(&db(&dir), &source).and_then(|p| p["newest"].as_i64()),
        |n| n.is_some_and(|n| n >= now),
    );
    // An event 90 s behind the newest: behind the one-minute overlap window each poll reads.
    moto::put(&client, group, "web-2", &lines_at(100, 1, now - 90_000)).await;
    let seen = wait_for("the late event", || counts(&db(&dir), "access_events", "path", &source), |c| c.0 >= 6);
    assert_eq!(seen, (6, 6));
    let (state, detail) = wait_for(
        "the late event on the Sources row",
        || summary(&db(&dir), &source),
        |s| s.as_ref().is_some_and(|s| s.1.contains("1 late events found behind the overlap window")),
    )
    .unwrap();
    assert_eq!(state, "late events", "{detail}");
    assert_eq!(counts(&db(&dir), "access_events", "path", &source), (6, 6), "sweeps store nothing twice");
}

/// An `openssl s_server` on a free loopback port with a fresh self-signed certificate for
/// `localhost` (trusted by no one), killed when dropped.
struct SelfSignedServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl SelfSignedServer {
    fn start() -> SelfSignedServer {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success(), "openssl could not make a self-signed certificate");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let listening = || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        wait_for(&format!("openssl s_server on port {port}"), listening, |up| *up);
        SelfSignedServer { child, port, _dir: dir }
    }
}

impl Drop for SelfSignedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The client rampart builds does TLS itself (rustls): against a server whose certificate no root
/// vouches for, the request fails in the handshake with rustls's certificate error, not with
/// "scheme not supported" or a plain-HTTP answer — so real AWS endpoints are reached over HTTPS.
#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_client_speaks_tls_and_refuses_a_certificate_no_root_vouches_for() {
    let server = SelfSignedServer::start();
    let url = format!("https://localhost:{}", server.port);
    let (_, sdk) = rampart::sources::aws::client_for(Some("us-east-1"), None, Some(&url)).await;
    // Only the credentials are swapped (the machine's chain is not the point here): the HTTP
    // client is the one `client_for` chose.
    let config = aws_sdk_cloudwatchlogs::config::Builder::from(&sdk)
        .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new("k", "s", None, None, "test"))
        .build();
    let client = aws_sdk_cloudwatchlogs::Client::from_conf(config);
    let err = client.describe_log_groups().send().await.expect_err("an untrusted certificate is refused");
    let problem = rampart::sources::aws::classify(&err, "logs:DescribeLogGroups", "-", &url);
    let said = problem.describe();
    // rustls's words for a certificate its verifier refused (here: a CA certificate used as the
    // server's own, as `openssl req -x509` makes it, and issued by no trusted root).
    assert!(said.contains("invalid peer certificate"), "{problem:?}");
}

/// One HTTP stack (hyper 1) and one TLS stack (rustls on ring) in the build, and no C build of a
/// crypto library: the SDK's default features would add hyper 0.14, rustls 0.21 and aws-lc-sys,
/// doubling what a fresh `cargo build` compiles.
#[test]
fn the_build_has_one_http_stack_and_one_tls_stack_without_aws_lc() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--locked", "--offline", "--prefix", "none", "-e", "normal,build", "--format", "{p}"])
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
    let mut packages: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect();
    packages.sort();
    packages.dedup();
    let versions = |name: &str| packages.iter().filter(|p| p.0 == name).map(|p| p.1.clone()).collect::<Vec<_>>();
    for name in ["hyper", "h2", "http", "http-body", "rustls", "hyper-rustls", "tokio-rustls", "rustls-webpki"] {
        assert_eq!(versions(name).len(), 1, "{name} is built in more than one version: {:?}", versions(name));
    }
    assert!(versions("hyper")[0].starts_with("v1."), "{:?}", versions("hyper"));
    assert_eq!(versions("ring").len(), 1, "rustls's crypto is ring");
    for name in ["aws-lc-sys", "aws-lc-rs", "openssl-sys", "native-tls", "s2n-tls"] {
        assert!(versions(name).is_empty(), "{name} is in the build: {:?}", versions(name));
    }
}

/// Credentials from a profile, with no keys in the environment: static keys in
/// ~/.aws/credentials, and a `credential_process` in ~/.aws/config (what aws-vault and similar
/// tools use), both read by the SDK features rampart keeps.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_come_from_a_profiles_keys_and_from_its_credential_process() {
    let moto = Moto::start();
    let client = moto::client(&moto.url);
    moto::create(&client, "/ecs/production/profiled", &["a"]).await;
    let dir = tempfile::tempdir().unwrap();
    let aws_dir = dir.path().join(".aws");
    std::fs::create_dir(&aws_dir).unwrap();
    std::fs::write(
        aws_dir.join("credentials"),
        "[ops]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    std::fs::write(
        aws_dir.join("config"),
        "[profile vault]\ncredential_process = /bin/echo '{\"Version\": 1, \"AccessKeyId\": \"testing\", \
         \"SecretAccessKey\": \"testing\"}'\n",
    )
    .unwrap();
    for profile in ["ops", "vault"] {
        let out = cli(
            dir.path(),
            false,
            &["groups", "--json", "--profile", profile, "--region", "us-east-1", "--endpoint-url", &moto.url],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "profile {profile}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(r#""name":"/ecs/production/profiled""#), "profile {profile}: {text}");
    }
    let out = cli(
        dir.path(),
        false,
        &["groups", "--profile", "nosuch", "--region", "us-east-1", "--endpoint-url", &moto.url],
    );
    assert_eq!(out.status.code(), Some(4), "a profile that is not there: {}", String::from_utf8_lossy(&out.stderr));
}
