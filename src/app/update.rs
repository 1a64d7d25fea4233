//! `update(state, msg) -> effects`: the only place the console's state changes.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use tui_textarea::TextArea;

use super::action::{Action, Scope};
use super::msg::{Effect, Msg};
use super::state::{ChangesView, Confirm, ConfirmField, Input, InputKind, Level, Place, Popup, Role, State};
use crate::pane::Pane;
use crate::respond::Request;
use crate::store::filter;
use crate::store::window::{Around, Row};
use crate::store::writer::Tables;
use crate::ui::layout;

/// The loads that fill a fresh console.
pub fn start(state: &mut State) -> Vec<Effect> {
    let mut effects: Vec<Effect> = Pane::ALL.iter().map(|p| state.load(*p, Around::Newest)).collect();
    effects.push(Effect::LoadOverview);
    effects
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(state, key),
        Msg::Key(_) => vec![],
        Msg::Mouse(m) => on_mouse(state, m),
        Msg::Resize(w, h) => {
            state.size = Rect::new(0, 0, w, h);
            for pane in Pane::ALL {
                let height = state.list_height(pane);
                state.pane_mut(pane).scroll_into_view(height);
            }
            vec![]
        }
        Msg::Tick(now) => {
            state.now_ms = now;
            if state.flash.as_ref().is_some_and(|f| f.until_ms <= now) {
                state.flash = None;
            }
            if state.paused {
                return vec![];
            }
            let mut effects = vec![Effect::LoadOverview];
            let expired = state.pane(Pane::Bans).rows.iter().any(|r| matches!(r, Row::Ban(b) if !b.is_active(now)));
            if expired {
                effects.push(state.reload(Pane::Bans));
            }
            effects
        }
        Msg::StoreChanged(tables) => {
            if state.paused {
                state.held_changes |= tables;
                return vec![];
            }
            refresh(state, tables)
        }
        Msg::Loaded { pane, generation, result } => {
            let height = state.list_height(pane);
            let p = state.pane_mut(pane);
            if generation < p.view_generation || generation <= p.answered_generation {
                return vec![];
            }
            p.answered_generation = generation;
            match result {
                Ok(page) => {
                    p.accept(page);
                    p.scroll_into_view(height);
                }
                Err(e) => p.load_error = Some(e),
            }
            vec![]
        }
        Msg::Overview(Ok(loaded)) => {
            (state.overview, state.jails) = *loaded;
            vec![]
        }
        Msg::Overview(Err(e)) => {
            state.flash(Level::Error, format!("cannot read the store: {e}"));
            vec![]
        }
        Msg::Responded(outcome) => {
            let level = if outcome.ok { Level::Ok } else { Level::Error };
            if !outcome.details.is_empty() && state.popup.is_none() {
                state.popup = Some(Popup::Report { title: outcome.message.clone(), lines: outcome.details, scroll: 0 });
            }
            state.flash(level, outcome.message);
            vec![]
        }
        Msg::Related { ip, rows } => {
            if let Some(Popup::Detail { row, related, .. }) = state.popup.as_mut() {
                let same = match row.as_ref() {
                    Row::Ban(b) => b.ip == ip,
                    Row::Access(e) => e.src_ip == ip,
                    Row::Alert(a) => a.src_ip.as_deref() == Some(ip.as_str()),
                    _ => false,
                };
                if same {
                    *related = Some(rows);
                }
            }
            vec![]
        }
        Msg::Changes { run, result } => {
            if let Some(Popup::Changes(view)) = state.popup.as_mut() {
                if view.target.run_id == Some(run) {
                    view.changes = Some(result);
                }
            }
            vec![]
        }
        Msg::ThemeLoaded(Ok(theme)) => {
            state.flash(Level::Info, format!("theme: {}", theme.name));
            state.theme = *theme;
            vec![]
        }
        Msg::ThemeLoaded(Err(e)) => {
            state.flash(Level::Error, e);
            vec![]
        }
        Msg::Resumed => refresh(state, Tables::ALL),
        Msg::TookOverCollecting { previous } => {
            state.session.role = Role::Collector;
            state.flash(Level::Info, format!("the collector ({previous}) is gone: this console collects now"));
            vec![Effect::LoadOverview]
        }
        Msg::Quit => quit(state),
    }
}

