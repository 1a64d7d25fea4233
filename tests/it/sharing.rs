//! Several processes on one store: the collector lock picks one collector, and a console sees what
//! another console (or `rampart collect`) wrote, through SQLite's WAL.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart::app::effects::Workers;
use rampart::app::msg::{Effect, Msg};
use rampart::respond::{Backend, Operator, Request};
use rampart::store::writer::{ChangeNotes, StoreWriter, Tables};
use rampart::store::{self, Access};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

fn operator(name: &str) -> Operator {
    Operator { name: name.into(), ssh_client: None, host: "h".into(), ..Default::default() }
}

/// A console's effect runner on `db`, with its own reader and writer, as `rampart` starts one.
fn console(db: &std::path::Path, name: &str) -> (Workers, tokio::sync::mpsc::UnboundedReceiver<Msg>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (writer, _thread) =
        StoreWriter::spawn(store::open(db, Access::ReadWrite).unwrap(), Arc::new(ChangeNotes::default()));
    let reader = store::open(db, Access::ReadOnly).unwrap();
    (Workers::start(reader, writer, tx, Backend::Demo, operator(name), "/nonexistent".into()), rx)
}

async fn next_matching(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>, what: impl Fn(&Msg) -> bool) -> Msg {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(msg)) if what(&msg) => return msg,
            Ok(Some(_)) => continue,
            other => panic!("no such message arrived: {other:?}"),
        }
    }
}

#[test]
fn one_console_sees_what_another_did() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    {
        let conn = store::open(&db, Access::ReadWrite).unwrap();
        rampart::demo::seed::seed(&conn, 1, store::now_ms(), 500).unwrap();
        conn.execute(
            "INSERT INTO alerts (id, ts, priority, rule) VALUES (1000, 0, 2, 'Terminal shell in container')",
            [],
        )
        .unwrap();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let (alice, mut alice_rx) = console(&db, "alice");
        let (_bob, mut bob_rx) = console(&db, "bob");
        alice.run(Effect::Respond(Request::Acknowledge { alert_id: 1000, rule: "r".into() }));
        let done = next_matching(&mut alice_rx, |m| matches!(m, Msg::Responded(_))).await;
        assert!(matches!(&done, Msg::Responded(o) if o.ok), "{done:?}");
        let seen = next_matching(&mut bob_rx, |m| matches!(m, Msg::StoreChanged(_))).await;
        assert!(matches!(seen, Msg::StoreChanged(t) if t == Tables::ALL), "bob's console is told to reload");
    });
    let conn = store::open(&db, Access::ReadOnly).unwrap();
    let by: String = conn.query_row("SELECT acked_by FROM alerts WHERE id = 1000", [], |r| r.get(0)).unwrap();
    assert_eq!(by, "alice");
}

#[test]
fn one_collector_per_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let mut first =
        Command::new(BIN).args(["collect", "--db", db.to_str().unwrap()]).stderr(Stdio::piped()).spawn().unwrap();
    let lock = rampart::collector::lock_path(&db);
    let start = Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |s| s.is_empty()) {
        assert!(start.elapsed() < Duration::from_secs(20), "the collector never took its lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = Command::new(BIN).args(["collect", "--db", db.to_str().unwrap()]).output().unwrap();
    assert!(!second.status.success());
    let msg = String::from_utf8_lossy(&second.stderr);
    assert!(msg.contains("another collector already runs on") && msg.contains(&format!("pid {}", first.id())), "{msg}");
    assert!(Command::new("kill").args(["-TERM", &first.id().to_string()]).status().unwrap().success());
    let status = first.wait().unwrap();
    assert!(status.success(), "SIGTERM ends the collector cleanly: {status}");
    assert!(rampart::collector::try_lock(&db).unwrap().is_ok(), "the lock is released");
}

/// The audit row's operator is who the kernel says ran the command (its real uid; with a login
/// session, its login uid too); what the environment says is kept apart, as claims.
#[test]
fn the_audit_names_the_kernels_identity_and_keeps_the_environment_as_claims() {
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("who.db"), dir.path().join("config.toml"));
    std::fs::write(
        &config,
        "[fail2ban]\nsocket = \"/nonexistent/f2b.sock\"\ndatabase = \"/nonexistent/f2b.sqlite3\"\n",
    )
    .unwrap();
    let lie = "203.0.113.99 50000 198.51.100.1 22";
    let out = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()])
        .args(["bans", "ban", "192.0.2.7", "--jail", "sshd", "--reason", "who am i"])
        .env("SUDO_USER", "alice")
        .env("SSH_CONNECTION", lie)
        .env("USER", "alice")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "no Fail2Ban here: the ban fails, and is audited");
    let conn = store::open(&db, Access::ReadOnly).unwrap();
    let (operator, ssh_client, detail): (String, Option<String>, String) = conn
        .query_row("SELECT operator, ssh_client, detail_json FROM audit WHERE action = 'ban'", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    let uid = nix::unistd::getuid();
    let me = nix::unistd::User::from_uid(uid).unwrap().map_or(format!("uid {uid}"), |u| u.name);
    let login = std::fs::read_to_string("/proc/self/loginuid").unwrap_or_default().trim().parse::<u32>().ok();
    let expected = match login.filter(|&l| l != u32::MAX && l != uid.as_raw()) {
        Some(l) => {
            let name = nix::unistd::User::from_uid(l.into()).unwrap().map_or(format!("uid {l}"), |u| u.name);
            format!("{me} (login {name})")
        }
        None => me,
    };
    assert_eq!(operator, expected, "the kernel's identity, not SUDO_USER's");
    assert_eq!(ssh_client, None, "no address the environment gave is taken for the client's");
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["uid"], uid.as_raw());
    assert_eq!(detail["claimed"]["SUDO_USER"], "alice");
    assert_eq!(detail["claimed"]["SSH_CONNECTION"], lie);
    assert_eq!(detail["claimed"]["USER"], "alice");
}
