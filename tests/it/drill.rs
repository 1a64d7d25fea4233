//! `rampart drill` on the real engine and a real Fail2Ban: a throw-away attacker brute-forces a
//! tenant's web container that logs each request to its output, and the checklist shows it seen,
//! alerted and banned with no key pressed, with why the ban does not contain it (the dummy
//! action filters nothing); the clean-up removes the attacker and lifts the ban; the drill's
//! alerts are marked as a drill's. A tenant whose web container is not followed is named.

use crate::respond_rules::{config, Running};
use crate::support;
use crate::support::f2b::{Fail2ban, FINITE};
use crate::support::lab::{Lab, IMAGE};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, InspectContainerOptions, StartContainerOptions};
use rampart::config::Config;
use rampart::drill::checklist::{Scenario, Stage};
use rampart::drill::{self, Leftovers, Plan};
use rampart::store::writer::{ChangeNotes, StoreWriter};
use rampart::store::{self, Access};

/// A web container of `tenant` on its network: busybox httpd with /login behind a password, each
/// request written to standard output as a combined line (when `followed`, labelled so).
fn web(lab: &Lab, followed: bool) -> String {
    let tenant = &lab.tenants[0];
    let name = format!("{}-web", lab.prefix);
    let script = r#"printf '/login:admin:secret\n' > /etc/httpd.conf
/bin/httpd -f -vv -p 80 -h /www -c /etc/httpd.conf 2>&1 | while read -r peer what; do
case "$what" in
url:*) url=${what#url:} ;;
response:*) ip=${peer#[}; ip=${ip#::ffff:}; ip=${ip%%]*}; m=GET; [ "$url" = /login ] && m=POST
echo "$ip - - [$(busybox date -u '+%d/%b/%Y:%H:%M:%S +0000')] \"$m $url HTTP/1.1\" ${what#response:} 0 \"-\" \"-\"" ;;
esac; done"#;
    let mut labels = HashMap::from([
        (lab.config.label.clone(), tenant.name.clone()),
        ("rampart.test".to_string(), lab.prefix.clone()),
    ]);
    if followed {
        labels.insert(crate::engine_logs::access_label(lab), "combined".into());
    }
    let body = ContainerCreateBody {
        image: Some(IMAGE.into()),
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), script.into()]),
        labels: Some(labels),
        host_config: Some(HostConfig { network_mode: Some(tenant.network.clone()), ..Default::default() }),
        ..Default::default()
    };
    lab.runtime.block_on(async {
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        lab.docker.create_container(Some(options), body).await.expect("creating the web container");
        lab.docker.start_container(&name, None::<StartContainerOptions>).await.expect("starting it");
    });
    name
}

fn drill_config(lab: &Lab, f2b: &Fail2ban) -> Config {
    Config { docker: lab.config.clone(), engine_logs: crate::engine_logs::config(lab), ..config(f2b, false, 10) }
}

