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
    Operator { name: name.into(), ssh_client: None, host: "h".into() }
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
