//! The console as a person sees it: TestBackend snapshots of every pane, popup and notice, in every
//! shipped theme, and colours asserted on cells (snapshot text holds no colour).

use crate::support;

use rampart::app::msg::Msg;
use rampart::store::alerts::{self, Alert, Priority};
use rampart::store::writer::Tables;
use ratatui::style::Color;
use support::{theme, Harness};

const W: u16 = 140;
const H: u16 = 42;
const EVENTS: usize = 6_000;

fn demo() -> Harness {
    Harness::demo(W, H, EVENTS)
}

const THEMES: [&str; 4] = ["default", "light", "high-contrast", "mono"];

/// A colour as a theme file would write it.
fn colour(c: Color) -> String {
    match c {
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

/// The screen with its styles: the text, then one letter a cell naming the cell's style, then
/// what each letter stands for (foreground, background, modifiers), so that a snapshot holds the
/// colours a theme puts where.
fn styled(buffer: &ratatui::buffer::Buffer) -> String {
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut styles: Vec<(Color, Color, ratatui::style::Modifier)> = Vec::new();
    let mut map = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            let cell = &buffer[(x, y)];
            let style = (cell.fg, cell.bg, cell.modifier);
            let i = styles.iter().position(|s| *s == style).unwrap_or_else(|| {
                styles.push(style);
                styles.len() - 1
            });
            map.push(LETTERS.chars().nth(i).expect("at most 62 styles on one screen"));
        }
        map.push('\n');
    }
    let legend: String = styles
        .iter()
        .zip(LETTERS.chars())
        .map(|((fg, bg, modifier), letter)| {
            format!("{letter}  fg {:<12} bg {:<12} {modifier:?}\n", colour(*fg), colour(*bg))
        })
        .collect();
    format!("{}--- styles, a letter a cell ---\n{map}--- legend ---\n{legend}", support::buffer_text(buffer))
}

#[test]
fn full_screen_in_every_theme() {
    let mut screens = Vec::new();
    for name in THEMES {
        let mut h = demo();
        h.state.theme = theme(name);
        let screen = styled(&h.draw());
        insta::assert_snapshot!(format!("grid_{name}"), screen);
        screens.push(screen);
    }
    for (i, a) in screens.iter().enumerate() {
        for (j, b) in screens.iter().enumerate().skip(i + 1) {
            assert_ne!(a, b, "themes {} and {} look the same", THEMES[i], THEMES[j]);
        }
    }
}

#[test]
fn every_pane_zoomed() {
    for (key, pane) in [
        ("1", "tenants"),
        ("2", "alerts"),
        ("3", "access"),
        ("4", "bans"),
        ("5", "integrity"),
        ("6", "audit"),
        ("7", "sources"),
        ("8", "fleet"),
    ] {
        let mut h = demo();
        h.press(&format!("{key} z"));
        insta::assert_snapshot!(format!("zoomed_{pane}"), h.screen());
    }
}

#[test]
fn help_overlay_lists_the_active_keymap() {
    let mut h = demo();
    h.press("?");
    insta::assert_snapshot!("help_default_keymap", h.screen());
    let mut h = demo();
    h.state.keymap = support::keymap("emacs");
    h.press("f1");
    let screen = h.screen();
    assert!(screen.contains("Help — keymap 'emacs'"), "{screen}");
    assert!(screen.contains("ctrl-n, ↓"), "emacs bindings shown: {screen}");
}

#[test]
fn detail_popup_shows_every_field() {
    let mut h = demo();
    h.press("2 j enter");
    insta::assert_snapshot!("detail_alert", h.screen());
}

#[test]
fn filter_bar_while_typing_and_after() {
    let mut h = demo();
    h.press("3 /");
    h.type_text("status:4xx tenant:acme");
    insta::assert_snapshot!("filter_typing", h.screen());
    h.press("enter");
    insta::assert_snapshot!("filter_applied", h.screen());
}

