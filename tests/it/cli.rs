//! The command line as a script or a person meets it: help that is true, clear refusals, and
//! `audit verify` on a real store.

use crate::support::Homed;
use std::process::{Command, Output};

use crate::support::BIN;

/// rampart in its own home ([`crate::support::rampart`]), run to its end.
fn rampart(args: &[&str], home: &std::path::Path) -> Output {
    homed(args, home).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn help_lists_commands_options_and_files() {
    let home = tempfile::tempdir().unwrap();
    let out = rampart(&["--help"], home.path());
    assert!(out.status.success());
    let help = text(&out);
    for needle in [
        "demo",
        "collect",
        "audit",
        "--db",
        "--config",
        "--theme",
        "--keymap",
        "--read-only",
        "default, light, high-contrast, mono",
        "NO_COLOR",
    ] {
        assert!(help.contains(needle), "--help mentions {needle}:\n{help}");
    }
    let out = rampart(&["demo", "--help"], home.path());
    assert!(text(&out).contains("--seed") && text(&out).contains("--rate"));
    let out = rampart(&["--version"], home.path());
    assert_eq!(text(&out).trim(), format!("rampart {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn unknown_theme_and_keymap_list_what_exists() {
    let home = tempfile::tempdir().unwrap();
    let out = rampart(&["demo", "--theme", "purple"], home.path());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown theme 'purple'; available: default, high-contrast, light, mono"),
        "{}",
        text(&out)
    );
    let out = rampart(&["--keymap", "vim"], home.path());
    assert!(text(&out).contains("unknown keymap 'vim'; available: default, emacs"), "{}", text(&out));
}

#[test]
fn a_damaged_store_is_refused_clearly_and_left_alone() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("notes.db");
    std::fs::write(&db, "my notes, not a database\n".repeat(100)).unwrap();
    let out = rampart(&["--db", db.to_str().unwrap()], home.path());
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("is not a rampart database or is damaged"), "{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
    assert_eq!(std::fs::read_to_string(&db).unwrap(), "my notes, not a database\n".repeat(100));
}

#[test]
fn errors_read_as_plain_messages_when_not_on_a_terminal() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("s.db");
    let missing = home.path().join("missing.log");
    let out = crate::support::rampart()
        .args(["--db", db.to_str().unwrap(), "ingest", "access", missing.to_str().unwrap()])
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains(&format!("cannot read {}: No such file or directory", missing.display())), "{msg}");
    assert!(!msg.contains('\x1b'), "no colour codes in a pipe: {msg:?}");
    assert!(!msg.contains("Location") && !msg.contains("src/"), "no source locations for an operator: {msg}");
}

#[test]
fn bad_rate_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = rampart(&["demo", "--rate", "0"], home.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("0 is outside 0.1 to 100000 events per second"), "{}", text(&out));
}

#[test]
fn audit_verify_reports_intact_and_broken_chains() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("a.db");
    {
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        rampart::demo::seed::seed(&conn, 3, 1_795_694_400_000, 500).unwrap();
    }
    let out = rampart(&["audit", "verify", "--db", db.to_str().unwrap()], home.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).trim(), "audit log intact: 4 rows, every hash chained");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("DROP TRIGGER audit_no_update; UPDATE audit SET operator = 'mallory' WHERE id = 2").unwrap();
    }
    let out = rampart(&["audit", "verify", "--db", db.to_str().unwrap()], home.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out).trim(),
        "audit log UNGUARDED: the guard trigger audit_no_update on table audit is MISSING — it was dropped, \
         so rows of audit could be changed or deleted unseen\n\
         audit log BROKEN at row 2: its content does not match its hash (the row was changed)"
    );
}

