//! Key → action → state, without a terminal: the console's behaviour as an operator drives it.

use crate::support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use rampart::app::msg::{Effect, Msg};
use rampart::app::state::Popup;
use rampart::app::update;
use rampart::pane::Pane;
use rampart::respond::Request;
use rampart::store::access::{self, AccessEvent};
use rampart::store::window::{Listing, Row};
use rampart::store::writer::Tables;
use support::Harness;

fn demo() -> Harness {
    Harness::demo(140, 42, 6_000)
}

fn count(h: &Harness, sql: &str) -> i64 {
    h.fx.reader.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The store's ids for `condition` on `table`, newest first, as many as a pane's window holds
/// (two sides of `per_side` rows; a pane is never taller than the 42-row screen).
fn newest_ids(h: &Harness, table: &str, condition: &str) -> Vec<i64> {
    let window = 2 * rampart::app::state::per_side(42);
    let sql = format!("SELECT id FROM {table} WHERE {condition} ORDER BY id DESC LIMIT {window}");
    let mut stmt = h.fx.reader.prepare(&sql).unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Asserts that `pane` shows exactly the store's newest rows for `condition`, and some.
fn shows_newest(h: &Harness, pane: Pane, table: &str, condition: &str) {
    let shown: Vec<i64> = h.state.pane(pane).rows.iter().map(Row::key).collect();
    let want = newest_ids(h, table, condition);
    assert!(!want.is_empty(), "the store has rows where {condition}");
    assert_eq!(shown, want, "{pane:?} shows the newest rows where {condition}");
}

fn selected_key(h: &Harness, pane: Pane) -> i64 {
    h.state.pane(pane).selected_row().map(Row::key).expect("a selected row")
}

#[test]
fn tab_number_keys_and_zoom_move_focus() {
    let mut h = demo();
    assert_eq!(h.state.focus, Pane::Tenants);
    for expected in [
        Pane::Alerts,
        Pane::Access,
        Pane::Bans,
        Pane::Integrity,
        Pane::Audit,
        Pane::Sources,
        Pane::Fleet,
        Pane::Tenants,
    ] {
        h.press("tab");
        assert_eq!(h.state.focus, expected);
    }
    h.press("shift-tab");
    assert_eq!(h.state.focus, Pane::Fleet);
    h.press("4 z");
    assert_eq!((h.state.focus, h.state.zoomed), (Pane::Bans, true));
    h.press("esc");
    assert!(!h.state.zoomed, "esc leaves zoom when there is no filter to clear");
}

#[test]
fn scrolling_away_stops_following_and_top_resumes_it() {
    let mut h = demo();
    h.press("3");
    let newest = selected_key(&h, Pane::Access);
    assert!(h.state.pane(Pane::Access).follow);
    h.press("j j");
    let p = h.state.pane(Pane::Access);
    assert!(!p.follow, "moving down leaves follow mode");
    assert_eq!(p.seen_key, Some(newest));
    h.press("g");
    assert!(!h.state.pane(Pane::Access).follow, "g alone begins `g g`");
    h.press("g");
    assert!(h.state.pane(Pane::Access).follow);
    assert_eq!(selected_key(&h, Pane::Access), newest);
}

/// `g g` is a sequence: the footer says what the first key began and what may follow; another key
/// runs as it would alone, and Esc drops what was begun.
#[test]
fn keys_in_sequence_run_once_complete_and_the_footer_shows_them_begun() {
    let mut h = demo();
    h.press("3 j j");
    h.press("g");
    let screen = h.screen();
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains("g…") && footer.contains("gg top") && footer.contains("esc cancel"), "{footer}");
    h.press("esc");
    assert!(h.state.pending_keys.is_empty());
    assert!(!h.state.pane(Pane::Access).follow, "esc only dropped the g");
    let at = h.state.pane(Pane::Access).selected;
    h.press("g j");
    assert_eq!(h.state.pane(Pane::Access).selected, at + 1, "j after g moves down as it would alone");
    h.press("g g");
    assert!(h.state.pane(Pane::Access).follow, "g g goes to the newest");
    assert_eq!(h.state.pane(Pane::Access).selected, 0);
}

#[test]
fn paging_through_the_whole_table_by_keyset() {
    let mut h = demo();
    h.press("3");
    let total = count(&h, "SELECT count(*) FROM access_events");
    let mut last = i64::MAX;
    let mut presses = 0;
    loop {
        h.press("pgdn");
        presses += 1;
        let key = selected_key(&h, Pane::Access);
        assert!(key <= last, "keys only go down while paging down");
        if key == last {
            break;
        }
        last = key;
        assert!(presses < 2_000, "paging never ends");
        assert!(h.state.pane(Pane::Access).rows.len() <= 4 * 100, "the window stays small");
    }
    assert_eq!(last, count(&h, "SELECT min(id) FROM access_events"), "reached the oldest row");
    assert!(total > 6_000);
    h.press("G");
    assert_eq!(selected_key(&h, Pane::Access), last);
    h.press("k");
    assert_eq!(
        selected_key(&h, Pane::Access),
        count(&h, "SELECT min(id) FROM access_events WHERE id > (SELECT min(id) FROM access_events)")
    );
}

fn add_events(h: &Harness, n: usize) {
    for i in 0..n {
        let e = AccessEvent {
            ts: support::NOW + i as i64,
            tenant: "acme".into(),
            src_ip: "192.0.2.1".into(),
            ..Default::default()
        };
        access::insert(&h.fx.writer, &e).unwrap();
    }
}

#[test]
fn new_rows_are_counted_while_scrolled_away_and_shown_while_following() {
    let mut h = demo();
    h.press("3 j");
    let kept = selected_key(&h, Pane::Access);
    add_events(&h, 7);
    h.send(Msg::StoreChanged(Tables::ACCESS));
    let p = h.state.pane(Pane::Access);
    assert_eq!(p.new_rows, 7);
    assert_eq!(selected_key(&h, Pane::Access), kept, "the operator's row stays put");
    assert!(h.screen().contains("▲ 7 new"));
    h.press("f");
    let newest = count(&h, "SELECT max(id) FROM access_events");
    assert_eq!(selected_key(&h, Pane::Access), newest);
    add_events(&h, 3);
    h.send(Msg::StoreChanged(Tables::ACCESS));
    assert_eq!(selected_key(&h, Pane::Access), newest + 3, "following shows the newest row");
}

#[test]
fn pause_holds_live_updates_until_resumed() {
    let mut h = demo();
    h.press("3 p");
    let before = selected_key(&h, Pane::Access);
    add_events(&h, 2);
    h.send(Msg::StoreChanged(Tables::ACCESS));
    assert_eq!(selected_key(&h, Pane::Access), before, "paused: nothing moves");
    assert!(h.screen().contains("PAUSED"));
    h.press("p");
    assert_eq!(selected_key(&h, Pane::Access), before + 2);
}

#[test]
fn filter_applies_live_and_esc_clears_it() {
    let mut h = demo();
    h.press("3 /");
    h.type_text("status:404");
    assert!(h.state.input.is_some());
    let p = h.state.pane(Pane::Access);
    assert!(p.filter.is_some());
    assert!(p.rows.iter().all(|r| matches!(r, Row::Access(e) if e.status == 404)));
    shows_newest(&h, Pane::Access, "access_events", "status = 404");
    h.press("enter");
    assert!(h.state.input.is_none());
    assert!(h.state.pane(Pane::Access).filter.is_some(), "enter keeps the filter");
    shows_newest(&h, Pane::Access, "access_events", "status = 404");
    h.press("esc");
    assert!(h.state.pane(Pane::Access).filter.is_none());
    assert!(h.state.pane(Pane::Access).rows.iter().any(|r| matches!(r, Row::Access(e) if e.status != 404)));
    shows_newest(&h, Pane::Access, "access_events", "1");
}

/// Sends keys without carrying out their effects, returning the last load asked for `pane`: a
/// query still on its way.
fn keys_in_flight(h: &mut Harness, pane: Pane, keys: &str) -> Effect {
    let mut last = None;
    for c in keys.chars() {
        let code = if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) };
        for e in update::update(&mut h.state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))) {
            if matches!(&e, Effect::Load { query, .. } if query.listing == pane.listing()) {
                last = Some(e);
            }
        }
    }
    last.expect("a load")
}