fn quit(state: &mut State) -> Vec<Effect> {
    state.quit = true;
    vec![Effect::Quit]
}

/// Reloads every pane that shows one of `tables`.
fn refresh(state: &mut State, tables: Tables) -> Vec<Effect> {
    let mut effects = Vec::new();
    for pane in Pane::ALL {
        if pane.tables().intersects(tables) {
            effects.push(state.reload(pane));
        }
    }
    if tables.intersects(Tables::ALERTS | Tables::BANS | Tables::STATUS | Tables::INTEGRITY) {
        effects.push(Effect::LoadOverview);
    }
    effects
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let ctrl = |c: char| key.code == KeyCode::Char(c) && key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl('z') {
        // As in every full-screen program, whatever is open: the shell's job control comes first.
        return vec![Effect::Suspend];
    }
    let ctrl_c = ctrl('c');
    if state.popup.is_some() {
        return on_popup_key(state, key, ctrl_c);
    }
    if state.input.is_some() {
        return on_input_key(state, key, ctrl_c);
    }
    match state.keymap.action_for(&key) {
        Some(action) => apply(state, action),
        None if ctrl_c => quit(state),
        None => vec![],
    }
}

/// Performs a keymap action in normal mode.
pub fn apply(state: &mut State, action: Action) -> Vec<Effect> {
    let focus = state.focus;
    match action {
        Action::Quit => quit(state),
        Action::FocusNext | Action::FocusPrev => {
            let n = Pane::ALL.len();
            let step = if action == Action::FocusNext { 1 } else { n - 1 };
            state.focus = Pane::ALL[(focus.index() + step) % n];
            vec![]
        }
        Action::Focus(pane) => {
            state.focus = pane;
            vec![]
        }
        Action::Zoom => {
            state.zoomed = !state.zoomed;
            let height = state.list_height(focus);
            state.pane_mut(focus).scroll_into_view(height);
            vec![]
        }
        Action::Down => move_by(state, 1),
        Action::Up => move_by(state, -1),
        Action::PageDown => {
            let page = state.list_height(focus).max(1) as isize;
            move_by(state, page)
        }
        Action::PageUp => {
            let page = state.list_height(focus).max(1) as isize;
            move_by(state, -page)
        }
        Action::Top => {
            state.pane_mut(focus).to_top(focus.is_stream());
            vec![state.load(focus, Around::Newest)]
        }
        Action::Bottom => {
            let p = state.pane_mut(focus);
            if focus.is_stream() {
                p.stop_following();
            }
            p.selected = p.rows.len().saturating_sub(1);
            let height = state.list_height(focus);
            state.pane_mut(focus).scroll_into_view(height);
            vec![state.load(focus, Around::Oldest)]
        }
        Action::Detail if matches!(state.pane(focus).selected_row(), Some(Row::RuleGroup(_))) => {
            // Opening a rule shows its alerts.
            let Some(Row::RuleGroup(g)) = state.pane(focus).selected_row() else { return vec![] };
            let text = format!("rule:\"{}\"", g.rule.replace('\\', "\\\\").replace('"', "\\\""));
            state.pane_mut(focus).grouped = false;
            state.pane_mut(focus).rows.clear();
            match filter::compile(&text, focus.fields(), state.now_ms) {
                Ok(f) => {
                    state.pane_mut(focus).filter = None;
                    set_filter(state, focus, f)
                }
                Err(e) => {
                    state.flash(Level::Error, e.to_string());
                    vec![]
                }
            }
        }
        Action::Detail if matches!(state.pane(focus).selected_row(), Some(Row::Integrity(_))) => {
            // A target opens on what its newest run found.
            let Some(Row::Integrity(t)) = state.pane(focus).selected_row().cloned() else { return vec![] };
            let run = t.run_id;
            let changes = if run.is_some() { None } else { Some(Ok(Vec::new())) };
            let view = ChangesView { target: t, changes, filter: String::new(), typing: false, scroll: 0 };
            state.popup = Some(Popup::Changes(Box::new(view)));
            run.map(|run| vec![Effect::LoadChanges { run }]).unwrap_or_default()
        }
        Action::Detail => match state.pane(focus).selected_row() {
            Some(row) => {
                let ip = match row {
                    Row::Ban(b) => Some(b.ip.clone()),
                    Row::Access(e) => Some(e.src_ip.clone()),
                    Row::Alert(a) => a.src_ip.clone(),
                    _ => None,
                };
                let alert = if let Row::Alert(a) = row { Some(a.id) } else { None };
                state.popup = Some(Popup::Detail { pane: focus, row: Box::new(row.clone()), scroll: 0, related: None });
                ip.map(|ip| vec![Effect::LoadRelated { ip, alert }]).unwrap_or_default()
            }
            None => {
                state.flash(Level::Info, format!("{} is empty: nothing to show", focus.title()));
                vec![]
            }
        },
        Action::Filter => {
            let current = state.pane(focus).filter.as_ref().map(|f| f.text.clone()).unwrap_or_default();
            state.input = Some(Input { kind: InputKind::Filter(focus), text: single_line(&current), error: None });
            vec![]
        }
        Action::Back => back(state),
        Action::Close if !state.back.is_empty() => back(state),
        Action::Close => {
            if state.pane(focus).filter.is_some() {
                set_filter(state, focus, None)
            } else {
                state.zoomed = false;
                vec![]
            }
        }
        Action::Follow => {
            if !focus.is_stream() {
                state.flash(Level::Info, format!("{} is not a live pane", focus.title()));
                return vec![];
            }
            let p = state.pane_mut(focus);
            if p.follow {
                p.stop_following();
                state.flash(Level::Info, format!("{}: follow off", focus.title()));
                vec![]
            } else {
                p.to_top(true);
                state.flash(Level::Info, format!("{}: following the newest rows", focus.title()));
                vec![state.load(focus, Around::Newest)]
            }
        }
        Action::History => {
            if !action.applies_to(focus) {
                state.flash(Level::Info, "history: works on Bans");
                return vec![];
            }
            let p = state.pane_mut(focus);
            p.history = !p.history;
            let shown = if p.history { "all bans, ended ones too" } else { "active bans" };
            p.to_top(true);
            state.flash(Level::Info, format!("Bans: {shown}"));
            vec![state.load(focus, Around::Newest)]
        }
        Action::GotoTenant | Action::GotoIp => goto(state, action),
        Action::Group => {
            if !action.applies_to(focus) {
                state.flash(Level::Info, "group: works on Alerts");
                return vec![];
            }
            let p = state.pane_mut(focus);
            p.grouped = !p.grouped;
            // Rules and alerts share no keys: start the other view from its top.
            p.rows.clear();
            p.to_top(!p.grouped);
            p.follow = !p.grouped;
            vec![state.load(focus, Around::Newest)]
        }
        Action::Pause => {
            state.paused = !state.paused;
            if state.paused {
                let resume =
                    state.keymap.key_name(Action::Pause).map_or(String::new(), |k| format!(" ({k} to resume)"));
                state.flash(Level::Info, format!("live updates paused{resume}"));
                vec![]
            } else {
                let held = std::mem::replace(&mut state.held_changes, Tables::NONE);
                state.flash(Level::Info, "live updates resumed");
                refresh(state, held | Tables::STATUS)
            }
        }
        Action::Help => {
            state.popup = Some(Popup::Help { scroll: 0 });
            vec![]
        }
        Action::Command => {
            state.input = Some(Input { kind: InputKind::Command, text: single_line(""), error: None });
            vec![]
        }
        Action::Isolate | Action::Restore | Action::Unban | Action::Ban | Action::Acknowledge | Action::Verify => {
            respond(state, action)
        }
    }
}

