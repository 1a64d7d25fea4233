//! Keys while a popup is open: help, detail, report and integrity changes scroll and close;
//! confirmations go to their dialog.

use crossterm::event::{KeyCode, KeyEvent};

use super::dialogs::on_confirm_key;
use crate::action::Action;
use crate::app::msg::Effect;
use crate::app::state::{Popup, State};

pub(super) fn on_popup_key(state: &mut State, key: KeyEvent, ctrl_c: bool) -> Vec<Effect> {
    if let Some(Popup::Confirm(_)) = state.popup {
        return on_confirm_key(state, key, ctrl_c);
    }
    if let Some(Popup::Changes(_)) = state.popup {
        return on_changes_key(state, key, ctrl_c);
    }
    let action = super::next_action(state, &key);
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
pub(super) fn on_changes_key(state: &mut State, key: KeyEvent, ctrl_c: bool) -> Vec<Effect> {
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

pub(super) fn view_scroll_reset(state: &mut State) {
    if let Some(Popup::Changes(view)) = state.popup.as_mut() {
        view.scroll = 0;
    }
}
