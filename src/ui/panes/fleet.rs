//! The Fleet view: what other hosts published of their own record, newest first.

use ratatui::layout::Constraint;
use ratatui::text::Span;

use super::{cell_text, col, styled, Column, Ctx};
use crate::store::fleet::FleetRow;
use crate::text::format;

pub const COLUMNS: &[Column] = &[
    col("TIME", Constraint::Length(14), 14, 0),
    col("HOST", Constraint::Length(20), 12, 0),
    col("KIND", Constraint::Length(9), 9, 0),
    col("WHAT", Constraint::Fill(1), 20, 0),
];

pub fn cells<'a>(r: &'a FleetRow, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let theme = ctx.theme;
    let alarming = r.summary.contains("SIGNATURE INVALID") || r.summary.contains(": failed");
    vec![
        styled(format::time(r.ts), theme.muted),
        Span::raw(cell_text(&r.origin)),
        styled(cell_text(&r.kind), theme.muted),
        if alarming { styled(cell_text(&r.summary), theme.error) } else { Span::raw(cell_text(&r.summary)) },
    ]
}
