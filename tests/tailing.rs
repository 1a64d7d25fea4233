//! The collector following an access log through everything logrotate and a restart can do to
//! it, with exact counts: every line stored once, garbage counted, nothing lost.

use rampart::store::related::Related;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

fn line(i: usize) -> String {
    format!(
        "203.0.113.{} - - [26/Nov/2026:10:00:00 +0000] \"GET /page/{i} HTTP/1.1\" 200 10 \"-\" \"curl/8\"\n",
        i % 250 + 1
    )
}

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

fn lines(path: &Path, range: std::ops::Range<usize>) {
    append(path, &range.map(line).collect::<String>());
}

fn stored(db: &Path) -> (i64, i64) {
    let Ok(conn) = rampart::store::open(db, rampart::store::Access::ReadOnly) else { return (0, 0) };
    let n =
        conn.query_row("SELECT count(*), count(DISTINCT path) FROM access_events", [], |r| Ok((r.get(0)?, r.get(1)?)));
    n.unwrap_or((0, 0))
}

fn wait_for(db: &Path, n: i64) {
    let start = Instant::now();
    while stored(db).0 != n {
        assert!(start.elapsed() < Duration::from_secs(30), "expected {n} rows, have {:?}", stored(db));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A config with no Docker or Fail2Ban to reach, plus `extra`.
fn config_file(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    let base = "[docker]\nhost = \"unix:///nonexistent/docker.sock\"\n[fail2ban]\ndatabase = \"/nonexistent/f2b\"\n";
    std::fs::write(&path, format!("{base}{extra}")).unwrap();
    path
}

fn collect(db: &Path, config: &Path) -> Child {
    Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap(), "collect"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(mut child: Child) {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn rotation_truncation_partial_lines_and_a_restart_lose_and_repeat_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("t.db"), dir.path().join("acme.log"));
    let config = config_file(dir.path(), &format!("[[access_log]]\npath = \"{}\"\ntenant = \"acme\"\n", log.display()));
    // The file does not exist yet when the collector starts.
    let child = collect(&db, &config);
    std::thread::sleep(Duration::from_millis(500));
    lines(&log, 0..100);
    wait_for(&db, 100);

    // A partial last line is held back until its newline arrives.
    let tail = line(100);
    append(&log, &tail[..30]);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(stored(&db).0, 100);
    append(&log, &tail[30..]);
    wait_for(&db, 101);

    // Rotation by rename: what was written to the old file just before is still read.
    lines(&log, 101..110);
    std::fs::rename(&log, dir.path().join("acme.log.1")).unwrap();
    lines(&log, 110..120);
    wait_for(&db, 120);

    // copytruncate.
    std::fs::copy(&log, dir.path().join("acme.log.2")).unwrap();
    std::fs::OpenOptions::new().write(true).truncate(true).open(&log).unwrap();
    lines(&log, 120..125);
    append(&log, "this is not an access log line\n");
    wait_for(&db, 125);

    // Stop, write while nobody reads, start again: exactly the new lines arrive.
    stop(child);
    lines(&log, 125..140);
    let child = collect(&db, &config);
    wait_for(&db, 140);
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(stored(&db).0, 140, "no duplicates after the restart");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let distinct: i64 = conn.query_row("SELECT count(DISTINCT path) FROM access_events", [], |r| r.get(0)).unwrap();
    assert_eq!(distinct, 140, "each line once");
    let unparsed: i64 = conn.query_row("SELECT unparsed FROM tail_positions", [], |r| r.get(0)).unwrap();
    assert_eq!(unparsed, 1, "the garbage line is counted");
    let detail: String =
        conn.query_row("SELECT detail FROM source_status WHERE source = 'access:acme.log'", [], |r| r.get(0)).unwrap();
    assert!(detail.ends_with("1 not parsed"), "{detail}");
    stop(child);
}

#[test]
fn falco_output_written_to_a_file_becomes_alerts_of_the_right_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let (db, events) = (dir.path().join("f.db"), dir.path().join("events.json"));
    let config = config_file(dir.path(), &format!("[falco]\nfiles = [\"{}\"]\n", events.display()));
    {
        // A container the alert can be traced to.
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        let c = rampart::store::tenants::Container {
            id: "3ad7d6c1e9a1ffff".into(),
            tenant: "globex".into(),
            name: "globex-web-1".into(),
            image: "nginx".into(),
            state: "running".into(),
            networks_json: "[]".into(),
            posture_json: "{}".into(),
        };
        rampart::store::tenants::sync(&conn, &[c], 0).unwrap();
    }
    let child = collect(&db, &config);
    append(
        &events,
        concat!(
            r#"{"output":"A shell was spawned","output_fields":{"container.id":"3ad7d6c1e9a1"},"priority":"Critical","rule":"Terminal shell in container","time":"2026-11-26T11:54:56.789012345Z"}"#,
            "\n",
            "not json at all\n"
        ),
    );
    let start = Instant::now();
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    loop {
        let tenant: Option<String> = conn.query_row("SELECT tenant FROM alerts LIMIT 1", [], |r| r.get(0)).ok();
        if tenant.is_some() {
            assert_eq!(tenant.as_deref(), Some("globex"), "mapped by container id");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the alert never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    let unparsed: i64 = conn.query_row("SELECT unparsed FROM tail_positions", [], |r| r.get(0)).unwrap();
    assert_eq!(unparsed, 1);
    stop(child);
}

#[test]
fn detection_rules_run_over_what_arrives_and_link_their_events() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("d.db"), dir.path().join("acme.log"));
    let config = config_file(dir.path(), &format!("[[access_log]]\npath = \"{}\"\ntenant = \"acme\"\n", log.display()));
    let child = collect(&db, &config);
    std::thread::sleep(Duration::from_millis(700));
    let burst: String = (0..12)
        .map(|i| format!("203.0.113.66 - admin [26/Nov/2026:10:00:{i:02} +0000] \"POST /login HTTP/1.1\" 401 12 \"-\" \"python\"\n"))
        .collect();
    append(&log, &burst);
    // A row written straight into the table by another program is judged too.
    {
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        conn.execute(
            "INSERT INTO access_events (ts, tenant, src_ip, method, path, status, user_agent, source) \
             VALUES (1795694400000, 'acme', '198.51.100.77', 'GET', '/cgi-bin/;cat /etc/shadow', 403, 'x', 'my-proxy')",
            [],
        )
        .unwrap();
    }
    let start = Instant::now();
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let rules = || -> Vec<String> {
        let mut stmt = conn.prepare("SELECT rule FROM alerts WHERE source = 'rampart' ORDER BY rule").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    while rules().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(30), "alerts never came: {:?}", rules());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(rules(), ["Brute-force login", "Web attack pattern"]);
    let linked: i64 = conn
        .query_row(
            "SELECT count(*) FROM alert_events l JOIN alerts a ON a.id = l.alert WHERE a.rule = 'Brute-force login'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(linked, 10, "the alert names the ten failed logins that made it");
    // And the alert's detail view lists them.
    let id: i64 = conn.query_row("SELECT id FROM alerts WHERE rule = 'Brute-force login'", [], |r| r.get(0)).unwrap();
    let rows = rampart::store::related::of_ip(&conn, "203.0.113.66", Some(id)).unwrap();
    let causes = rows
        .iter()
        .filter(|r| matches!(r, Related::Cause(e) if e.method == "POST" && e.path == "/login" && e.status == 401));
    assert_eq!(causes.count(), 10, "{rows:?}");
    stop(child);
}

#[test]
fn json_lines_with_the_tenant_taken_from_the_virtual_host() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("j.db"), dir.path().join("app.json"));
    let config = config_file(
        dir.path(),
        &format!(
            "[[access_log]]\npath = \"{}\"\nformat = \"json\"\ntenant_from = \"host\"\n\
             [access_log.fields]\nip = \"client\"\n\
             [[access_log]]\npath = \"{}/half.log\"\n",
            log.display(),
            dir.path().display()
        ),
    );
    let child = collect(&db, &config);
    append(
        &log,
        concat!(
            r#"{"time":"2026-11-26T10:00:00Z","client":"203.0.113.5","request_method":"GET","request_uri":"/","status":200,"host":"acme.example.com"}"#,
            "\n",
            r#"{"time":"2026-11-26T10:00:01Z","client":"203.0.113.6","request_method":"GET","request_uri":"/","status":200,"host":"globex.example.com"}"#,
            "\n"
        ),
    );
    wait_for(&db, 2);
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let tenants: String = conn
        .query_row("SELECT group_concat(tenant, ',') FROM (SELECT tenant FROM access_events ORDER BY id)", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(tenants, "acme,globex");
    let half: String = conn
        .query_row("SELECT detail FROM source_status WHERE source LIKE 'access:%half.log'", [], |r| r.get(0))
        .unwrap();
    assert!(half.contains("needs either tenant or tenant_from"), "{half}");
    stop(child);
}