/// Remembers where a jump to `target` leaves from.
fn push_place(state: &mut State, target: Pane) {
    let p = state.pane(target);
    let place = Place { focus: state.focus, pane: target, filter: p.filter.clone(), selected: p.selected };
    state.back.push(place);
}

/// Goes back to where the newest jump came from: its focus, and the filter and selection the jump
/// changed.
fn back(state: &mut State) -> Vec<Effect> {
    let Some(place) = state.back.pop() else {
        state.flash(Level::Info, "nothing to go back to");
        return vec![];
    };
    state.focus = place.focus;
    let effects = set_filter(state, place.pane, place.filter);
    let height = state.list_height(place.pane);
    let p = state.pane_mut(place.pane);
    if effects.is_empty() && place.selected < p.rows.len() {
        p.selected = place.selected;
        p.scroll_into_view(height);
    }
    effects
}

/// Follows the selected row to its tenant, or to its IP's access events.
fn goto(state: &mut State, action: Action) -> Vec<Effect> {
    let focus = state.focus;
    if !action.applies_to(focus) {
        state.flash(Level::Info, format!("{}: not on {}", action.name(), focus.title()));
        return vec![];
    }
    let Some(row) = state.pane(focus).selected_row() else {
        state.flash(Level::Info, format!("{} is empty", focus.title()));
        return vec![];
    };
    let (tenant, ip) = match row {
        Row::Alert(a) => (a.tenant.clone(), a.src_ip.clone()),
        Row::Access(e) => (Some(e.tenant.clone()).filter(|t| !t.is_empty()), Some(e.src_ip.clone())),
        Row::Ban(b) => (b.tenant.clone(), Some(b.ip.clone())),
        _ => (None, None),
    };
    if action == Action::GotoIp {
        let Some(ip) = ip else {
            state.flash(Level::Info, "this row has no IP address");
            return vec![];
        };
        return match filter::compile(&format!("ip:{ip}"), Pane::Access.fields(), state.now_ms) {
            Ok(f) => {
                push_place(state, Pane::Access);
                state.focus = Pane::Access;
                set_filter(state, Pane::Access, f)
            }
            Err(e) => {
                state.flash(Level::Error, e.to_string());
                vec![]
            }
        };
    }
    let Some(tenant) = tenant else {
        state.flash(Level::Info, "this row belongs to no known tenant");
        return vec![];
    };
    if !select_row(state, Pane::Tenants, &tenant) {
        state.flash(Level::Info, format!("tenant {tenant} is not in the Tenants pane"));
    }
    vec![]
}

