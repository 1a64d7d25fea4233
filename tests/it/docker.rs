//! Tenants on the real Docker Engine: discovery, isolation that really cuts a tenant off, restore
//! that really brings it back, recovery after a crash half-way, an absent daemon, and the same by
//! keystroke in a real terminal. Images are built here from busybox-static; no registry.

use crate::support;
use crate::support::lab;
use crate::support::tmux;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use lab::Lab;
use rampart::app::msg::Msg;
use rampart::respond::{self, Backend, Outcome, Request};
use rampart::store::writer::{ChangeNotes, StoreWriter, Tables};
use rampart::store::{self, Access};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

fn perform(lab: &Lab, db: &Path, request: Request) -> Outcome {
    perform_with(lab, lab.config.clone(), db, request)
}

fn perform_with(lab: &Lab, docker: rampart::config::DockerConfig, db: &Path, request: Request) -> Outcome {
    let conn = store::open(db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let backend = Backend::Live(Arc::new(rampart::config::Config { docker, ..Default::default() }));
    let outcome = lab.runtime.block_on(respond::perform(&writer, &backend, &support::operator(), &request));
    drop(writer);
    thread.join().unwrap();
    outcome
}

fn query<T: rusqlite::types::FromSql>(db: &Path, sql: &str) -> T {
    store::open(db, Access::ReadOnly).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn ip(networks: &[(String, Option<String>)]) -> String {
    networks[0].1.clone().expect("an address")
}

#[test]
fn isolate_cuts_a_tenant_off_and_restore_brings_it_back() {
    let lab = Lab::new(&[2, 2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let (a, b) = (&lab.tenants[0], &lab.tenants[1]);
    let (a_web, a_client) = (&a.containers[0], &a.containers[1]);
    let b_client = &b.containers[1];
    let a_before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    let b_before: Vec<_> = b.containers.iter().map(|c| lab.networks_of(c)).collect();
    let a_web_ip = ip(&a_before[0]);
    let b_web_ip = ip(&b_before[0]);
    assert!(lab.reaches(a_client, &a_web_ip), "tenant A's client reaches its web container");
    assert!(lab.reaches(b_client, &b_web_ip));

    let outcome =
        perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "shell in web".into(), pause: false });
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.message, format!("isolated {}: 2/2 containers", a.name));
    for c in &a.containers {
        let nets = lab.networks_of(c);
        assert_eq!(
            nets.iter().map(|n| n.0.as_str()).collect::<Vec<_>>(),
            [lab.config.quarantine_network.as_str()],
            "{c} only in quarantine"
        );
    }
    assert!(!lab.reaches(a_client, &a_web_ip), "isolated: the sibling is out of reach");
    let quarantine_ip = lab.networks_of(a_web)[0].1.clone().unwrap();
    assert!(!lab.reaches(a_client, &quarantine_ip), "not even over the quarantine network");
    let b_after: Vec<_> = b.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert_eq!(b_after, b_before, "tenant B is untouched");
    assert!(lab.reaches(b_client, &b_web_ip));
    assert_eq!(query::<String>(&db, &format!("SELECT status FROM tenants WHERE name = '{}'", a.name)), "isolated");
    assert_eq!(
        query::<String>(&db, "SELECT reason || ' / ' || outcome FROM audit WHERE action = 'isolate'"),
        "shell in web / ok"
    );
    assert_eq!(query::<i64>(&db, "SELECT count(*) FROM isolation_journal WHERE step = 'isolate' AND done = 1"), 2);

    // Idempotent: isolating again changes nothing and succeeds.
    let again = perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "again".into(), pause: false });
    assert!(again.ok, "{again:?}");
    assert_eq!(lab.networks_of(a_web).len(), 1);

    let restored = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    let a_after: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert_eq!(a_after, a_before, "the same networks and the same addresses");
    assert!(lab.reaches(a_client, &a_web_ip), "reachable again");
    assert_eq!(query::<String>(&db, &format!("SELECT status FROM tenants WHERE name = '{}'", a.name)), "active");

    let nothing = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(!nothing.ok);
    assert!(nothing.message.contains("has no isolation to undo"), "{nothing:?}");
    assert_eq!(rampart::store::audit::verify(&store::open(&db, Access::ReadOnly).unwrap()).unwrap().first_break, None);
}

