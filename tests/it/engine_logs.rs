//! Tenants' own access logs read from the real Docker Engine: busybox containers that print
//! combined (or JSON) lines to standard output, followed by label through collector restarts,
//! container restarts and log rotation, each line stored once, and hostile lines that cannot
//! change whose they are.

use crate::support::lab::{Lab, IMAGE};

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RestartContainerOptionsBuilder, StartContainerOptions,
    StopContainerOptionsBuilder,
};
use rampart::config::engine_logs::EngineLogsConfig;
use rampart::store::writer::{ChangeNotes, StoreWriter};
use rampart::store::{self, Access};

/// The access label of this lab only, so that tests running at once do not follow each other's
/// containers.
pub fn access_label(lab: &Lab) -> String {
    format!("rampart.test.{}.access", lab.prefix)
}

pub fn config(lab: &Lab) -> EngineLogsConfig {
    EngineLogsConfig { label: access_label(lab), ..Default::default() }
}

/// Starts a container of `tenant` running `script` (busybox sh), its standard output labelled
/// as an access log in `format`; the engine rotates its log file every kilobyte.
pub fn logging_container(lab: &Lab, name: &str, tenant: &str, format: &str, script: &str) -> String {
    let cname = format!("{}-{name}", lab.prefix);
    let labels = HashMap::from([
        (lab.config.label.clone(), tenant.to_string()),
        (access_label(lab), format.to_string()),
        ("rampart.test".to_string(), lab.prefix.clone()),
    ]);
    let log_config = HostConfigLogConfig {
        typ: Some("json-file".into()),
        config: Some(HashMap::from([("max-size".into(), "1k".into()), ("max-file".into(), "20".into())])),
    };
    let body = ContainerCreateBody {
        image: Some(IMAGE.into()),
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), script.into()]),
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            log_config: Some(log_config),
            ..Default::default()
        }),
        ..Default::default()
    };
    lab.runtime.block_on(async {
        let options = CreateContainerOptionsBuilder::default().name(&cname).build();
        lab.docker.create_container(Some(options), body).await.expect("creating a logging container");
        lab.docker.start_container(&cname, None::<StartContainerOptions>).await.expect("starting it");
    });
    cname
}

/// `docker restart -t 0`.
fn restart(lab: &Lab, container: &str) {
    let options = RestartContainerOptionsBuilder::default().t(0).build();
    lab.runtime.block_on(lab.docker.restart_container(container, Some(options))).expect("restarting");
}

