//! The Sources view: every collector source, its state in a few words, what it stored and could
//! not parse, and when it was last well.

use ratatui::layout::Constraint;
use ratatui::text::Span;

use super::{address_col, cell_text, col, styled, Column, Ctx};
use crate::store::status::{Health, SourceRow};
use crate::text::format;

pub const COLUMNS: &[Column] = &[
    // Never cut, like an address: two groups under one prefix would read as the same source.
    address_col("SOURCE", Constraint::Length(16), 8, 0),
    col("STATE", Constraint::Length(20), 12, 0),
    col("STORED", Constraint::Length(9), 6, 0),
    col("UNPARSED", Constraint::Length(8), 8, 1),
    col("LAST OK", Constraint::Length(11), 8, 2),
    col("DETAIL", Constraint::Fill(3), 16, 0),
    col("LAST ERROR", Constraint::Fill(1), 12, 3),
];

pub fn cells<'a>(r: &'a SourceRow, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let theme = ctx.theme;
    let s = &r.status;
    let state_style = match s.health {
        Health::Ok => theme.ok,
        Health::Degraded => theme.warning,
        Health::Down => theme.error,
        Health::Off => theme.muted,
    };
    let count = |n: Option<i64>| n.map_or_else(|| styled("—", theme.muted), |n| Span::raw(n.to_string()));
    let unparsed = match s.unparsed {
        Some(n) if n > 0 => styled(n.to_string(), theme.warning),
        other => count(other),
    };
    let last_ok = match s.last_ok {
        Some(t) => styled(format!("{} ago", format::duration((ctx.now_ms - t).max(0))), theme.muted),
        None => styled("never", theme.muted),
    };
    // An error that is the current detail is said once.
    let last_error = match &s.last_error {
        Some(e) if *e != s.detail => styled(cell_text(e), theme.muted),
        _ => Span::raw(""),
    };
    vec![
        Span::raw(cell_text(&s.source)),
        styled(cell_text(s.state()), state_style),
        count(s.stored),
        unparsed,
        last_ok,
        Span::raw(cell_text(&s.detail)),
        last_error,
    ]
}
