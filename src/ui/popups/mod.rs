//! Popups over the panes: help, a row's detail, the confirmation before an action, the report of
//! what an action did, and an integrity target's changes.

pub mod changes;
pub mod confirm;
pub mod detail;
pub mod help;
pub mod report;

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Clear};
use ratatui::Frame;

use crate::action::Action;
use crate::config::{Keymap, Theme};

/// The bottom hint of a scrolling popup, with the active keymap's keys (Esc always closes one).
pub fn scroll_hint(keymap: &Keymap) -> String {
    match (keymap.key_for(Action::Down), keymap.key_for(Action::Up)) {
        (Some(down), Some(up)) => format!("{down}/{up} scroll · esc close"),
        _ => "esc close".to_string(),
    }
}

/// A rectangle of `width`×`height` (clamped to `area`) in the middle of `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

/// Clears `area`, draws a popup frame with `title` and a bottom hint, and returns the inside.
pub fn frame_popup(frame: &mut Frame<'_>, area: Rect, theme: &Theme, title: &str, hint: &str) -> Rect {
    // A title longer than the border (a path, a long name) ends in `…` before the corner.
    let room = area.width.saturating_sub(2);
    let title = crate::ui::panes::fit(ratatui::text::Span::styled(format!(" {title} "), theme.title_focused), room);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.popup_border)
        .title(Line::from(title))
        .title_bottom(Line::styled(format!(" {hint} "), theme.muted).right_aligned())
        .style(theme.popup);
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    inner
}
