//! The collector following an access log through everything logrotate and a restart can do to
//! it, with exact counts: every line stored once, garbage counted, nothing lost.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command};

use rampart::store::related::Related;

use crate::support::{self, Collector};

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

/// Waits until the store at `db` holds exactly `n` access events.
fn wait_for_rows(db: &Path, n: i64) {
    support::wait_for(&format!("{n} rows"), || stored(db), |seen| seen.0 == n);
}

/// A config with no Docker or Fail2Ban to reach, plus `extra`.
fn config_file(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    let base = "[docker]\nhost = \"unix:///nonexistent/docker.sock\"\n[fail2ban]\ndatabase = \"/nonexistent/f2b\"\n";
    std::fs::write(&path, format!("{base}{extra}")).unwrap();
    path
}

/// Waits until `source`'s status line in the store contains `text`.
fn wait_for_status(db: &Path, source: &str, text: &str) {
    let detail = || -> Option<String> {
        rampart::store::open(db, rampart::store::Access::ReadOnly)
            .ok()
            .and_then(|c| c.query_row("SELECT detail FROM source_status WHERE source = ?", [source], |r| r.get(0)).ok())
    };
    support::wait_for(&format!("{source} to say '{text}'"), detail, |d| d.as_deref().is_some_and(|d| d.contains(text)));
}

/// How far process `pid` has read the file at `path`: the offset of its open descriptor for it.
fn read_offset(pid: u32, path: &Path) -> Option<u64> {
    let path = path.canonicalize().ok()?;
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if std::fs::read_link(fd.path()).ok() == Some(path.clone()) {
            let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_str()?)).ok()?;
            return info.lines().find_map(|l| l.strip_prefix("pos:")).and_then(|p| p.trim().parse().ok());
        }
    }
    None
}

/// Waits until the collector has read `path` to its current end.
fn wait_read_to_end(child: &Child, path: &Path) {
    let len = std::fs::metadata(path).unwrap().len();
    support::wait_for(
        &format!("the collector to read all {len} bytes"),
        || read_offset(child.id(), path),
        |at| *at == Some(len),
    );
}

/// Waits until the store's saved position for `path` is the file's end: the rows before it are
/// committed with it.
fn wait_position_at_end(db: &Path, path: &Path) {
    let len = std::fs::metadata(path).unwrap().len() as i64;
    let offset = || -> Option<i64> {
        rampart::store::open(db, rampart::store::Access::ReadOnly).ok().and_then(|c| {
            c.query_row(
                "SELECT json_extract(position, '$.offset') FROM cursors WHERE source = 'file:' || ?",
                [path.to_str()],
                |r| r.get(0),
            )
            .ok()
        })
    };
    support::wait_for(&format!("the position at the file's {len} bytes"), offset, |at| *at == Some(len));
}

fn collect(db: &Path, config: &Path) -> Collector {
    let child = crate::support::rampart()
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap(), "collect"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    Collector { child }
}

fn stop(mut collector: Collector) {
    Command::new("kill").args(["-TERM", &collector.child.id().to_string()]).status().unwrap();
    assert!(collector.child.wait().unwrap().success());
}