/// Runs the drill as `rampart drill` does (its own writer on the store), then its clean-up.
fn drill(
    lab: &Lab,
    db: &std::path::Path,
    config: &Config,
    scenarios: Vec<Scenario>,
    wait: u64,
) -> (drill::checklist::Report, Vec<String>) {
    let conn = store::open(db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let plan = Plan { tenant: lab.tenants[0].name.clone(), scenarios, dry_run: false, wait: Duration::from_secs(wait) };
    let config = Arc::new(config.clone());
    let left = Arc::new(Mutex::new(Leftovers::default()));
    let out = lab.runtime.block_on(async {
        let report = drill::run(&writer, db, config.clone(), &plan, left.clone(), &support::operator()).await;
        let cleanup = drill::clean_up(&writer, &config, &left, false).await;
        (report, cleanup)
    });
    drop(writer);
    thread.join().unwrap();
    out
}

fn exists(lab: &Lab, container: &str) -> bool {
    lab.runtime.block_on(lab.docker.inspect_container(container, None::<InspectContainerOptions>)).is_ok()
}

#[test]
fn a_brute_force_drill_is_seen_alerted_and_banned_and_cleaned_up() {
    let lab = Lab::new(&[0]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let config = drill_config(&lab, &f2b);
    let running = Running::start_with(&db, config.clone(), true);
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    let web = web(&lab, true);
    support::wait_for("the rules at work", || support::status_says(&reader, "respond", "1 rules"), |ok| *ok);
    let (report, cleanup) = drill(&lab, &db, &config, vec![Scenario::BruteForce], 30);
    let lines = report.lines().join("\n");
    let stage = |s: Stage| report.checks.iter().find(|c| c.stage == s).unwrap_or_else(|| panic!("{lines}"));
    assert!(stage(Stage::Seen).ok, "{lines}");
    assert!(stage(Stage::Alerted).ok && stage(Stage::Alerted).note.contains("Brute-force login"), "{lines}");
    assert!(stage(Stage::Banned).ok, "{lines}");
    assert!(stage(Stage::Seen).after_ms.is_some() && stage(Stage::Banned).after_ms.is_some(), "{lines}");
    // Fail2Ban's dummy action filters nothing: the checklist says why the ban did not contain it.
    assert!(!stage(Stage::Contained).ok, "{lines}");
    assert!(stage(Stage::Contained).note.contains("DOCKER-USER"), "{lines}");
    eprintln!("{lines}");
    let ip = report.attacker_ip.clone().unwrap();
    assert!(report.target.as_deref().unwrap().starts_with(&web), "{lines}");
    // Cleaned up: the attacker gone, its ban lifted.
    let attacker = report.attacker.clone().unwrap();
    assert!(!exists(&lab, &attacker), "{cleanup:?}");
    assert!(cleanup.iter().any(|c| c == &format!("ban of {ip} in {FINITE} lifted")), "{cleanup:?}");
    f2b.wait("the ban lifted", || !f2b.banned(FINITE).contains(&ip));
    // The drill's alerts are a drill's: acknowledged by it and tagged.
    let marked: Vec<(String, String)> = reader
        .prepare("SELECT acked_by, tags FROM alerts WHERE src_ip = ?")
        .unwrap()
        .query_map([&ip], |r| Ok((r.get::<_, Option<String>>(0)?.unwrap_or_default(), r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!marked.is_empty());
    for (by, tags) in &marked {
        assert_eq!(by, &format!("rampart (drill {})", report.drill));
        assert!(tags.split(',').any(|t| t == "drill"), "{tags}");
    }
    // `rampart report` tells them as a drill's.
    let tenant = &lab.tenants[0].name;
    let incident = rampart::report::Report::build(&reader, tenant, "1h", None, rampart::store::now_ms()).unwrap();
    let markdown = incident.markdown();
    let drill_line = format!("DRILL, not an incident \\(rampart \\(drill {}\\)\\)", report.drill);
    assert!(markdown.contains(&drill_line), "{markdown}");
    // Audited with its id.
    let (operator, drill_id): (String, i64) = reader
        .query_row("SELECT operator, json_extract(detail_json, '$.drill') FROM audit WHERE action = 'drill'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((operator, drill_id), (support::operator().name, report.drill));
    drop(running);
}

#[test]
fn a_drill_names_a_web_container_that_is_not_followed() {
    let lab = Lab::new(&[0]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let config = drill_config(&lab, &f2b);
    let running = Running::start_with(&db, config.clone(), true);
    let web = web(&lab, false);
    let (report, _) = drill(&lab, &db, &config, vec![Scenario::BruteForce], 5);
    let lines = report.lines().join("\n");
    let seen = report.checks.iter().find(|c| c.stage == Stage::Seen).expect("a seen stage");
    assert!(!seen.ok, "{lines}");
    assert_eq!(
        seen.note,
        format!(
            "{}'s web container is not followed: add the label {}=combined (or json) to {web}",
            lab.tenants[0].name,
            crate::engine_logs::access_label(&lab)
        )
    );
    assert!(!report.ok());
    drop(running);
}

#[test]
fn a_web_drill_sends_scanner_and_injection_paths_that_are_alerted() {
    let lab = Lab::new(&[0]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let mut config = drill_config(&lab, &f2b);
    config.respond[0].rule = Some("Web attack pattern".into());
    let running = Running::start_with(&db, config.clone(), true);
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    web(&lab, true);
    support::wait_for("the rules at work", || support::status_says(&reader, "respond", "1 rules"), |ok| *ok);
    let (report, _) = drill(&lab, &db, &config, vec![Scenario::Web], 30);
    let lines = report.lines().join("\n");
    eprintln!("{lines}");
    let stage = |s: Stage| report.checks.iter().find(|c| c.stage == s).unwrap_or_else(|| panic!("{lines}"));
    assert!(stage(Stage::Seen).ok && stage(Stage::Alerted).ok && stage(Stage::Banned).ok, "{lines}");
    assert!(stage(Stage::Alerted).note.contains("Web attack pattern"), "{lines}");
    drop(running);
}

/// The drill's attackers on `network` now.
fn attackers_on(lab: &Lab, network: &str) -> Vec<String> {
    use bollard::query_parameters::ListContainersOptionsBuilder;
    let filters = HashMap::from([
        ("label".to_string(), vec![drill::attacker::LABEL.to_string()]),
        ("network".to_string(), vec![network.to_string()]),
    ]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let list = lab.runtime.block_on(lab.docker.list_containers(Some(options))).unwrap();
    list.into_iter().filter_map(|c| c.names.and_then(|n| n.first().cloned())).collect()
}

#[test]
fn rampart_drill_stopped_by_sigterm_removes_its_attacker() {
    let lab = Lab::new(&[0]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    web(&lab, true);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[docker]\nlabel = \"{}\"\nquarantine_network = \"{}\"\n\n[engine_logs]\nlabel = \"{}\"\n",
            lab.config.label,
            lab.config.quarantine_network,
            crate::engine_logs::access_label(&lab)
        ),
    )
    .unwrap();
    // No collector: the drill waits at "seen" for as long as --wait says, and is stopped there.
    let child = support::rampart()
        .args(["drill", &lab.tenants[0].name, "--wait", "120", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let network = lab.tenants[0].network.clone();
    support::wait_for("the attacker started", || attackers_on(&lab, &network), |a| !a.is_empty());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("the drill was interrupted; what it started is cleaned up"), "{stderr}");
    assert!(stdout.starts_with("clean-up: attacker rampart-drill-1-") && stdout.contains(" removed"), "{stdout}");
    assert!(attackers_on(&lab, &network).is_empty(), "the attacker is gone");
}

#[test]
fn a_tamper_drill_finds_the_file_it_added_and_removes_it() {
    use crate::support::Homed;
    let lab = Lab::new(&[0]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("index.html"), "hello\n").unwrap();
    let rampart = |args: &[&str]| {
        let o = support::rampart().args(args).home(dir.path()).env("RAMPART_DB", &db).output().unwrap();
        assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    };
    let keys = dir.path().join("keys");
    rampart(&["integrity", "keygen", "--out", keys.to_str().unwrap(), "--bits", "2048"]);
    let private = keys.join("private.pem");
    rampart(&["integrity", "baseline", "web", tree.to_str().unwrap(), "--key", private.to_str().unwrap()]);
    let (manifest, public): (String, String) = store::open(&db, Access::ReadOnly)
        .unwrap()
        .query_row("SELECT manifest_path, pubkey_path FROM integrity_targets WHERE name = 'web'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let mut config = drill_config(&lab, &f2b);
    config.integrity = vec![rampart::integrity::TargetConfig {
        name: "web".into(),
        root: tree.clone(),
        manifest: manifest.into(),
        public_key: public.into(),
        key_fingerprint: None,
        tenant: Some(lab.tenants[0].name.clone()),
        exclude: None,
        every: None,
    }];
    web(&lab, true);
    let (report, cleanup) = drill(&lab, &db, &config, vec![Scenario::Tamper], 5);
    let lines = report.lines().join("\n");
    let drift = report.checks.iter().find(|c| c.stage == Stage::DriftFound).unwrap_or_else(|| panic!("{lines}"));
    assert!(drift.ok, "{lines}");
    let added = tree.join(format!(".rampart-drill-{}", report.drill));
    assert_eq!(drift.note, format!("2 entries differ in web ({} added, its folder changed)", added.display()));
    assert!(!added.exists(), "removed again: {cleanup:?}");
    assert!(cleanup.contains(&format!("{} removed", added.display())), "{cleanup:?}");
}

#[test]
fn a_cross_tenant_drill_probes_from_another_tenants_network_and_is_alerted() {
    let lab = Lab::new(&[0, 1]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let mut config = drill_config(&lab, &f2b);
    config.respond[0].rule = Some("Cross-tenant access".into());
    let mut running = Running::start_with(&db, config.clone(), true);
    // The Docker source, as the collector runs it: whose address is whose.
    let writer = running.writer.clone().unwrap();
    let docker = running.runtime.spawn(rampart::sources::docker::run(writer, lab.config.clone()));
    running.tasks.push(docker);
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    web(&lab, true);
    support::wait_for("the rules at work", || support::status_says(&reader, "respond", "1 rules"), |ok| *ok);
    let (report, cleanup) = drill(&lab, &db, &config, vec![Scenario::CrossTenant], 30);
    let lines = report.lines().join("\n");
    eprintln!("{lines}");
    let stage = |s: Stage| report.checks.iter().find(|c| c.stage == s).unwrap_or_else(|| panic!("{lines}"));
    assert!(stage(Stage::Seen).ok && stage(Stage::Alerted).ok, "{lines}");
    assert!(stage(Stage::Alerted).note.contains("Cross-tenant access"), "{lines}");
    assert!(stage(Stage::Banned).ok, "{lines}");
    assert_eq!(
        cleanup.iter().filter(|c| c.starts_with("attacker ") && c.ends_with(" removed")).count(),
        2,
        "{cleanup:?}"
    );
    drop(running);
}

#[test]
fn a_drill_whose_rule_isolates_is_contained_and_the_tenant_restored_afterwards() {
    use rampart::config::respond::RespondAction;
    let lab = Lab::new(&[0]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let mut config = drill_config(&lab, &f2b);
    config.respond[0].action = RespondAction::Isolate;
    let running = Running::start_with(&db, config.clone(), true);
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    let web = web(&lab, true);
    support::wait_for("the rules at work", || support::status_says(&reader, "respond", "1 rules"), |ok| *ok);
    let (report, cleanup) = drill(&lab, &db, &config, vec![Scenario::BruteForce], 30);
    let lines = report.lines().join("\n");
    eprintln!("{lines}");
    let contained = report.checks.iter().find(|c| c.stage == Stage::Contained).unwrap_or_else(|| panic!("{lines}"));
    assert!(contained.ok, "{lines}");
    let tenant = &lab.tenants[0].name;
    assert!(cleanup.contains(&format!("{tenant} restored")), "{cleanup:?}");
    assert!(lab.address_on(&web, &lab.tenants[0].network).is_some(), "the web container is back on its network");
    drop(running);
}

#[test]
fn a_dry_run_names_the_target_and_what_is_missing_and_starts_nothing() {
    let lab = Lab::new(&[0]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    store::open(&db, Access::ReadWrite).unwrap();
    let config = Arc::new(drill_config(&lab, &f2b));
    let web = web(&lab, false);
    let conn = store::open(&db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let tenant = lab.tenants[0].name.clone();
    let plan =
        Plan { tenant: tenant.clone(), scenarios: Scenario::ALL.to_vec(), dry_run: true, wait: Duration::from_secs(1) };
    let left = Arc::new(Mutex::new(Leftovers::default()));
    let report = lab.runtime.block_on(drill::run(&writer, &db, config, &plan, left, &support::operator()));
    drop(writer);
    thread.join().unwrap();
    let label = crate::engine_logs::access_label(&lab);
    assert_eq!(
        report.missing,
        [format!("{tenant}'s web container is not followed: add the label {label}=combined (or json) to {web}")]
    );
    assert!(report.cleanup[0].starts_with("dry run: would start an attacker"), "{:?}", report.cleanup);
    assert!(report.checks.is_empty());
    assert!(attackers_on(&lab, &lab.tenants[0].network).is_empty(), "nothing started");
}

#[test]
fn keep_leaves_the_attacker_in_place_and_says_so() {
    let lab = Lab::new(&[0]);
    let f2b = Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    store::open(&db, Access::ReadWrite).unwrap();
    let config = Arc::new(drill_config(&lab, &f2b));
    web(&lab, true);
    let conn = store::open(&db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let plan = Plan {
        tenant: lab.tenants[0].name.clone(),
        scenarios: vec![Scenario::Web],
        dry_run: false,
        wait: Duration::from_secs(1),
    };
    let left = Arc::new(Mutex::new(Leftovers::default()));
    let (report, kept) = lab.runtime.block_on(async {
        let report = drill::run(&writer, &db, config.clone(), &plan, left.clone(), &support::operator()).await;
        (report, drill::clean_up(&writer, &config, &left, true).await)
    });
    drop(writer);
    thread.join().unwrap();
    let attacker = report.attacker.clone().unwrap();
    assert!(kept[0].starts_with("kept (--keep): attackers [") && kept[0].contains(&attacker), "{kept:?}");
    assert!(exists(&lab, &attacker), "left in place");
    lab.runtime.block_on(drill::attacker::remove(&lab.docker, &attacker)).unwrap();
}
