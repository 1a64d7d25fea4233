//! The Access log pane: requests as they arrive, newest first.

use ratatui::layout::Constraint;
use ratatui::text::Span;

use super::{address_col, cell_text, col, host_col, styled, Column, Ctx};
use crate::store::access::{flags, AccessEvent};
use crate::text::format;

pub const COLUMNS: &[Column] = &[
    col("TIME", Constraint::Length(14), 14, 0),
    col("TENANT", Constraint::Length(9), 6, 0),
    host_col("HOST", Constraint::Length(12), 6, 3),
    address_col("SOURCE IP", Constraint::Length(17), 9, 0),
    col("USER", Constraint::Length(8), 8, 4),
    col("!", Constraint::Length(2), 2, 0),
    col("METHOD", Constraint::Length(6), 6, 3),
    col("CODE", Constraint::Length(4), 4, 0),
    col("BYTES", Constraint::Length(6), 6, 2),
    col("PATH", Constraint::Fill(3), 8, 0),
    col("USER AGENT", Constraint::Fill(2), 12, 1),
];

pub fn cells<'a>(e: &'a AccessEvent, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let theme = ctx.theme;
    let code_style = match e.status {
        500.. => theme.error,
        400..=499 => theme.warning,
        _ => theme.base,
    };
    let mut marks = String::new();
    if e.flags & flags::ATTACK != 0 {
        marks.push('A');
    }
    if e.flags & flags::CROSS_TENANT != 0 {
        marks.push('X');
    }
    if e.flags & flags::AUTH_FAILURE != 0 && marks.len() < 2 {
        marks.push('F');
    }
    vec![
        styled(format::time(e.ts), theme.muted),
        Span::raw(cell_text(&e.tenant)),
        styled(cell_text(e.host.as_deref().unwrap_or("")), theme.muted),
        Span::raw(cell_text(&e.src_ip)),
        Span::raw(cell_text(e.user.as_deref().unwrap_or("-"))),
        styled(marks, theme.error),
        Span::raw(cell_text(&e.method)),
        styled(e.status.to_string(), code_style),
        styled(format::bytes(e.bytes), theme.muted),
        Span::raw(cell_text(&e.path)),
        styled(cell_text(&e.user_agent), theme.muted),
    ]
}
