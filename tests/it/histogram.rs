//! The histogram above the Access log and the Alerts pane, and the search progress on a pane's
//! border, as a person sees them: bars stacked by class in the theme's colours, the zoom keys,
//! a filter followed, and "searching… N of M" while a search newest first goes on.

use crate::support::{self, Harness, NOW};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rampart::app::msg::{Effect, Msg};
use rampart::app::update;
use rampart::pane::Pane;
use rampart::store::access::{self, AccessEvent};
use rampart::store::alerts::{self, Alert, Priority};
use rampart::store::window::{Listing, Page, Row, Searched};
use rampart::store::writer::Tables;
use ratatui::style::Color;

const W: u16 = 100;
const H: u16 = 30;

/// Events `minutes_ago` whole minutes before the newest interval ends (at NOW), by status.
fn events(spec: &[(i64, i64, usize)]) -> Vec<AccessEvent> {
    let mut out = Vec::new();
    for (minutes_ago, status, n) in spec {
        for i in 0..*n {
            out.push(AccessEvent {
                ts: NOW - 60_000 * minutes_ago - 50_000 + i as i64,
                tenant: "acme".into(),
                src_ip: "203.0.113.9".into(),
                method: "GET".into(),
                path: format!("/p/{status}"),
                status: *status,
                source: "test".into(),
                ..Default::default()
            });
        }
    }
    out
}

/// A console on a store holding three minutes of requests: 32 answered 200 two minutes back,
/// 16 × 200 and 16 × 404 a minute back, 7 × 200 and one 500 in the newest minute.
fn console() -> Harness {
    let mut h = Harness::empty(W, H);
    access::insert_many(&h.fx.writer, &events(&[(2, 200, 32), (1, 200, 16), (1, 404, 16), (0, 200, 7), (0, 500, 1)]))
        .unwrap();
    h.send(Msg::StoreChanged(Tables::ALL));
    h
}

fn cell(h: &mut Harness, x: u16, y: u16) -> (String, Color, Color) {
    let buffer = h.draw();
    let c = &buffer[(x, y)];
    (c.symbol().to_string(), c.fg, c.bg)
}

#[test]
fn the_access_histogram_stacks_status_classes_in_the_themes_colours() {
    let mut h = console();
    h.press("3 z");
    insta::assert_snapshot!("access_zoomed", h.screen());
    // Zoomed: the pane's border is on row 1, four rows of bars on rows 2 to 5, the newest minute
    // in the rightmost column inside the border.
    let x = W - 2;
    let theme = support::theme("default");
    let colour = |s: ratatui::style::Style| s.fg.unwrap();
    let (ok, client, server) = (colour(theme.histogram_2xx), colour(theme.histogram_4xx), colour(theme.histogram_5xx));
    // Two minutes back: the fullest column, all 2xx.
    for y in 2..=5 {
        assert_eq!(cell(&mut h, x - 2, y), ("█".into(), ok, Color::Reset), "row {y}");
    }
    // A minute back: half 2xx at the bottom, half 4xx above.
    assert_eq!(cell(&mut h, x - 1, 5).1, ok);
    assert_eq!(cell(&mut h, x - 1, 4).1, ok);
    assert_eq!(cell(&mut h, x - 1, 3), ("█".into(), client, Color::Reset));
    assert_eq!(cell(&mut h, x - 1, 2), ("█".into(), client, Color::Reset));
    // The newest minute: 7 of 32 eighths of 2xx and the single 5xx on top of them, in one cell.
    assert_eq!(cell(&mut h, x, 5), ("▇".into(), ok, server));
    assert_eq!(cell(&mut h, x, 4).0, " ");
    let screen = h.screen();
    assert!(screen.contains("1 min/column to 11-26 12:00:00 · peak 32"), "{screen}");
}

#[test]
fn zoom_keys_change_the_interval_and_the_histogram_follows_the_filter() {
    let mut h = console();
    h.press("3 z -");
    let screen = h.screen();
    assert!(screen.contains("5 min/column"), "{screen}");
    // Five minutes a column: every event is in the newest column.
    assert!(screen.contains("peak 72"), "{screen}");
    h.press("- - - - - - -");
    assert!(h.screen().contains("1 week/column"), "the coarsest zoom stops at a week");
    h.press("+ + + + + + + + +");
    assert!(h.screen().contains("1 min/column"), "the finest zoom stops at a minute");
    h.press("/");
    h.type_text("status:4xx");
    h.press("enter");
    let screen = h.screen();
    assert!(screen.contains("peak 16"), "only the 404s are counted: {screen}");
    let theme = support::theme("default");
    assert_eq!(cell(&mut h, W - 3, 5).1, theme.histogram_4xx.fg.unwrap());
    assert_eq!(cell(&mut h, W - 4, 5).0, " ", "no 404s two minutes back");
}

