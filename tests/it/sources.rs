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
