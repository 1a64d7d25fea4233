//! The Sources view (`7`, `:sources`): every source's state in words, its counts and its kept
//! unparsed lines; and the HOST column the Access and Alerts panes show when it tells hosts apart.

use crate::support::{self, Harness, NOW};

use rampart::pane::Pane;
use rampart::store::status::{self, Health, SourceStatus};
use rampart::store::unparsed;
use rampart::store::writer::Tables;
use ratatui::style::Color;

const W: u16 = 140;
const H: u16 = 30;

fn source(name: &str, health: Health, summary: &str, detail: &str, last_ok: Option<i64>) -> SourceStatus {
    SourceStatus {
        source: name.into(),
        health,
        detail: detail.into(),
        last_ok,
        last_error: (health != Health::Ok).then(|| detail.to_string()),
        summary: summary.into(),
        stored: None,
        unparsed: None,
    }
}

/// A store whose sources say what a busy collector's would: CloudWatch groups backfilling,
/// throttled and without credentials, a file tail, Docker down, the publisher ok.
fn sources() -> Harness {
    let mut h = Harness::empty(W, H);
    let conn = &h.fx.writer;
    let minute = 60_000;
    for s in [
        source("docker", Health::Down, "", "cannot reach the Docker engine at /var/run/docker.sock", None),
        source("fail2ban", Health::Ok, "", "4 active bans in 2 jails", Some(NOW - 2_000)),
        source(
            "cloudwatch:/ecs/production/falco",
            Health::Degraded,
            "backfilling 40%",
            "backfilling 40%: 4000 events stored",
            None,
        ),
        source(
            "cloudwatch:/ecs/production/flask-app",
            Health::Degraded,
            "throttled",
            "throttled by CloudWatch (ThrottlingException); retrying in 4 s",
            Some(NOW - 3 * minute),
        ),
        source(
            "cloudwatch:/ecs/staging/api",
            Health::Down,
            "credentials missing",
            "no AWS credentials found; tried the standard chain: environment (AWS_ACCESS_KEY_ID and …",
            None,
        ),
        source("access:acme.access.log", Health::Ok, "", "1200 lines, 3 not parsed", Some(NOW - 1_000)),
        source("cloudwatch-publish:/rampart/testhost", Health::Ok, "", "ok: 17 events published", Some(NOW - 5_000)),
    ] {
        status::upsert(conn, &s).unwrap();
    }
    status::count(conn, "cloudwatch:/ecs/production/falco", 4_000, 2).unwrap();
    status::count(conn, "access:acme.access.log", 1_197, 3).unwrap();
    let lines = [
        unparsed::Line::new(NOW - 2 * minute, "host-a: not JSON: expected value at line 1 column 1", "not json at all"),
        // A hostile line: it must reach the screen inert (no ESC, no OSC 52 clipboard write).
        unparsed::Line::new(
            NOW - minute,
            "host-b: not JSON: key must be a string",
            "{evil \u{1b}]52;c;cm0gLXJmIC8=\u{7} \u{1b}[2J\u{202e}gnp.exe",
        ),
    ];
    unparsed::keep(conn, "cloudwatch:/ecs/production/falco", &lines).unwrap();
    h.send(rampart::app::msg::Msg::StoreChanged(Tables::STATUS));
    h
}

#[test]
fn the_sources_view_lists_every_source_with_its_state_in_words() {
    let mut h = sources();
    h.press("7");
    assert_eq!(h.state.focus, Pane::Sources);
    insta::assert_snapshot!("sources_view", h.screen());
}

#[test]
fn a_state_takes_its_health_colour() {
    let mut h = sources();
    h.press("7");
    let theme = h.state.theme.clone();
    let fg = |h: &mut Harness, needle: &str| {
        let (x, y) = h.find(needle).unwrap_or_else(|| panic!("{needle} not on screen:\n{}", h.screen()));
        h.draw()[(x, y)].fg
    };
    assert_eq!(fg(&mut h, "throttled "), theme.warning.fg.unwrap());
    assert_eq!(fg(&mut h, "backfilling 40%"), theme.warning.fg.unwrap());
    assert_eq!(fg(&mut h, "credentials missing"), theme.error.fg.unwrap());
    assert_ne!(theme.error.fg, theme.warning.fg);
    // An ok source's state, on a row that is not selected.
    let (_, y) = h.find("4 active bans").unwrap();
    let x = h.find("STATE").unwrap().0;
    assert_eq!(h.draw()[(x, y)].symbol(), "o");
    assert_eq!(h.draw()[(x, y)].fg, theme.ok.fg.unwrap());
}