/// The restore report's line for `container`.
fn line_of<'a>(outcome: &'a Outcome, container: &str) -> &'a str {
    outcome
        .details
        .iter()
        .find(|l| l.contains(&format!(" {container}  ")))
        .unwrap_or_else(|| panic!("no line for {container}: {outcome:?}"))
}

#[test]
fn restore_gives_every_container_its_own_address_on_a_network_without_a_configured_subnet() {
    // Compose-style: the engine's IPAM picks the subnet and hands out the lowest free address,
    // and refuses a requested address on such a network, so a disconnected container cannot be
    // given its address back. Names sort client1, client2, web; addresses go web, client1, client2.
    let lab = Lab::without_subnets(&[3, 2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let (a, b) = (&lab.tenants[0], &lab.tenants[1]);
    let (a_web, a_client) = (&a.containers[0], &a.containers[1]);
    let (b_web, b_client) = (&b.containers[0], &b.containers[1]);
    // Tenant B's web is on A's network too: a sibling on the shared network.
    lab.attach(b_web, &a.network);
    let a_before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    let b_before: Vec<_> = b.containers.iter().map(|c| lab.networks_of(c)).collect();
    let a_web_ip = lab.address_on(a_web, &a.network).unwrap();
    let b_web_ip = lab.address_on(b_web, &b.network).unwrap();
    assert!(lab.reaches(a_client, &a_web_ip));
    assert!(lab.reaches(b_web, &a_web_ip), "the sibling on the shared network reaches A's web");

    let outcome = perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "worm".into(), pause: false });
    assert!(outcome.ok, "{outcome:?}");
    assert!(!lab.reaches(a_client, &a_web_ip), "isolated: the sibling is out of reach");
    assert!(!lab.reaches(b_web, &a_web_ip), "isolated: the other tenant on the shared network is cut off");
    assert!(!lab.reaches(a_web, &b_web_ip), "isolated: A reaches nothing of B");
    assert_eq!(b.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), b_before, "B is untouched");
    assert!(lab.reaches(b_client, &b_web_ip), "B still works");
    for c in &a.containers {
        assert_eq!(lab.restart_policy(c), "no", "{c} cannot come back by itself while isolated");
    }

    let restored = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    let a_after: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert_eq!(a_after, a_before, "every container has exactly its own address again");
    assert_eq!(b.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), b_before, "B is untouched");
    assert!(lab.reaches(a_client, &a_web_ip), "reachable again");
    assert!(lab.reaches(b_web, &a_web_ip), "reachable again over the shared network");
    for (c, nets) in a.containers.iter().zip(&a_before) {
        let line = line_of(&restored, c);
        let (net, ip) = (&nets[0].0, nets[0].1.as_deref().unwrap());
        assert!(line.contains(&format!("{net}: same address {ip}")), "{line}");
        assert!(!line.contains("new address"), "no new address is reported when none was given: {line}");
        assert_eq!(lab.restart_policy(c), "unless-stopped", "{c}'s restart policy is back");
    }
}

#[test]
fn restore_says_which_container_got_a_new_address() {
    let lab = Lab::without_subnets(&[2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let a = &lab.tenants[0];
    let (a_web, a_client) = (&a.containers[0], &a.containers[1]);
    let web_ip = lab.address_on(a_web, &a.network).unwrap();
    let client_ip = lab.address_on(a_client, &a.network).unwrap();
    assert!(perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "x".into(), pause: false }).ok);
    // While the tenant is isolated, someone takes the client off the network by hand and a new
    // container takes the address it had.
    lab.detach(a_client, &a.network);
    let newcomer = lab.bystander("newcomer", &a.network);
    assert_eq!(lab.address_on(&newcomer, &a.network).as_deref(), Some(client_ip.as_str()));

    let restored = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    let client_now = lab.address_on(a_client, &a.network).expect("the client is back on its network");
    assert_ne!(client_now, client_ip);
    let line = line_of(&restored, a_client);
    assert!(line.contains(&format!("{}: new address {client_ip} → {client_now}", a.network)), "{line}");
    let line = line_of(&restored, a_web);
    assert!(line.contains(&format!("{}: same address {web_ip}", a.network)), "{line}");
    assert!(!line.contains("new address"), "{line}");
}