/// The text a `:` command names a row of `pane` by: a tenant's or target's name, a ban's or an
/// access event's address, an alert's id.
fn row_is(row: &Row, name: &str) -> bool {
    let same_ip = |ip: &str| match (ip.parse::<std::net::IpAddr>(), name.parse::<std::net::IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => ip == name,
    };
    match row {
        Row::Tenant(t) => t.name == name,
        Row::Integrity(t) => t.name == name,
        Row::Ban(b) => same_ip(&b.ip),
        Row::Access(e) => same_ip(&e.src_ip),
        Row::Alert(a) => a.id.to_string() == name,
        _ => false,
    }
}

/// Jumps to the first loaded row of `pane` that `name` names (remembering where it came from).
fn select_row(state: &mut State, pane: Pane, name: &str) -> bool {
    let Some(index) = state.pane(pane).rows.iter().position(|r| row_is(r, name)) else { return false };
    push_place(state, pane);
    let height = state.list_height(pane);
    let p = state.pane_mut(pane);
    p.selected = index;
    if pane.is_stream() {
        p.stop_following();
    }
    p.scroll_into_view(height);
    state.focus = pane;
    true
}

/// `:ACTION [NAME]`: any keymap action by its name; with a name, on the row it names first
/// (`:isolate acme`, `:unban 203.0.113.7`, `:verify web`, `:acknowledge 42`).
fn run_action_command(state: &mut State, action: Action, name: &str) -> Vec<Effect> {
    if name.is_empty() {
        return apply(state, action);
    }
    let panes: Vec<Pane> = match action.spec().scope {
        Scope::Respond(panes) | Scope::ViewOn(panes) => panes.to_vec(),
        _ => vec![state.focus],
    };
    let found = if panes.contains(&state.focus) {
        std::iter::once(state.focus).chain(panes.iter().copied().filter(|p| *p != state.focus)).collect()
    } else {
        panes
    };
    for pane in found {
        if select_row(state, pane, name) {
            return apply(state, action);
        }
    }
    state.flash(
        Level::Error,
        format!("{}: no row '{name}' on screen (only loaded rows are searched: filter with / first)", action.name()),
    );
    vec![]
}