#[test]
fn filter_error_is_shown_and_keeps_the_last_good_filter() {
    let mut h = demo();
    h.press("3 /");
    h.type_text("stauts:401");
    let screen = h.screen();
    assert!(screen.contains("unknown field 'stauts'"), "{screen}");
}

#[test]
fn isolate_dialog_with_reason_and_pause() {
    let mut h = demo();
    h.press("1 i");
    h.type_text("shell in globex");
    insta::assert_snapshot!("confirm_isolate", h.screen());
}

#[test]
fn too_small_notice_instead_of_garbage() {
    let mut h = demo();
    h.resize(79, 24);
    insta::assert_snapshot!("too_small", h.screen());
    h.resize(80, 24);
    let screen = h.screen();
    assert!(screen.contains("1 Tenants") && !screen.contains("too small"), "{screen}");
}

#[test]
fn smallest_supported_size_keeps_every_pane() {
    let mut h = demo();
    h.resize(80, 24);
    insta::assert_snapshot!("grid_80x24", h.screen());
}

#[test]
fn empty_store_says_what_would_fill_each_pane() {
    let mut h = Harness::empty(W, H);
    insta::assert_snapshot!("empty_store", h.screen());
}

#[test]
fn read_only_badge_and_disabled_actions() {
    let mut h = Harness::build(W, H, Some(EVENTS), rampart::respond::Backend::Demo, Some("started with --read-only"));
    let screen = h.screen();
    assert!(screen.contains("READ-ONLY"), "{screen}");
    h.press("1 i");
    let screen = h.screen();
    assert!(screen.contains("isolate is disabled: read-only (started with --read-only)"), "{screen}");
    assert!(h.state.popup.is_none(), "no dialog opens in read-only mode");
}

/// The colour of the cell where `needle` starts.
fn fg_at(h: &mut Harness, needle: &str) -> Color {
    let (x, y) = h.find(needle).unwrap_or_else(|| panic!("{needle} not on screen:\n{}", h.screen()));
    h.draw()[(x, y)].fg
}

#[test]
fn every_priority_takes_its_theme_colour_in_every_theme() {
    let mut h = Harness::empty(W, H);
    for (i, p) in Priority::ALL.into_iter().enumerate() {
        let alert = Alert {
            id: 0,
            ts: support::NOW - 60_000 * i as i64,
            priority: p,
            rule: format!("rule-{}", p.name()),
            source: "syscall".into(),
            hostname: "h".into(),
            tenant: Some("acme".into()),
            output: "out".into(),
            output_fields_json: "{}".into(),
            tags: String::new(),
            src_ip: None,
            acked_by: None,
            acked_at: None,
        };
        alerts::insert(&h.fx.writer, &alert).unwrap();
        if p == Priority::Debug {
            // A newest row to carry the selection, so every priority row shows its own colours.
            alerts::insert(&h.fx.writer, &Alert { rule: "selected".into(), ..alert }).unwrap();
        }
    }
    h.send(Msg::StoreChanged(Tables::ALL));
    h.press("2 z");
    for name in THEMES {
        h.state.theme = theme(name);
        for p in Priority::ALL {
            // What the cell should show: the theme's base style with the priority's on top.
            let want = h.state.theme.base.patch(h.state.theme.priority(p));
            let (x, y) = h.find(&format!("rule-{}", p.name())).expect("rule on screen");
            let cell = h.draw()[(x, y)].clone();
            assert_eq!(cell.fg, want.fg.unwrap_or(Color::Reset), "{name}: fg of {p}");
            assert_eq!(cell.bg, want.bg.unwrap_or(Color::Reset), "{name}: bg of {p}");
            assert!(cell.modifier.contains(want.add_modifier), "{name}: modifiers of {p}");
            // The PRIO column, five cells left of the rule, wears the same colours.
            assert_eq!(h.draw()[(x - 7, y)].fg, cell.fg, "{name}: PRIO cell of {p}");
        }
    }
    let default = theme("default");
    assert_eq!(default.priority(Priority::Emergency).bg, Some(Color::Red), "emergencies stand out on red");
}