/// A TCP port on loopback in front of the engine's socket: the engine as rampart sees a remote one.
fn engine_over_tcp(lab: &Lab) -> String {
    let listener = lab.runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    lab.runtime.spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut engine) = tokio::net::UnixStream::connect("/var/run/docker.sock").await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                }
            });
        }
    });
    format!("tcp://127.0.0.1:{port}")
}

#[test]
fn an_engine_elsewhere_is_isolated_by_disconnecting_and_restored_in_address_order() {
    // Reached over TCP, the engine may be on another host: its links cannot be cut here, so the
    // networks are disconnected, and restore reconnects in the order of the old addresses (the
    // engine hands out the lowest free one). Names sort client1, client2, web; addresses go web,
    // client1, client2.
    let lab = Lab::without_subnets(&[3]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let config = rampart::config::DockerConfig { host: Some(engine_over_tcp(&lab)), ..lab.config.clone() };
    let a = &lab.tenants[0];
    let before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    let web_ip = lab.address_on(&a.containers[0], &a.network).unwrap();

    let isolate = Request::Isolate { tenant: a.name.clone(), reason: "x".into(), pause: false };
    let outcome = perform_with(&lab, config.clone(), &db, isolate);
    assert!(outcome.ok, "{outcome:?}");
    for c in &a.containers {
        assert_eq!(
            lab.networks_of(c).iter().map(|n| n.0.as_str()).collect::<Vec<_>>(),
            [config.quarantine_network.as_str()]
        );
        let line = line_of(&outcome, c);
        assert!(line.contains("the engine may not give") && line.contains("is not on this host"), "{line}");
    }
    assert!(!lab.reaches(&a.containers[1], &web_ip));

    let restored = perform_with(&lab, config, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    assert_eq!(a.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), before);
    assert!(lab.reaches(&a.containers[1], &web_ip));
    for (c, nets) in a.containers.iter().zip(&before) {
        let line = line_of(&restored, c);
        assert!(line.contains(&format!("{}: same address {}", nets[0].0, nets[0].1.as_deref().unwrap())), "{line}");
    }
}

#[test]
fn pause_is_journaled_and_undone() {
    let lab = Lab::new(&[2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let a = &lab.tenants[0];
    let outcome = perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "miner".into(), pause: true });
    assert!(outcome.ok, "{outcome:?}");
    assert!(a.containers.iter().all(|c| lab.is_paused(c)));
    assert!(perform(&lab, &db, Request::Restore { tenant: a.name.clone() }).ok);
    assert!(a.containers.iter().all(|c| !lab.is_paused(c)));
}

fn config_file(lab: &Lab, dir: &Path) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[docker]\nlabel = \"{}\"\nquarantine_network = \"{}\"\n",
        lab.config.label, lab.config.quarantine_network
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn rampart(db: &Path, config: &Path, args: &[&str], fault: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()]).args(args);
    if let Some(point) = fault {
        cmd.env(rampart::fault::ENV, point);
    }
    cmd.output().unwrap()
}