fn single_line(text: &str) -> TextArea<'static> {
    let mut area = TextArea::new(vec![text.to_string()]);
    area.move_cursor(tui_textarea::CursorMove::End);
    area.set_cursor_line_style(ratatui::style::Style::default());
    area
}

fn move_by(state: &mut State, delta: isize) -> Vec<Effect> {
    let pane = state.focus;
    let height = state.list_height(pane);
    let p = state.pane_mut(pane);
    if p.rows.is_empty() {
        return vec![];
    }
    let last = p.rows.len() - 1;
    let target = (p.selected as isize + delta).clamp(0, last as isize) as usize;
    p.selected = target;
    if pane.is_stream() {
        if target == 0 && p.at_newest {
            p.to_top(true);
        } else {
            p.stop_following();
        }
    }
    p.scroll_into_view(height);
    let near_newest = target < height && !p.at_newest;
    let near_oldest = last - target < height && !p.at_oldest;
    if near_newest || near_oldest {
        let key = p.rows[target].key();
        return vec![state.load(pane, Around::Key(key))];
    }
    vec![]
}

fn set_filter(state: &mut State, pane: Pane, filter: Option<filter::Filter>) -> Vec<Effect> {
    let p = state.pane_mut(pane);
    if p.filter == filter {
        return vec![];
    }
    p.filter = filter;
    p.to_top(pane.is_stream());
    vec![state.load(pane, Around::Newest)]
}

fn on_input_key(state: &mut State, key: KeyEvent, ctrl_c: bool) -> Vec<Effect> {
    let Some(input) = state.input.as_mut() else {
        return vec![];
    };
    let kind = input.kind;
    match key.code {
        KeyCode::Esc => {
            state.input = None;
            match kind {
                InputKind::Filter(pane) => set_filter(state, pane, None),
                InputKind::Command => vec![],
            }
        }
        _ if ctrl_c => {
            state.input = None;
            vec![]
        }
        KeyCode::Enter => {
            let text = input.text.lines().join(" ");
            match kind {
                InputKind::Filter(_) if input.error.is_some() => vec![],
                InputKind::Filter(_) => {
                    state.input = None;
                    vec![]
                }
                InputKind::Command => {
                    state.input = None;
                    run_command(state, text.trim())
                }
            }
        }
        _ => {
            input.text.input(key);
            let text = input.text.lines().join(" ");
            match kind {
                InputKind::Filter(pane) => match filter::compile(&text, pane.fields(), state.now_ms) {
                    Ok(f) => {
                        input.error = None;
                        set_filter(state, pane, f)
                    }
                    Err(e) => {
                        input.error = Some(e.to_string());
                        vec![]
                    }
                },
                InputKind::Command => vec![],
            }
        }
    }
}

/// The `:` commands.
pub const COMMANDS: &str = "tenants, alerts, access, bans, integrity, audit, theme NAME, filter EXPR, help, q, \
    and every action by its name, with the row's name where it takes one (isolate acme, unban 203.0.113.7, verify web)";

fn run_command(state: &mut State, line: &str) -> Vec<Effect> {
    let (cmd, arg) = line.split_once(' ').map_or((line, ""), |(c, a)| (c, a.trim()));
    let pane = match cmd {
        "tenants" | "t" => Some(Pane::Tenants),
        "alerts" | "al" => Some(Pane::Alerts),
        "access" | "log" | "ac" => Some(Pane::Access),
        "bans" | "b" => Some(Pane::Bans),
        "integrity" | "i" => Some(Pane::Integrity),
        "audit" | "au" => Some(Pane::Audit),
        _ => None,
    };
    if let Some(pane) = pane {
        return apply(state, Action::Focus(pane));
    }
    match cmd {
        "" => vec![],
        "q" | "quit" | "q!" => quit(state),
        "help" | "h" => apply(state, Action::Help),
        "theme" if !arg.is_empty() => vec![Effect::LoadTheme(arg.to_string())],
        "filter" => {
            let pane = state.focus;
            match filter::compile(arg, pane.fields(), state.now_ms) {
                Ok(f) => set_filter(state, pane, f),
                Err(e) => {
                    state.flash(Level::Error, e.to_string());
                    vec![]
                }
            }
        }
        _ if Action::from_name(cmd).is_some() => {
            let action = Action::from_name(cmd).expect("checked");
            run_action_command(state, action, arg)
        }
        _ => {
            state.flash(Level::Error, format!("unknown command ':{line}' — commands: {COMMANDS}"));
            vec![]
        }
    }
}