#[test]
fn rotation_truncation_partial_lines_and_a_restart_lose_and_repeat_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("t.db"), dir.path().join("acme.log"));
    let config = config_file(dir.path(), &format!("[[access_log]]\npath = \"{}\"\ntenant = \"acme\"\n", log.display()));
    // The file does not exist yet when the collector starts.
    let child = collect(&db, &config);
    wait_for_status(&db, "access:acme.log", "does not exist (yet)");
    lines(&log, 0..100);
    wait_for_rows(&db, 100);

    // A partial last line is held back until its newline arrives.
    let tail = line(100);
    append(&log, &tail[..30]);
    wait_read_to_end(&child.child, &log);
    assert_eq!(stored(&db).0, 100);
    append(&log, &tail[30..]);
    wait_for_rows(&db, 101);

    // Rotation by rename: what was written to the old file just before is still read.
    lines(&log, 101..110);
    std::fs::rename(&log, dir.path().join("acme.log.1")).unwrap();
    lines(&log, 110..120);
    wait_for_rows(&db, 120);

    // copytruncate.
    std::fs::copy(&log, dir.path().join("acme.log.2")).unwrap();
    std::fs::OpenOptions::new().write(true).truncate(true).open(&log).unwrap();
    lines(&log, 120..125);
    append(&log, "this is not an access log line\n");
    wait_for_rows(&db, 125);

    // Stop, write while nobody reads, start again: exactly the new lines arrive.
    stop(child);
    lines(&log, 125..140);
    let child = collect(&db, &config);
    wait_position_at_end(&db, &log);
    assert_eq!(stored(&db).0, 140, "no duplicates after the restart");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let distinct: i64 = conn.query_row("SELECT count(DISTINCT path) FROM access_events", [], |r| r.get(0)).unwrap();
    assert_eq!(distinct, 140, "each line once");
    let unparsed: i64 = conn
        .query_row("SELECT json_extract(position, '$.unparsed') FROM cursors WHERE source LIKE 'file:%'", [], |r| {
            r.get(0)
        })
        .unwrap();
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
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let tenant =
        || -> Option<Option<String>> { conn.query_row("SELECT tenant FROM alerts LIMIT 1", [], |r| r.get(0)).ok() };
    let tenant = support::wait_for("the alert", tenant, Option::is_some);
    assert_eq!(tenant.flatten().as_deref(), Some("globex"), "mapped by container id");
    let unparsed: i64 = conn
        .query_row("SELECT json_extract(position, '$.unparsed') FROM cursors WHERE source LIKE 'file:%'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(unparsed, 1);
    stop(child);
}