fn tenant_status(db: &Path, config: &Path, tenant: &str) -> String {
    let out = rampart(db, config, &["tenants", "list", "--json"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == tenant)
        .map(|t| t["status"].as_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn a_crash_half_way_is_finished_or_undone_by_the_next_run() {
    let lab = Lab::new(&[3]);
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("c.db"), config_file(&lab, dir.path()));
    let a = &lab.tenants[0];
    let before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();

    // Killed right after the first network was disconnected.
    let crashed =
        rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "x"], Some("isolate-after-disconnect"));
    assert!(!crashed.status.success());
    let half: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert!(half.iter().any(Vec::is_empty), "one container was left on no network at all: {half:?}");
    assert_eq!(tenant_status(&db, &config, &a.name), "partially isolated");

    // Undo: every container gets back exactly what the journal saw before the crash.
    let undo = rampart(&db, &config, &["tenants", "restore", &a.name], None);
    assert_eq!(
        undo.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&undo.stdout),
        String::from_utf8_lossy(&undo.stderr)
    );
    let after: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert_eq!(after, before);
    assert_eq!(tenant_status(&db, &config, &a.name), "active");

    // Crash again, and this time finish the isolation instead.
    let crashed =
        rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "x"], Some("isolate-after-disconnect"));
    assert!(!crashed.status.success());
    let finish = rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "finish it"], None);
    assert_eq!(finish.status.code(), Some(0), "{}", String::from_utf8_lossy(&finish.stdout));
    for c in &a.containers {
        assert_eq!(lab.networks_of(c).len(), 1, "{c} only in quarantine");
        assert_eq!(lab.networks_of(c)[0].0, lab.config.quarantine_network);
    }
    // And the restore after that still knows the original networks.
    assert_eq!(rampart(&db, &config, &["tenants", "restore", &a.name], None).status.code(), Some(0));
    assert_eq!(a.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), before);
}

#[test]
fn a_crash_after_cutting_a_link_is_finished_or_undone_with_every_address_kept() {
    let lab = Lab::without_subnets(&[3]);
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("k.db"), config_file(&lab, dir.path()));
    let a = &lab.tenants[0];
    let (web, client1, client2) = (&a.containers[0], &a.containers[1], &a.containers[2]);
    let before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    let web_ip = lab.address_on(web, &a.network).unwrap();

    // Killed right after the first container's link was cut (client1 comes first by name).
    let crashed = rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "x"], Some("isolate-after-cut"));
    assert!(!crashed.status.success());
    assert!(!lab.reaches(client1, &web_ip), "client1 was cut before the crash");
    assert!(lab.reaches(client2, &web_ip), "the crash came before the others");
    assert_eq!(tenant_status(&db, &config, &a.name), "partially isolated");

    let undo = rampart(&db, &config, &["tenants", "restore", &a.name], None);
    assert_eq!(undo.status.code(), Some(0), "{}", String::from_utf8_lossy(&undo.stdout));
    assert_eq!(a.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), before);
    assert!(lab.reaches(client1, &web_ip), "client1's link is up again");
    assert_eq!(tenant_status(&db, &config, &a.name), "active");

    // Crash again, and this time finish the isolation instead.
    let crashed = rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "x"], Some("isolate-after-cut"));
    assert!(!crashed.status.success());
    let finish = rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "finish it"], None);
    assert_eq!(finish.status.code(), Some(0), "{}", String::from_utf8_lossy(&finish.stdout));
    assert!(!lab.reaches(client2, &web_ip), "every link is cut now");
    assert_eq!(tenant_status(&db, &config, &a.name), "isolated");
    assert_eq!(rampart(&db, &config, &["tenants", "restore", &a.name], None).status.code(), Some(0));
    assert_eq!(a.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), before);
    assert!(lab.reaches(client2, &web_ip));
}

#[test]
fn headless_commands_tell_outcomes_apart() {
    let lab = Lab::new(&[1]);
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("h.db"), config_file(&lab, dir.path()));
    let unknown = rampart(&db, &config, &["tenants", "isolate", "no-such-tenant", "--reason", "x"], None);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nothing to isolate"));
    let dead = Command::new(BIN)
        .args([
            "--db",
            db.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "tenants",
            "isolate",
            &lab.tenants[0].name,
            "--reason",
            "x",
        ])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(dead.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&dead.stderr)
        .contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock"));
    assert_eq!(query::<i64>(&db, "SELECT count(*) FROM audit WHERE outcome = 'failed'"), 2, "refusals are audited too");
    let list = rampart(&db, &config, &["tenants", "list"], None);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains(&lab.tenants[0].name) && text.contains("active") && text.contains("1/1"), "{text}");
}

