//! The Tenants pane: each tenant's isolation status, containers, and what else points at it.

use ratatui::layout::Constraint;
use ratatui::text::Span;

use super::{cell_text, col, styled, Column, Ctx};
use crate::store::tenants::{status, TenantRow};

pub const COLUMNS: &[Column] = &[
    col("TENANT", Constraint::Fill(1), 12, 0),
    col("STATUS", Constraint::Length(9), 9, 0),
    col("CTRS", Constraint::Length(5), 5, 3),
    col("ALERTS/1h", Constraint::Length(9), 9, 2),
    col("BANS", Constraint::Length(4), 4, 4),
    col("INTEGRITY", Constraint::Length(9), 9, 1),
    col("RISK", Constraint::Length(16), 7, 2),
    col("NETWORKS", Constraint::Fill(1), 10, 5),
];

pub fn cells<'a>(t: &'a TenantRow, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let theme = ctx.theme;
    let (state, state_style) = match t.status.as_str() {
        status::ACTIVE if t.containers == 0 => ("no ctrs", theme.muted),
        status::ACTIVE => ("active", theme.ok),
        // Isolated again by itself since (a container restarted or a new one started).
        status::ISOLATED if t.reisolated_at.is_some() => ("ISOLATED↻", theme.error),
        status::ISOLATED => ("ISOLATED", theme.error),
        status::PARTIAL => ("PARTIAL", theme.warning),
        _ => ("?", theme.warning),
    };
    let integrity = match (t.signature_ok, t.drift) {
        (Some(false), _) => styled("BAD SIG", theme.priority(crate::store::alerts::Priority::Emergency)),
        (_, Some(0)) => styled("ok", theme.ok),
        (_, Some(n)) => styled(format!("{n} drift"), theme.warning),
        (_, None) => styled("—", theme.muted),
    };
    vec![
        Span::raw(cell_text(&t.name)),
        styled(state, state_style),
        Span::raw(format!("{}/{}", t.running, t.containers)),
        styled(t.alerts_1h.to_string(), if t.alerts_1h > 0 { theme.warning } else { theme.muted }),
        styled(t.active_bans.to_string(), if t.active_bans > 0 { theme.warning } else { theme.muted }),
        integrity,
        risk(t, ctx),
        styled(cell_text(&t.networks.replace(',', ", ")), theme.muted),
    ]
}

/// Segmentation faults and dangerous posture, shortest first.
fn risk<'a>(t: &TenantRow, ctx: &Ctx<'_>) -> Span<'a> {
    let mut flags = Vec::new();
    if !t.shared_networks.is_empty() {
        flags.push("lateral".to_string());
    }
    if t.on_default_bridge > 0 {
        flags.push("bridge".to_string());
    }
    if t.risky > 0 {
        flags.push(format!("{} unsafe", t.risky));
    }
    if flags.is_empty() {
        styled("—", ctx.theme.muted)
    } else {
        styled(flags.join(","), ctx.theme.error)
    }
}