/// Runs the engine-logs follower (as the collector does) until `done` holds for the store, then
/// stops it as a collector stops: whatever it had not committed is simply not there.
fn follow_until(
    lab: &Lab,
    db: &Path,
    config: &EngineLogsConfig,
    what: &str,
    done: impl Fn(&rusqlite::Connection) -> bool,
) {
    let conn = store::open(db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let reader = store::open(db, Access::ReadOnly).unwrap();
    let task = lab.runtime.spawn(rampart::sources::engine_logs::run(writer, lab.config.clone(), config.clone()));
    let start = Instant::now();
    while !done(&reader) {
        assert!(start.elapsed() < Duration::from_secs(60), "never got there: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    task.abort();
    let _ = lab.runtime.block_on(task);
    thread.join().unwrap();
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A combined line of boot `$n`, line `$i`, padded so that three of them fill the engine's 1 KB
/// log file and it rotates.
const BOOT_SCRIPT: &str = r#"n=$(cat /tmp/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/n
pad=paddingpaddingpaddingpaddingpaddingpaddingpaddingpaddingpaddingpaddingpaddingpaddingpaddingpaddingpadding
for i in 1 2 3; do echo "192.0.2.7 - - [05/Dec/2026:10:00:0$i +0000] \"GET /boot$n/line$i HTTP/1.1\" 200 5 \"-\" \"$pad$pad\""; done
exec sleep 3600"#;

#[test]
fn a_containers_own_lines_are_stored_once_through_restarts_and_rotation() {
    let lab = Lab::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let config = config(&lab);
    let web = logging_container(&lab, "web", "acme", "combined", BOOT_SCRIPT);
    let rows = |n: i64| move |c: &rusqlite::Connection| count(c, "SELECT count(*) FROM access_events") >= n;
    follow_until(&lab, &db, &config, "the first boot's lines", rows(3));

    // The container restarts while no collector runs: its new lines are read when one runs again.
    restart(&lab, &web);
    follow_until(&lab, &db, &config, "the second boot's lines", rows(6));

    // Restarted while followed, and a new container of another tenant started meanwhile.
    let spawned_ms = rampart::store::now_ms();
    let conn = store::open(&db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let task = lab.runtime.spawn(rampart::sources::engine_logs::run(writer, lab.config.clone(), config.clone()));
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    let until = |what: &str, done: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(60), "never got there: {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let web_source = format!("engine:{web}");
    let state = |source: &str| -> String {
        reader
            .query_row("SELECT ifnull(summary, state) FROM source_status WHERE source = ?", [source], |r| r.get(0))
            .unwrap_or_default()
    };
    // This follower's own word, not the row the last one left.
    let followed_since = |source: &str| -> i64 {
        reader
            .query_row("SELECT ifnull(last_ok, 0) FROM source_status WHERE source = ?", [source], |r| r.get(0))
            .unwrap_or_default()
    };
    until("following again", &|| state(&web_source) == "following" && followed_since(&web_source) >= spawned_ms);
    restart(&lab, &web);
    until("the third boot's lines", &|| count(&reader, "SELECT count(*) FROM access_events") >= 9);
    let shop = logging_container(&lab, "shop", "globex", "combined", BOOT_SCRIPT);
    until("the new container's lines", &|| {
        count(&reader, "SELECT count(*) FROM access_events WHERE tenant = 'globex'") >= 3
    });
    // Stopped: the row says so in words.
    lab.runtime
        .block_on(lab.docker.stop_container(&shop, Some(StopContainerOptionsBuilder::default().t(0).build())))
        .unwrap();
    until("the stopped container's row", &|| state(&format!("engine:{shop}")) == "stopped");
    task.abort();
    let _ = lab.runtime.block_on(task);
    thread.join().unwrap();

    let paths: Vec<(String, String, i64)> = reader
        .prepare("SELECT tenant, path, count(*) FROM access_events GROUP BY tenant, path ORDER BY tenant, path")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut expected: Vec<(String, String, i64)> = Vec::new();
    for n in 1..=3 {
        for i in 1..=3 {
            expected.push(("acme".into(), format!("/boot{n}/line{i}"), 1));
        }
    }
    for i in 1..=3 {
        expected.push(("globex".into(), format!("/boot1/line{i}"), 1));
    }
    expected.sort();
    assert_eq!(paths, expected, "every line once, none lost");
    let inspected = lab.runtime.block_on(lab.docker.inspect_container(&web, None::<InspectContainerOptions>)).unwrap();
    let log_path = inspected.log_path.unwrap_or_default();
    assert!(Path::new(&format!("{log_path}.1")).exists(), "the engine rotated {log_path}");
    let stored: i64 =
        reader.query_row("SELECT stored FROM source_status WHERE source = ?", [&web_source], |r| r.get(0)).unwrap();
    assert_eq!(stored, 9, "the container's row counts what it stored");
}

/// The engine subscribes to its events only when the stream is first read: a container that starts
/// after the events are asked for but before they are read (while a follower lists what is there)
/// is still told of. Plain `Docker::events` misses it.
#[test]
fn a_container_that_starts_before_its_events_are_read_is_told_of() {
    use futures::StreamExt;
    let lab = Lab::new(&[]);
    let filters = HashMap::from([
        ("label".to_string(), vec![access_label(&lab)]),
        ("event".to_string(), vec!["start".to_string()]),
    ]);
    let events = lab.runtime.block_on(rampart::sources::docker::events_from_now(&lab.docker, &filters)).unwrap();
    let mut events = Box::pin(events);
    let late = logging_container(&lab, "late", "acme", "combined", "exec sleep 3600");
    let told = lab
        .runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), events.next()).await })
        .expect("told of the start within 30 s")
        .expect("the stream goes on")
        .expect("an event");
    let name = told.actor.and_then(|a| a.attributes).and_then(|a| a.get("name").cloned());
    assert_eq!(name.as_deref(), Some(late.as_str()));
}

#[test]
fn a_hostile_line_cannot_change_whose_it_is() {
    let lab = Lab::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let mut config = config(&lab);
    config.fields.ip = "client".into();
    let combined = r#"printf '192.0.2.9 - - [05/Dec/2026:10:00:01 +0000] "GET /globex/admin\033]0;pwned\007 HTTP/1.1" 200 1 "https://globex.example.com/" "ua\033[2J"\n'
printf '2030-01-01T00:00:00.000000000Z 192.0.2.9 - - [05/Dec/2026:10:00:02 +0000] "GET /forged HTTP/1.1" 200 1 "-" "x"\r\n'
s=x; i=0; while [ $i -lt 18 ]; do s=$s$s; i=$((i+1)); done
echo "192.0.2.9 - - [05/Dec/2026:10:00:03 +0000] \"GET /$s HTTP/1.1\" 200 1 \"-\" \"huge\""
echo '192.0.2.9 - - [05/Dec/2026:10:00:04 +0000] "GET /after-the-huge-one HTTP/1.1" 200 1 "-" "x"'
echo '192.0.2.9 - - [05/Dec/2026:10:00:05 +0000] "GET /last HTTP/1.1" 200 1 "-" "x"'
exec sleep 3600"#;
    let json = r#"echo '{"time":"2026-12-05T10:00:06Z","client":"192.0.2.10","request_method":"GET","request_uri":"/j","status":200,"host":"globex.example.com","tenant":"globex"}'
exec sleep 3600"#;
    logging_container(&lab, "web", "acme", "combined", combined);
    logging_container(&lab, "api", "acme", "json", json);
    let unlabelled = logging_container(&lab, "odd", "acme", "xml", "exec sleep 3600");
    follow_until(&lab, &db, &config, "every line", |c| {
        count(c, "SELECT count(*) FROM access_events") >= 4 && count(c, "SELECT count(*) FROM unparsed_lines") >= 2
    });
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    let rows: Vec<(String, String)> = reader
        .prepare("SELECT tenant, path FROM access_events ORDER BY ts")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let tenants: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tenants, ["acme"; 4], "the label's tenant, whatever the line says: {rows:?}");
    assert_eq!(rows[0].1, "/globex/admin\u{1b}]0;pwned\u{7}", "stored as sent; the UI sanitizes it");
    assert_eq!(rows[1].1, "/after-the-huge-one");
    assert_eq!(rows[3].1, "/j");
    let unparsed: Vec<(String, String)> = reader
        .prepare("SELECT source, substr(line, 1, 30) FROM unparsed_lines ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let web = format!("engine:{}-web", lab.prefix);
    assert_eq!(
        unparsed,
        [
            (web.clone(), "2030-01-01T00:00:00.000000000Z".to_string()),
            (web.clone(), "192.0.2.9 - - [05/Dec/2026:10:".to_string()),
        ],
        "the forged time is text of a line that does not parse; the huge line is one line, cut"
    );
    let (summary, detail): (String, String) = reader
        .query_row(
            "SELECT summary, detail FROM source_status WHERE source = ?",
            [format!("engine:{unlabelled}")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(summary, "not followed");
    assert_eq!(detail, format!("label {}=xml says no format rampart reads: use combined or json", access_label(&lab)));
}

#[test]
fn a_lost_engine_is_said_on_each_row_and_reading_goes_on_where_it_stopped() {
    use crate::docker::EngineProxy;
    let lab = Lab::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let sock = dir.path().join("engine.sock");
    let docker =
        rampart::config::DockerConfig { host: Some(format!("unix://{}", sock.display())), ..lab.config.clone() };
    let web = logging_container(&lab, "web", "acme", "combined", BOOT_SCRIPT);
    let _runtime = lab.runtime.enter();
    let mut proxy = EngineProxy::start(&sock);
    let conn = store::open(&db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let task = lab.runtime.spawn(rampart::sources::engine_logs::run(writer, docker, config(&lab)));
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    let source = format!("engine:{web}");
    let state = || -> String {
        reader
            .query_row("SELECT ifnull(summary, state) FROM source_status WHERE source = ?", [&source], |r| r.get(0))
            .unwrap_or_default()
    };
    let rows = || count(&reader, "SELECT count(*) FROM access_events");
    let until = |what: &str, done: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(60), "never got there: {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    until("the first boot's lines", &|| rows() == 3 && state() == "following");
    lab.runtime.block_on(proxy.stop());
    until("the row says the engine is lost", &|| state() == "engine lost");
    // The container restarts while the engine cannot be reached from rampart.
    restart(&lab, &web);
    let _proxy = EngineProxy::start(&sock);
    until("the second boot's lines", &|| rows() >= 6 && state() == "following");
    task.abort();
    let _ = lab.runtime.block_on(task);
    thread.join().unwrap();
    let once: i64 = count(&reader, "SELECT count(DISTINCT path) FROM access_events");
    assert_eq!((rows(), once), (6, 6), "every line once");
}
