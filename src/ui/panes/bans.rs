//! The Bans pane: active bans with a live countdown to expiry.

use ratatui::layout::Constraint;
use ratatui::text::Span;

use super::{address_col, cell_text, col, styled, Column, Ctx};
use crate::store::bans::Ban;
use crate::text::format;

pub const COLUMNS: &[Column] = &[
    address_col("IP", Constraint::Fill(1), 15, 0),
    col("JAIL", Constraint::Length(15), 6, 0),
    col("BANNED", Constraint::Length(14), 14, 3),
    col("EXPIRES", Constraint::Length(9), 7, 0),
    col("#", Constraint::Length(2), 2, 1),
    col("FAILS", Constraint::Length(5), 5, 2),
    col("TENANT", Constraint::Length(8), 8, 4),
    col("SOURCE", Constraint::Length(8), 8, 5),
];

pub fn cells<'a>(b: &'a Ban, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let theme = ctx.theme;
    let expires = match (b.unbanned_at, b.expires_at()) {
        (Some(_), _) => styled("unbanned", theme.muted),
        (None, None) => styled("permanent", theme.error),
        (None, Some(t)) if t <= ctx.now_ms => styled("expired", theme.muted),
        (None, Some(t)) => Span::raw(format::duration(t - ctx.now_ms)),
    };
    vec![
        Span::raw(cell_text(&b.ip)),
        Span::raw(cell_text(&b.jail)),
        styled(format::time(b.banned_at), theme.muted),
        expires,
        styled(b.ban_count.to_string(), if b.ban_count > 1 { theme.warning } else { theme.base }),
        Span::raw(b.failures.to_string()),
        Span::raw(cell_text(b.tenant.as_deref().unwrap_or("—"))),
        styled(cell_text(&b.source), if b.source == "manual" { theme.warning } else { theme.muted }),
    ]
}
