//! The Integrity pane: each target's newest verification and how far it drifted.

use ratatui::layout::Constraint;
use ratatui::text::Span;

use super::{cell_text, col, styled, Column, Ctx};
use crate::store::integrity::IntegrityRow;
use crate::ui::format;

pub const COLUMNS: &[Column] = &[
    col("TARGET", Constraint::Fill(1), 10, 0),
    col("VERIFIED", Constraint::Length(10), 10, 2),
    col("SIG", Constraint::Length(3), 3, 0),
    col("FILES", Constraint::Length(6), 6, 1),
    col("DRIFT", Constraint::Length(12), 12, 0),
];

pub fn cells<'a>(t: &'a IntegrityRow, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let theme = ctx.theme;
    let Some(run) = &t.run else {
        return vec![
            Span::raw(cell_text(&t.name)),
            styled("never", theme.warning),
            styled("—", theme.muted),
            styled("—", theme.muted),
            styled("—", theme.muted),
        ];
    };
    let sig = match run.signature_ok {
        Some(true) => styled("ok", theme.ok),
        Some(false) => styled("BAD", theme.error),
        None => styled("?", theme.warning),
    };
    let drift = if run.modified + run.added + run.removed + run.unreadable == 0 {
        styled("none", theme.ok)
    } else {
        styled(format!("~{} +{} -{}", run.modified, run.added, run.removed), theme.warning)
    };
    vec![
        Span::raw(cell_text(&t.name)),
        styled(format!("{} ago", format::duration(ctx.now_ms - run.started)), theme.muted),
        sig,
        Span::raw(run.checked.to_string()),
        drift,
    ]
}