#[test]
fn themes_really_differ_on_screen() {
    let mut dark = demo();
    let mut light = demo();
    light.state.theme = theme("light");
    let mut mono = demo();
    mono.state.theme = theme("mono");
    assert_ne!(fg_at(&mut dark, "CRIT"), fg_at(&mut light, "CRIT"));
    assert_eq!(fg_at(&mut mono, "CRIT"), Color::Reset, "mono uses no colour");
    let focused_border = |h: &mut Harness| {
        // The top-left corner of the Tenants pane, just below the header.
        h.draw()[(0, 1)].fg
    };
    assert_eq!(focused_border(&mut dark), Color::Cyan);
    assert_eq!(focused_border(&mut mono), Color::Reset);
}

#[test]
fn selected_row_uses_the_selection_style() {
    let mut h = demo();
    h.press("1 j");
    let (x, y) = h.find("globex").unwrap();
    let cell = h.draw()[(x, y)].clone();
    assert_eq!(cell.bg, h.state.theme.selection.bg.unwrap());
}

#[test]
fn theme_switch_by_command() {
    let mut h = demo();
    h.press(":");
    h.type_text("theme light");
    h.press("enter");
    assert_eq!(h.state.theme.name, "light");
    assert!(h.screen().contains("theme: light"));
    h.press(":");
    h.type_text("theme purple");
    h.press("enter");
    let screen = h.screen();
    assert!(screen.contains("unknown theme 'purple'; available: default, high-contrast, light, mono"), "{screen}");
}

#[test]
fn resize_at_any_moment_keeps_the_selection_visible() {
    let mut h = demo();
    h.press("3");
    for _ in 0..30 {
        h.press("j");
    }
    let selected = h.state.pane(rampart::pane::Pane::Access).selected;
    h.resize(100, 30);
    let p = h.state.pane(rampart::pane::Pane::Access);
    assert_eq!(p.selected, selected);
    let height = h.state.list_height(rampart::pane::Pane::Access);
    assert!(p.selected >= p.offset && p.selected < p.offset + height, "selection on screen after resize");
    h.send(Msg::Resize(200, 60));
    h.screen();
}

#[test]
fn alerts_grouped_by_rule() {
    let mut h = demo();
    h.press("2 z r");
    insta::assert_snapshot!("alerts_grouped", h.screen());
}

/// Two IPv6 addresses that, cut short, read as other valid addresses.
const LONG_V6: &str = "2001:db8:612f:1111:2222:3333:4444:5555";
const SHORT_V6: &str = "2001:db8:612f::abcd:1234";
/// Values without spaces that are longer than their columns at small sizes.
const LONG_PATH: &str = "/api/v1/reports/monthly/2026/november/export.csv";
const LONG_JAIL: &str = "nginx-http-auth-strict";
const LONG_AGENT: &str = "python-requests-with-a-long-suffix/2.32.3";

