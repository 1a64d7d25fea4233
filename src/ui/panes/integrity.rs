//! The Integrity pane: each target's status (a signature failure loudest), counts, when it was
//! last verified and how long that took, and the key its baseline is checked with.

use ratatui::layout::Constraint;
use ratatui::text::Span;

use super::{cell_text, col, styled, Column, Ctx};
use crate::store::alerts::Priority;
use crate::store::integrity::{IntegrityRow, Status};
use crate::text::format;

pub const COLUMNS: &[Column] = &[
    col("TARGET", Constraint::Fill(1), 10, 0),
    col("STATUS", Constraint::Length(17), 9, 0),
    col("CHANGES", Constraint::Length(15), 11, 2),
    col("VERIFIED", Constraint::Length(10), 10, 1),
    col("FILES", Constraint::Length(7), 6, 3),
    col("TOOK", Constraint::Length(6), 5, 4),
    col("TENANT", Constraint::Length(10), 8, 5),
    col("KEY (SHA256)", Constraint::Length(16), 16, 6),
];

pub fn cells<'a>(t: &'a IntegrityRow, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let theme = ctx.theme;
    let status = t.status();
    let style = match status {
        Status::SignatureInvalid => theme.priority(Priority::Emergency),
        Status::Error => theme.error,
        Status::Drift(_) => theme.warning,
        Status::Clean => theme.ok,
        Status::NeverVerified => theme.muted,
    };
    let dash = || styled("—", theme.muted);
    let key = match t.fingerprint() {
        Some(fp) => {
            let hex = fp.strip_prefix("SHA256:").unwrap_or(fp);
            styled(cell_text(&hex.chars().take(16).collect::<String>()), theme.muted)
        }
        None => dash(),
    };
    let tenant = t.target.tenant.as_deref().map_or_else(dash, |x| Span::raw(cell_text(x)));
    let Some(run) = &t.run else {
        let never = styled(status.label(), style);
        return vec![Span::raw(cell_text(&t.target.name)), never, dash(), dash(), dash(), dash(), tenant, key];
    };
    let counted = matches!(status, Status::Drift(_) | Status::Clean);
    let changes = if counted && run.modified + run.added + run.removed + run.unreadable > 0 {
        let mut text = format!("~{} +{} -{}", run.modified, run.added, run.removed);
        if run.unreadable > 0 {
            text.push_str(&format!(" !{}", run.unreadable));
        }
        styled(text, theme.warning)
    } else if counted {
        styled("none", theme.ok)
    } else {
        dash()
    };
    vec![
        Span::raw(cell_text(&t.target.name)),
        styled(status.label(), style),
        changes,
        styled(format!("{} ago", format::duration(ctx.now_ms - run.started)), theme.muted),
        if run.checked > 0 { Span::raw(run.checked.to_string()) } else { dash() },
        run.duration_ms().map_or_else(dash, |ms| styled(seconds(ms), theme.muted)),
        tenant,
        key,
    ]
}

/// `0.4s`, `12s`, `3m`.
pub fn seconds(ms: i64) -> String {
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format::duration(ms)
    }
}