fn answer(h: &mut Harness, load: Effect) {
    let now = h.state.now_ms;
    for msg in h.fx.run(load, now) {
        update::update(&mut h.state, msg);
    }
}

fn statuses(h: &Harness) -> std::collections::BTreeSet<i64> {
    let rows = &h.state.pane(Pane::Access).rows;
    rows.iter().map(|r| if let Row::Access(e) = r { e.status } else { 0 }).collect()
}

#[test]
fn a_slow_answer_still_shows_when_the_store_changed_while_it_ran() {
    let mut h = demo();
    h.press("3");
    let filtered = keys_in_flight(&mut h, Pane::Access, "/status:404\n");
    // The live feed commits while the filtered query runs: a refresh is asked for...
    let refresh = update::update(&mut h.state, Msg::StoreChanged(Tables::ACCESS));
    let refresh =
        refresh.into_iter().find(|e| matches!(e, Effect::Load { query, .. } if query.listing == Listing::Access));
    assert!(h.screen().contains("searching…"), "the pane says its rows are not yet the filter's");
    // ...and the filtered answer, though older than that request, is for this view: it shows.
    answer(&mut h, filtered);
    assert!(!h.screen().contains("searching…"));
    assert_eq!(statuses(&h), [404].into(), "the filtered rows, not the stale unfiltered ones");
    answer(&mut h, refresh.expect("a refresh of the access pane"));
    assert_eq!(statuses(&h), [404].into());
    // An answer for a view the operator has left is dropped, however it arrives.
    let stale = update::update(&mut h.state, Msg::StoreChanged(Tables::ACCESS));
    let stale = stale.into_iter().find(|e| matches!(e, Effect::Load { query, .. } if query.listing == Listing::Access));
    h.press("esc");
    let unfiltered = statuses(&h);
    assert!(unfiltered.len() > 3, "{unfiltered:?}");
    let other = keys_in_flight(&mut h, Pane::Access, "/status:500\n");
    answer(&mut h, stale.expect("a refresh"));
    assert_eq!(statuses(&h), unfiltered, "the 404 refresh arrived after the view changed: dropped");
    answer(&mut h, other);
    assert_eq!(statuses(&h), [500].into());
}

