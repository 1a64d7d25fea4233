//! The report popup: what an action did, one line per part (each container of an isolation).

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::state::State;
use crate::text::sanitize;

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, title: &str, lines: &[String], scroll: u16) {
    let theme = &state.theme;
    let height = (lines.len() as u16 + 2).clamp(5, area.height.saturating_sub(4));
    let popup = super::centered(area, area.width.saturating_sub(8).min(110), height);
    let inner = super::frame_popup(frame, popup, theme, &sanitize::clean(title, 100), "esc close");
    let text: Vec<Line<'_>> = lines
        .iter()
        .map(|l| {
            let style = if l.starts_with("FAILED") { theme.error } else { theme.popup };
            Line::styled(sanitize::clean_all(l).into_owned(), style)
        })
        .collect();
    let max_scroll = (text.len() as u16).saturating_sub(inner.height);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).scroll((scroll.min(max_scroll), 0)), inner);
}
