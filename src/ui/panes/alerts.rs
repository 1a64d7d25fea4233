//! The Alerts pane: Falco-style alerts coloured by priority, with counts and a sparkline on top.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};
use ratatui::Frame;

use super::{cell_text, col, host_col, styled, Column, Ctx};
use crate::app::state::State;
use crate::store::alerts::{Alert, Priority, RuleGroup};
use crate::text::format;

pub const COLUMNS: &[Column] = &[
    col("TIME", Constraint::Length(14), 14, 0),
    col("PRIO", Constraint::Length(4), 4, 0),
    col("", Constraint::Length(1), 1, 0),
    col("RULE", Constraint::Length(30), 14, 0),
    col("TENANT", Constraint::Length(9), 9, 2),
    host_col("HOST", Constraint::Length(12), 6, 2),
    col("OUTPUT", Constraint::Fill(1), 16, 1),
];

pub fn cells<'a>(a: &'a Alert, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let style = ctx.theme.priority(a.priority);
    vec![
        styled(format::time(a.ts), ctx.theme.muted),
        styled(a.priority.short(), style),
        match (crate::store::drills::is_drill_tags(&a.tags), a.acked_at.is_some()) {
            // A fire drill's alert, never an incident's.
            (true, _) => styled("D", ctx.theme.muted),
            (false, true) => styled("✓", ctx.theme.ok),
            (false, false) => styled(" ", ctx.theme.ok),
        },
        styled(cell_text(&a.rule), style),
        Span::raw(cell_text(a.tenant.as_deref().unwrap_or("—"))),
        styled(cell_text(&a.hostname), ctx.theme.muted),
        Span::raw(cell_text(&a.output)),
    ]
}

pub const GROUP_COLUMNS: &[Column] = &[
    col("PRIO", Constraint::Length(4), 4, 0),
    col("RULE", Constraint::Fill(1), 16, 0),
    col("COUNT", Constraint::Length(6), 6, 0),
    col("OPEN", Constraint::Length(6), 6, 1),
    col("LAST SEEN", Constraint::Length(14), 14, 2),
];

pub fn group_cells<'a>(g: &'a RuleGroup, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let style = ctx.theme.priority(g.priority);
    vec![
        styled(g.priority.short(), style),
        styled(cell_text(&g.rule), style),
        Span::raw(g.count.to_string()),
        styled(g.open.to_string(), if g.open > 0 { ctx.theme.warning } else { ctx.theme.muted }),
        styled(format::time(g.last_ts), ctx.theme.muted),
    ]
}

/// Unacknowledged alerts per priority, then alerts per minute over the last hour.
pub fn summary(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = &state.theme;
    let mut items = vec![vec![Span::styled("open ", theme.muted)]];
    for p in Priority::ALL {
        let n = state.overview.unacked[p.rank() as usize];
        if n > 0 {
            items.push(vec![Span::styled(format!("{} {n}", p.short()), theme.priority(p)), Span::raw(" ")]);
        }
    }
    if items.len() == 1 {
        items.push(vec![Span::styled("none", theme.ok)]);
    }
    // Too many counts for the line: whole ones, then `…` (a count is never cut to another number).
    let line = Line::from(super::fit_items(items, area.width, Span::styled("…", theme.muted)));
    let text_width = (line.width() as u16 + 1).min(area.width);
    frame.render_widget(Paragraph::new(line), Rect { width: text_width, ..area });
    let spark_width = (area.width.saturating_sub(text_width + 6)).min(60);
    if spark_width >= 10 {
        let data = &state.overview.per_minute;
        let data = &data[data.len().saturating_sub(spark_width as usize)..];
        let label = Rect { x: area.right() - spark_width - 5, width: 5, ..area };
        frame.render_widget(Paragraph::new(Span::styled(" 1h ", theme.muted)), label);
        let spark = Rect { x: area.right() - spark_width, width: spark_width, ..area };
        frame.render_widget(Sparkline::default().data(data).style(theme.sparkline), spark);
    }
}