/// A store with those addresses in every pane that shows one: access events, bans, an alert, a
/// tenant's container and an audit row.
fn addresses() -> Harness {
    use rampart::store::{access, audit, bans, tenants};
    let mut h = Harness::empty(80, 24);
    let conn = &h.fx.writer;
    for (i, ip) in [LONG_V6, SHORT_V6, "203.0.113.9"].iter().enumerate() {
        let e = access::AccessEvent {
            ts: support::NOW - 1_000 + i as i64,
            tenant: "acme".into(),
            src_ip: ip.to_string(),
            method: "GET".into(),
            path: LONG_PATH.into(),
            status: 200,
            user_agent: LONG_AGENT.into(),
            source: "test".into(),
            ..Default::default()
        };
        access::insert(conn, &e).unwrap();
    }
    for (i, (ip, jail)) in
        [(LONG_V6, "sshd"), (SHORT_V6, "f2b-login-jail"), ("203.0.113.9", LONG_JAIL)].iter().enumerate()
    {
        let b = bans::Ban {
            jail: jail.to_string(),
            ip: ip.to_string(),
            banned_at: support::NOW - 60_000 * (i as i64 + 1),
            ban_seconds: 3600,
            ban_count: 1,
            failures: 5,
            matches_json: "[]".into(),
            source: "fail2ban".into(),
            ..Default::default()
        };
        bans::insert(conn, &b).unwrap();
    }
    alerts::insert(
        conn,
        &Alert {
            id: 0,
            ts: support::NOW - 5_000,
            priority: Priority::Warning,
            rule: "Web attack pattern".into(),
            source: "rampart".into(),
            hostname: String::new(),
            tenant: Some("acme".into()),
            output: format!("{LONG_V6} sent '../' to acme /"),
            output_fields_json: "{}".into(),
            tags: "rampart".into(),
            src_ip: Some(LONG_V6.into()),
            acked_by: None,
            acked_at: None,
        },
    )
    .unwrap();
    let container = tenants::Container {
        id: "c1".into(),
        tenant: "acme".into(),
        name: "acme-web-1".into(),
        image: "acme/web:1".into(),
        state: "running".into(),
        networks_json: format!(r#"[{{"name":"acme-net","ip":"{LONG_V6}"}}]"#),
        posture_json: "{}".into(),
    };
    tenants::sync(conn, &[container], support::NOW).unwrap();
    audit::append(
        conn,
        &audit::NewEntry {
            ts: support::NOW - 2_000,
            operator: "alice".into(),
            ssh_client: Some(LONG_V6.into()),
            host: "testhost".into(),
            action: "unban".into(),
            target: format!("{SHORT_V6} in f2b-login-jail"),
            outcome: "ok".into(),
            detail_json: "{}".into(),
            ..Default::default()
        },
    )
    .unwrap();
    h.send(Msg::StoreChanged(Tables::ALL));
    h
}

/// The addresses on `screen` shown whole. Any other start of one must be a cut that says so (in
/// free text, such as an audit target, when the column is narrower than the text): one cut with no
/// mark, which reads as another address, fails the test.
fn whole_addresses(screen: &str, what: &str) -> std::collections::HashSet<&'static str> {
    let mut whole = std::collections::HashSet::new();
    for line in screen.lines() {
        for (at, _) in line.match_indices("2001:db8:612f") {
            let rest = &line[at..];
            let shown: String = rest.chars().take_while(|c| c.is_ascii_hexdigit() || *c == ':').collect();
            match [LONG_V6, SHORT_V6].into_iter().find(|a| shown == *a) {
                Some(addr) => {
                    whole.insert(addr);
                }
                None => assert!(rest[shown.len()..].starts_with('…'), "{what}: a cut address in {line:?}\n{screen}"),
            }
        }
    }
    whole
}

/// The popup's part of the screen: the columns between its rounded corners.
fn popup_text(screen: &str) -> String {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let top = lines.iter().find(|l| l.contains(&'╭')).expect("a popup on screen");
    let left = top.iter().position(|c| *c == '╭').unwrap();
    let right = top.iter().position(|c| *c == '╮').unwrap();
    lines.iter().map(|l| l[left..=right.min(l.len() - 1)].iter().collect::<String>() + "\n").collect()
}

/// A value without spaces shown shorter than it is ends in `…` (in the panes and popups: the header
/// and footer lines are left out).
fn cut_cells_are_marked(screen: &str, values: &[&str], what: &str) {
    let lines: Vec<&str> = screen.lines().collect();
    for line in &lines[1..lines.len() - 1] {
        for value in values {
            let head: String = value.chars().take(5).collect();
            for (at, _) in line.match_indices(&head) {
                let token = line[at..].split([' ', '│', '┃']).next().unwrap_or_default();
                if token == *value {
                    continue;
                }
                let kept =
                    token.strip_suffix('…').unwrap_or_else(|| panic!("{what}: {token:?} cut with no mark\n{screen}"));
                assert!(value.starts_with(kept), "{what}: {token:?} is not a cut of {value:?}");
            }
        }
    }
}

