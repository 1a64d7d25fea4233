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
