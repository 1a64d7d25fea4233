//! The dialog before an action: what will happen, the reason, the options, and how to confirm.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::state::{Confirm, ConfirmField, State};
use crate::text::sanitize;

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, c: &Confirm) {
    let theme = &state.theme;
    let popup = super::centered(area, 72, 12);
    let inner = super::frame_popup(frame, popup, theme, &c.title, "enter confirm · tab next field · esc cancel");
    let marker = |field| if c.field == field { "▶ " } else { "  " };
    let question = Paragraph::new(sanitize::clean_all(&c.question).into_owned()).wrap(Wrap { trim: false });
    let question_height = (question.line_count(inner.width) as u16).min(inner.height);
    frame.render_widget(question, Rect { height: question_height, ..inner });
    let inner =
        Rect { y: inner.y + question_height + 1, height: inner.height.saturating_sub(question_height + 1), ..inner };
    let mut lines = Vec::new();
    let mut reason_row = None;
    if c.reason.is_some() {
        lines.push(Line::styled(
            format!("{}Reason (required, goes into the audit log):", marker(ConfirmField::Reason)),
            theme.column_header,
        ));
        reason_row = Some(lines.len() as u16);
        lines.push(Line::raw(""));
    }
    if let Some(pause) = c.pause {
        lines.push(Line::from(vec![
            Span::styled(marker(ConfirmField::Pause), theme.column_header),
            Span::raw(format!("[{}] also pause the containers (space toggles)", if pause { "x" } else { " " })),
        ]));
    }
    if !c.jails.is_empty() {
        let jail = c.jails.get(c.jail).map_or("", String::as_str);
        lines.push(Line::from(vec![
            Span::styled(marker(ConfirmField::Jail), theme.column_header),
            Span::raw("jail: "),
            Span::styled(format!("◀ {} ▶", sanitize::clean_all(jail)), theme.filter),
            Span::styled("  (←/→ to choose)", theme.muted),
        ]));
    }
    if c.reason.is_none() && c.pause.is_none() && c.jails.is_empty() {
        lines.push(Line::styled("y or enter: do it · n or esc: cancel", theme.muted));
    }
    if let Some(e) = &c.error {
        lines.push(Line::raw(""));
        lines.push(Line::styled(e.clone(), theme.error));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if let (Some(row), Some(reason)) = (reason_row, &c.reason) {
        let mut text = reason.clone();
        text.set_style(theme.filter);
        text.set_cursor_style(if c.field == ConfirmField::Reason { theme.selection } else { theme.filter });
        if row < inner.height {
            let rect = Rect { x: inner.x + 2, y: inner.y + row, width: inner.width.saturating_sub(4), height: 1 };
            frame.render_widget(&text, rect);
        }
    }
}