#[test]
fn detection_rules_run_over_what_arrives_and_link_their_events() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("d.db"), dir.path().join("acme.log"));
    let config = config_file(dir.path(), &format!("[[access_log]]\npath = \"{}\"\ntenant = \"acme\"\n", log.display()));
    {
        // The rules start where their last run stopped: here, before any row.
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        rampart::store::detections::record(&conn, 0, 0, &[]).unwrap();
    }
    let child = collect(&db, &config);
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
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let rules = || -> Vec<String> {
        let mut stmt = conn.prepare("SELECT rule FROM alerts WHERE source = 'rampart' ORDER BY rule").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    support::wait_for("two rules' alerts", rules, |rules| rules.len() >= 2);
    assert_eq!(rules(), ["Brute-force login", "Web attack pattern"]);
    // The alert names the ten failed logins that made it, and the two after it joined its incident
    // (judged with them or in a later chunk).
    let linked = || -> i64 {
        conn.query_row(
            "SELECT count(*) FROM alert_events l JOIN alerts a ON a.id = l.alert WHERE a.rule = 'Brute-force login'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    support::wait_for("the incident to link its failed logins", linked, |n| *n >= 12);
    assert_eq!(rules().len(), 2, "one alert for the burst");
    // And the alert's detail view lists them.
    let id: i64 = conn.query_row("SELECT id FROM alerts WHERE rule = 'Brute-force login'", [], |r| r.get(0)).unwrap();
    let rows = rampart::store::related::of_ip(&conn, "203.0.113.66", Some(id)).unwrap();
    let causes = rows
        .iter()
        .filter(|r| matches!(r, Related::Cause(e) if e.method == "POST" && e.path == "/login" && e.status == 401));
    assert_eq!(causes.count(), 12, "{rows:?}");
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
             [access_log.fields]\nip = \"client\"\n",
            log.display(),
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
    wait_for_rows(&db, 2);
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let tenants: String = conn
        .query_row("SELECT group_concat(tenant, ',') FROM (SELECT tenant FROM access_events ORDER BY id)", [], |r| {
            r.get(0)
        })
        .unwrap();
    // (A half-written entry is refused with the config: tests/it/config.rs.)
    assert_eq!(tenants, "acme,globex");
    stop(child);
}

/// An access event `t` seconds after 2026-11-26T10:00:00Z, as another program would write it.
fn event(t: i64, ip: &str, path: &str, status: i64, agent: &str) -> rampart::store::access::AccessEvent {
    rampart::store::access::AccessEvent {
        ts: (1_795_687_200 + t) * 1000,
        tenant: "acme".into(),
        src_ip: ip.into(),
        user: Some("admin".into()),
        method: if path == "/login" { "POST" } else { "GET" }.into(),
        path: path.into(),
        status,
        user_agent: agent.into(),
        source: "my-proxy".into(),
        ..Default::default()
    }
}

fn insert(db: &Path, events: &[rampart::store::access::AccessEvent]) {
    let conn = rampart::store::open(db, rampart::store::Access::ReadWrite).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    rampart::store::access::insert_many(&conn, events).unwrap();
    conn.execute_batch("COMMIT").unwrap();
}

/// Rampart's alerts per rule (see [`support::alerts_by_rule`]) in the store at `db`.
fn alerts_by_rule(db: &Path) -> Vec<(String, i64, String, String)> {
    support::alerts_by_rule(&rampart::store::open(db, rampart::store::Access::ReadOnly).unwrap())
}

/// Waits for the alert raised for `ip`: events are judged in order, so all before it are judged.
fn wait_for_alert_on(db: &Path, ip: &str) {
    let raised = || {
        let conn = rampart::store::open(db, rampart::store::Access::ReadOnly).unwrap();
        let n = conn.query_row("SELECT count(*) FROM alerts WHERE src_ip = ?", [ip], |r| r.get::<_, i64>(0)).unwrap();
        (n, alerts_by_rule(db))
    };
    support::wait_for(&format!("the alert for {ip}"), raised, |(n, _)| *n > 0);
}

#[test]
fn a_collector_judges_the_events_already_stored_and_after_a_restart_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    // Before any collector ran: 13,000 ordinary requests, 10,000 failed logins from one address
    // (one a second), 2,000 sqlmap requests from another, and a probe at the end.
    let mut history: Vec<_> = (0..13_000)
        .map(|i| event(i - 14_000, &format!("198.51.100.{}", i % 50 + 1), "/", 200, "Mozilla/5.0"))
        .collect();
    history.extend((0..10_000).map(|i| event(i, "203.0.113.66", "/login", 401, "python-requests/2.32")));
    history.extend((0..2_000).map(|i| event(3 * 3600 + i, "192.0.2.50", "/item?id=1", 200, "sqlmap/1.8.4#stable")));
    history.push(event(4 * 3600, "192.0.2.98", "/../../etc/passwd", 404, "curl"));
    insert(&db, &history);
    let config = config_file(dir.path(), "");
    let child = collect(&db, &config);
    wait_for_alert_on(&db, "192.0.2.98");
    let expected = |web: i64| {
        vec![
            ("Brute-force login".to_string(), 1, "10:00:09".to_string(), "10:00:09".to_string()),
            ("Web attack pattern".to_string(), web, "13:00:00".to_string(), "14:00:00".to_string()),
        ]
    };
    assert_eq!(alerts_by_rule(&db), expected(2), "one incident for the brute force, one for sqlmap, the probe");
    // Stopped, one more event while nobody judges, started again: only that one is judged.
    stop(child);
    insert(&db, &[event(4 * 3600, "192.0.2.99", "/cgi-bin/;cat /etc/shadow", 403, "curl")]);
    let child = collect(&db, &config);
    wait_for_alert_on(&db, "192.0.2.99");
    assert_eq!(alerts_by_rule(&db), expected(3), "nothing judged twice");
    // While the collector works through 60,000 more events another program wrote, an import
    // judges them too: each is judged once, by one or the other.
    let scanner = |i: i64| event(5 * 3600 + i, &format!("10.9.{}.{}", i / 250, i % 250), "/", 200, "nikto");
    insert(&db, &(0..60_000).map(scanner).collect::<Vec<_>>());
    let log = dir.path().join("more.log");
    std::fs::write(&log, "10.9.250.0 - - [26/Nov/2026:15:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"nikto\"\n")
        .unwrap();
    let out = crate::support::rampart()
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap(), "ingest", "access"])
        .arg(&log)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    insert(&db, &[event(6 * 3600, "192.0.2.100", "/.env", 404, "curl")]);
    wait_for_alert_on(&db, "192.0.2.100");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let (scanners, alerts): (i64, i64) = conn
        .query_row("SELECT count(DISTINCT src_ip), count(*) FROM alerts WHERE src_ip LIKE '10.9.%'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((scanners, alerts), (60_001, 60_001), "{said}");
    stop(child);
}