/// Pairs of bans of one address in one jail that overlap in time: Fail2Ban never bans an address
/// its jail already holds, so the demo must not show it either.
fn overlapping_bans(conn: &rusqlite::Connection) -> Vec<(String, String)> {
    let end =
        |t: &str| format!("CASE WHEN {t}.ban_seconds < 0 THEN 9e18 ELSE {t}.banned_at + {t}.ban_seconds * 1000 END");
    let sql = format!(
        "SELECT a.jail, a.ip FROM bans a JOIN bans b ON a.jail = b.jail AND a.ip = b.ip AND a.id < b.id \
         WHERE a.banned_at < {} AND b.banned_at < {}",
        end("b"),
        end("a")
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

#[test]
fn the_demo_never_bans_an_address_twice_in_one_jail() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_795_694_400_000;
    for seed in 1..=2 {
        let conn =
            rampart::store::open(&dir.path().join(format!("s{seed}.db")), rampart::store::Access::ReadWrite).unwrap();
        let mut generator = rampart::demo::seed::seed(&conn, seed, now, 120_000).unwrap();
        // Then live, as busy as the simulator makes it at its slowest rate (trouble most of the time).
        generator.intensity = 500.0;
        let mut writes = Vec::new();
        for step in 0..100_000 {
            generator.step(now + step * 100, &mut writes);
        }
        conn.execute_batch("BEGIN").unwrap();
        for w in writes.drain(..) {
            w.apply(&conn, now).unwrap();
        }
        conn.execute_batch("COMMIT").unwrap();
        let bans: i64 = conn.query_row("SELECT count(*) FROM bans", [], |r| r.get(0)).unwrap();
        assert!(bans > 1000, "seed {seed}: the run banned plenty ({bans})");
        let twice = overlapping_bans(&conn);
        assert!(twice.is_empty(), "seed {seed}: banned again while banned: {:?}", &twice[..twice.len().min(5)]);
    }
}

#[test]
fn every_argument_says_what_it_is_for() {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if id != "help" && id != "version" && arg.get_help().is_none() {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&<rampart::cli::Cli as clap::CommandFactory>::command(), "rampart", &mut missing);
    assert!(missing.is_empty(), "arguments without a description: {missing:?}");
}

#[test]
fn options_appear_only_where_they_do_something() {
    let home = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| text(&rampart(args, home.path()));
    let access = help(&["access", "list", "--help"]);
    for absent in ["--theme", "--keymap", "--priority", "--read-only", "--config"] {
        assert!(!access.contains(absent), "access list does not offer {absent}:\n{access}");
    }
    assert!(help(&["alerts", "list", "--help"]).contains("--priority"));
    assert!(help(&["demo", "--help"]).contains("--theme"));
    assert!(!help(&["demo", "--help"]).contains("--db"), "the demo's store is a throw-away one");
    assert!(help(&["bans", "ban", "--help"]).contains("--read-only"));
    assert!(!help(&["bans", "list", "--help"]).contains("--read-only"), "listing changes nothing");
    assert!(help(&["audit", "verify", "--help"]).contains("--config"), "[cloudwatch_publish] is read from it");
    // Written after the command's name or before it, an option the command does not take is refused.
    let out = rampart(&["access", "list", "--theme", "light"], home.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = rampart(&["--keymap", "emacs", "access", "list"], home.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--keymap does nothing for `rampart access list`"), "{}", text(&out));
    // …and one it takes is its own, wherever it was written.
    let db = home.path().join("s.db");
    rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
    for args in [["--db", db.to_str().unwrap(), "audit", "verify"], ["audit", "verify", "--db", db.to_str().unwrap()]] {
        let out = rampart(&args, home.path());
        assert_eq!(text(&out).trim(), "audit log intact: 0 rows, every hash chained", "{args:?}");
    }
    // A command whose options sit a level above its leaf (`integrity --db X list`) takes them too.
    let db = db.to_str().unwrap();
    for args in [["--db", db, "integrity", "list"], ["integrity", "--db", db, "list"]] {
        let out = rampart(&args, home.path());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("no rows"), "{args:?}: {}", text(&out));
    }
}

#[test]
fn completions_and_manual_pages_come_from_the_command_line_itself() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = rampart(&["completions", shell], home.path());
        assert!(out.status.success(), "{shell}: {}", text(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        for word in ["unban", "priority", "reason", "out-dir"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
    let out = rampart(&["man"], home.path());
    assert!(out.status.success(), "{}", text(&out));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH rampart 1"), "{page}");
    assert!(page.contains("completions") && page.contains("\\-\\-read\\-only"), "{page}");
    let pages = home.path().join("man");
    let out = rampart(&["man", "--out-dir", pages.to_str().unwrap()], home.path());
    assert!(out.status.success(), "{}", text(&out));
    let unban = std::fs::read_to_string(pages.join("rampart-bans-unban.1")).unwrap();
    assert!(unban.contains("The address to unban"), "{unban}");
}

/// A config file that makes everything read-only, with Fail2Ban and Docker nowhere to be found.
fn read_only_config(home: &std::path::Path) -> std::path::PathBuf {
    let config = home.join("config.toml");
    let absent = home.display();
    std::fs::write(
        &config,
        format!(
            "read_only = true\n[fail2ban]\ndatabase = \"{absent}/f2b.sqlite3\"\nsocket = \"{absent}/f2b.sock\"\n\
             [docker]\nhost = \"unix://{absent}/docker.sock\"\n"
        ),
    )
    .unwrap();
    config
}

#[test]
fn read_only_in_the_config_file_stops_headless_actions() {
    let home = tempfile::tempdir().unwrap();
    let config = read_only_config(home.path());
    let log = home.path().join("access.log");
    std::fs::write(&log, "203.0.113.1 - - [26/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"curl\"\n")
        .unwrap();
    let db = home.path().join("s.db");
    let actions: [&[&str]; 5] = [
        &["bans", "ban", "192.0.2.1", "--jail", "sshd", "--reason", "scanner"],
        &["bans", "unban", "192.0.2.1"],
        &["tenants", "isolate", "acme", "--reason", "incident"],
        &["tenants", "restore", "acme"],
        &["ingest", "access", log.to_str().unwrap()],
    ];
    for action in actions {
        let mut args = vec!["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()];
        args.extend_from_slice(action);
        let out = rampart(&args, home.path());
        assert_eq!(out.status.code(), Some(2), "{action:?}: {}", text(&out));
        let said = format!("refused: read-only (read_only = true in {}); nothing was done", config.display());
        assert!(text(&out).contains(&said), "{action:?}: {}", text(&out));
    }
    assert!(!db.exists(), "nothing was written");
}

#[test]
fn a_config_file_named_on_the_command_line_must_exist() {
    let home = tempfile::tempdir().unwrap();
    let typo = home.path().join("confg.toml");
    let out = rampart(
        &["--config", typo.to_str().unwrap(), "bans", "ban", "192.0.2.1", "--jail", "sshd", "--reason", "r"],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "the config file {} does not exist — check the path given with --config",
            typo.display()
        )),
        "{}",
        text(&out)
    );
    // The default config file may be missing: `audit verify` and the others work without one.
    let db = home.path().join("s.db");
    rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
    let out = rampart(&["bans", "list", "--db", db.to_str().unwrap()], home.path());
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_blank_reason_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let config = read_only_config(home.path());
    std::fs::write(&config, std::fs::read_to_string(&config).unwrap().replace("read_only = true\n", "")).unwrap();
    for (command, reason) in
        [(["bans", "ban", "192.0.2.1", "--jail", "sshd"], ""), (["tenants", "isolate", "acme", "", ""], "   ")]
    {
        let mut args: Vec<&str> = vec!["--config", config.to_str().unwrap()];
        args.extend(command.iter().filter(|a| !a.is_empty()));
        args.extend(["--reason", reason]);
        let out = rampart(&args, home.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("a reason is required: say why (it is recorded in the audit log)"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn lists_have_a_header_say_when_they_were_cut_and_when_they_are_empty() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("s.db");
    {
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        rampart::demo::seed::seed(&conn, 3, 1_795_694_400_000, 500).unwrap();
    }
    let db = db.to_str().unwrap();
    let out = rampart(&["access", "list", "--db", db, "--limit", "3"], home.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three rows:\n{stdout}");
    assert!(lines[0].starts_with("TIME (UTC)") && lines[0].contains("SOURCE IP"), "{stdout}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("more — use --limit to see more"), "{said}");
    let out = rampart(&["access", "list", "--db", db, "--filter", "ip:192.0.2.254 path:/nothing"], home.path());
    assert_eq!(
        (String::from_utf8_lossy(&out.stdout).as_ref(), String::from_utf8_lossy(&out.stderr).trim()),
        ("", "no rows")
    );
    // `--all` searches every event, however long a filter no index serves takes.
    let out = rampart(&["access", "list", "--db", db, "--all", "--filter", "status:418 !GET"], home.path());
    assert_eq!(
        (String::from_utf8_lossy(&out.stdout).as_ref(), String::from_utf8_lossy(&out.stderr).trim()),
        ("", "no rows")
    );
    let config = read_only_config(home.path());
    let out = rampart(&["bans", "list", "--db", db, "--config", config.to_str().unwrap(), "--limit", "2"], home.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("IP ") && stdout.lines().count() == 3, "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("more — use --limit to see more"), "{}", text(&out));
    let empty = home.path().join("empty.db");
    rampart::store::open(&empty, rampart::store::Access::ReadWrite).unwrap();
    let out =
        rampart(&["bans", "list", "--db", empty.to_str().unwrap(), "--config", config.to_str().unwrap()], home.path());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rows"), "{}", text(&out));
}

#[test]
fn read_only_before_a_command_that_only_reads_is_true_of_it_already() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("s.db");
    rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
    let out = rampart(&["--read-only", "audit", "verify", "--db", db.to_str().unwrap()], home.path());
    assert!(out.status.success(), "{}", text(&out));
    let out = rampart(&["--read-only", "collect", "--db", db.to_str().unwrap()], home.path());
    assert_eq!(out.status.code(), Some(2), "the collector writes: {}", text(&out));
}

#[test]
fn the_demo_refuses_to_ban_an_address_its_jail_holds() {
    use rampart::respond::{self, Backend, Operator, Request};
    let dir = tempfile::tempdir().unwrap();
    let conn = rampart::store::open(&dir.path().join("d.db"), rampart::store::Access::ReadWrite).unwrap();
    let (writer, thread) = rampart::store::writer::StoreWriter::spawn(conn, std::sync::Arc::new(Default::default()));
    let operator = Operator { name: "operator".into(), ssh_client: None, host: "h".into(), ..Default::default() };
    let ban = |ip: &str| Request::Ban { ip: ip.into(), jail: "sshd".into(), reason: "scanner".into() };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let first = rt.block_on(respond::perform(&writer, &Backend::Demo, &operator, &ban("2001:db8::7")));
    assert!(first.ok, "{first:?}");
    let again = rt.block_on(respond::perform(&writer, &Backend::Demo, &operator, &ban("2001:DB8:0::0007")));
    assert_eq!((again.ok, again.message.as_str()), (false, "2001:db8::7 is already banned in sshd"));
    drop(writer);
    thread.join().unwrap();
}

#[cfg(feature = "real-components")]
/// rampart with standard output into a pipe whose reader is gone before anything was written (as
/// a `head` that has read enough), and standard error captured.
fn into_closed_pipe(args: &[&str], home: &std::path::Path) -> Output {
    // The reader is gone before the command starts, so its first write meets the closed pipe
    // (closed after the start, the pipe's buffer could take a short listing whole).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    homed(args, home).stdout(writer).stderr(std::process::Stdio::piped()).output().unwrap()
}

/// rampart in its own home, not started yet.
fn homed(args: &[&str], home: &std::path::Path) -> Command {
    let mut command = crate::support::rampart();
    command.args(args).home(home);
    command
}

#[cfg(feature = "real-components")]
/// A store holding the demo's history: access events, alerts, bans and tenants.
fn seeded_store(home: &std::path::Path) -> std::path::PathBuf {
    let db = home.join("s.db");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
    rampart::demo::seed::seed(&conn, 3, 1_795_694_400_000, 3000).unwrap();
    db
}

/// A config file in `home` that reaches `f2b`, after `top` (keys of the file's top level).
#[cfg(feature = "real-components")]
fn f2b_config(home: &std::path::Path, f2b: &crate::support::f2b::Fail2ban, top: &str) -> std::path::PathBuf {
    let config = home.join("config.toml");
    let (database, socket) = (f2b.config.database.display(), f2b.config.socket.display());
    std::fs::write(&config, format!("{top}[fail2ban]\ndatabase = \"{database}\"\nsocket = \"{socket}\"\n")).unwrap();
    config
}

#[cfg(feature = "real-components")]
#[test]
fn every_listing_ends_quietly_when_its_reader_goes_away() {
    let f2b = crate::support::f2b::Fail2ban::start();
    let home = tempfile::tempdir().unwrap();
    let db = seeded_store(home.path());
    let config = f2b_config(home.path(), &f2b, "tenants = [\"acme\", \"globex\"]\n");
    let (db, config) = (db.to_str().unwrap(), config.to_str().unwrap());
    let listings: [&[&str]; 12] = [
        &["access", "list", "--db", db],
        &["access", "list", "--db", db, "--json"],
        &["alerts", "list", "--db", db],
        &["alerts", "list", "--db", db, "--json"],
        &["bans", "list", "--db", db, "--config", config, "--all"],
        &["bans", "list", "--db", db, "--config", config, "--all", "--json"],
        &["tenants", "list", "--db", db, "--config", config],
        &["tenants", "list", "--db", db, "--config", config, "--json"],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["man"],
        &["audit", "verify", "--db", db],
    ];
    for args in listings {
        // Read to the end, the command prints something…
        let whole = rampart(args, home.path());
        assert!(whole.status.success() && !whole.stdout.is_empty(), "{args:?}: {}", text(&whole));
        // …and with its reader gone it ends without a word, status 0 (the reader took what it wanted).
        let cut = into_closed_pipe(args, home.path());
        assert_eq!(String::from_utf8_lossy(&cut.stderr), "", "{args:?}: nothing on standard error");
        assert_eq!(cut.status.code(), Some(0), "{args:?}");
    }
}

#[cfg(feature = "real-components")]
#[test]
fn a_users_mistakes_each_read_as_one_line_with_their_exit_code() {
    let f2b = crate::support::f2b::Fail2ban::start();
    let home = tempfile::tempdir().unwrap();
    let db = seeded_store(home.path());
    let db = db.to_str().unwrap();
    let config = f2b_config(home.path(), &f2b, "");
    let missing = home.path().join("typo").join("nowhere.db");
    let mistakes: [(&[&str], i32, String); 3] = [
        (
            &["alerts", "list", "--db", db, "--since", "banana"],
            2,
            "error: 'banana' is not a time: use a duration like 15m, 2h, 7d or a date like 2026-11-26T10:00".into(),
        ),
        (
            &["access", "list", "--db", missing.to_str().unwrap()],
            1,
            format!(
                "error: {} does not exist yet — start the collector (`rampart` or `rampart collect`) once to create it",
                missing.display()
            ),
        ),
        (
            &[
                "bans",
                "ban",
                "192.0.2.1",
                "--jail",
                "nosuch",
                "--reason",
                "scanner",
                "--db",
                db,
                "--config",
                config.to_str().unwrap(),
            ],
            2,
            "ban: Fail2Ban says: the jail 'nosuch' does not exist".into(),
        ),
    ];
    for (args, code, line) in mistakes {
        let out = rampart(args, home.path());
        assert_eq!(String::from_utf8_lossy(&out.stderr), format!("{line}\n"), "{args:?}");
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
    assert!(!home.path().join("typo").exists(), "a mistyped --db leaves no folder or log behind");
    // Asked for (-v), the full report with its chain is still there.
    let out = rampart(&["-v", "alerts", "list", "--db", db, "--since", "banana"], home.path());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.starts_with("Error: ") && said.contains("0: 'banana' is not a time"), "{said}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_address_column_is_as_wide_as_the_widest_address_printed() {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("access.log");
    let lines: String = (0..20)
        .map(|i| format!("203.0.113.{i} - - [26/Nov/2026:10:00:{i:02} +0000] \"GET /cart/{i} HTTP/1.1\" 200 12 \"-\" \"curl/8.5.0\"\n"))
        .collect();
    std::fs::write(&log, lines).unwrap();
    let db = home.path().join("s.db");
    let db = db.to_str().unwrap();
    let out = rampart(&["ingest", "access", "--db", db, "--tenant", "acme", log.to_str().unwrap()], home.path());
    assert!(out.status.success(), "{}", text(&out));
    let out = rampart(&["access", "list", "--db", db], home.path());
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listed.lines().count(), 21, "{listed}");
    for line in listed.lines() {
        assert!(line.chars().count() <= 100, "an IPv4-only listing fits 100 columns: {line:?}");
    }
    assert!(listed.lines().next().unwrap().contains("SOURCE IP    METHOD"), "as wide as 203.0.113.19:\n{listed}");
    // An IPv6 address widens the column for every row, keeping the columns aligned.
    std::fs::write(
        &log,
        "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe - - [26/Nov/2026:11:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"curl\"\n",
    )
    .unwrap();
    rampart(&["ingest", "access", "--db", db, "--tenant", "acme", log.to_str().unwrap()], home.path());
    let out = rampart(&["access", "list", "--db", db], home.path());
    let listed = String::from_utf8_lossy(&out.stdout);
    let method_at: Vec<usize> = listed
        .lines()
        .skip(1)
        .map(|l| l.find("GET").unwrap())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(method_at.len(), 1, "one column for the method:\n{listed}");
    assert_eq!(listed.lines().next().unwrap().find("METHOD"), Some(method_at[0]), "{listed}");
}

#[test]
fn text_and_json_listings_show_c1_controls_and_bidi_overrides_inert() {
    use rampart::store::access::AccessEvent;
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("s.db");
    {
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        let event = AccessEvent {
            id: 0,
            ts: 1_795_694_400_000,
            tenant: "acme".into(),
            src_ip: "203.0.113.7".into(),
            user: None,
            method: "GET".into(),
            path: "/x\u{9b}2J".into(),
            status: 200,
            bytes: 1,
            user_agent: "evil\u{202E}txt.exe".into(),
            target_tenant: None,
            flags: 0,
            source: "cloudwatch:/g".into(),
            host: Some("web-1".into()),
        };
        rampart::store::access::insert(&conn, &event).unwrap();
        let alert = rampart::store::alerts::Alert {
            id: 0,
            ts: 1_795_694_400_000,
            priority: rampart::store::alerts::Priority::Critical,
            rule: "Shell\u{9b}31m".into(),
            source: "syscall".into(),
            hostname: "h".into(),
            tenant: Some("acme".into()),
            output: "a shell \u{202E}llehs".into(),
            output_fields_json: "{}".into(),
            tags: String::new(),
            src_ip: None,
            acked_by: None,
            acked_at: None,
        };
        rampart::store::alerts::insert(&conn, &alert).unwrap();
    }
    let db = db.to_str().unwrap();
    for pane in ["access", "alerts"] {
        let out = rampart(&[pane, "list", "--db", db], home.path());
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(!listed.contains('\u{9b}') && !listed.contains('\u{202E}'), "{pane}: {listed:?}");
        assert!(listed.contains("<U+009B>") && listed.contains("<U+202E>"), "{pane}: {listed}");
        let out = rampart(&[pane, "list", "--db", db, "--json"], home.path());
        let json = String::from_utf8_lossy(&out.stdout);
        assert!(!json.contains('\u{9b}') && !json.contains('\u{202E}'), "{pane}: {json:?}");
        assert!(json.contains("\\u009b") && json.contains("\\u202e"), "{pane}: {json}");
        let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
        if pane == "access" {
            assert_eq!(rows[0]["user_agent"], "evil\u{202E}txt.exe", "a JSON reader gets the text back");
            assert_eq!(rows[0]["host"], "web-1", "{json}");
        }
    }
}

#[test]
fn a_tenant_name_given_to_ingest_must_be_a_name() {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("access.log");
    std::fs::write(&log, "203.0.113.1 - - [26/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"curl\"\n")
        .unwrap();
    let db = home.path().join("s.db");
    let long = "a".repeat(5000);
    let out = rampart(
        &["ingest", "access", "--db", db.to_str().unwrap(), "--tenant", &long, log.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is not a tenant name: use at most 63 letters, digits"), "{}", text(&out));
    assert!(!db.exists());
}

#[test]
fn read_only_refuses_integrity_changes_with_exit_2_naming_why() {
    let home = tempfile::tempdir().unwrap();
    let config = read_only_config(home.path());
    let db = home.path().join("s.db");
    let keys = home.path().join("keys");
    let (db, config) = (db.to_str().unwrap(), config.to_str().unwrap());
    let cases: [(&[&str], String); 3] = [
        (
            &["integrity", "--db", db, "--config", config, "keygen", "--out", keys.to_str().unwrap()],
            format!("refused: read-only (read_only = true in {config}); nothing was done"),
        ),
        (
            &["integrity", "--db", db, "--read-only", "baseline", "acme", "/tmp", "--key", "k.pem"],
            "refused: read-only (started with --read-only); nothing was done".into(),
        ),
        (
            &["integrity", "--db", db, "--read-only", "accept", "acme", "--key", "k.pem", "--reason", "deploy"],
            "refused: read-only (started with --read-only); nothing was done".into(),
        ),
    ];
    for (args, said) in cases {
        let out = rampart(args, home.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), said, "{args:?}");
    }
    assert!(!keys.exists() && !std::path::Path::new(db).exists(), "nothing was written");
}

#[cfg(feature = "real-components")]
#[test]
fn a_user_other_than_root_without_a_collector_is_told_to_start_it_exit_3() {
    use std::os::unix::fs::PermissionsExt;
    let f2b = crate::support::f2b::Fail2ban::start();
    // The server's folder can be walked by anyone; its socket is writable by root only.
    std::fs::set_permissions(f2b.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let config = f2b_config(home.path(), &f2b, "");
    let db = home.path().join("s.db");
    // As an unprivileged user (nobody), as an operator outside the socket's group would be.
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .args(["bans", "ban", "192.0.2.1", "--jail", crate::support::f2b::FINITE, "--reason", "scanner"])
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()])
        .env("HOME", home.path())
        .output()
        .unwrap();
    // Only the collector acts (issue 23): a user other than root asks it, and none runs here.
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        said.trim(),
        format!(
            "ban: actions need the collector, and none listens on {}.sock; start the collector: `sudo systemctl \
             start rampart` where the package is installed, else `sudo rampart collect`",
            db.display()
        )
    );
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(f2b.banned(crate::support::f2b::FINITE).is_empty(), "nothing was banned");
}

/// Standard error, when it is exactly one line.
#[cfg(feature = "real-components")]
fn one_line(out: &Output) -> String {
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(said.lines().count(), 1, "one line: {said}");
    for dump in ["Os {", "Request {", "SdkBody", "ServiceError", "Unhandled", "already taken"] {
        assert!(!said.contains(dump), "no debug output ({dump}): {said}");
    }
    said.trim_end().to_string()
}

#[cfg(feature = "real-components")]
#[test]
fn cloudwatch_errors_read_as_one_sentence_with_their_exit_code() {
    use crate::support::moto::{self, Moto};
    // moto checking credentials as IAM does: the dummy keys are refused, in XML.
    let strict = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let home = tempfile::tempdir().unwrap();
    let nothing = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    };
    let run = |args: &[&str], with_keys: bool| {
        let mut c = moto::rampart(home.path());
        if !with_keys {
            c.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
        }
        c.args(["cloudwatch"]).args(args).args(["--region", "us-east-1"]);
        c.output().unwrap()
    };
    let out = run(&["groups", "--endpoint-url", &strict.url], true);
    assert_eq!(
        one_line(&out),
        format!(
            "rampart cloudwatch: the AWS credentials were refused by {} (InvalidClientTokenId: The security token \
             included in the request is invalid.) — they are invalid or expired; renew them",
            strict.url
        )
    );
    assert_eq!(out.status.code(), Some(4), "the documented code for credentials");
    let out = run(&["tail", "/g", "--endpoint-url", &nothing], true);
    assert_eq!(
        one_line(&out),
        format!(
            "rampart cloudwatch: endpoint unreachable: {nothing}: Connection refused (os error 111) — check that it \
             is up and that the URL is right"
        )
    );
    assert_eq!(out.status.code(), Some(3));
    let out = run(&["tail", "/g", "--endpoint-url", "not a url"], true);
    assert_eq!(
        one_line(&out),
        "rampart cloudwatch: 'not a url' is not a usable endpoint URL — write it as http://host:port or \
         https://host (endpoint_url, --endpoint-url)"
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["tail", "/g", "--since", "banana", "--endpoint-url", &strict.url], true);
    assert_eq!(one_line(&out), "error: --since: 'banana' is not a duration like 500ms, 90s, 15m, 2h or 1d");
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["groups", "--profile", "nosuch", "--endpoint-url", &strict.url], false);
    assert!(
        one_line(&out).starts_with("rampart cloudwatch: the AWS profile 'nosuch' gives no credentials"),
        "{}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(4));
}

#[cfg(feature = "real-components")]
#[test]
fn a_missing_profile_is_named_on_every_retry_of_the_collector() {
    use crate::support::moto::{self, Moto};
    let aws = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[fail2ban]\ndatabase = \"{d}/f2b.sqlite3\"\nsocket = \"{d}/f2b.sock\"\n\
             [[cloudwatch]]\ngroup = \"/g\"\nprofile = \"nosuch\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n",
            aws.url,
            d = dir.path().display()
        ),
    )
    .unwrap();
    let db = dir.path().join("r.db");
    let child = moto::rampart(dir.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["collect", "--db", db.to_str().unwrap(), "--config", dir.path().join("config.toml").to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _collector = crate::support::Collector { child };
    // The first attempt waits about a second; "retrying in 2 s" or more is a later one.
    let retried = |detail: &str| {
        detail
            .rsplit_once("retrying in ")
            .and_then(|(_, rest)| rest.trim_end_matches(" s").parse::<u64>().ok())
            .is_some_and(|s| s >= 2)
    };
    let detail = || -> Option<String> {
        rampart::store::open(&db, rampart::store::Access::ReadOnly).ok().and_then(|c| {
            c.query_row("SELECT detail FROM source_status WHERE source = 'cloudwatch:/g'", [], |r| r.get(0)).ok()
        })
    };
    let detail = crate::support::wait_for("the collector to retry", detail, |d| d.as_deref().is_some_and(retried))
        .unwrap_or_default();
    assert!(
        detail.starts_with("the AWS profile 'nosuch' gives no credentials: it is not in ~/.aws/config"),
        "{detail}"
    );
    assert!(!detail.contains("already taken"), "{detail}");
}

#[cfg(feature = "real-components")]
#[test]
fn cloudwatch_tail_shows_c1_controls_and_bidi_overrides_inert() {
    use crate::support::moto::{self, Moto};
    let aws = Moto::start();
    let client = moto::client(&aws.url);
    let now = rampart::store::now_ms();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        moto::create(&client, "/g", &["web-1"]).await;
        moto::put(&client, "/g", "web-1", &[(now - 60_000, "csi\u{9b}2J bidi\u{202E}gnp.exe".to_string())]).await;
    });
    let home = tempfile::tempdir().unwrap();
    let tail = |json: bool| {
        let mut c = moto::rampart(home.path());
        c.args(["cloudwatch", "tail", "/g", "--since", "1h", "--region", "us-east-1", "--endpoint-url", &aws.url]);
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let plain = tail(false);
    assert!(plain.contains("csi<U+009B>2J bidi<U+202E>gnp.exe"), "{plain:?}");
    let json = tail(true);
    assert!(json.contains(r"csi\u009b2J bidi\u202egnp.exe"), "{json:?}");
    assert!(!json.contains('\u{9b}') && !json.contains('\u{202E}'), "{json:?}");
    // Its reader gone, it ends quietly as the other listings do.
    for args in [vec!["tail", "/g", "--since", "1h"], vec!["groups"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = moto::rampart(home.path())
            .arg("cloudwatch")
            .args(&args)
            .args(["--region", "us-east-1", "--endpoint-url", &aws.url])
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}

#[cfg(feature = "real-components")]
#[test]
fn on_a_terminal_a_table_is_cut_to_its_width_never_wrapped() {
    let t = crate::support::tmux::Tmux::start("fit");
    t.tmux(&["resize-window", "-t", "t", "-x", "100", "-y", "40"]);
    let log = t.dir.path().join("access.log");
    let agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let lines: String = (0..5)
        .map(|i| format!("203.0.113.{i} - - [26/Nov/2026:10:00:0{i} +0000] \"GET /cart/{i} HTTP/1.1\" 200 12 \"-\" \"{agent}\"\n"))
        .collect();
    std::fs::write(&log, lines).unwrap();
    let db = t.dir.path().join("s.db");
    let out = rampart(&["ingest", "access", "--db", db.to_str().unwrap(), log.to_str().unwrap()], t.dir.path());
    assert!(out.status.success(), "{}", text(&out));
    // Piped, a line is whole (for grep and scripts)…
    let out = rampart(&["access", "list", "--db", db.to_str().unwrap()], t.dir.path());
    assert!(String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().ends_with(agent));
    // …on a 100-column terminal it is cut to 100 columns with `…`.
    t.type_text(&format!("{BIN} access list --db {}; echo END-OF-$((1+1))", db.display()));
    t.key("Enter");
    t.wait_for("END-OF-2");
    let joined = t.tmux(&["capture-pane", "-p", "-J", "-t", "t"]);
    let rows: Vec<&str> = joined.lines().filter(|l| l.starts_with("2026-11-26T10:00:0")).collect();
    assert_eq!(rows.len(), 5, "{joined}");
    for row in rows {
        assert_eq!(row.chars().count(), 100, "{row}");
        assert!(row.ends_with('…'), "{row}");
    }
}