#[test]
fn addresses_are_never_cut_and_cut_cells_end_in_an_ellipsis() {
    let both = std::collections::HashSet::from([LONG_V6, SHORT_V6]);
    let cut_values = [LONG_PATH, LONG_JAIL, LONG_AGENT, "f2b-login-jail"];
    for (w, h_) in [(80, 24), (90, 26), (100, 30), (120, 40), (160, 48)] {
        let mut h = addresses();
        h.resize(w, h_);
        let at = format!("{w}x{h_}");
        let screen = h.screen();
        assert_eq!(whole_addresses(&screen, &at), both, "{at}: both addresses whole in the grid\n{screen}");
        cut_cells_are_marked(&screen, &cut_values, &at);
        for (keys, pane) in [("3 z", "access"), ("z 4 z", "bans"), ("z 6", "audit")] {
            h.press(keys);
            let screen = h.screen();
            let what = format!("{at} {pane}");
            let whole = whole_addresses(&screen, &what);
            if pane != "audit" {
                assert_eq!(whole, both, "{what}:\n{screen}");
            }
            cut_cells_are_marked(&screen, &cut_values, &what);
        }
        // The detail popups (cropped from the pane cells that stay visible around them).
        for (keys, label) in
            [("esc 4 G enter", "ip  "), ("esc 2 enter", "source ip  "), ("esc 1 enter G", "networks: ")]
        {
            h.press(keys);
            let screen = h.screen();
            let popup = popup_text(&screen);
            let what = format!("{at} {keys}");
            assert!(whole_addresses(&popup, &what).contains(LONG_V6), "{what}:\n{popup}");
            assert!(popup.contains(label), "{what}: {label}\n{popup}");
            h.press("esc");
        }
    }
}

#[test]
fn a_message_longer_than_the_footer_ends_in_an_ellipsis() {
    let mut h = Harness::empty(80, 24);
    h.press(":");
    h.type_text(&format!("theme {}", "x".repeat(60)));
    h.press("enter");
    let screen = h.screen();
    let footer = screen.lines().last().unwrap();
    assert!(footer.starts_with(" unknown theme 'xxxx") && footer.ends_with('…'), "{footer:?}");
}

#[test]
fn enter_on_an_integrity_target_lists_its_changes_filterable() {
    let mut h = demo();
    h.press("5 enter");
    insta::assert_snapshot!("integrity_changes", h.screen());
    h.press("/");
    h.type_text("conf");
    let screen = h.screen();
    assert!(screen.contains("/conf") && screen.contains("Nothing matches the filter"), "{screen}");
    h.press("backspace backspace backspace backspace");
    h.type_text("bin/");
    h.press("enter");
    let screen = h.screen();
    assert!(screen.contains("CHANGED (1)") && screen.contains("bin/app"), "{screen}");
    h.press("esc");
    assert!(h.state.popup.is_some(), "the first esc clears the filter");
    assert!(!h.screen().contains("/bin/"));
    h.press("esc");
    assert!(h.state.popup.is_none());
}

#[test]
fn a_signature_failure_is_the_loudest_state_on_screen() {
    let mut h = demo();
    let run = rampart::store::integrity::Run {
        target: "globex-app".into(),
        started: support::NOW - 60_000,
        finished: Some(support::NOW - 59_000),
        signature_ok: Some(false),
        error: Some(
            "the manifest does not match its signature: it was changed after signing, or signed by another key".into(),
        ),
        key_fingerprint: Some("SHA256:0123456789abcdef".into()),
        ..Default::default()
    };
    rampart::store::integrity::insert_run(&h.fx.writer, &run, &[]).unwrap();
    h.send(Msg::StoreChanged(Tables::ALL));
    let screen = h.screen();
    assert!(screen.contains("SIGNATURE INVALID: globex-app"), "in the header: {screen}");
    let loud = h.state.theme.priority(rampart::store::alerts::Priority::Emergency);
    let (x, y) = h.find("SIGNATURE INVALID: globex-app").unwrap();
    assert_eq!(h.draw()[(x, y)].bg, loud.bg.unwrap(), "the header badge wears the emergency colours");
    let (x, y) = h.find("BAD SIG").expect("the tenant's row says so");
    assert_eq!(h.draw()[(x, y)].bg, loud.bg.unwrap(), "and so does the tenant's integrity cell");
    h.press("5 z");
    insta::assert_snapshot!("integrity_signature_invalid", h.screen());
    h.press("j enter");
    let screen = h.screen();
    assert!(screen.contains("Nothing in the manifest is trusted; no files were compared"), "{screen}");
}

