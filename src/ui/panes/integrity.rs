//! The Integrity pane: each target's newest verification and how far it drifted.

use ratatui::layout::Constraint;
use ratatui::widgets::Cell;

use super::{cell_text, styled, Ctx};
use crate::store::integrity::IntegrityRow;
use crate::ui::format;

pub const COLUMNS: &[(&str, Constraint)] = &[
    ("TARGET", Constraint::Fill(1)),
    ("VERIFIED", Constraint::Length(10)),
    ("SIG", Constraint::Length(3)),
    ("FILES", Constraint::Length(6)),
    ("DRIFT", Constraint::Length(12)),
];

pub fn cells<'a>(t: &'a IntegrityRow, ctx: &Ctx<'_>) -> Vec<Cell<'a>> {
    let theme = ctx.theme;
    let Some(run) = &t.run else {
        return vec![
            Cell::from(cell_text(&t.name)),
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
        Cell::from(cell_text(&t.name)),
        styled(format!("{} ago", format::duration(ctx.now_ms - run.started)), theme.muted),
        sig,
        Cell::from(run.checked.to_string()),
        drift,
    ]
}
