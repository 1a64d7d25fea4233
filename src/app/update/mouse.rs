//! The mouse: the wheel scrolls the pane under it, a click focuses and selects.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Position;

use super::normal::move_by;
use crate::app::msg::Effect;
use crate::app::state::State;
use crate::layout;

pub(super) fn on_mouse(state: &mut State, m: MouseEvent) -> Vec<Effect> {
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
            let first_row = rect.y + 1 + layout::preamble(pane, rect);
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
