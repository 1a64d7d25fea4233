//! Least privilege with real users: the collector runs as root; throw-away users made by the test
//! ask it over its control socket to unban (a real Fail2Ban) and isolate (the real engine). The
//! socket refuses whom the policy does not name, the audit names the kernel's user whatever the
//! environment says, and the store is read but never written by them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::f2b::{Fail2ban, FINITE};
use crate::support::lab::Lab;
use crate::support::users::{as_user, open_dir, rampart_as, said, Accounts};
use crate::support::Collector;
use rampart::store::{self, Access};

/// `rampart collect` as root on `db` with `config`, once its control socket listens.
fn collector(db: &Path, config: &Path, socket: &Path) -> Collector {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["collect", "--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut collector = Collector { child };
    let start = Instant::now();
    // Listening means answering (a socket file alone may be one a dead collector left).
    let answers = || {
        use std::io::{BufRead, Write};
        let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket) else { return false };
        let mut line = String::new();
        stream.write_all(b"{\"action\":\"permissions\"}\n").is_ok()
            && std::io::BufReader::new(stream).read_line(&mut line).is_ok()
            && line.contains("\"outcome\":\"ok\"")
    };
    while !answers() {
        if let Some(status) = collector.child.try_wait().unwrap() {
            panic!("the collector ended ({status}) before it listened on {}", socket.display());
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the collector never listened on {}", socket.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    collector
}

/// The audit rows: (operator, action, outcome, detail).
fn audit(db: &Path) -> Vec<(String, String, String, serde_json::Value)> {
    let conn = store::open(db, Access::ReadOnly).unwrap();
    let mut stmt = conn.prepare("SELECT operator, action, outcome, detail_json FROM audit ORDER BY id").unwrap();
    stmt.query_map([], |r| {
        let detail: String = r.get(3)?;
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, serde_json::from_str(&detail).unwrap()))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn mode_and_group(path: &Path) -> (u32, String) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap();
    let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(meta.gid())).unwrap().unwrap().name;
    (meta.mode() & 0o7777, group)
}

struct Setup {
    dir: tempfile::TempDir,
    db: PathBuf,
    config: PathBuf,
    socket: PathBuf,
}

/// A store folder everyone may enter, a config with `sections` and `[control] group = group`.
fn setup(group: &str, sections: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    open_dir(dir.path());
    let (db, config, socket) = (dir.path().join("r.db"), dir.path().join("config.toml"), dir.path().join("r.db.sock"));
    std::fs::write(&config, format!("{sections}\n[control]\ngroup = \"{group}\"\n")).unwrap();
    Setup { dir, db, config, socket }
}

#[test]
fn unban_through_the_collector_for_oncall_only_audited_as_the_kernel_says() {
    let f = Fail2ban::start();
    f.fail(FINITE, "203.0.113.77", 3);
    f.wait_banned(FINITE, "203.0.113.77");
    let mut accounts = Accounts::default();
    let (operators, oncall) = (accounts.group("op"), accounts.group("oc"));
    let inside = accounts.user("in", &[&operators, &oncall]);
    let outside = accounts.user("out", &[&operators]);
    let stranger = accounts.user("st", &[]);
    let s = setup(
        &operators,
        &format!(
            "[fail2ban]\ndatabase = \"{}\"\nsocket = \"{}\"\n[operators]\nunban = [\"group:{oncall}\"]\n",
            f.config.database.display(),
            f.config.socket.display()
        ),
    );
    let _collector = collector(&s.db, &s.config, &s.socket);
    assert_eq!(mode_and_group(&s.socket), (0o660, operators.clone()));

    // Outside the policy: refused, and Fail2Ban still holds the address.
    let (code, _, err) = said(rampart_as(&outside, &s.db, &s.config).args(["bans", "unban", "203.0.113.77"]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim(), format!("refused by the collector ({outside}): unban: only members of {oncall}"));
    // Not in the operators' group: the socket itself refuses.
    let (code, _, err) = said(rampart_as(&stranger, &s.db, &s.config).args(["bans", "unban", "203.0.113.77"]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("refuses this user"), "{err}");
    assert!(f.banned(FINITE).contains(&"203.0.113.77".to_string()));

    // Inside: unbanned by Fail2Ban, for real.
    let (code, out, err) = said(rampart_as(&inside, &s.db, &s.config).args(["bans", "unban", "203.0.113.77"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), format!("unbanned 203.0.113.77 from {FINITE} (by the collector, as {inside})"));
    assert!(!f.banned(FINITE).contains(&"203.0.113.77".to_string()));

    // The audit names the kernel's users; what the environment said is a claim only.
    let rows = audit(&s.db);
    let (operator, action, outcome, detail) = &rows[rows.len() - 2];
    assert_eq!((operator.as_str(), action.as_str(), outcome.as_str()), (outside.as_str(), "unban", "failed"));
    assert_eq!(detail["refused"], true);
    let (operator, action, outcome, detail) = &rows[rows.len() - 1];
    assert_eq!((operator.as_str(), action.as_str(), outcome.as_str()), (inside.as_str(), "unban", "ok"));
    let uid = nix::unistd::User::from_name(&inside).unwrap().unwrap().uid.as_raw();
    assert_eq!(detail["uid"], uid);
    assert!(detail["pid"].as_u64().is_some_and(|pid| pid > 1), "{detail}");
    assert_eq!(detail["claimed"]["SUDO_USER"], "root");
    assert_eq!(detail["claimed"]["SSH_CONNECTION"], "203.0.113.250 50000 10.0.0.1 22");
    assert!(rows.iter().all(|(op, ..)| op != "root"), "{rows:?}");

    // Both read the store (a WAL database they may not write), neither writes it.
    for path in rampart::control::share::files_of(&s.db).iter().filter(|p| p.exists()) {
        assert_eq!(mode_and_group(path), (0o640, operators.clone()), "{}", path.display());
    }
    let (code, out, err) = said(as_user(&outside).args(["--db", s.db.to_str().unwrap(), "audit", "list", "--json"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("\"operator\": \"{inside}\"")), "{out}");
    for user in [&inside, &outside] {
        let mut write = std::process::Command::new("setpriv");
        write
            .args(["--reuid", user, "--regid", user, "--init-groups", "--", "sh", "-c"])
            .arg(format!("echo x >> {0} || echo x >> {0}-wal || echo x >> {0}-shm", s.db.display()));
        let (code, _, err) = said(&mut write);
        assert_ne!(code, 0, "{user} wrote into the store");
        assert!(err.contains("Permission denied"), "{err}");
    }
    let (code, _, _) = said(
        std::process::Command::new("setpriv")
            .args(["--reuid", &stranger, "--regid", &stranger, "--init-groups", "--", "cat"])
            .arg(&s.db),
    );
    assert_ne!(code, 0, "a user outside the operators' group read the store");
    // A signing key made on this host is root's alone (the folder 0700, the key 0600).
    let keys = s.dir.path().join("keys");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "integrity",
            "--db",
            s.db.to_str().unwrap(),
            "keygen",
            "--bits",
            "2048",
            "--out",
            keys.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for user in [&inside, &outside] {
        let (code, _, err) = said(
            std::process::Command::new("setpriv")
                .args(["--reuid", user, "--regid", user, "--init-groups", "--", "cat"])
                .arg(keys.join("private.pem")),
        );
        assert_ne!(code, 0, "{user} read the private key");
        assert!(err.contains("Permission denied"), "{err}");
    }
    drop(s.dir);
}

#[test]
fn isolate_and_restore_through_the_collector_for_secops_only() {
    let lab = Lab::new(&[2]);
    let tenant = &lab.tenants[0];
    let mut accounts = Accounts::default();
    let (operators, secops) = (accounts.group("op"), accounts.group("so"));
    let engineer = accounts.user("se", &[&operators, &secops]);
    let oncall = accounts.user("oc", &[&operators]);
    let s = setup(
        &operators,
        &format!(
            "[docker]\nlabel = \"{}\"\nquarantine_network = \"{}\"\n[operators]\nisolate = [\"group:{secops}\"]\n\
             restore = [\"group:{secops}\"]\n",
            lab.config.label, lab.config.quarantine_network
        ),
    );
    let _collector = collector(&s.db, &s.config, &s.socket);
    let before = lab.networks_of(&tenant.containers[0]);
    let isolate = ["tenants", "isolate", tenant.name.as_str(), "--reason", "shell in container"];
    let (code, _, err) = said(rampart_as(&oncall, &s.db, &s.config).args(isolate));
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim(), format!("refused by the collector ({oncall}): isolate: only members of {secops}"));
    assert_eq!(lab.networks_of(&tenant.containers[0]), before, "nothing was done");

    let (code, out, err) = said(rampart_as(&engineer, &s.db, &s.config).args(isolate));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("isolated {}: 2/2 containers (by the collector, as {engineer})", tenant.name)),
        "{out}"
    );
    for c in &tenant.containers {
        assert!(lab.networks_of(c).is_empty(), "{c} is still on {:?}", lab.networks_of(c));
    }
    let (code, out, err) = said(rampart_as(&engineer, &s.db, &s.config).args(["tenants", "restore", &tenant.name]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lab.networks_of(&tenant.containers[0]), before);
    let rows = audit(&s.db);
    let acted: Vec<(&str, &str, &str)> =
        rows.iter().map(|(op, action, outcome, _)| (op.as_str(), action.as_str(), outcome.as_str())).collect();
    assert_eq!(
        acted,
        [
            (oncall.as_str(), "isolate", "failed"),
            (engineer.as_str(), "isolate", "ok"),
            (engineer.as_str(), "restore", "ok")
        ]
    );
    assert!(rows.iter().all(|(_, _, _, d)| d["claimed"]["SUDO_USER"] == "root"));
}

#[test]
fn a_console_outside_the_policy_is_read_only_and_says_why_and_without_a_collector_says_how_to_start_it() {
    let mut accounts = Accounts::default();
    let (operators, secops) = (accounts.group("op"), accounts.group("so"));
    let oncall = accounts.user("oc", &[&operators]);
    let s = setup(&operators, &format!("[operators]\nisolate = [\"group:{secops}\"]\nunban = [\"user:{oncall}\"]\n"));
    let mut collector = collector(&s.db, &s.config, &s.socket);
    let t = crate::support::tmux::Tmux::start("privilege");
    // Each run ends by saying so, so the user is not removed while its console still runs.
    let console = format!(
        "setpriv --reuid {oncall} --regid {oncall} --init-groups {} --db {} --config {}; echo EXIT=$?",
        env!("CARGO_BIN_EXE_rampart"),
        s.db.display(),
        s.config.display()
    );
    t.type_text(&console);
    t.key("Enter");
    let screen = t.wait_for("viewer (collector: pid");
    assert!(!screen.contains("READ-ONLY"), "{oncall} may unban:\n{screen}");
    t.key("1");
    t.key("i");
    t.wait_for(&format!("isolate: only members of {secops}"));
    t.key("4");
    t.key("b");
    t.wait_for("ban: only root");
    t.key("q");
    t.wait_for("EXIT=0");

    // No collector: the console reads what is stored and says what actions need.
    // Stopped as systemd stops it: the socket goes with it.
    let pid = nix::unistd::Pid::from_raw(collector.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    collector.child.wait().unwrap();
    assert!(!s.socket.exists(), "the collector left its socket behind");
    t.type_text("clear");
    t.key("Enter");
    t.type_text(&console);
    t.key("Enter");
    t.wait_for("READ-ONLY");
    t.key("1");
    t.key("i");
    t.wait_for("isolate is disabled: read-only (actions need the collector");
    t.key("q");
    t.wait_until_gone("READ-ONLY");
    t.wait_for("EXIT=0");
}

/// Sends `bytes` on a fresh connection to `socket` and reads the answer line.
fn raw(socket: &Path, bytes: &[u8]) -> serde_json::Value {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    // The collector may answer (and close) before a long request is all written.
    let _ = stream.write_all(bytes);
    let mut line = String::new();
    std::io::BufReader::new(stream).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

#[test]
fn the_socket_refuses_what_is_not_a_well_formed_request_before_anything_is_done() {
    let mut accounts = Accounts::default();
    let operators = accounts.group("op");
    let s = setup(&operators, "");
    let _collector = collector(&s.db, &s.config, &s.socket);
    let refused = |answer: serde_json::Value, message: &str| {
        assert_eq!(answer["outcome"], "refused", "{answer}");
        assert_eq!(answer["message"], message, "{answer}");
    };
    let mut long = br#"{"action":"restore","target":""#.to_vec();
    long.extend(std::iter::repeat_n(b'a', 20_000));
    long.extend(b"\"}\n");
    refused(raw(&s.socket, &long), "a request is one line of at most 16384 bytes");
    refused(raw(&s.socket, b"\xff\xfe not utf-8\n"), "a request is one line of UTF-8 JSON");
    // Who acts is never the caller's to say.
    let answer = raw(&s.socket, b"{\"action\":\"restore\",\"target\":\"acme\",\"operator\":\"alice\"}\n");
    assert!(answer["message"].as_str().unwrap().starts_with("not a request: unknown field `operator`"), "{answer}");
    refused(raw(&s.socket, b"{\"action\":\"unban\",\"target\":\"--all\"}\n"), "unban: '--all' is not an IP address");
    refused(
        raw(&s.socket, b"{\"action\":\"ban\",\"target\":\"192.0.2.1\",\"jail\":\"-x\",\"reason\":\"r\"}\n"),
        "'-x' is not a jail name",
    );
    // Root (this test) may do everything; the answer says who the collector took it for.
    let answer = raw(&s.socket, b"{\"action\":\"permissions\"}\n");
    assert_eq!(answer["operator"], "root");
    assert!(answer["permissions"].as_object().unwrap().values().all(|v| v.is_null()), "{answer}");
    // Nothing of the above reached the audit.
    assert!(audit(&s.db).is_empty());
}

#[test]
fn a_collector_that_died_leaves_a_socket_that_says_so_and_the_next_one_replaces_it() {
    let mut accounts = Accounts::default();
    let operators = accounts.group("op");
    let oncall = accounts.user("oc", &[&operators]);
    let s = setup(&operators, "[operators]\nrestore = [\"group:nobody-here\"]\n");
    let mut first = collector(&s.db, &s.config, &s.socket);
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(s.socket.exists(), "SIGKILL leaves the socket behind");
    let (code, _, err) = said(rampart_as(&oncall, &s.db, &s.config).args(["tenants", "restore", "acme"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.starts_with(&format!("restore: actions need the collector, and none listens on {}", s.socket.display())),
        "{err}"
    );
    let _second = collector(&s.db, &s.config, &s.socket);
    let (code, _, err) = said(rampart_as(&oncall, &s.db, &s.config).args(["tenants", "restore", "acme"]));
    assert_eq!(
        (code, err.trim()),
        (2, format!("refused by the collector ({oncall}): restore: only members of nobody-here").as_str())
    );

    // A group the config names must exist: the collector says so and does not start.
    let other = setup("no-such-group-here", "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["collect", "--db", other.db.to_str().unwrap(), "--config", other.config.to_str().unwrap()])
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("[control] group = \"no-such-group-here\": no such group (groupadd --system no-such-group-here)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_console_inside_the_policy_unbans_by_keystroke_through_the_collector() {
    let f = Fail2ban::start();
    f.fail(FINITE, "203.0.113.62", 3);
    f.wait_banned(FINITE, "203.0.113.62");
    let mut accounts = Accounts::default();
    let (operators, oncall) = (accounts.group("op"), accounts.group("oc"));
    let engineer = accounts.user("en", &[&operators, &oncall]);
    let s = setup(
        &operators,
        &format!(
            "[fail2ban]\ndatabase = \"{}\"\nsocket = \"{}\"\n[operators]\nunban = [\"group:{oncall}\"]\n",
            f.config.database.display(),
            f.config.socket.display()
        ),
    );
    let _collector = collector(&s.db, &s.config, &s.socket);
    let t = crate::support::tmux::Tmux::start("privilege-unban");
    t.type_text(&format!(
        "SUDO_USER=root setpriv --reuid {engineer} --regid {engineer} --init-groups {} --db {} --config {}; echo EXIT=$?",
        env!("CARGO_BIN_EXE_rampart"),
        s.db.display(),
        s.config.display()
    ));
    t.key("Enter");
    t.wait_for("203.0.113.62");
    t.key("4");
    t.wait_for("┏ 4 Bans");
    t.key("u");
    t.wait_for("Unban 203.0.113.62 from jail web-login?");
    t.key("y");
    t.wait_for("unbanned 203.0.113.62 from web-login");
    assert!(!f.banned(FINITE).contains(&"203.0.113.62".to_string()));
    t.key("q");
    t.wait_for("EXIT=0");
    let rows = audit(&s.db);
    let (operator, action, outcome, detail) = rows.last().unwrap();
    assert_eq!((operator.as_str(), action.as_str(), outcome.as_str()), (engineer.as_str(), "unban", "ok"));
    assert_eq!(detail["claimed"]["SUDO_USER"], "root");
}

/// Indexes another user planted where a store's belong, in a folder everyone may write (as /tmp):
/// they decide which rows a filter reads, so believing them would let that user hide rows — here,
/// indexes made to claim they cover every row and list none of the attacker's. A reader ignores
/// them and its filter scans, finding every row; the collector refuses to start beside them and
/// says what to do; once they are removed, the indexes are rebuilt from the events.
#[test]
fn indexes_another_user_planted_beside_a_store_are_not_believed() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    let mut accounts = Accounts::default();
    let planter = accounts.user("pl", &[]);
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let event = |i: i64, ip: &str| rampart::store::access::AccessEvent {
        ts: 1_760_000_000_000 + i * 1000,
        tenant: "acme".into(),
        src_ip: ip.into(),
        method: "GET".into(),
        path: format!("/login/{i}"),
        status: 401,
        user_agent: "curl/8".into(),
        source: "test".into(),
        ..Default::default()
    };
    // root's store, its indexes not made yet (as after an upgrade, or once removed).
    let db = shared.path().join("s.db");
    let id: String = {
        let conn = store::open(&db, Access::ReadWrite).unwrap();
        let rows: Vec<_> =
            (0..500).map(|i| event(i, if i % 50 == 0 { "203.0.113.66" } else { "198.51.100.1" })).collect();
        rampart::store::access::insert_many(&conn, &rows).unwrap();
        conn.query_row("SELECT id FROM store_identity", [], |r| r.get(0)).unwrap()
    };
    for file in rampart::store::index_db::files_of(&db) {
        let _ = std::fs::remove_file(file);
    }
    // The forgery: real indexes of a store with the same times and none of the attacker's rows,
    // labelled as this store's.
    let theirs = tempfile::tempdir().unwrap();
    let forged = {
        let other = theirs.path().join("other.db");
        let conn = store::open(&other, Access::ReadWrite).unwrap();
        let rows: Vec<_> = (0..500).map(|i| event(i, "198.51.100.1")).collect();
        rampart::store::access::insert_many(&conn, &rows).unwrap();
        rampart::store::indexer::catch_up(&conn).unwrap();
        drop(conn);
        let ix = rampart::store::index_db::open_writer(&other).unwrap();
        ix.execute("UPDATE index_of SET store = ?1", [&id]).unwrap();
        ix.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        drop(ix);
        let forged = theirs.path().join("forged");
        std::fs::copy(rampart::store::index_db::path_of(&other), &forged).unwrap();
        std::fs::set_permissions(&forged, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(theirs.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        forged
    };
    let planted = rampart::store::index_db::path_of(&db);
    let mut cp = Command::new("setpriv");
    cp.args(["--reuid", &planter, "--regid", &planter, "--init-groups", "--", "cp"]).arg(&forged).arg(&planted);
    let (code, _, err) = said(&mut cp);
    assert_eq!(code, 0, "{err}");
    // While the folder is open to everyone, no indexes are kept there at all (a file could be put
    // where they belong between a check and SQLite's opening it); closed again, what was planted
    // meanwhile stays, and its owner is what gives it away.
    let kept = rampart::store::index_db::not_kept(&db).unwrap();
    assert!(kept.contains("is writable by others") && kept.contains("filters scan"), "{kept}");
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    let bin = env!("CARGO_BIN_EXE_rampart");
    let db_arg = db.to_str().unwrap();
    let listed =
        said(Command::new(bin).args(["--db", db_arg, "access", "list", "--json", "--filter", "ip:203.0.113.66"]));
    assert_eq!(listed.0, 0, "{}", listed.2);
    assert_eq!(listed.1.matches("203.0.113.66").count(), 10, "a reader scans past the planted indexes: {}", listed.1);
    let refused = store::open(&db, Access::ReadWrite).unwrap_err().to_string();
    assert!(refused.contains("s.db-index belongs to uid") && refused.contains("remove the file"), "{refused}");
    let collect = said(Command::new("timeout").args(["60", bin, "--db", db_arg, "collect"]));
    assert!(collect.0 != 0 && collect.0 != 124, "the collector started beside planted indexes: {collect:?}");
    assert!(collect.2.contains("belongs to uid") && collect.2.contains("remove the file"), "{}", collect.2);

    std::fs::remove_file(&planted).unwrap();
    let conn = store::open(&db, Access::ReadWrite).unwrap();
    assert_eq!(rampart::store::indexer::catch_up(&conn).unwrap().through, 500, "rebuilt from the events");
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&planted).unwrap()), 0, "root's, as the store");
    let listed =
        said(Command::new(bin).args(["--db", db_arg, "access", "list", "--json", "--filter", "ip:203.0.113.66"]));
    assert_eq!(listed.1.matches("203.0.113.66").count(), 10, "{}", listed.1);
    drop(conn);

    // Another user only reading makes no files of its own beside the indexes (they would not be
    // believed, and would keep the collector from starting).
    for file in &rampart::store::index_db::files_of(&db)[..2] {
        let _ = std::fs::remove_file(file);
    }
    let (code, out, err) = said(crate::support::users::as_user(&planter).args([
        "--db",
        db_arg,
        "access",
        "list",
        "--json",
        "--filter",
        "ip:203.0.113.66",
    ]));
    assert_eq!((code, out.matches("203.0.113.66").count()), (0, 10), "{err}");
    for file in &rampart::store::index_db::files_of(&db)[..2] {
        assert!(!file.exists(), "{} made by a reader", file.display());
    }
    drop(store::open(&db, Access::ReadWrite).unwrap());

    // A -wal of the indexes another user left there is removed by the owner's next open.
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let wal = &rampart::store::index_db::files_of(&db)[0];
    let _ = std::fs::remove_file(wal);
    let mut touch = Command::new("setpriv");
    touch.args(["--reuid", &planter, "--regid", &planter, "--init-groups", "--", "touch"]).arg(wal);
    assert_eq!(said(&mut touch).0, 0);
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    drop(store::open(&db, Access::ReadWrite).unwrap());
    assert!(wal.metadata().map_or(true, |m| std::os::unix::fs::MetadataExt::uid(&m) == 0), "the planted -wal is gone");
}