#[test]
fn enter_shows_a_sources_kept_lines_inert() {
    let mut h = sources();
    h.press("7");
    // The rows are in name order: the Falco group is the third.
    h.press("j j enter");
    let screen = h.screen();
    assert!(screen.contains("the newest 2 that did not parse"), "{screen}");
    assert!(screen.contains("not json at all"), "{screen}");
    assert!(!screen.contains('\u{1b}') && !screen.contains('\u{202e}'), "{screen:?}");
    insta::assert_snapshot!("sources_detail", screen);
}

#[test]
fn the_sources_view_filters_by_state() {
    let mut h = sources();
    h.press("7");
    // The view, under the header (which names the worst sources whatever the filter).
    let view = |h: &mut Harness| h.screen().split_once('\n').unwrap().1.to_string();
    command(&mut h, "filter state:throttled");
    let screen = view(&mut h);
    assert!(screen.contains("flask-app") && !screen.contains("staging/api"), "{screen}");
    command(&mut h, "filter health:down");
    let screen = view(&mut h);
    assert!(screen.contains("staging/api") && screen.contains("docker") && !screen.contains("fail2ban"), "{screen}");
}

#[test]
fn sources_is_a_command_and_in_help() {
    let mut h = sources();
    command(&mut h, "sources");
    assert_eq!(h.state.focus, Pane::Sources);
    h.press("?");
    let screen = h.screen();
    assert!(screen.contains("Open the Sources view"), "{screen}");
}

fn command(h: &mut Harness, line: &str) {
    h.press(":");
    h.type_text(line);
    h.press("enter");
}

/// Access events from `hosts`, one each.
fn access_from(hosts: &[Option<&str>], width: u16) -> Harness {
    use rampart::store::access;
    let mut h = Harness::empty(width, 30);
    let events: Vec<access::AccessEvent> = hosts
        .iter()
        .enumerate()
        .map(|(i, host)| access::AccessEvent {
            ts: NOW - 1_000 + i as i64,
            tenant: "acme".into(),
            src_ip: format!("192.0.2.{}", i + 1),
            method: "GET".into(),
            path: format!("/item/{i}"),
            status: 200,
            source: "cloudwatch:/ecs/production/flask-app".into(),
            host: host.map(str::to_string),
            ..Default::default()
        })
        .collect();
    let conn = &h.fx.writer;
    conn.execute_batch("BEGIN").unwrap();
    access::insert_many(conn, &events).unwrap();
    conn.execute_batch("COMMIT").unwrap();
    h.send(rampart::app::msg::Msg::StoreChanged(Tables::ACCESS));
    h
}

#[test]
fn a_host_column_appears_when_it_tells_hosts_apart_or_there_is_room() {
    // Two hosts: the column is there, each row with its host.
    let mut h = access_from(&[Some("web-1"), Some("web-2"), None], W);
    h.press("3 z");
    let screen = h.screen();
    assert!(screen.contains("HOST"), "{screen}");
    assert!(screen.contains("web-1") && screen.contains("web-2"), "{screen}");
    insta::assert_snapshot!("access_two_hosts", screen);
    // One host in a pane of ordinary width: the column would say nothing.
    let mut h = access_from(&[Some("web-1"), Some("web-1")], W);
    h.press("3 z");
    assert!(!h.screen().contains("HOST"), "{}", h.screen());
    // …but a wide pane has room for it.
    let mut h = access_from(&[Some("web-1"), Some("web-1")], 170);
    h.press("3 z");
    let screen = h.screen();
    assert!(screen.contains("HOST") && screen.contains("web-1"), "{screen}");
    // The host is a filter field.
    let mut h = access_from(&[Some("web-1"), Some("web-2")], W);
    h.press("3 z");
    command(&mut h, "filter host:web-2");
    let screen = h.screen();
    assert!(screen.contains("/item/1") && !screen.contains("/item/0"), "{screen}");
}

#[test]
fn theme_colours_reach_the_sources_view_in_every_theme() {
    for name in ["default", "light", "high-contrast"] {
        let mut h = sources();
        h.state.theme = support::theme(name);
        h.press("7");
        let (x, y) = h.find("credentials missing").unwrap();
        let want = h.state.theme.error.fg.unwrap_or(Color::Reset);
        assert_eq!(h.draw()[(x, y)].fg, want, "{name}");
    }
}

#[test]
fn the_alerts_pane_names_hosts_when_there_are_several() {
    use rampart::store::alerts::{self, Alert, Priority};
    let mut h = Harness::empty(W, H);
    for (i, host) in ["node-a", "node-b"].iter().enumerate() {
        let a = Alert {
            ts: NOW - 1_000 + i as i64,
            priority: Priority::Critical,
            rule: "Terminal shell in container".into(),
            source: "cloudwatch:/ecs/production/falco".into(),
            hostname: host.to_string(),
            output: format!("shell {i}"),
            id: 0,
            tenant: None,
            output_fields_json: "{}".into(),
            tags: String::new(),
            src_ip: None,
            acked_by: None,
            acked_at: None,
        };
        alerts::insert(&h.fx.writer, &a).unwrap();
    }
    h.send(rampart::app::msg::Msg::StoreChanged(Tables::ALERTS));
    h.press("2 z");
    let screen = h.screen();
    assert!(screen.contains("HOST") && screen.contains("node-a") && screen.contains("node-b"), "{screen}");
}

