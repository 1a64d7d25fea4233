//! Small steps every mode shares: quitting, reloading panes, setting a pane's filter, a one-line
//! text field.

use tui_textarea::TextArea;

use crate::app::msg::Effect;
use crate::app::state::State;
use crate::pane::Pane;
use crate::store::filter;
use crate::store::window::Around;
use crate::store::writer::Tables;

pub(super) fn quit(state: &mut State) -> Vec<Effect> {
    state.quit = true;
    vec![Effect::Quit]
}

/// Reloads every pane that shows one of `tables`.
pub(super) fn refresh(state: &mut State, tables: Tables) -> Vec<Effect> {
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

pub(super) fn set_filter(state: &mut State, pane: Pane, filter: Option<filter::Filter>) -> Vec<Effect> {
    let p = state.pane_mut(pane);
    if p.filter == filter {
        return vec![];
    }
    p.filter = filter;
    p.to_top(pane.is_stream());
    vec![state.load(pane, Around::Newest)]
}

pub(super) fn single_line(text: &str) -> TextArea<'static> {
    let mut area = TextArea::new(vec![text.to_string()]);
    area.move_cursor(tui_textarea::CursorMove::End);
    area.set_cursor_line_style(ratatui::style::Style::default());
    area
}
