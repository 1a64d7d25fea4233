//! Banned IPs from a real Fail2Ban server (private config, dummy action): bans reach the store and
//! the Bans pane, unban and ban act through fail2ban-client and are confirmed by Fail2Ban, errors
//! come back in words, and reading while Fail2Ban writes troubles neither side.

use crate::support;
use crate::support::f2b;
use crate::support::tmux;

use std::path::Path;
use std::sync::Arc;

use f2b::{Fail2ban, BANTIME, DATED, FINITE, PERMANENT};
use rampart::app::msg::Msg;
use rampart::config::Config;
use rampart::respond::{self, Backend, Request};
use rampart::sources::fail2ban::Reader;
use rampart::store::bans::Ban;
use rampart::store::window::Row;
use rampart::store::writer::{ChangeNotes, StoreWriter, Tables};
use rampart::store::{self, Access};
use support::Harness;

/// A config file pointing rampart at `f`.
fn config_file(f: &Fail2ban, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[fail2ban]\ndatabase = \"{}\"\nsocket = \"{}\"\n",
        f.config.database.display(),
        f.config.socket.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn backend(f: &Fail2ban) -> Backend {
    Backend::Live(Arc::new(Config { fail2ban: f.config.clone(), ..Default::default() }))
}

/// A console on the live backend whose store holds what Fail2Ban's database holds now.
fn console(f: &Fail2ban) -> Harness {
    let mut h = Harness::build(140, 40, None, backend(f), None);
    sync(f, &h.fx.writer);
    h.send(Msg::StoreChanged(Tables::ALL));
    h
}

fn sync(f: &Fail2ban, conn: &rusqlite::Connection) {
    let mut reader = Reader::open(&f.config.database).unwrap();
    if let Some(c) = reader.poll().unwrap() {
        rampart::store::bans::sync_fail2ban(conn, c.active.as_deref(), &c.history, &c.jails, store::now_ms()).unwrap();
    }
}

fn active_bans(h: &Harness) -> Vec<Ban> {
    h.state
        .pane(rampart::pane::Pane::Bans)
        .rows
        .iter()
        .filter_map(|r| if let Row::Ban(b) = r { Some(b.clone()) } else { None })
        .collect()
}

fn count(db: &Path, sql: &str) -> i64 {
    store::open(db, Access::ReadOnly).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn bans_reach_the_store_and_the_pane_as_fail2ban_made_them() {
    let f = Fail2ban::start();
    // One after the other, so the pane's order (newest first) is fixed.
    f.fail(FINITE, "203.0.113.7", 4);
    f.wait_banned(FINITE, "203.0.113.7");
    f.fail(PERMANENT, "2001:db8::7", 3);
    f.wait_banned(PERMANENT, "2001:db8::7");
    let mut h = console(&f);
    let mut bans = active_bans(&h);
    bans.sort_by(|a, b| a.ip.cmp(&b.ip));
    assert_eq!(bans.len(), 2, "{bans:?}");
    let (v6, v4) = (&bans[0], &bans[1]);
    assert_eq!((v4.ip.as_str(), v4.jail.as_str(), v4.ban_seconds, v4.failures), ("203.0.113.7", FINITE, BANTIME, 3));
    assert_eq!((v6.ip.as_str(), v6.jail.as_str(), v6.ban_seconds, v6.failures), ("2001:db8::7", PERMANENT, -1, 3));
    assert_eq!(v4.expires_at(), Some(v4.banned_at + BANTIME * 1000));
    assert_eq!(v6.expires_at(), None);
    assert!((store::now_ms() - v4.banned_at).abs() < 120_000, "banned just now");
    assert!(v4.matches_json.contains("auth failure for mallory from 203.0.113.7"), "{}", v4.matches_json);
    assert_eq!(v4.source, "fail2ban");
    h.state.now_ms = v4.banned_at + 60_000;
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d\d-\d\d \d\d:\d\d:\d\d", "MM-DD hh:mm:ss");
    settings.add_filter(r"\d\d:\d\d:\d\d UTC", "hh:mm:ss UTC");
    settings.bind(|| {
        h.press("4 z");
        let screen = h.screen();
        assert!(screen.contains("9m00s") && screen.contains("permanent"), "{screen}");
        insta::assert_snapshot!("fail2ban_bans_pane", screen);
    });
}

#[test]
fn unban_from_the_console_is_confirmed_by_fail2ban_and_audited() {
    let f = Fail2ban::start();
    f.fail(FINITE, "198.51.100.20", 3);
    f.wait_banned(FINITE, "198.51.100.20");
    let mut h = console(&f);
    h.press("4 u y");
    assert!(!f.banned(FINITE).contains(&"198.51.100.20".to_string()), "Fail2Ban no longer lists it");
    assert!(h.screen().contains("unbanned 198.51.100.20 from web-login"), "{}", h.screen());
    assert_eq!(count(&h.db, "SELECT count(*) FROM audit WHERE action = 'unban' AND outcome = 'ok'"), 1);
    sync(&f, &h.fx.writer);
    h.send(Msg::StoreChanged(Tables::ALL));
    assert!(active_bans(&h).is_empty());
    h.press("H");
    let all = active_bans(&h);
    assert_eq!(all.len(), 1, "history shows the ended ban");
    assert_eq!(all[0].unbanned_by.as_deref(), Some("operator"));
    assert!(h.screen().contains("unbanned"));
}

#[test]
fn an_unban_made_in_fail2ban_itself_ends_the_ban_and_is_recorded_for_publishing() {
    let f = Fail2ban::start();
    f.fail(FINITE, "198.51.100.21", 3);
    f.wait_banned(FINITE, "198.51.100.21");
    let h = console(&f);
    assert_eq!(count(&h.db, "SELECT count(*) FROM ban_ends"), 0);
    f.client(&["set", FINITE, "unbanip", "198.51.100.21"]).expect("fail2ban-client unbanip");
    f.wait("Fail2Ban to let it go", || !f.banned(FINITE).contains(&"198.51.100.21".to_string()));
    sync(&f, &h.fx.writer);
    let ended: (String, String) = store::open(&h.db, Access::ReadOnly)
        .unwrap()
        .query_row("SELECT b.ip, e.by FROM ban_ends e JOIN bans b ON b.id = e.ban", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(ended, ("198.51.100.21".to_string(), "fail2ban".to_string()));
    // Seen again, it is not ended twice.
    sync(&f, &h.fx.writer);
    assert_eq!(count(&h.db, "SELECT count(*) FROM ban_ends"), 1);
}

fn perform(f: &Fail2ban, db: &Path, request: Request) -> respond::Outcome {
    let (writer, thread) =
        StoreWriter::spawn(store::open(db, Access::ReadWrite).unwrap(), Arc::new(ChangeNotes::default()));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outcome = rt.block_on(respond::perform(&writer, &backend(f), &support::operator(), &request));
    drop(writer);
    thread.join().unwrap();
    outcome
}

#[test]
fn a_manual_ban_reaches_fail2ban_and_errors_are_told_in_words() {
    let f = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    store::open(&db, Access::ReadWrite).unwrap();
    let ban = |jail: &str, ip: &str| Request::Ban { ip: ip.into(), jail: jail.into(), reason: "scanner".into() };
    let ok = perform(&f, &db, ban(PERMANENT, "192.0.2.55"));
    assert!(ok.ok, "{ok:?}");
    assert!(f.banned(PERMANENT).contains(&"192.0.2.55".to_string()));
    let conn = store::open(&db, Access::ReadWrite).unwrap();
    sync(&f, &conn);
    let source: String = conn.query_row("SELECT source FROM bans WHERE ip = '192.0.2.55'", [], |r| r.get(0)).unwrap();
    assert_eq!(source, "manual");

    let unknown = perform(&f, &db, ban("no-such-jail", "192.0.2.56"));
    assert!(!unknown.ok);
    assert_eq!(unknown.message, "Fail2Ban says: the jail 'no-such-jail' does not exist");
    let not_ip = perform(&f, &db, ban(PERMANENT, "--help"));
    assert_eq!(not_ip.message, "'--help' is not an IP address");
    f.stop();
    let stopped = perform(&f, &db, Request::Unban { ban_id: 1, ip: "192.0.2.55".into(), jail: PERMANENT.into() });
    assert!(!stopped.ok);
    assert!(stopped.message.starts_with("Fail2Ban is not running (no server at "), "{}", stopped.message);
    assert_eq!(
        count(&db, "SELECT count(*) FROM audit WHERE outcome = 'ok'"),
        1,
        "only the real ban is recorded as done"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM audit WHERE outcome = 'failed'"), 3);
    assert_eq!(
        count(&db, "SELECT count(*) FROM bans WHERE unbanned_at IS NOT NULL"),
        0,
        "nothing marked unbanned that was not"
    );
}

#[test]
fn reading_while_fail2ban_writes_troubles_neither_side() {
    let f = Fail2ban::start();
    let mut reader = Reader::open(&f.config.database).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conn = store::open(&dir.path().join("c.db"), Access::ReadWrite).unwrap();
    let ips: Vec<String> = (1..=120).map(|i| format!("198.51.{}.{}", 100 + i / 250, i % 250 + 1)).collect();
    let mut errors = Vec::new();
    let mut reads = 0;
    for chunk in ips.chunks(10) {
        for ip in chunk {
            f.fail(FINITE, ip, 3);
        }
        // Read as fast as we can while Fail2Ban bans and writes.
        for _ in 0..20 {
            match reader.poll() {
                Ok(Some(c)) => {
                    reads += 1;
                    rampart::store::bans::sync_fail2ban(
                        &conn,
                        c.active.as_deref(),
                        &c.history,
                        &c.jails,
                        store::now_ms(),
                    )
                    .unwrap();
                }
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    f.wait("all 120 banned", || f.banned(FINITE).len() == 120);
    f.wait("rampart sees all 120", || {
        if let Ok(Some(c)) = reader.poll() {
            rampart::store::bans::sync_fail2ban(&conn, c.active.as_deref(), &c.history, &c.jails, store::now_ms())
                .unwrap();
        }
        conn.query_row("SELECT count(*) FROM bans WHERE unbanned_at IS NULL", [], |r| r.get::<_, i64>(0)).unwrap()
            == 120
    });
    assert!(reads > 1, "read while it wrote");
    assert!(
        errors.iter().all(|e| e.contains("locked") || e.contains("busy")),
        "only transient busy answers: {errors:?}"
    );
    let log = f.log();
    assert!(!log.contains("ERROR") && !log.contains("locked"), "Fail2Ban complained:\n{log}");
}

#[test]
fn an_old_database_without_current_bans_is_read_from_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite3");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE fail2banDb(version INTEGER); INSERT INTO fail2banDb VALUES (2);
         CREATE TABLE jails(name TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1); INSERT INTO jails VALUES ('sshd', 1);
         CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, data JSON, bantime INTEGER NOT NULL DEFAULT 600, bancount INTEGER NOT NULL DEFAULT 1);
         INSERT INTO bans (jail, ip, timeofban, data) VALUES ('sshd', '192.0.2.9', 1795694000, '{\"failures\": 5, \"matches\": [\"Failed password\"]}');",
    )
    .unwrap();
    let mut reader = Reader::open(&path).unwrap();
    assert!(!reader.has_bips);
    let c = reader.poll().unwrap().unwrap();
    assert!(c.active.is_none(), "no list of current bans to trust");
    assert_eq!(c.history.len(), 1);
    assert_eq!((c.history[0].failures, c.history[0].banned_at), (5, 1_795_694_000_000));
    assert_eq!(c.jails, ["sshd"]);
    std::fs::write(dir.path().join("junk.sqlite3"), "not a database").unwrap();
    assert!(Reader::open(&dir.path().join("junk.sqlite3")).unwrap_err().contains("is not a Fail2Ban database"));
    assert!(Reader::open(&dir.path().join("missing.sqlite3"))
        .unwrap_err()
        .contains("does not exist — is Fail2Ban installed"));
}

#[test]
fn headless_bans_commands() {
    let f = Fail2ban::start();
    f.fail(FINITE, "203.0.113.99", 3);
    f.wait_banned(FINITE, "203.0.113.99");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let config = config_file(&f, dir.path());
    let run = |args: &[&str]| {
        crate::support::rampart()
            .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    };
    let list = run(&["bans", "list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(json[0]["ip"], "203.0.113.99");
    assert_eq!(json[0]["jail"], FINITE);
    assert_eq!(json[0]["failures"], 3);
    assert_eq!(run(&["bans", "ban", "192.0.2.200", "--jail", PERMANENT, "--reason", "r"]).status.code(), Some(0));
    assert!(f.banned(PERMANENT).contains(&"192.0.2.200".to_string()));
    assert_eq!(run(&["bans", "ban", "192.0.2.200", "--jail", "nope", "--reason", "r"]).status.code(), Some(2));
    assert_eq!(run(&["bans", "unban", "203.0.113.99"]).status.code(), Some(0));
    assert!(!f.banned(FINITE).contains(&"203.0.113.99".to_string()));
    assert_eq!(run(&["bans", "unban", "203.0.113.99"]).status.code(), Some(2), "not banned any more");
    let all = run(&["bans", "list", "--all"]);
    assert!(String::from_utf8_lossy(&all.stdout).contains("unbanned"));
}

#[test]
fn unban_by_keystroke_in_a_real_terminal() {
    let f = Fail2ban::start();
    f.fail(FINITE, "203.0.113.61", 3);
    f.wait_banned(FINITE, "203.0.113.61");
    let t = tmux::Tmux::start("fail2ban");
    let config = config_file(&f, t.dir.path());
    t.type_text(&format!(
        "{} --db {}/k.db --config {}; echo EXIT=$?",
        crate::support::BIN,
        t.dir.path().display(),
        config.display()
    ));
    t.key("Enter");
    t.wait_for("203.0.113.61");
    t.key("4");
    t.wait_for("┏ 4 Bans");
    t.key("u");
    t.wait_for("Unban 203.0.113.61 from jail web-login?");
    t.key("y");
    t.wait_for("unbanned 203.0.113.61 from web-login");
    assert!(!f.banned(FINITE).contains(&"203.0.113.61".to_string()));
    t.wait_until_gone("203.0.113.61  ");
    t.key("q");
    t.wait_for("EXIT=0");
}

#[test]
fn a_missing_fail2ban_is_a_pane_state_that_says_how_to_fix_it() {
    let mut h = Harness::empty(120, 30);
    let config =
        rampart::config::Fail2banConfig { database: "/nonexistent/fail2ban.sqlite3".into(), ..Default::default() };
    let missing = |c: &rusqlite::Connection| support::status_says(c, "fail2ban", "does not exist");
    h.run_source_until(|writer| rampart::sources::fail2ban::run(writer, config), missing);
    h.press("4 z");
    let screen = h.screen();
    assert!(screen.contains("fail2ban: Fail2Ban's database /nonexistent/fail2ban.sqlite3 does not exist"), "{screen}");
    assert!(screen.contains("apt-get install fail2ban"), "{screen}");
}

#[test]
fn the_ban_detail_shows_what_else_the_ip_did() {
    let mut h = Harness::demo(140, 40, 20_000);
    h.press("4 /");
    h.type_text("jail:rampart-login");
    h.press("enter enter");
    let screen = h.screen();
    assert!(screen.contains("this IP elsewhere"), "{screen}");
    assert!(screen.contains("POST /login  401"), "the failed logins that led to the ban:\n{screen}");
    h.press("G");
    let screen = h.screen();
    assert!(screen.contains("WARN  Brute-force login"), "and the alert they raised, at the end:\n{screen}");
}

/// `rampart …` with `--db` and `--config` pointing at `db` and `config`: (exit code, stdout, stderr).
fn headless(db: &Path, config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = crate::support::rampart()
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[test]
fn an_address_written_any_way_is_banned_unbanned_and_audited_as_the_address() {
    let f = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let config = config_file(&f, dir.path());
    let (code, _, err) =
        headless(&db, &config, &["bans", "ban", "2001:DB8:0:0::0001", "--jail", PERMANENT, "--reason", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(f.banned(PERMANENT).contains(&"2001:db8::1".to_string()));
    let audited = |outcome: &str| {
        count(
            &db,
            &format!(
                "SELECT count(*) FROM audit WHERE target = '2001:db8::1 in {PERMANENT}' AND outcome = '{outcome}'"
            ),
        )
    };
    assert_eq!((audited("ok"), audited("failed")), (1, 0), "audited as done, under the address's one spelling");
    let (code, _, err) = headless(&db, &config, &["bans", "unban", "2001:db8:0000::01"]);
    assert_eq!(code, 0, "found in the store and unbanned: {err}");
    assert!(f.banned(PERMANENT).is_empty());
    assert_eq!(audited("ok"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM bans WHERE ip <> '2001:db8::1'"), 0, "stored canonically");
}

#[test]
fn matched_lines_are_shown_as_the_log_had_them() {
    let f = Fail2ban::start();
    let written = f.fail_dated("203.0.113.44", 3);
    f.wait_banned(DATED, "203.0.113.44");
    let h = console(&f);
    let bans = active_bans(&h);
    assert_eq!(bans.len(), 1, "{bans:?}");
    // Fail2Ban keeps the first line split around its time, as ["… [", "26/Nov/2026:…", "] \"POST …"].
    let raw = rusqlite::Connection::open(&f.config.database)
        .unwrap()
        .query_row("SELECT CAST(data AS TEXT) FROM bips", [], |r| r.get::<_, String>(0))
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(data["matches"][0][0], "203.0.113.44 - mallory [", "the split Fail2Ban stores: {raw}");
    let matches: Vec<String> = serde_json::from_str(&bans[0].matches_json).unwrap();
    assert_eq!(matches, written, "each line exactly as written");
}

#[test]
fn unban_without_fail2ban_says_it_is_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let absent = dir.path().display();
    std::fs::write(
        &config,
        format!("[fail2ban]\ndatabase = \"{absent}/f2b.sqlite3\"\nsocket = \"{absent}/f2b.sock\"\n"),
    )
    .unwrap();
    let (code, _, err) = headless(&dir.path().join("s.db"), &config, &["bans", "unban", "203.0.113.5"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("unban: Fail2Ban is not running (no server at "), "{err}");
    assert!(!err.contains("not banned"), "it cannot know: {err}");
}