/// A source's row as the store holds it: (state, summary, last_ok, last_error).
fn row(conn: &rusqlite::Connection, source: &str) -> (String, String, Option<i64>, Option<String>) {
    conn.query_row(
        "SELECT state, ifnull(summary, ''), last_ok, last_error FROM source_status WHERE source = ?",
        [source],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .unwrap()
}

#[test]
fn a_source_that_reads_well_but_stores_nothing_it_reads_is_not_ok() {
    let mut h = Harness::empty(W, H);
    let group = "cloudwatch:/ecs/production/nginx";
    let conn = &h.fx.writer;
    // What a CloudWatch follower does on a group whose messages are in another format: it counts
    // what did not parse as it stores the page, then reports the poll as done.
    status::count(conn, group, 0, 3398).unwrap();
    let report = SourceStatus {
        summary: "ok".into(),
        last_ok: Some(NOW),
        ..source(group, Health::Ok, "", "ok: 0 events stored; 3398 not parsed", Some(NOW))
    };
    status::upsert(conn, &report).unwrap();
    assert_eq!(row(conn, group), ("degraded".into(), "nothing parses".into(), None, None));
    // Some lines parse, most still do not.
    status::count(conn, group, 40, 2).unwrap();
    assert_eq!(row(conn, group).1, "mostly not parsed");
    // The source is fixed: it stores more than it cannot read, and is ok again.
    status::count(conn, group, 5_000, 0).unwrap();
    assert_eq!(row(conn, group).0, "ok");
    assert_eq!(row(conn, group).1, "");
    status::count(conn, group, 0, 10_000).unwrap();
    h.send(rampart::app::msg::Msg::StoreChanged(Tables::STATUS));
    h.press("7");
    let theme = h.state.theme.clone();
    let (x, y) = h.find("mostly not parsed").unwrap_or_else(|| panic!("{}", h.screen()));
    assert_eq!(h.draw()[(x, y)].fg, theme.warning.fg.unwrap(), "in the colour of a degraded source");
    assert!(h.screen().lines().next().unwrap().contains("◐ cloudwa"), "{}", h.screen());
}

#[test]
fn a_followed_file_of_which_no_line_parses_says_so() {
    use rampart::parse::TenantRule;
    use rampart::sources::logfile::{self, Format, LogFile};
    let mut h = Harness::empty(W, H);
    let path = h.dir.path().join("app.log");
    std::fs::write(&path, "this is not\nan access log\nat all\n").unwrap();
    let log = LogFile { path, format: Format::Combined(TenantRule::Fixed("acme".into())) };
    h.run_source_until(
        |writer| logfile::run(writer, log),
        |conn| status::list(conn).unwrap().iter().any(|s| s.source == "access:app.log" && s.detail.contains("3 lines")),
    );
    let (state, summary, last_ok, _) = row(&h.fx.writer, "access:app.log");
    assert_eq!((state.as_str(), summary.as_str(), last_ok), ("degraded", "nothing parses", None));
}

#[test]
fn work_under_way_is_not_the_last_error() {
    use rampart::sources::report_as;
    let mut h = Harness::empty(W, H);
    let group = "cloudwatch:/ecs/production/falco";
    h.run_source_until(
        move |writer| async move {
            let throttled = "throttled by CloudWatch (ThrottlingException); retrying in 2 s".to_string();
            report_as(&writer, group, Health::Degraded, "throttled".into(), throttled).await;
            let progress = "backfilling 40%: 4000 events stored".to_string();
            report_as(&writer, group, Health::Degraded, "backfilling 40%".into(), progress).await;
            std::future::pending::<()>().await
        },
        |conn| status::list(conn).unwrap().iter().any(|s| s.source == group && s.detail.starts_with("backfilling")),
    );
    let (_, summary, _, last_error) = row(&h.fx.writer, group);
    assert_eq!(summary, "backfilling 40%");
    assert_eq!(last_error.as_deref(), Some("throttled by CloudWatch (ThrottlingException); retrying in 2 s"));
}

/// Waits until `probe` holds ([`support::wait_for`]).
fn until(what: &str, probe: impl Fn() -> bool) {
    crate::support::wait_for(what, probe, |held| *held);
}

/// `rampart collect` names every source it starts, marks the ones no longer in its config, says
/// each outage and recovery on standard error, and logs into a file named after its store.
#[test]
fn collect_names_its_sources_retires_removed_ones_and_says_outages_and_recoveries() {
    use std::io::BufRead;
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("host-a.db");
    {
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        for name in ["access:gone.log", "cloudwatch:/ecs/retired"] {
            status::upsert(&conn, &source(name, Health::Ok, "", "ok: 5 events stored", Some(NOW))).unwrap();
        }
    }
    let log = dir.path().join("acme.log");
    let config = dir.path().join("config.toml");
    let text = format!(
        "[[access_log]]\npath = \"{}\"\ntenant = \"acme\"\n\n[[cloudwatch]]\ngroup_prefix = \"/ecs/prod/\"\n\
         endpoint_url = \"http://127.0.0.1:9\"\nregion = \"us-east-1\"\n",
        log.display()
    );
    std::fs::write(&config, text).unwrap();
    let mut child = support::Collector {
        child: crate::support::rampart()
            .env("HOME", dir.path())
            .env("DOCKER_HOST", format!("unix://{}/no-docker.sock", dir.path().display()))
            .env_remove("AWS_PROFILE")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["collect", "--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    };
    let said = Arc::new(Mutex::new(Vec::<String>::new()));
    let stderr = child.child.stderr.take().unwrap();
    let lines = said.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            lines.lock().unwrap().push(line);
        }
    });
    let saw = |needle: &str| said.lock().unwrap().iter().any(|l| l.contains(needle));
    until("the list of sources", || saw("sources:"));
    let first = said.lock().unwrap()[0].clone();
    let log_file = dir.path().join("host-a.log");
    assert_eq!(
        first,
        format!(
            "rampart collect: collecting into {} with 7 sources: fail2ban, cloudwatch:/ecs/prod/* (every group \
             under the prefix), integrity, access:acme.log, docker, re-isolation, engine:* (each container \
             labelled rampart.access=combined|json); and the detection rules and the filter indexer; logging \
             to {}; stop with SIGTERM or Ctrl-C",
            db.display(),
            log_file.display()
        )
    );
    // The file is not there yet: said once, then its recovery once it is.
    until("the file's absence", || saw("access:acme.log is degraded: "));
    std::fs::write(&log, "192.0.2.1 - - [26/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\"\n")
        .unwrap();
    until("the file's recovery", || saw("access:acme.log is ok again: "));
    // An endpoint nobody listens on: the outage is said.
    until("the CloudWatch outage", || saw("cloudwatch:/ecs/prod/* is endpoint unreachable: "));
    // The sources of an earlier config no longer pass for working ones.
    let reader = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    until("the removed sources marked", || {
        ["access:gone.log", "cloudwatch:/ecs/retired"].iter().all(|s| row(&reader, s).1 == "not configured")
    });
    assert_eq!(row(&reader, "access:gone.log").0, "off");
    let outage_lines = said.lock().unwrap().iter().filter(|l| l.contains("access:acme.log is degraded")).count();
    assert_eq!(outage_lines, 1, "a state is said once, not at every look");
    // The log holds the same.
    let logged = std::fs::read_to_string(&log_file).unwrap();
    assert!(logged.contains("access:acme.log is ok again"), "{logged}");
    std::process::Command::new("kill").args(["-TERM", &child.child.id().to_string()]).status().unwrap();
    assert!(child.child.wait().unwrap().success());
}