/// The default keymap with quit on `x` only, and a few other actions moved.
fn moved_keys() -> rampart::config::Keymap {
    let text = "[[bind]]\non = \"x\"\nrun = \"quit\"\n\
                [[bind]]\non = \"P\"\nrun = \"pause\"\n\
                [[bind]]\non = \"n\"\nrun = \"down\"\n\
                [[bind]]\non = \"e\"\nrun = \"up\"\n\
                [[bind]]\non = \"ctrl-f\"\nrun = \"filter\"\n\
                [[bind]]\non = \"backspace\"\nrun = \"close\"\n\
                [[bind]]\non = \"B\"\nrun = \"ban\"\n";
    rampart::config::Keymap::parse("moved", text).unwrap()
}

#[test]
fn hints_name_the_keys_the_keymap_binds() {
    let mut h = demo();
    h.state.keymap = moved_keys();
    let footer = h.screen().lines().last().unwrap().to_string();
    assert!(footer.contains("x quit") && footer.contains("P pause") && footer.contains("? help"), "{footer}");
    assert!(!footer.contains("q quit"), "{footer}");
    h.press("P");
    assert!(h.screen().contains("live updates paused (P to resume)"));
    h.press("P ?");
    let help = h.screen();
    assert!(help.contains("n/e scroll · esc close"), "{help}");
    assert!(help.contains("  x                 Quit rampart"), "{help}");
    h.press("G");
    let help = h.screen();
    assert!(help.contains("Filter language (ctrl-f)"), "{help}");
    h.press("esc 3 ctrl-f");
    h.type_text("nothing-has-this-text");
    h.press("enter");
    let screen = h.screen();
    assert!(screen.contains("Nothing matches the filter. Backspace clears it."), "{screen}");
    h.press("backspace 2 enter");
    assert!(h.screen().contains("n/e scroll · esc close"), "the detail popup too");
    h.press("esc");
    h.resize(79, 24);
    let screen = h.screen();
    assert!(screen.contains("Enlarge the window, or press x to quit."), "{screen}");
    h.press("x");
    assert!(h.state.quit);
    let mut empty = Harness::empty(W, H);
    empty.state.keymap = moved_keys();
    let screen = empty.screen();
    assert!(screen.contains("or from `B` on"), "{screen}");
}

#[test]
fn a_colour_index_reaches_the_screen() {
    let mut h = demo();
    let text = "extends = \"default\"\nborder_focused = { fg = 42 }\n";
    h.state.theme = rampart::config::Theme::parse("mine", text, &rampart::config::shipped_theme).unwrap();
    assert_eq!(h.draw()[(0, 1)].fg, Color::Indexed(42), "the focused pane's corner");
}

#[test]
fn the_light_theme_paints_every_cell_itself() {
    let mut h = demo();
    h.state.theme = theme("light");
    let unpainted = |h: &mut Harness| {
        let buffer = h.draw();
        let area = buffer.area;
        (0..area.height)
            .flat_map(|y| (0..area.width).map(move |x| (x, y)))
            .filter(|&(x, y)| buffer[(x, y)].bg == Color::Reset)
            .collect::<Vec<_>>()
    };
    assert_eq!(unpainted(&mut h), vec![], "no cell shows the terminal's own (perhaps dark) background");
    h.press("?");
    assert_eq!(unpainted(&mut h), vec![], "nor in a popup");
    h.press("esc 2 enter");
    assert_eq!(unpainted(&mut h), vec![], "nor in a row's detail");
}