/// An action that changes the world: checked, then confirmed where the design asks for it.
fn respond(state: &mut State, action: Action) -> Vec<Effect> {
    let focus = state.focus;
    if let Some(reason) = &state.session.read_only {
        state.flash(Level::Error, format!("{} is disabled: read-only ({reason})", action.name()));
        return vec![];
    }
    if !action.applies_to(focus) {
        state.flash(Level::Info, format!("{}: {}", action.name(), where_it_works(action)));
        return vec![];
    }
    let Some(row) = state.pane(focus).selected_row().cloned() else {
        state.flash(Level::Info, format!("{} is empty: nothing to {}", focus.title(), action.name()));
        return vec![];
    };
    let confirm = |request, title: &str, question: String, reason: bool, pause: bool, jails: Vec<String>| {
        let field = if reason {
            ConfirmField::Reason
        } else if !jails.is_empty() {
            ConfirmField::Jail
        } else {
            ConfirmField::Pause
        };
        Popup::Confirm(Box::new(Confirm {
            request,
            title: title.to_string(),
            question,
            reason: reason.then(|| single_line("")),
            pause: pause.then_some(false),
            jails,
            jail: 0,
            field,
            error: None,
        }))
    };
    let popup = match (action, &row) {
        (Action::Isolate, Row::Tenant(t)) => {
            if t.status == crate::store::tenants::status::ISOLATED {
                let restore =
                    state.keymap.key_name(Action::Restore).map_or(String::new(), |k| format!(" ({k} restores it)"));
                state.flash(Level::Info, format!("{} is already isolated{restore}", t.name));
                return vec![];
            }
            confirm(
                Request::Isolate { tenant: t.name.clone(), reason: String::new(), pause: false },
                "Isolate tenant",
                if t.status == crate::store::tenants::status::PARTIAL {
                    let undo = state
                        .keymap
                        .key_name(Action::Restore)
                        .map_or(String::new(), |k| format!(" ({k} undoes it instead.)"));
                    format!(
                        "{}'s isolation is unfinished (interrupted, or some containers failed). Finish it from the \
                         journal?{undo}",
                        t.name
                    )
                } else {
                    format!(
                        "Disconnect every network of {}'s {} containers and attach them to the quarantine network?",
                        t.name, t.containers
                    )
                },
                true,
                true,
                vec![],
            )
        }
        (Action::Restore, Row::Tenant(t)) => {
            if t.status == crate::store::tenants::status::ACTIVE {
                state.flash(Level::Info, format!("{} is not isolated", t.name));
                return vec![];
            }
            confirm(
                Request::Restore { tenant: t.name.clone() },
                "Restore tenant",
                format!("Reconnect {}'s containers to their journaled networks and leave quarantine?", t.name),
                false,
                false,
                vec![],
            )
        }
        (Action::Unban, Row::Ban(b)) => confirm(
            Request::Unban { ban_id: b.id, ip: b.ip.clone(), jail: b.jail.clone() },
            "Unban IP",
            format!("Unban {} from jail {}?", b.ip, b.jail),
            false,
            false,
            vec![],
        ),
        (Action::Ban, row) => {
            let ip = match row {
                Row::Ban(b) => Some(b.ip.clone()),
                Row::Access(e) => Some(e.src_ip.clone()),
                Row::Alert(a) => a.src_ip.clone(),
                _ => None,
            };
            let Some(ip) = ip else {
                state.flash(Level::Info, "this row has no IP address to ban");
                return vec![];
            };
            let mut jails = state.jails.clone();
            if jails.is_empty() {
                jails.push("manual".to_string());
            }
            confirm(
                Request::Ban { ip: ip.clone(), jail: String::new(), reason: String::new() },
                "Ban IP",
                format!("Ban {ip}?"),
                true,
                false,
                jails,
            )
        }
        (Action::Acknowledge, Row::Alert(a)) => {
            if a.acked_at.is_some() {
                state.flash(Level::Info, format!("alert {} is already acknowledged", a.id));
                return vec![];
            }
            state.flash(Level::Info, format!("acknowledging alert {}…", a.id));
            return vec![Effect::Respond(Request::Acknowledge { alert_id: a.id, rule: a.rule.clone() })];
        }
        (Action::Verify, Row::Integrity(t)) => {
            state.flash(Level::Info, format!("verifying {}…", t.name));
            return vec![Effect::Respond(Request::Verify { target: t.name.clone() })];
        }
        _ => return vec![],
    };
    state.popup = Some(popup);
    vec![]
}