#[test]
fn the_alerts_histogram_puts_the_most_severe_on_top() {
    let mut h = Harness::empty(W, H);
    for (i, p) in [Priority::Notice, Priority::Notice, Priority::Warning, Priority::Critical].iter().enumerate() {
        let alert = Alert {
            id: 0,
            ts: NOW - 30_000 + i as i64,
            priority: *p,
            rule: "Terminal shell in container".into(),
            source: "falco".into(),
            hostname: "host".into(),
            tenant: Some("globex".into()),
            output: "shell".into(),
            output_fields_json: "{}".into(),
            tags: String::new(),
            src_ip: None,
            acked_by: None,
            acked_at: None,
        };
        alerts::insert(&h.fx.writer, &alert).unwrap();
    }
    h.send(Msg::StoreChanged(Tables::ALL));
    h.press("2 z");
    // The Alerts pane has its summary line first: bars on rows 3 to 6.
    let theme = support::theme("default");
    let x = W - 2;
    assert_eq!(cell(&mut h, x, 6), ("█".into(), theme.histogram_notice.fg.unwrap(), Color::Reset));
    assert_eq!(cell(&mut h, x, 5), ("█".into(), theme.histogram_notice.fg.unwrap(), Color::Reset));
    assert_eq!(cell(&mut h, x, 4), ("█".into(), theme.histogram_warning.fg.unwrap(), Color::Reset));
    assert_eq!(cell(&mut h, x, 3), ("█".into(), theme.histogram_critical.fg.unwrap(), Color::Reset));
    insta::assert_snapshot!("alerts_zoomed", h.screen());
}

#[test]
fn every_theme_colours_the_classes_apart() {
    for name in ["default", "light", "high-contrast", "mono"] {
        let t = support::theme(name);
        let access = [t.histogram_2xx, t.histogram_3xx, t.histogram_4xx, t.histogram_5xx];
        let alerts = [t.histogram_notice, t.histogram_warning, t.histogram_error, t.histogram_critical];
        for set in [access, alerts] {
            for (i, a) in set.iter().enumerate() {
                for b in &set[i + 1..] {
                    assert_ne!(a, b, "theme {name}: two classes look the same");
                }
            }
        }
    }
}

#[test]
fn a_search_going_on_says_how_far_it_is_and_shows_what_it_found() {
    let mut h = console();
    h.press("3 /");
    // The filter applies as it is typed; its loads are not answered yet.
    let mut generation = None;
    for c in "status:5xx".chars() {
        let effects = update::update(&mut h.state, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
        for e in effects {
            if let Effect::Load { generation: g, query } = e {
                if query.listing == Listing::Access {
                    generation = Some(g);
                }
            }
        }
    }
    let generation = generation.expect("the filter loads the pane");
    h.press("enter");
    assert!(h.screen().contains(" searching… "));
    // Nothing found in the part searched so far is not yet nothing matching.
    let nothing_yet =
        Page { at_newest: true, searched: Some(Searched { searched: 400_000, of: 10_000_000 }), ..Default::default() };
    h.send(Msg::Loaded { pane: Pane::Access, generation, result: Ok(nothing_yet) });
    let screen = h.screen();
    assert!(screen.contains("Nothing found yet; still searching") && !screen.contains("Nothing matches"), "{screen}");
    let server_error = events(&[(0, 500, 1)]).remove(0);
    let found = vec![Row::Access(AccessEvent { id: 72, ..server_error })];
    let partial = |searched: u64| Page {
        rows: found.clone(),
        at_newest: true,
        searched: Some(Searched { searched, of: 10_000_000 }),
        ..Default::default()
    };
    h.send(Msg::Loaded { pane: Pane::Access, generation, result: Ok(partial(1_200_000)) });
    let screen = h.screen();
    assert!(screen.contains("searching… 1.2M of 10.0M"), "{screen}");
    assert!(screen.contains("/p/500"), "the rows found so far are shown: {screen}");
    h.send(Msg::Loaded { pane: Pane::Access, generation, result: Ok(partial(3_200_000)) });
    assert!(h.screen().contains("searching… 3.2M of 10.0M"), "the same request answered again as it goes on");
    let done = Page { rows: found.clone(), at_newest: true, at_oldest: true, ..Default::default() };
    h.send(Msg::Loaded { pane: Pane::Access, generation, result: Ok(done) });
    let screen = h.screen();
    assert!(!screen.contains("searching…"), "{screen}");
    assert!(screen.contains("/p/500"), "{screen}");
    // A late partial answer of the finished search changes nothing.
    h.send(Msg::Loaded { pane: Pane::Access, generation, result: Ok(partial(4_000_000)) });
    assert!(!h.screen().contains("searching…"));
}

#[test]
fn help_lists_the_zoom_keys() {
    let mut h = Harness::empty(140, 80);
    h.press("?");
    let screen = h.screen();
    assert!(screen.contains("Histogram: shorter intervals per column (down to a minute)"), "{screen}");
    assert!(screen.contains("Histogram: longer intervals per column (up to a week)"), "{screen}");
}

/// The demo's day of history is counted whole from the first frame, from the indexer's
/// per-minute counts (as the README says), not from the newest 100,000 events only.
#[test]
fn the_unfiltered_demo_histogram_counts_every_event_from_the_first_frame() {
    let mut h = Harness::demo(140, 42, 100_500);
    let newest: i64 = h.fx.reader.query_row("SELECT max(id) FROM access_events", [], |r| r.get(0)).unwrap();
    assert_eq!(rampart::store::indexer::indexed_through(&h.fx.reader).unwrap(), newest, "indexed as seeded");
    h.press("3 z");
    let histogram = h.state.pane(rampart::pane::Pane::Access).histogram.clone().expect("a histogram");
    assert_eq!(histogram.partial, None);
    let screen = h.screen();
    assert!(screen.contains("1 min/column to") && !screen.contains("counted"), "{screen}");
}