/// A crowded 80×24 console: alerts of every priority in the hundreds and thousands, sources with
/// long names (two under one prefix), Docker down at a long socket path, and more access events
/// than a histogram reads one by one.
fn crowded() -> Harness {
    use rampart::store::status::{self, Health, SourceStatus};
    let mut h = Harness::empty(80, 24);
    let conn = &h.fx.writer;
    conn.execute_batch("BEGIN").unwrap();
    let counts = [
        (Priority::Critical, 4),
        (Priority::Error, 31),
        (Priority::Warning, 207),
        (Priority::Notice, 1_204),
        (Priority::Informational, 58),
    ];
    for (priority, n) in counts {
        for i in 0..n {
            let alert = Alert {
                id: 0,
                ts: support::NOW - 1_000 * i,
                priority,
                rule: "Web attack pattern".into(),
                source: "rampart".into(),
                hostname: String::new(),
                tenant: Some("acme".into()),
                output: "something happened".into(),
                output_fields_json: "{}".into(),
                tags: String::new(),
                src_ip: None,
                acked_by: None,
                acked_at: None,
            };
            alerts::insert(conn, &alert).unwrap();
        }
    }
    // More than the histogram reads one by one (and not indexed): it says how many it counted.
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100500) \
         INSERT INTO access_events (ts, tenant, src_ip, method, path, status) \
         SELECT ?1 - 100500 * 10 + i * 10, 'acme', '192.0.2.7', 'GET', '/', 200 FROM n",
        [support::NOW],
    )
    .unwrap();
    conn.execute_batch("COMMIT").unwrap();
    let source = |name: &str, health, detail: &str| SourceStatus {
        source: name.into(),
        health,
        detail: detail.into(),
        last_ok: None,
        last_error: None,
        summary: String::new(),
        stored: None,
        unparsed: None,
    };
    for s in [
        source("docker", Health::Down, "cannot reach the Docker engine at /var/lib/tenants/platform/run/docker.sock"),
        source("fail2ban", Health::Down, "cannot read /var/lib/fail2ban/fail2ban.sqlite3"),
        source("cloudwatch:/ecs/production/flask-app-1", Health::Ok, "ok"),
        source("cloudwatch:/ecs/production/flask-app-2", Health::Ok, "ok"),
    ] {
        status::upsert(conn, &s).unwrap();
    }
    h.send(Msg::StoreChanged(Tables::ALL));
    h
}

/// Every text on an 80×24 screen that is longer than its place ends in `…`; numbers are shown
/// whole or not at all.
#[test]
fn at_80x24_every_text_too_long_for_its_place_ends_in_an_ellipsis() {
    let mut h = crowded();
    let screen = h.screen();
    let lines: Vec<&str> = screen.lines().collect();
    // The header has no room for every source by name: it counts them by state, the worst
    // first, and the clock is whole.
    assert_eq!(lines[0], " rampart  │ testhost │ operator │ ✖ 2 down │ ● 2 ok                12:00:00 UTC ");
    // The Alerts counts: whole ones, then `…` (never `WARN 2` for 207).
    let counts = lines[2];
    assert!(counts.contains("open CRIT 4 ERR 31 WARN 207 NOTE 1204 …"), "{counts:?}");
    // The Tenants pane's bottom border names Docker's problem, cut before the corner.
    assert!(lines[8].contains("┗ docker: cannot reach the Docker e…┛"), "{:?}", lines[8]);
    // The footer: whole hints, then `…`.
    assert!(lines[23].trim_end().ends_with("p pause  …"), "{:?}", lines[23]);
    let theme = h.state.theme.clone();
    let cell = |h: &mut Harness, x: u16, y: u16| h.draw()[(x, y)].clone();
    let down = lines[0].chars().position(|c| c == '✖').unwrap() as u16;
    assert_eq!(Some(cell(&mut h, down, 0).fg), theme.error.fg, "the mark of the sources that are down");
    let mark = lines[2].chars().position(|c| c == '…').unwrap() as u16;
    assert_eq!(Some(cell(&mut h, mark, 2).fg), theme.muted.fg, "the counts' mark");
    insta::assert_snapshot!("crowded_80x24", screen);

    // The histogram's caption keeps its corner and drops whole pieces; a long filter in the title.
    h.press("3 z");
    h.press("/");
    h.type_text("path:/api/v1/reports/monthly/2026/november/export.csv");
    h.press("enter");
    let screen = h.screen();
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines[1].starts_with("┏ 3 Access log /path:/api/v1/reports/monthly/2026/nov"), "{:?}", lines[1]);
    assert!(lines[1].contains('…') && lines[1].ends_with('┓'), "{:?}", lines[1]);
    insta::assert_snapshot!("crowded_80x24_access_filtered", screen);
    h.press("esc");
    let screen = h.screen();
    let bottom = screen.lines().nth(22).unwrap();
    assert!(bottom.starts_with("┗━") && bottom.ends_with("… ┛"), "{bottom:?}");
    assert!(bottom.contains(" 1 min/column to 11-26 12:01:00 · peak 6,000… "), "{bottom:?}");
    insta::assert_snapshot!("crowded_80x24_access_histogram", screen);

    // A filter error longer than its half of the footer.
    h.press("/");
    h.type_text("status>=lots");
    let footer = h.screen().lines().last().unwrap().to_string();
    assert!(footer.ends_with('…'), "{footer:?}");
    h.press("esc");

    // Help: the Commands lines wrap, and scrolling reaches the last of them.
    h.press("?");
    for _ in 0..60 {
        h.press("j");
    }
    let screen = h.screen();
    assert!(screen.contains("Commands (:)"), "{screen}");
    assert!(screen.contains("verify web)"), "the end of the commands is on screen\n{screen}");
    insta::assert_snapshot!("crowded_80x24_help_end", screen);
}