/// A real CloudWatch group (moto) whose messages are all in another format than its entry says:
/// the follower reads every one, stores none, and the group is not shown as ok.
#[cfg(feature = "real-components")]
#[test]
fn a_cloudwatch_group_where_nothing_parses_is_not_ok() {
    use crate::support::moto::{self, Moto};
    let moto = Moto::start();
    let group = "/ecs/production/nginx";
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    rt.block_on(async {
        let client = moto::client(&moto.url);
        moto::create(&client, group, &["web-1"]).await;
        let lines: Vec<(i64, String)> = (0..40)
            .map(|i| {
                (now - 60_000 + i, format!("192.0.2.{i} - - [26/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5"))
            })
            .collect();
        moto::put(&client, group, "web-1", &lines).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[cloudwatch]]\ngroup = \"{group}\"\nformat = \"json\"\ntenant = \"acme\"\nregion = \"us-east-1\"\n\
         endpoint_url = \"{}\"\nsince = \"1h\"\npoll = \"300ms\"\n",
        moto.url
    );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let _collector = moto::collector(dir.path());
    let source = format!("cloudwatch:{group}");
    let db = dir.path().join("r.db");
    until("the group's 40 lines read", || {
        rampart::store::open(&db, rampart::store::Access::ReadOnly)
            .ok()
            .and_then(|c| status::list(&c).ok())
            .is_some_and(|list| list.iter().any(|s| s.source == source && s.detail.contains("40 not parsed")))
    });
    let reader = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let (state, summary, last_ok, _) = row(&reader, &source);
    assert_eq!((state.as_str(), summary.as_str(), last_ok), ("degraded", "nothing parses", None));
}