fn where_it_works(action: Action) -> String {
    match action.spec().scope {
        super::action::Scope::Respond(panes) => {
            format!("works on {}", panes.iter().map(|p| p.title()).collect::<Vec<_>>().join(", "))
        }
        _ => String::new(),
    }
}

fn on_popup_key(state: &mut State, key: KeyEvent, ctrl_c: bool) -> Vec<Effect> {
    if let Some(Popup::Confirm(_)) = state.popup {
        return on_confirm_key(state, key, ctrl_c);
    }
    if let Some(Popup::Changes(_)) = state.popup {
        return on_changes_key(state, key, ctrl_c);
    }
    let action = state.keymap.action_for(&key);
    let Some(popup) = state.popup.as_mut() else {
        return vec![];
    };
    let scroll = match popup {
        Popup::Help { scroll } | Popup::Detail { scroll, .. } | Popup::Report { scroll, .. } => scroll,
        Popup::Confirm(_) | Popup::Changes(_) => return vec![],
    };
    match action {
        Some(Action::Down) => *scroll = scroll.saturating_add(1),
        Some(Action::Up) => *scroll = scroll.saturating_sub(1),
        Some(Action::PageDown) => *scroll = scroll.saturating_add(10),
        Some(Action::PageUp) => *scroll = scroll.saturating_sub(10),
        Some(Action::Top) => *scroll = 0,
        Some(Action::Bottom) => *scroll = u16::MAX / 2,
        Some(Action::Close | Action::Quit | Action::Help | Action::Detail) => state.popup = None,
        _ if ctrl_c || key.code == KeyCode::Esc => state.popup = None,
        _ => {}
    }
    vec![]
}

/// The changes popup: `/` types a filter (enter keeps it, esc clears it), movement scrolls, esc closes.
fn on_changes_key(state: &mut State, key: KeyEvent, ctrl_c: bool) -> Vec<Effect> {
    let action = state.keymap.action_for(&key);
    let Some(Popup::Changes(view)) = state.popup.as_mut() else {
        return vec![];
    };
    if view.typing {
        match key.code {
            KeyCode::Enter => view.typing = false,
            KeyCode::Esc => {
                view.typing = false;
                view.filter.clear();
            }
            KeyCode::Backspace => {
                view.filter.pop();
            }
            KeyCode::Char(c) if !ctrl_c && view.filter.chars().count() < 200 => view.filter.push(c),
            _ if ctrl_c => state.popup = None,
            _ => {}
        }
        view_scroll_reset(state);
        return vec![];
    }
    match action {
        Some(Action::Filter) => {
            view.typing = true;
            return vec![];
        }
        Some(Action::Down) => view.scroll = view.scroll.saturating_add(1),
        Some(Action::Up) => view.scroll = view.scroll.saturating_sub(1),
        Some(Action::PageDown) => view.scroll = view.scroll.saturating_add(10),
        Some(Action::PageUp) => view.scroll = view.scroll.saturating_sub(10),
        Some(Action::Top) => view.scroll = 0,
        Some(Action::Bottom) => view.scroll = u16::MAX / 2,
        Some(Action::Close) if !view.filter.is_empty() => view.filter.clear(),
        Some(Action::Close | Action::Quit | Action::Help | Action::Detail) => state.popup = None,
        _ if ctrl_c || key.code == KeyCode::Esc => state.popup = None,
        _ => {}
    }
    vec![]
}

fn view_scroll_reset(state: &mut State) {
    if let Some(Popup::Changes(view)) = state.popup.as_mut() {
        view.scroll = 0;
    }
}

