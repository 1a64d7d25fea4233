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

use crate::support::BIN;

fn operator(name: &str) -> Operator {
    Operator { name: name.into(), ssh_client: None, host: "h".into(), ..Default::default() }
}

/// A console's effect runner on `db`, with its own reader and writer, as `rampart` starts one, and
/// the notes its writer keeps of what it changed (what the live event loop waits on).
fn console(db: &std::path::Path, name: &str) -> (Workers, tokio::sync::mpsc::UnboundedReceiver<Msg>, Arc<ChangeNotes>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let notes = Arc::new(ChangeNotes::default());
    let (writer, _thread) = StoreWriter::spawn(store::open(db, Access::ReadWrite).unwrap(), notes.clone());
    let reader = store::open(db, Access::ReadOnly).unwrap();
    (Workers::start(reader, writer, tx, Backend::Demo, operator(name), "/nonexistent".into()), rx, notes)
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
        let (alice, mut alice_rx, alice_notes) = console(&db, "alice");
        let (_bob, mut bob_rx, _) = console(&db, "bob");
        alice.run(Effect::Respond(Request::Acknowledge { alert_id: 1000, rule: "r".into() }));
        let done = next_matching(&mut alice_rx, |m| matches!(m, Msg::Responded(_))).await;
        assert!(matches!(&done, Msg::Responded(o) if o.ok), "{done:?}");
        // Alice's console hears of its own action as the live event loop does: from its writer's notes.
        let own = rampart::app::effects::next_change(&alice_notes).await;
        assert!(matches!(own, Msg::StoreChanged(t) if t.intersects(Tables::ALERTS)), "{own:?}");
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
    let mut first = crate::support::rampart()
        .args(["collect", "--db", db.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = rampart::collector::lock_path(&db);
    crate::support::wait_for(
        "the collector's lock",
        || std::fs::read_to_string(&lock).unwrap_or_default(),
        |s| !s.is_empty(),
    );
    let second = crate::support::rampart().args(["collect", "--db", db.to_str().unwrap()]).output().unwrap();
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
    let out = crate::support::rampart()
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

/// What a read-only look must leave as it was: the store's file and its WAL, byte for byte.
fn store_bytes(db: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    let mut wal = db.as_os_str().to_os_string();
    wal.push("-wal");
    (std::fs::read(db).unwrap(), std::fs::read(wal).unwrap_or_default())
}

/// `rampart --read-only` outlives the collector it watched: it says nobody collects, and takes
/// nothing over — no listener, no lock, no write to the store.
#[cfg(feature = "real-components")]
#[test]
fn a_read_only_console_outliving_its_collector_takes_nothing_over() {
    use std::net::TcpStream;
    let tmux = crate::support::tmux::Tmux::start("read-only");
    let dir = tmux.dir.path();
    let (db, config) = (dir.join("ro.db"), dir.join("config.toml"));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        &config,
        format!(
            "[docker]\nhost = \"unix:///nonexistent/docker.sock\"\n[fail2ban]\ndatabase = \"/nonexistent/f2b\"\n\
             [falco]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let args = ["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()];
    let mut collector = crate::support::rampart().args(args).arg("collect").stderr(Stdio::null()).spawn().unwrap();
    crate::support::wait_for("the collector's listener", || TcpStream::connect(("127.0.0.1", port)).is_ok(), |up| *up);
    tmux.type_text(&format!("{BIN} --read-only {}", args.join(" ")));
    tmux.key("Enter");
    tmux.wait_for_all(&["READ-ONLY", &format!("viewer (collector: pid {}", collector.id())]);
    assert!(Command::new("kill").args(["-TERM", &collector.id().to_string()]).status().unwrap().success());
    assert!(collector.wait().unwrap().success());
    let screen = tmux.wait_for("nobody collects");
    assert!(!screen.contains("collects now"), "{screen}");
    let before = store_bytes(&db);
    let rows = |db: &std::path::Path| -> i64 {
        let conn = store::open(db, Access::ReadOnly).unwrap();
        conn.query_row("SELECT (SELECT count(*) FROM source_status) + (SELECT count(*) FROM alerts)", [], |r| r.get(0))
            .unwrap()
    };
    let counted = rows(&db);
    // The console's clock moves on: it has lived through several of the ticks on which a console
    // that may write would have taken the collector's place.
    let clock = |screen: &str| {
        let header = screen.lines().next().unwrap_or_default().to_string();
        header.split_whitespace().find(|w| w.len() == 8 && w.matches(':').count() == 2).map(str::to_string)
    };
    let mut seen = vec![clock(&tmux.screen())];
    let ticking = || {
        let now = clock(&tmux.screen());
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        seen.clone()
    };
    crate::support::wait_for("the console's clock to move three times", ticking, |seen| seen.len() >= 4);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "a read-only console never listens");
    assert_eq!(rampart::collector::holder(&db), None, "nor takes the collector lock");
    tmux.key("q");
    tmux.wait_for("shell> ");
    tmux.wait_until_gone("READ-ONLY");
    assert_eq!(rows(&db), counted);
    assert!(store_bytes(&db) == before, "the store's file and WAL are as the collector left them");
}

/// `integrity verify` where it may not record (`--read-only`, or a store this user cannot
/// write): the whole result, the exit code by the result, and a word that it was not recorded.
#[cfg(feature = "real-components")]
#[test]
fn a_verify_that_may_not_record_shows_its_result_and_records_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // Others may read it all (the last part runs as another user).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (db, tree, keys) = (dir.path().join("store.db"), dir.path().join("tree"), dir.path().join("keys"));
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/app.conf"), "listen 8080\n").unwrap();
    let run = |args: &[&str]| {
        crate::support::rampart()
            .args(args)
            .env("RAMPART_DB", &db)
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .output()
            .unwrap()
    };
    let said = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    let o = run(&["integrity", "keygen", "--out", keys.to_str().unwrap(), "--bits", "2048"]);
    assert!(o.status.success(), "{}", said(&o));
    let private = keys.join("private.pem");
    let o = run(&["integrity", "baseline", "web", tree.to_str().unwrap(), "--key", private.to_str().unwrap()]);
    assert!(o.status.success(), "{}", said(&o));
    let runs = || -> i64 {
        store::open(&db, Access::ReadOnly)
            .unwrap()
            .query_row("SELECT count(*) FROM integrity_runs", [], |r| r.get(0))
            .unwrap()
    };
    let recorded = runs();
    let before = store_bytes(&db);

    let o = run(&["integrity", "--read-only", "verify", "web"]);
    assert_eq!(o.status.code(), Some(0), "clean: {}", said(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("web: clean"), "{}", said(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not recorded"), "{}", said(&o));

    std::fs::write(tree.join("etc/app.conf"), "listen 9090\n").unwrap();
    let o = run(&["integrity", "--read-only", "verify", "web", "--json"]);
    assert_eq!(o.status.code(), Some(1), "drift, and not a write error: {}", said(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((report["status"].as_str(), report["recorded"].as_bool()), (Some("drift"), Some(false)));
    assert_eq!(report["changes"][0]["path"], "etc/app.conf");
    assert_eq!(runs(), recorded);

    // Another user, who may read the store but not write it: the same, without --read-only.
    if nix::unistd::geteuid().is_root() {
        let o = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN, "integrity", "verify", "web"])
            .env("RAMPART_DB", &db)
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "drift: {}", said(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("etc/app.conf"), "{}", said(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("not recorded") && err.contains("is not writable by you"), "{}", said(&o));
    }
    assert_eq!(runs(), recorded);
    assert!(store_bytes(&db) == before, "nothing was written to the store");
}

/// An audit row's claims are shown as claims: FROM says `claimed`, the detail lists each one.
#[test]
fn the_audit_view_shows_the_environments_word_as_a_claim() {
    let mut h = crate::support::Harness::empty(140, 40);
    h.fx.writer
        .execute(
            "INSERT INTO alerts (id, ts, priority, rule) VALUES (7, ?1, 2, 'Terminal shell in container')",
            [crate::support::NOW - 60_000],
        )
        .unwrap();
    let claims = [("SUDO_USER", "alice"), ("SSH_CONNECTION", "203.0.113.99 50000 198.51.100.1 22")];
    let claims = claims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let names = |uid: u32| if uid == 0 { "root".to_string() } else { format!("uid {uid}") };
    h.fx.operator = Operator::from_kernel(0, Some(1001), claims, "h".into(), &names);
    h.send(Msg::StoreChanged(Tables::ALL));
    h.press("2 a");
    h.press("6");
    let screen = h.screen();
    let row = screen.lines().find(|l| l.contains("acknowledge")).unwrap_or_else(|| panic!("{screen}"));
    assert!(row.contains("root (login") && row.contains("claimed") && !row.contains("alice"), "{row}");
    h.press("enter");
    let screen = h.screen();
    assert!(screen.contains("claimed: SUDO_USER=alice"), "{screen}");
    assert!(screen.contains("claimed: SSH_CONNECTION=203.0.113.99 50000 198.51.100.1 22"), "{screen}");
}