#[test]
fn isolate_needs_a_reason_and_is_audited() {
    let mut h = demo();
    h.press("1 i");
    assert!(matches!(h.state.popup, Some(Popup::Confirm(_))));
    h.press("enter");
    let Some(Popup::Confirm(c)) = &h.state.popup else { panic!("dialog stays open") };
    assert_eq!(c.error.as_deref(), Some("a reason is required: it goes into the audit log"));
    h.type_text("shell spawned in acme-web-1");
    h.press("tab space enter");
    assert!(h.state.popup.is_none());
    assert_eq!(count(&h, "SELECT count(*) FROM tenants WHERE name = 'acme' AND status = 'isolated'"), 1);
    let (operator, reason, outcome, ssh): (String, String, String, String) =
        h.fx.reader
            .query_row("SELECT operator, reason, outcome, ssh_client FROM audit ORDER BY id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap();
    assert_eq!(
        (operator.as_str(), reason.as_str(), outcome.as_str(), ssh.as_str()),
        ("operator", "shell spawned in acme-web-1", "ok", "192.0.2.10")
    );
    assert!(h.screen().contains("isolated acme: 3/3 containers cut off every network and paused"));
    // And back.
    h.press("R y");
    assert_eq!(count(&h, "SELECT count(*) FROM tenants WHERE name = 'acme' AND status = 'active'"), 1);
}

#[test]
fn esc_cancels_a_dialog_and_changes_nothing() {
    let mut h = demo();
    let audit_rows = count(&h, "SELECT count(*) FROM audit");
    h.press("4 u esc");
    assert!(h.state.popup.is_none());
    assert_eq!(count(&h, "SELECT count(*) FROM audit"), audit_rows);
    assert!(h.screen().contains("cancelled: nothing was changed"));
}

#[test]
fn unban_acknowledge_and_ban_act_on_the_demo_store() {
    let mut h = demo();
    let active = |h: &Harness| count(h, "SELECT count(*) FROM bans WHERE unbanned_at IS NULL");
    let before = active(&h);
    h.press("4 u y");
    assert_eq!(active(&h), before - 1);
    h.press("2 a");
    assert_eq!(count(&h, "SELECT count(*) FROM alerts WHERE acked_by = 'operator'"), 1);
    h.press("3 b");
    h.type_text("scanning us");
    h.press("tab right enter");
    assert_eq!(count(&h, "SELECT count(*) FROM bans WHERE source = 'manual' AND jail = 'sshd'"), 1);
    let actions: Vec<String> = {
        let mut stmt = h.fx.reader.prepare("SELECT action FROM audit WHERE operator = 'operator' ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(actions, ["unban", "acknowledge", "ban"]);
    assert_eq!(rampart::store::audit::verify(&h.fx.reader).unwrap().first_break, None);
}

#[test]
fn the_fleet_view_lists_other_hosts_record_and_no_action_applies_to_it() {
    let mut h = demo();
    h.press("8");
    assert_eq!(h.state.focus, Pane::Fleet);
    let rows = &h.state.pane(Pane::Fleet).rows;
    assert_eq!(rows.len(), 5, "the demo's other hosts published five rows");
    let screen = h.screen();
    assert!(screen.contains("unban 198.51.100.23 in sshd by fail2ban"), "{screen}");
    let audit_rows = count(&h, "SELECT count(*) FROM audit");
    for key in ["u", "i", "a", "v", "b"] {
        h.press(key);
        assert!(h.state.popup.is_none(), "{key} opened a dialog on another host's row");
    }
    assert_eq!(count(&h, "SELECT count(*) FROM audit"), audit_rows, "nothing was done or audited");
    h.press("esc : f l e e t enter");
    h.press("/");
    h.type_text("kind:ban host:web-2");
    h.press("enter");
    let kinds: Vec<(String, String)> = h
        .state
        .pane(Pane::Fleet)
        .rows
        .iter()
        .map(|r| match r {
            Row::Fleet(f) => (f.origin.clone(), f.kind.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, [("web-2".to_string(), "ban".to_string()), ("web-2".to_string(), "ban".to_string())]);
}

#[test]
fn a_fleet_rows_detail_says_which_log_group_and_stream_it_was_read_from() {
    let mut h = demo();
    h.press("8 enter");
    let screen = h.screen();
    assert!(screen.contains("log group") && screen.contains("/rampart/fleet"), "{screen}");
    let Some(Row::Fleet(row)) = h.state.pane(Pane::Fleet).rows.first().cloned() else { panic!("no fleet row") };
    assert!(screen.contains("log stream") && !row.stream.is_empty() && screen.contains(&row.stream), "{screen}");
}

#[test]
fn actions_say_where_they_work() {
    let mut h = demo();
    h.press("3 u");
    assert!(h.state.popup.is_none());
    assert!(h.screen().contains("unban: works on Bans"));
}

#[test]
fn on_the_real_host_a_refused_action_is_audited_as_failed() {
    // The demo store's tenants have no containers on this machine's Docker engine.
    let mut h = Harness::build(140, 42, Some(6_000), support::live(), None);
    h.press("1 i");
    h.type_text("test");
    h.press("enter");
    assert_eq!(count(&h, "SELECT count(*) FROM tenants WHERE status = 'isolated' AND name = 'acme'"), 0);
    assert_eq!(count(&h, "SELECT count(*) FROM audit WHERE action = 'isolate' AND outcome = 'failed'"), 1);
    assert!(
        h.screen().contains("no container carries the label rampart.tenant=acme; nothing to isolate"),
        "{}",
        h.screen()
    );
    // Fail2Ban is not wired in yet: a ban is refused, not pretended.
    h.press("3 b");
    h.type_text("test");
    h.press("enter");
    assert_eq!(count(&h, "SELECT count(*) FROM bans WHERE source = 'manual'"), 0);
    assert_eq!(count(&h, "SELECT count(*) FROM audit WHERE action = 'ban' AND outcome = 'failed'"), 1);
}

#[test]
fn command_line_focuses_and_reports_unknown_commands() {
    let mut h = demo();
    h.press(":");
    h.type_text("bans");
    h.press("enter");
    assert_eq!(h.state.focus, Pane::Bans);
    h.press(":");
    h.type_text("frobnicate");
    h.press("enter");
    assert!(h.screen().contains("unknown command ':frobnicate'"));
    h.press(":");
    h.type_text("q");
    h.press("enter");
    assert!(h.state.quit);
}

#[test]
fn q_closes_a_popup_before_it_quits() {
    let mut h = demo();
    h.press("? q");
    assert!(h.state.popup.is_none() && !h.state.quit);
    h.press("q");
    assert!(h.state.quit);
    let mut h = demo();
    h.send(Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert!(h.state.quit, "ctrl-c quits when the keymap does not bind it");
}

#[test]
fn another_keymap_drives_the_same_actions() {
    let mut h = demo();
    h.state.keymap = support::keymap("emacs");
    h.press("alt-3 ctrl-n ctrl-n");
    assert_eq!((h.state.focus, h.state.pane(Pane::Access).selected), (Pane::Access, 2));
    h.press("j");
    assert_eq!(h.state.pane(Pane::Access).selected, 2, "j means nothing in the emacs keymap");
}

#[test]
fn mouse_click_focuses_and_selects_and_the_wheel_scrolls() {
    let mut h = demo();
    h.draw();
    let (x, y) = h.find("globex ").expect("globex row in Tenants");
    let click =
        MouseEvent { kind: MouseEventKind::Down(MouseButton::Left), column: x, row: y, modifiers: KeyModifiers::NONE };
    h.send(Msg::Mouse(click));
    assert_eq!(h.state.focus, Pane::Tenants);
    assert!(matches!(h.state.pane(Pane::Tenants).selected_row(), Some(Row::Tenant(t)) if t.name == "globex"));
    let (x, y) = h.find("3 Access log").unwrap();
    h.send(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: x,
        row: y + 3,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!((h.state.focus, h.state.pane(Pane::Access).selected), (Pane::Access, 3));
}

#[test]
fn from_an_alert_to_its_tenant_and_to_its_ip_s_access_events() {
    let mut h = demo();
    h.press("2 /");
    h.type_text("rule:\"Brute-force login\"");
    h.press("enter");
    let Some(Row::Alert(alert)) = h.state.pane(Pane::Alerts).selected_row().cloned() else { panic!("an alert") };
    h.press("T");
    assert_eq!(h.state.focus, Pane::Tenants);
    assert!(
        matches!(h.state.pane(Pane::Tenants).selected_row(), Some(Row::Tenant(t)) if Some(&t.name) == alert.tenant.as_ref())
    );
    h.press("2 E");
    assert_eq!(h.state.focus, Pane::Access);
    let ip = alert.src_ip.clone().unwrap();
    let p = h.state.pane(Pane::Access);
    assert_eq!(p.filter.as_ref().map(|f| f.text.clone()), Some(format!("ip:{ip}")));
    assert!(!p.rows.is_empty() && p.rows.iter().all(|r| matches!(r, Row::Access(e) if e.src_ip == ip)));
    shows_newest(&h, Pane::Access, "access_events", &format!("src_ip = '{ip}'"));
}

#[test]
fn esc_and_backspace_go_back_from_jumps_with_the_filter_and_selection_there_was() {
    let mut h = demo();
    h.press("3 /");
    h.type_text("status:200");
    h.press("enter j j");
    let before = h.state.pane(Pane::Access).selected_row().cloned().expect("an access event");
    h.press("2 /");
    h.type_text("rule:\"Brute-force login\"");
    h.press("enter");
    let Some(Row::Alert(alert)) = h.state.pane(Pane::Alerts).selected_row().cloned() else { panic!("an alert") };
    let ip = alert.src_ip.clone().unwrap();
    h.press("E");
    assert_eq!(h.state.focus, Pane::Access);
    assert_eq!(h.state.pane(Pane::Access).filter.as_ref().map(|f| f.text.clone()), Some(format!("ip:{ip}")));
    h.press("T");
    assert_eq!(h.state.focus, Pane::Tenants);
    let screen = h.screen();
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains("Alerts › Access log › Tenants"), "the way back, as breadcrumbs: {footer}");
    h.press("backspace");
    assert_eq!(h.state.focus, Pane::Access, "back from T: the Access log filtered by the IP");
    assert_eq!(h.state.pane(Pane::Access).filter.as_ref().map(|f| f.text.clone()), Some(format!("ip:{ip}")));
    h.press("esc");
    assert_eq!(h.state.focus, Pane::Alerts, "back from E: the alert it started from");
    assert_eq!(h.state.pane(Pane::Alerts).selected_row(), Some(&Row::Alert(alert)));
    let access = h.state.pane(Pane::Access);
    assert_eq!(access.filter.as_ref().map(|f| f.text.as_str()), Some("status:200"), "the filter there was");
    assert!(!access.rows.is_empty() && access.rows.iter().all(|r| matches!(r, Row::Access(e) if e.status == 200)));
    assert!(access.rows.contains(&before));
    h.press("esc");
    assert_eq!(h.state.pane(Pane::Alerts).filter, None, "with nothing to go back to, Esc clears the filter");
}

/// The back stack keeps the newest jumps only, and the breadcrumbs say that older ones were left out.
#[test]
fn the_back_stack_is_bounded_and_its_breadcrumbs_say_what_was_left_out() {
    let mut h = demo();
    h.press("2");
    for _ in 0..rampart::app::state::BACK_LIMIT + 5 {
        h.press("E 2");
    }
    let jumps = h.state.back.len();
    assert_eq!(jumps, rampart::app::state::BACK_LIMIT, "bounded");
    let screen = h.screen();
    let footer = screen.lines().last().unwrap();
    assert!(footer.starts_with(" … › "), "older places left out of the breadcrumbs: {footer}");
    for _ in 0..jumps {
        h.press("backspace");
    }
    assert!(h.state.back.is_empty());
    assert!(!h.screen().lines().last().unwrap().contains(" › "), "no breadcrumbs once back where it began");
}

#[test]
fn every_action_is_a_command_and_takes_the_row_it_names() {
    let mut h = demo();
    h.press(":");
    h.type_text("isolate acme");
    h.press("enter");
    let Some(Popup::Confirm(c)) = &h.state.popup else { panic!("a confirmation:\n{}", h.screen()) };
    assert!(matches!(&c.request, Request::Isolate { tenant, .. } if tenant == "acme"), "{:?}", c.request);
    h.press("esc");
    let Some(Row::Ban(ban)) = h.state.pane(Pane::Bans).rows.last().cloned() else { panic!("a ban") };
    h.press("1 :");
    h.type_text(&format!("unban {}", ban.ip));
    h.press("enter");
    assert_eq!(h.state.focus, Pane::Bans);
    let Some(Popup::Confirm(c)) = &h.state.popup else { panic!("a confirmation:\n{}", h.screen()) };
    assert!(matches!(&c.request, Request::Unban { ip, .. } if *ip == ban.ip), "{:?}", c.request);
    h.press("esc esc");
    assert_eq!(h.state.focus, Pane::Tenants, "a command that picked a row is a jump: Esc goes back");
    h.press(":");
    h.type_text("zoom");
    h.press("enter");
    assert!(h.state.zoomed);
    h.press(":");
    h.type_text("isolate nosuch");
    h.press("enter");
    assert!(h.state.popup.is_none());
    assert!(h.screen().contains("isolate: no row 'nosuch'"), "{}", h.screen());
}

#[test]
fn alerts_grouped_by_rule_and_opened_again() {
    let mut h = demo();
    h.press("2 r");
    let groups: Vec<_> = h
        .state
        .pane(Pane::Alerts)
        .rows
        .iter()
        .filter_map(|r| if let Row::RuleGroup(g) = r { Some(g.clone()) } else { None })
        .collect();
    let total: i64 = groups.iter().map(|g| g.count).sum();
    assert_eq!(total, count(&h, "SELECT count(*) FROM alerts"), "every alert in one group");
    assert!(groups.len() > 2, "the demo's alerts come from several rules: {groups:?}");
    assert!(groups.windows(2).all(|w| w[0].priority <= w[1].priority), "most severe first");
    assert!(h.screen().contains("by rule"));
    let brute = groups.iter().position(|g| g.rule == "Brute-force login").expect("a brute-force group");
    for _ in 0..brute {
        h.press("j");
    }
    assert_eq!(h.state.pane(Pane::Alerts).selected, brute);
    h.press("enter");
    let p = h.state.pane(Pane::Alerts);
    assert!(!p.grouped);
    assert!(p.rows.iter().all(|r| matches!(r, Row::Alert(a) if a.rule == "Brute-force login")));
    shows_newest(&h, Pane::Alerts, "alerts", "rule = 'Brute-force login'");
    assert_eq!(p.rows.len() as i64, groups[brute].count, "the whole group");
}

#[test]
fn drill_is_refused_read_only_and_names_its_scenarios() {
    let mut h = support::Harness::build(140, 30, None, support::live(), Some("--read-only"));
    h.press(":");
    h.type_text("drill acme");
    h.press("enter");
    assert!(h.screen().contains("drill is disabled: read-only (--read-only)"), "{}", h.screen());
    let mut h = support::Harness::empty(160, 30);
    h.press(":");
    h.type_text("drill acme ddos");
    h.press("enter");
    let screen = h.screen();
    assert!(screen.contains("drill: no scenario \"ddos\": brute-force, cross-tenant, web, tamper or all"), "{screen}");
}

#[test]
fn a_drills_alert_is_marked_d_on_the_alerts_pane_never_as_open() {
    use rampart::store::alerts::{Alert, Priority};
    let mut h = support::Harness::empty(140, 30);
    for (rule, tags, acked) in
        [("Brute-force login", "drill", Some("rampart (drill 1)")), ("Web attack pattern", "", None)]
    {
        let alert = Alert {
            id: 0,
            ts: support::NOW,
            priority: Priority::Critical,
            rule: rule.into(),
            source: "rampart".into(),
            hostname: "h".into(),
            tenant: Some("acme".into()),
            output: "o".into(),
            output_fields_json: "{}".into(),
            tags: tags.into(),
            src_ip: Some("10.0.0.9".into()),
            acked_by: acked.map(String::from),
            acked_at: acked.map(|_| support::NOW),
        };
        rampart::store::alerts::insert(&h.fx.writer, &alert).unwrap();
    }
    h.send(rampart::app::msg::Msg::StoreChanged(rampart::store::writer::Tables::ALL));
    h.press("2");
    let screen = h.screen();
    let row = |rule: &str| screen.lines().find(|l| l.contains(rule)).unwrap_or_default().to_string();
    assert!(row("Brute-force login").contains("D Brute-force login"), "{screen}");
    assert!(row("Web attack pattern").contains("  Web attack pattern"), "{screen}");
}