fn on_confirm_key(state: &mut State, key: KeyEvent, ctrl_c: bool) -> Vec<Effect> {
    let Some(Popup::Confirm(confirm)) = state.popup.as_mut() else {
        return vec![];
    };
    let fields: Vec<ConfirmField> = [
        confirm.reason.is_some().then_some(ConfirmField::Reason),
        confirm.pause.is_some().then_some(ConfirmField::Pause),
        (!confirm.jails.is_empty()).then_some(ConfirmField::Jail),
    ]
    .into_iter()
    .flatten()
    .collect();
    let typing = confirm.field == ConfirmField::Reason && confirm.reason.is_some();
    match key.code {
        KeyCode::Esc => {
            state.popup = None;
            state.flash(Level::Info, "cancelled: nothing was changed");
        }
        _ if ctrl_c => {
            state.popup = None;
            state.flash(Level::Info, "cancelled: nothing was changed");
        }
        KeyCode::Char('n') if fields.is_empty() => {
            state.popup = None;
            state.flash(Level::Info, "cancelled: nothing was changed");
        }
        KeyCode::Enter | KeyCode::Char('y') if key.code == KeyCode::Enter || fields.is_empty() => {
            let reason = confirm.reason.as_ref().map(|r| r.lines().join(" ").trim().to_string());
            if reason.as_deref() == Some("") {
                confirm.error = Some("a reason is required: it goes into the audit log".to_string());
                confirm.field = ConfirmField::Reason;
                return vec![];
            }
            let mut request = confirm.request.clone();
            match &mut request {
                Request::Isolate { reason: r, pause, .. } => {
                    *r = reason.unwrap_or_default();
                    *pause = confirm.pause.unwrap_or(false);
                }
                Request::Ban { reason: r, jail, .. } => {
                    *r = reason.unwrap_or_default();
                    *jail = confirm.jails.get(confirm.jail).cloned().unwrap_or_default();
                }
                _ => {}
            }
            state.popup = None;
            state.flash(Level::Info, format!("{}: {}…", request.action(), request.target()));
            return vec![Effect::Respond(request)];
        }
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Down | KeyCode::Up if fields.len() > 1 => {
            let at = fields.iter().position(|f| *f == confirm.field).unwrap_or(0);
            let forward = matches!(key.code, KeyCode::Tab | KeyCode::Down);
            let next = if forward { at + 1 } else { at + fields.len() - 1 } % fields.len();
            confirm.field = fields[next % fields.len()];
        }
        KeyCode::Char(' ') if confirm.field == ConfirmField::Pause => {
            confirm.pause = confirm.pause.map(|p| !p);
        }
        KeyCode::Left | KeyCode::Right if confirm.field == ConfirmField::Jail && !confirm.jails.is_empty() => {
            let n = confirm.jails.len();
            confirm.jail = if key.code == KeyCode::Right { confirm.jail + 1 } else { confirm.jail + n - 1 } % n;
        }
        _ if typing => {
            if let Some(reason) = confirm.reason.as_mut() {
                reason.input(key);
                confirm.error = None;
            }
        }
        _ => {}
    }
    vec![]
}

fn on_mouse(state: &mut State, m: MouseEvent) -> Vec<Effect> {
    if state.popup.is_some() || state.input.is_some() {
        return vec![];
    }
    let at = Position::new(m.column, m.row);
    let Some((pane, rect)) = state.visible().into_iter().find(|(_, r)| r.contains(at)) else {
        return vec![];
    };
    match m.kind {
        MouseEventKind::ScrollDown => {
            state.focus = pane;
            move_by(state, 3)
        }
        MouseEventKind::ScrollUp => {
            state.focus = pane;
            move_by(state, -3)
        }
        MouseEventKind::Down(MouseButton::Left) => {
            state.focus = pane;
            let first_row = rect.y + 1 + layout::preamble(pane);
            if m.row >= first_row && m.row < rect.bottom().saturating_sub(1) {
                let p = state.pane(pane);
                let index = p.offset + (m.row - first_row) as usize;
                if index < p.rows.len() {
                    return move_by(state, index as isize - p.selected as isize);
                }
            }
            vec![]
        }
        _ => vec![],
    }
}
