//! The Audit view: every action taken, by whom, and how it ended.

use ratatui::layout::Constraint;
use ratatui::text::Span;

use super::{address_col, cell_text, col, styled, Column, Ctx};
use crate::store::audit::AuditRow;
use crate::text::format;

pub const COLUMNS: &[Column] = &[
    col("TIME", Constraint::Length(14), 14, 0),
    col("OPERATOR", Constraint::Length(16), 16, 0),
    address_col("FROM", Constraint::Length(15), 4, 2),
    col("ACTION", Constraint::Length(11), 11, 0),
    col("TARGET", Constraint::Fill(1), 16, 0),
    col("OUTCOME", Constraint::Length(7), 7, 0),
    col("REASON", Constraint::Fill(1), 12, 1),
];

pub fn cells<'a>(e: &'a AuditRow, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let theme = ctx.theme;
    let n = &e.new;
    vec![
        styled(format::time(n.ts), theme.muted),
        Span::raw(cell_text(&n.operator)),
        styled(cell_text(n.ssh_client.as_deref().unwrap_or_else(|| from_claimed(&n.detail_json))), theme.muted),
        Span::raw(cell_text(&n.action)),
        Span::raw(cell_text(&n.target)),
        styled(cell_text(&n.outcome), if n.outcome == "ok" { theme.ok } else { theme.error }),
        Span::raw(cell_text(n.reason.as_deref().unwrap_or(""))),
    ]
}

/// FROM when no address is vouched for: `claimed` when the actor's environment named an SSH
/// client (the detail shows it, as a claim), else `local`.
fn from_claimed(detail_json: &str) -> &'static str {
    if detail_json.contains("\"claimed\"") && detail_json.contains("SSH_CONNECTION") {
        "claimed"
    } else {
        "local"
    }
}