#[test]
fn an_absent_daemon_is_a_pane_state_not_a_crash() {
    let mut h = support::Harness::empty(120, 30);
    let config =
        rampart::config::DockerConfig { host: Some("unix:///nonexistent/docker.sock".into()), ..Default::default() };
    // The source reports, backs off and retries; its first report is enough.
    let unreachable = |c: &rusqlite::Connection| support::status_says(c, "docker", "cannot reach the Docker engine");
    h.run_source_until(|writer| rampart::sources::docker::run(writer, config), unreachable);
    let screen = h.screen();
    assert!(screen.contains("docker: cannot reach the Docker engine at"), "{screen}");
    assert!(screen.contains("unix:///nonexistent/docker.sock"), "{screen}");
    assert!(screen.contains("✖ docker"), "header shows the source down:\n{screen}");
    h.press("3");
    assert!(h.screen().contains("┏ 3 Access log"), "the rest of the console works");
}

#[test]
fn tenants_pane_and_detail_from_the_real_engine() {
    let lab = Lab::new(&[2, 1]);
    let mut h = support::Harness::empty(160, 36);
    let rows = lab.runtime.block_on(rampart::sources::docker::snapshot(&lab.docker, &lab.config)).unwrap();
    assert_eq!(rows.len(), 3);
    rampart::store::tenants::sync(&h.fx.writer, &rows, support::NOW).unwrap();
    h.send(Msg::StoreChanged(Tables::ALL));
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&lab.prefix, "LAB--------");
    settings.add_filter(r"10\.\d{3}\.\d{3}\.", "10.XXX.YYY.");
    settings.bind(|| {
        insta::assert_snapshot!("docker_tenants_pane", h.screen());
        h.press("enter");
        insta::assert_snapshot!("docker_tenant_detail", h.screen());
    });
}

#[test]
fn isolate_and_restore_by_keystroke_in_a_real_terminal() {
    let lab = Lab::new(&[2]);
    let a = &lab.tenants[0];
    let t = tmux::Tmux::start("docker");
    let config = config_file(&lab, t.dir.path());
    let db = t.dir.path().join("k.db");
    t.type_text(&format!("{BIN} --db {} --config {}; echo EXIT=$?", db.display(), config.display()));
    t.key("Enter");
    t.wait_for(&a.name);
    t.key("i");
    t.wait_for("Isolate tenant");
    t.type_text("keystroke test");
    t.key("Enter");
    t.wait_for(&format!("isolated {}: 2/2 containers", a.name));
    let screen = t.wait_for("ISOLATED");
    for c in &a.containers {
        assert!(
            screen.contains(&format!("ok     {c}  1 of 1 networks disconnected")),
            "per-container report:\n{screen}"
        );
    }
    t.key("Escape");
    // The report closes before the next key (sent at once, it would read as Alt+R).
    let report_line = format!("ok     {}  ", a.containers[0]);
    t.wait_until_gone(&report_line);
    for c in &a.containers {
        assert_eq!(lab.networks_of(c)[0].0, lab.config.quarantine_network);
    }
    t.key("R");
    t.wait_for("Restore tenant");
    t.key("y");
    t.wait_for(&format!("restored {}: 2/2 containers", a.name));
    t.key("Escape");
    t.wait_until_gone(&report_line);
    assert_eq!(lab.networks_of(&a.containers[0])[0].0, a.network);
    t.key("q");
    t.wait_for("EXIT=0");
}