/// What the header says of this console is cut (and marked) rather than left out when a long host
/// and operator leave it too little room, and the clock stays whole.
#[test]
fn a_crowded_header_cuts_what_it_says_of_the_console_and_keeps_the_clock() {
    let mut h = Harness::empty(80, 24);
    h.state.session.operator.host = "build-runner-eu-west-1-production.internal".into();
    h.state.session.operator.name = "root (sudo by alice)".into();
    h.state.session.role = rampart::app::state::Role::Viewer { holder: "pid 4242 (root)".into() };
    let header = h.screen().lines().next().unwrap().to_string();
    assert_eq!(header, " rampart  │ build-runner-eu-west-1-production.inter… │ root (sudo… 12:00:00 UTC ");
    // Who holds the collector lock is what its lock file says: shown inert.
    h.state.session.operator.host = "web-1".into();
    h.state.session.operator.name = "alice".into();
    h.resize(100, 24);
    h.state.session.role = rampart::app::state::Role::Viewer { holder: "pid 4242 (\u{1b}]0;pwned\u{7})".into() };
    let header = h.screen().lines().next().unwrap().to_string();
    assert!(header.contains("│ viewer (collector: pid 4242 (^[]0;pwned^G))"), "{header:?}");
}

#[test]
fn actions_the_collector_refuses_are_disabled_each_with_its_reason() {
    let mut h = Harness::build(W, 80, Some(EVENTS), rampart::respond::Backend::Demo, None);
    h.state.session.denied.insert("isolate".into(), "isolate: only members of secops".into());
    let screen = h.screen();
    assert!(!screen.contains("READ-ONLY"), "other actions remain: {screen}");
    h.press("1 i");
    assert!(h.screen().contains("isolate: only members of secops"));
    assert!(h.state.popup.is_none(), "no dialog opens for a refused action");
    h.press("?");
    let mut help = h.screen();
    for _ in 0..60 {
        if help.contains("Isolate the tenant's") {
            break;
        }
        h.press("j");
        help = h.screen();
    }
    assert!(help.contains("Isolate the tenant's containers (disabled: isolate: only member"), "{help}");
    assert!(!help.contains("Restore an isolated tenant (disabled"), "{help}");
    h.press("esc");
    for action in rampart::control::policy::ACTIONS {
        h.state.session.denied.insert(action.to_string(), format!("{action}: only root"));
    }
    assert!(h.screen().contains("READ-ONLY"), "nothing at all may be done");
}
