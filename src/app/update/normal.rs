//! Normal mode: what each keymap action does to the console.

use super::dialogs::respond;
use super::jumps::{back, goto};
use super::view::{quit, refresh, set_filter, single_line};
use crate::action::Action;
use crate::app::msg::Effect;
use crate::app::state::{ChangesView, Input, InputKind, Level, Popup, State};
use crate::pane::Pane;
use crate::store::window::{Around, Row};
use crate::store::writer::Tables;
use crate::store::{filter, histogram};

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
                let source = if let Row::Source(s) = row { Some(s.status.source.clone()) } else { None };
                state.popup = Some(Popup::Detail {
                    pane: focus,
                    row: Box::new(row.clone()),
                    scroll: 0,
                    related: None,
                    kept: None,
                });
                let mut effects: Vec<Effect> = ip.map(|ip| Effect::LoadRelated { ip, alert }).into_iter().collect();
                effects.extend(source.map(|source| Effect::LoadUnparsed { source }));
                effects
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
        Action::HistogramFiner | Action::HistogramCoarser => {
            if !action.applies_to(focus) {
                state.flash(Level::Info, "the histogram is above Alerts and the Access log");
                return vec![];
            }
            let last = histogram::ZOOMS.len() - 1;
            let p = state.pane_mut(focus);
            p.zoom = match action {
                Action::HistogramFiner => p.zoom.saturating_sub(1),
                _ => (p.zoom + 1).min(last),
            };
            let text = format!("histogram: {} per column", crate::store::histogram::interval_name(p.zoom));
            state.flash(Level::Info, text);
            // The histogram is asked for again because its interval changed (see `update`).
            vec![]
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

pub(super) fn move_by(state: &mut State, delta: isize) -> Vec<Effect> {
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