#[test]
fn a_network_shared_across_tenants_is_flagged_as_a_lateral_path() {
    let lab = Lab::new(&[1, 1]);
    let (a, b) = (&lab.tenants[0], &lab.tenants[1]);
    let request = bollard::models::NetworkConnectRequest { container: b.containers[0].clone(), endpoint_config: None };
    lab.runtime.block_on(lab.docker.connect_network(&a.network, request)).unwrap();
    let mut h = support::Harness::empty(160, 36);
    let rows = lab.runtime.block_on(rampart::sources::docker::snapshot(&lab.docker, &lab.config)).unwrap();
    rampart::store::tenants::sync(&h.fx.writer, &rows, support::NOW).unwrap();
    h.send(Msg::StoreChanged(Tables::ALL));
    let tenants: Vec<_> = h
        .state
        .pane(rampart::pane::Pane::Tenants)
        .rows
        .iter()
        .filter_map(|r| if let rampart::store::window::Row::Tenant(t) = r { Some(t.clone()) } else { None })
        .collect();
    assert_eq!(tenants.len(), 2);
    for t in &tenants {
        assert_eq!(t.shared_networks, a.network, "{} shares {}", t.name, a.network);
    }
    assert!(h.screen().contains("lateral"));
    h.press("enter");
    assert!(h.screen().contains(&format!("network {} is shared with another tenant's containers", a.network)));
}

/// A Unix-socket proxy in front of the real engine, that can be stopped and started again, so the
/// daemon "goes away" and "comes back" without touching the machine's dockerd.
struct EngineProxy {
    path: PathBuf,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EngineProxy {
    fn start(path: &Path) -> EngineProxy {
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path).unwrap();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut engine) = tokio::net::UnixStream::connect("/var/run/docker.sock").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                });
            }
        });
        EngineProxy { path: path.to_owned(), task: Some(task) }
    }

    /// Stops listening and cuts every open connection (the events stream among them).
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn the_source_says_when_the_daemon_goes_and_resynchronises_when_it_returns() {
    let lab = Lab::new(&[1]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    let sock = dir.path().join("engine.sock");
    let config =
        rampart::config::DockerConfig { host: Some(format!("unix://{}", sock.display())), ..lab.config.clone() };
    let (writer, thread) =
        StoreWriter::spawn(store::open(&db, Access::ReadWrite).unwrap(), Arc::new(ChangeNotes::default()));
    let health = |db: &Path| -> Option<String> {
        store::open(db, Access::ReadOnly)
            .ok()?
            .query_row("SELECT state FROM source_status WHERE source = 'docker'", [], |r| r.get(0))
            .ok()
    };
    let containers = |db: &Path| -> i64 { query(db, "SELECT count(*) FROM containers") };
    async fn until(what: &str, mut check: impl FnMut() -> bool) {
        let start = std::time::Instant::now();
        while !check() {
            assert!(start.elapsed() < std::time::Duration::from_secs(60), "never: {what}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    lab.runtime.block_on(async {
        let mut proxy = EngineProxy::start(&sock);
        let source = tokio::spawn(rampart::sources::docker::run(writer.clone(), config));
        until("first sync", || health(&db).as_deref() == Some("ok") && containers(&db) == 1).await;

        proxy.stop().await;
        until("the pane learns the engine is gone", || health(&db).as_deref() == Some("down")).await;
        // While it is gone, a container appears; the store cannot know yet.
        let extra = format!("{}-late", lab.prefix);
        let body = bollard::models::ContainerCreateBody {
            image: Some(lab::IMAGE.into()),
            cmd: Some(vec!["/bin/sleep".into(), "3600".into()]),
            labels: Some(std::collections::HashMap::from([
                (lab.config.label.clone(), lab.tenants[0].name.clone()),
                ("rampart.test".into(), lab.prefix.clone()),
            ])),
            ..Default::default()
        };
        let options = bollard::query_parameters::CreateContainerOptionsBuilder::default().name(&extra).build();
        lab.docker.create_container(Some(options), body).await.unwrap();
        assert_eq!(containers(&db), 1);

        let _proxy = EngineProxy::start(&sock);
        until("reconnected and resynchronised", || health(&db).as_deref() == Some("ok") && containers(&db) == 2).await;
        source.abort();
        let _ = source.await;
    });
    drop(writer);
    thread.join().unwrap();
}
