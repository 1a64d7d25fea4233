//! The command line as a script or a person meets it: help that is true, clear refusals, and
//! `audit verify` on a real store.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

fn rampart(args: &[&str], home: &std::path::Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("RAMPART_DB")
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
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
    let out = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "ingest", "access", missing.to_str().unwrap()])
        .env("HOME", home.path())
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
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
        "audit log BROKEN at row 2: its content does not match its hash (the row was changed)"
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