/// Follows `log` (combined format, tenant acme) into the store at `db` with the collector's own
/// writer and source task, until `done` holds for the store. The writer's connection has
/// `follower_read()`: how far the follower has read the file.
fn follow_until(db: &Path, log: &Path, done: impl Fn(&rusqlite::Connection) -> bool) {
    use rampart::sources::logfile::{self, Format, LogFile};
    use rampart::store::writer::{ChangeNotes, StoreWriter};
    let conn = rampart::store::open(db, rampart::store::Access::ReadWrite).unwrap();
    // For the store's triggers: how far this process (the follower) has read the log.
    let followed = log.to_owned();
    let read =
        move |_: &rusqlite::functions::Context<'_>| Ok(read_offset(std::process::id(), &followed).map(|p| p as i64));
    conn.create_scalar_function("follower_read", 0, rusqlite::functions::FunctionFlags::SQLITE_UTF8, read).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, std::sync::Arc::new(ChangeNotes::default()));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let file =
        LogFile { path: log.to_owned(), format: Format::Combined(rampart::parse::TenantRule::Fixed("acme".into())) };
    let task = rt.spawn(logfile::run(writer.clone(), file));
    let reader = rampart::store::open(db, rampart::store::Access::ReadOnly).unwrap();
    support::wait_for("the follower to get there", || done(&reader), |done| *done);
    task.abort();
    let _ = rt.block_on(task);
    drop(writer);
    thread.join().unwrap();
}

