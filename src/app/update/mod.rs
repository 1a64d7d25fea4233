//! `update(state, msg) -> effects`: the only place the console's state changes; one file per mode
//! (normal keys, jumps, the inputs, dialogs, popups, the mouse) and the small steps they share.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

mod dialogs;
mod input;
mod jumps;
mod mouse;
mod normal;
mod popups;
mod view;

use self::input::on_input_key;
pub use self::input::COMMANDS;
use self::mouse::on_mouse;
pub use self::normal::apply;
use self::popups::on_popup_key;
use self::view::{quit, refresh};
use crate::action::Action;
use crate::app::msg::{Effect, Msg};
use crate::app::state::{Level, Popup, Role, State};
use crate::config::keymap::Step;
use crate::pane::Pane;
use crate::store::histogram;
use crate::store::window::{Around, Row};
use crate::store::writer::Tables;

/// The loads that fill a fresh console.
pub fn start(state: &mut State) -> Vec<Effect> {
    let mut effects: Vec<Effect> = Pane::ALL.iter().map(|p| state.load(*p, Around::Newest)).collect();
    effects.push(Effect::LoadOverview);
    with_histograms(state, effects)
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let effects = step(state, msg);
    with_histograms(state, effects)
}

/// Panes with a histogram count it again whenever their rows are loaded, and whenever what it
/// would show (the pane's width, filter or zoom) is no longer what was last asked for.
fn with_histograms(state: &mut State, mut effects: Vec<Effect>) -> Vec<Effect> {
    for pane in [Pane::Alerts, Pane::Access] {
        let loading =
            effects.iter().any(|e| matches!(e, Effect::Load { query, .. } if query.listing == pane.listing()));
        let Some(Effect::LoadHistogram { query, .. }) = state.histogram(pane) else {
            state.pane_mut(pane).histogram_asked = None;
            continue;
        };
        if loading || state.pane(pane).histogram_asked.as_ref() != Some(&query) {
            state.pane_mut(pane).histogram_asked = Some(query.clone());
            effects.push(Effect::LoadHistogram { pane, query });
        }
    }
    effects
}

fn step(state: &mut State, msg: Msg) -> Vec<Effect> {
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
            // A search still going on answers the same request again as it finds more rows.
            let more_of_a_search = generation == p.answered_generation && p.searched.is_some();
            if generation < p.view_generation || (generation <= p.answered_generation && !more_of_a_search) {
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
        Msg::ReportWritten(Ok(path)) => {
            state.flash(Level::Ok, format!("report written to {}", path.display()));
            vec![]
        }
        Msg::ReportWritten(Err(e)) => {
            state.flash(Level::Error, format!("report: {e}"));
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
        Msg::Unparsed { source, result } => {
            if let Some(Popup::Detail { row, kept, .. }) = state.popup.as_mut() {
                if matches!(row.as_ref(), Row::Source(s) if s.status.source == source) {
                    *kept = Some(result);
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
        Msg::Histogram { pane, bucket_ms, filter, result } => {
            let p = state.pane_mut(pane);
            let current = p.filter.as_ref().map(|f| f.text.clone());
            if bucket_ms != histogram::ZOOMS[p.zoom.min(histogram::ZOOMS.len() - 1)] || filter != current {
                return vec![];
            }
            match result {
                Ok(h) => p.histogram = Some(*h),
                Err(e) => state.flash(Level::Error, format!("cannot count the histogram: {e}")),
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
        Msg::CollectorChanged { holder, snapshot } => {
            let (role, level, said) = match holder {
                Some(holder) if snapshot => (
                    Role::Viewer { holder: holder.clone() },
                    Level::Error,
                    format!(
                        "{holder} collects now, but this console shows the store as it stood when it opened \
                         (it cannot write beside the store): quit and start it again to follow"
                    ),
                ),
                Some(holder) => {
                    (Role::Viewer { holder: holder.clone() }, Level::Info, format!("{holder} collects again"))
                }
                None => (
                    Role::Uncollected,
                    Level::Error,
                    "the collector is gone and this read-only console does not take over: nobody collects".into(),
                ),
            };
            state.session.role = role;
            state.flash(level, said);
            vec![Effect::LoadOverview]
        }
        Msg::Quit => quit(state),
    }
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
    match next_action(state, &key) {
        Some(action) => apply(state, action),
        None if ctrl_c => quit(state),
        None => vec![],
    }
}

/// The action `key` runs after the keys of a sequence typed before it (`g` then `g`); the keys of
/// a sequence not complete yet are kept (the footer shows them), and Esc drops them.
pub(super) fn next_action(state: &mut State, key: &KeyEvent) -> Option<Action> {
    if !state.pending_keys.is_empty() && key.code == KeyCode::Esc {
        state.pending_keys.clear();
        return None;
    }
    match state.keymap.step(&state.pending_keys, key) {
        Step::Run(action) => {
            state.pending_keys.clear();
            Some(action)
        }
        Step::Wait(keys) => {
            state.pending_keys = keys.0;
            None
        }
        Step::Unbound => {
            state.pending_keys.clear();
            None
        }
    }
}