fn query_i64(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_log_many_chunks_long_is_stored_a_chunk_at_a_time_and_a_crash_between_chunks_costs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("c.db"), dir.path().join("acme.log"));
    const N: usize = 60_000;
    let text: String = (0..N).map(line).collect();
    std::fs::write(&log, &text).unwrap();
    let chunk = rampart::sources::tail::CHUNK as i64;
    assert!(text.len() as i64 > 4 * chunk, "the log is several chunks long");
    // Where each line starts, and the file's end.
    let longest = (0..N).map(|i| line(i).len() as i64).max().unwrap();
    let mut starts = vec![0i64];
    text.split_inclusive('\n').for_each(|l| starts.push(starts.last().unwrap() + l.len() as i64));
    {
        // Every saved position, with the rows committed beside it and how far the file had been
        // read by then; and a crash: once two chunks are stored, every later write is refused,
        // rows and position alike.
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        conn.execute_batch(
            "CREATE TABLE seen (offset INTEGER, lines INTEGER, rows INTEGER, read INTEGER);
             CREATE TRIGGER seen_first AFTER INSERT ON cursors WHEN new.source LIKE 'file:%' BEGIN
               INSERT INTO seen VALUES (json_extract(new.position, '$.offset'), json_extract(new.position, '$.lines'),
                 (SELECT count(*) FROM access_events), follower_read()); END;
             CREATE TRIGGER seen_next AFTER UPDATE ON cursors WHEN new.source LIKE 'file:%' BEGIN
               INSERT INTO seen VALUES (json_extract(new.position, '$.offset'), json_extract(new.position, '$.lines'),
                 (SELECT count(*) FROM access_events), follower_read()); END;
             -- A writer slower than the reader, as on a busy disk: the reading must wait for it.
             CREATE TRIGGER slow_writer AFTER UPDATE ON cursors WHEN new.source LIKE 'file:%' BEGIN
               SELECT count(*) FROM access_events a JOIN access_events b ON b.id <= 200; END;
             CREATE TRIGGER crash BEFORE UPDATE ON cursors
               WHEN new.source LIKE 'file:%' AND (SELECT count(*) FROM seen) >= 2 BEGIN
               SELECT RAISE(ABORT, 'the collector crashed'); END;",
        )
        .unwrap();
    }
    let seen = |conn: &rusqlite::Connection| -> Vec<(i64, i64, i64, i64)> {
        let mut stmt = conn.prepare("SELECT offset, lines, rows, read FROM seen ORDER BY rowid").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
    };
    let paths = |conn: &rusqlite::Connection| -> Vec<String> {
        let mut stmt = conn.prepare("SELECT path FROM access_events ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let expected = |n: usize| -> Vec<String> { (0..n).map(|i| format!("/page/{i}")).collect() };

    // The first run reads the whole file (its status counts every line) but only two chunks stick.
    let all_read = format!("{N} lines, 0 not parsed");
    follow_until(&db, &log, |c| {
        c.query_row("SELECT detail FROM source_status WHERE source = 'access:acme.log'", [], |r| r.get::<_, String>(0))
            .is_ok_and(|d| d == all_read)
    });
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let first = seen(&conn);
    assert_eq!(first.len(), 2, "two chunks stored before the crash, not the whole file at once: {first:?}");
    let (offset, lines, rows, _) = first[1];
    assert_eq!(lines, rows, "rows and position are committed together");
    assert_eq!(rows, query_i64(&conn, "SELECT count(*) FROM access_events"));
    assert_eq!(offset, starts[lines as usize], "the position is just after the rows stored with it");
    assert_eq!(paths(&conn), expected(lines as usize), "the first chunks' lines, in order");
    assert_eq!(
        query_i64(&conn, "SELECT json_extract(position, '$.offset') FROM cursors WHERE source LIKE 'file:%'"),
        offset
    );

    // Restarted: it continues exactly where the store says.
    rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap().execute_batch("DROP TRIGGER crash").unwrap();
    let end = text.len() as i64;
    follow_until(&db, &log, |c| {
        c.query_row("SELECT json_extract(position, '$.offset') FROM cursors WHERE source LIKE 'file:%'", [], |r| {
            r.get(0)
        })
        .ok()
            == Some(end)
    });
    assert_eq!(paths(&conn), expected(N), "every line once, in order: no duplicate, no gap");
    let all = seen(&conn);
    assert!(all.len() > 4, "{all:?}");
    let mut before = 0;
    for &(offset, lines, rows, read) in &all {
        assert_eq!(lines, rows, "rows and position are committed together");
        assert_eq!(offset, starts[lines as usize], "the position is just after the rows stored with it");
        // A chunk, plus the start of a line the chunk before cut.
        assert!(offset > before && offset - before <= chunk + longest, "one chunk at a time: {before} to {offset}");
        // Memory holds what is read and not yet stored: the chunk being stored and at most one more.
        assert!(read - offset <= chunk + longest, "read to {read} while storing up to {offset}");
        before = offset;
    }
    assert_eq!(before, end);
}

/// A store from before the cursors (schema 12: files' positions in `tail_positions`, the rules'
/// in `judged_through`) is migrated, and the collector goes on exactly where that store stood: the
/// file from its saved offset (no line stored twice, none lost), the rules from their saved event
/// (an attack judged before is not alerted on again; the next one is).
#[test]
fn an_older_stores_file_and_rules_positions_become_cursors_and_both_resume_where_they_were() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("old.db"), dir.path().join("acme.log"));
    // The first 60 lines were read and stored by an older collector, and judged; line 30 was an
    // attack (alerted on then, whose alert this store has lost track of: a second judging would
    // raise it again).
    let attack = |i: usize, ip: &str| {
        format!(
            "{ip} - - [26/Nov/2026:10:00:00 +0000] \"GET /{i}/../../etc/passwd HTTP/1.1\" 404 10 \"-\" \"curl/8\"\n"
        )
    };
    let text: String = (0..60).map(|i| if i == 30 { attack(i, "192.0.2.30") } else { line(i) }).collect();
    std::fs::write(&log, &text).unwrap();
    let inode = std::fs::metadata(&log).unwrap().ino();
    {
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        let events: Vec<_> =
            text.lines().map(|l| rampart::parse::combined::parse(l, "acme", "access:acme.log").unwrap()).collect();
        conn.execute_batch("BEGIN").unwrap();
        rampart::store::access::insert_many(&conn, &events).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        // Back to schema 12's shape.
        conn.execute_batch(
            "DELETE FROM cursors;
             CREATE VIRTUAL TABLE main.access_text USING fts5(
                 path, user_agent, src_ip, user, content='', detail='none', tokenize='trigram');
             CREATE TABLE main.access_indexed_through (only INTEGER PRIMARY KEY CHECK (only = 1),
                 event INTEGER NOT NULL, ts INTEGER NOT NULL);
             CREATE TABLE main.access_by_ip (src_ip TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (src_ip, id)) WITHOUT ROWID;
             CREATE TABLE tail_positions (path TEXT PRIMARY KEY, inode INTEGER NOT NULL, offset INTEGER NOT NULL,
               lines INTEGER NOT NULL DEFAULT 0, unparsed INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE judged_through (only INTEGER PRIMARY KEY CHECK (only = 1), event INTEGER NOT NULL);
             INSERT INTO judged_through VALUES (1, 60);
             DROP TABLE store_identity; DROP TABLE drills; DROP TABLE automatic_bans;
             ALTER TABLE tenants DROP COLUMN reisolated_at; ALTER TABLE tenants DROP COLUMN reisolated;
             PRAGMA user_version = 12;",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO tail_positions VALUES (?, ?, ?, 60, 2)",
            rusqlite::params![log.display().to_string(), inode as i64, text.len() as i64],
        )
        .unwrap();
    }
    // While nobody ran, 40 more lines and at the end another attack.
    lines(&log, 60..100);
    append(&log, &attack(100, "192.0.2.100"));
    let config = config_file(dir.path(), &format!("[[access_log]]\npath = \"{}\"\ntenant = \"acme\"\n", log.display()));
    let child = collect(&db, &config);
    wait_position_at_end(&db, &log);
    wait_for_alert_on(&db, "192.0.2.100");
    stop(child);
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    assert_eq!(stored(&db), (101, 101), "lines 60 to 100 added once each, the first 60 not again");
    let old_tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE name IN ('tail_positions', 'judged_through')", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(old_tables, 0, "the positions live in cursors now");
    let position: String = conn
        .query_row("SELECT position FROM cursors WHERE source = 'file:' || ?", [log.display().to_string()], |r| {
            r.get(0)
        })
        .unwrap();
    let position: serde_json::Value = serde_json::from_str(&position).unwrap();
    assert_eq!(
        (&position["inode"], &position["lines"], &position["unparsed"]),
        (&serde_json::json!(inode), &serde_json::json!(101), &serde_json::json!(2)),
        "the line counts go on from the old ones"
    );
    let attacks: Vec<String> = alerts_by_rule(&db).into_iter().map(|(rule, n, _, _)| format!("{rule} x{n}")).collect();
    assert_eq!(attacks, ["Web attack pattern x1"], "only the new attack: the old one was judged before");
    let on: Vec<String> = conn
        .prepare("SELECT src_ip FROM alerts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(on, ["192.0.2.100"]);
    assert_eq!(rampart::store::detections::position(&conn).unwrap(), 101);
}
