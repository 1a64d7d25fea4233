//! What every pane shares: its border and title, column headings, the selected row, and the
//! message an empty pane shows. Each pane's file says only which columns it has.

mod access;
mod alerts;
mod audit;
mod bans;
mod integrity;
mod tenants;

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Paragraph, Row as TableRow, Table, Wrap};
use ratatui::Frame;

use super::layout;
use super::sanitize;
use crate::app::state::State;
use crate::config::Theme;
use crate::pane::Pane;
use crate::store::window::Row;

/// No cell needs more characters than the widest terminal line.
const CELL_CHARS: usize = 400;

/// Text from the store, made safe and short enough to draw.
pub fn cell_text(s: &str) -> String {
    sanitize::clean(s, CELL_CHARS).into_owned()
}

/// What a pane's cells may look at besides the row.
pub struct Ctx<'a> {
    pub theme: &'a Theme,
    pub now_ms: i64,
}

/// A column of a pane's table.
pub struct Column {
    pub title: &'static str,
    pub width: Constraint,
    /// Narrowest useful width; a `Fill` column is given at least this.
    pub min: u16,
    /// Columns are dropped when the pane is too narrow, highest number first; 0 is never dropped.
    pub drop: u8,
}

pub const fn col(title: &'static str, width: Constraint, min: u16, drop: u8) -> Column {
    Column { title, width, min, drop }
}

type Columns = &'static [Column];

/// Which columns fit in `width`, and how wide each one is: the least important columns go first,
/// fixed columns shrink towards their minimum before a `Fill` column gets less than its own, and
/// what is left is shared among the `Fill` columns by weight.
fn fitting(cols: Columns, width: u16) -> Vec<(usize, u16)> {
    let mut keep: Vec<usize> = (0..cols.len()).collect();
    let spacing = |keep: &[usize]| keep.len().saturating_sub(1) as u16;
    // Columns drop until the rest fit at their natural width (fixed columns at full length,
    // `Fill` columns at their minimum); only then do fixed columns shrink.
    let natural = |i: usize| match cols[i].width {
        Constraint::Length(n) => n.max(cols[i].min),
        _ => cols[i].min,
    };
    while keep.iter().map(|i| natural(*i)).sum::<u16>() + spacing(&keep) > width {
        let Some(worst) = keep.iter().copied().filter(|i| cols[*i].drop > 0).max_by_key(|i| (cols[*i].drop, *i)) else {
            break;
        };
        keep.retain(|i| *i != worst);
    }
    let mut widths: Vec<(usize, u16)> = keep.iter().map(|i| (*i, natural(*i))).collect();
    let room = width.saturating_sub(spacing(&keep));
    let mut used: u16 = widths.iter().map(|(_, w)| *w).sum();
    // Too wide: take from fixed columns, widest first, down to their minimum.
    while used > room {
        let Some(slot) = widths.iter_mut().filter(|(i, w)| *w > cols[*i].min).max_by_key(|(_, w)| *w) else {
            break;
        };
        slot.1 -= 1;
        used -= 1;
    }
    let weights: u16 = keep.iter().map(|i| if let Constraint::Fill(n) = cols[*i].width { n } else { 0 }).sum();
    if weights > 0 && room > used {
        let spare = room - used;
        let mut given = 0;
        let fills: Vec<usize> =
            (0..widths.len()).filter(|k| matches!(cols[widths[*k].0].width, Constraint::Fill(_))).collect();
        for (n, k) in fills.iter().enumerate() {
            let Constraint::Fill(weight) = cols[widths[*k].0].width else { continue };
            let share = if n + 1 == fills.len() { spare - given } else { spare * weight / weights };
            widths[*k].1 += share;
            given += share;
        }
    }
    widths
}

fn columns(pane: Pane, grouped: bool) -> Columns {
    match pane {
        Pane::Alerts if grouped => alerts::GROUP_COLUMNS,
        Pane::Tenants => tenants::COLUMNS,
        Pane::Alerts => alerts::COLUMNS,
        Pane::Access => access::COLUMNS,
        Pane::Bans => bans::COLUMNS,
        Pane::Integrity => integrity::COLUMNS,
        Pane::Audit => audit::COLUMNS,
    }
}

fn cells<'a>(row: &'a Row, ctx: &Ctx<'_>) -> Vec<Cell<'a>> {
    match row {
        Row::Tenant(r) => tenants::cells(r, ctx),
        Row::Alert(r) => alerts::cells(r, ctx),
        Row::Access(r) => access::cells(r, ctx),
        Row::Ban(r) => bans::cells(r, ctx),
        Row::Integrity(r) => integrity::cells(r, ctx),
        Row::Audit(r) => audit::cells(r, ctx),
        Row::RuleGroup(r) => alerts::group_cells(r, ctx),
    }
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, pane: Pane) {
    let theme = &state.theme;
    let focused = state.focus == pane;
    let p = state.pane(pane);
    let mut title = vec![Span::styled(
        format!(" {} {} ", pane.number(), pane.title()),
        if focused { theme.title_focused } else { theme.title },
    )];
    if let Some(f) = &p.filter {
        title.push(Span::styled(format!("/{} ", cell_text(&f.text)), theme.filter));
    }
    let mut status = Vec::new();
    if p.searching() {
        status.push(Span::styled(" searching… ", theme.marker));
    } else if pane.is_stream() {
        if p.new_rows > 0 && !p.follow {
            let more = if p.new_rows >= crate::store::window::NEWER_COUNT_CAP { "+" } else { "" };
            status.push(Span::styled(format!(" ▲ {}{more} new ", p.new_rows), theme.marker));
        } else if p.follow && !state.paused {
            status.push(Span::styled(" following ", theme.muted));
        }
    }
    if p.history {
        status.push(Span::styled(" history ", theme.marker));
    }
    if p.grouped {
        status.push(Span::styled(" by rule ", theme.marker));
    }
    if focused && state.zoomed {
        status.push(Span::styled(" zoomed ", theme.muted));
    }
    // A source that feeds this pane and is not healthy says so on the pane itself.
    let source_problem = source_of(pane).and_then(|name| {
        state.overview.sources.iter().find(|s| s.source == name && s.health != crate::store::status::Health::Ok)
    });
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(if focused { theme.border_focused } else { theme.border })
        .title(Line::from(title))
        .title(Line::from(status).right_aligned())
        .style(theme.base);
    if let Some(problem) = source_problem {
        let text = format!(" {}: {} ", problem.source, sanitize::clean(&problem.detail, 300));
        block = block.title_bottom(Line::styled(text, theme.error));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let mut body = inner;
    if pane == Pane::Alerts {
        let summary = Rect { height: 1, ..inner };
        alerts::summary(frame, summary, state);
        body.y += 1;
        body.height = body.height.saturating_sub(1);
    }
    let message = if let Some(e) = &p.load_error {
        Some((format!("Cannot load {}: {e}", pane.title()), theme.error))
    } else if !p.loaded {
        Some(("loading…".to_string(), theme.muted))
    } else if p.rows.is_empty() && p.filter.is_some() {
        let clear = state.keymap.key_name(crate::app::action::Action::Close);
        Some((
            clear.map_or("Nothing matches the filter.".to_string(), |k| {
                format!("Nothing matches the filter. {} clears it.", capitalised(&k))
            }),
            theme.muted,
        ))
    } else if let (true, Some(problem)) = (p.rows.is_empty(), source_problem) {
        Some((
            format!(
                "{}: {}\n\n{}",
                problem.source,
                sanitize::clean_all(&problem.detail),
                pane.empty_hint(&state.keymap)
            ),
            theme.error,
        ))
    } else if p.rows.is_empty() {
        Some((pane.empty_hint(&state.keymap), theme.muted))
    } else {
        None
    };
    if let Some((text, style)) = message {
        frame.render_widget(Paragraph::new(text).style(style).wrap(Wrap { trim: true }), body);
        return;
    }
    let ctx = Ctx { theme, now_ms: state.now_ms };
    let height = layout::list_height(pane, area);
    let end = (p.offset + height).min(p.rows.len());
    let selected_style = if focused { theme.selection } else { theme.selection_unfocused };
    let cols = columns(pane, p.grouped);
    let fitted = fitting(cols, body.width);
    let keep: Vec<usize> = fitted.iter().map(|(i, _)| *i).collect();
    let rows = p.rows[p.offset.min(end)..end].iter().enumerate().map(|(i, row)| {
        let mut all: Vec<Option<Cell<'_>>> = cells(row, &ctx).into_iter().map(Some).collect();
        let r = TableRow::new(keep.iter().filter_map(|k| all.get_mut(*k).and_then(Option::take)));
        if p.offset + i == p.selected {
            r.style(selected_style)
        } else {
            r
        }
    });
    let header = TableRow::new(keep.iter().map(|k| Cell::from(cols[*k].title))).style(theme.column_header);
    let widths = fitted.iter().map(|(_, w)| Constraint::Length(*w));
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    frame.render_widget(table, body);
}

/// The collector source whose health a pane shows.
fn source_of(pane: Pane) -> Option<&'static str> {
    match pane {
        Pane::Tenants => Some(crate::sources::docker::SOURCE),
        Pane::Bans => Some(crate::sources::fail2ban::SOURCE),
        _ => None,
    }
}

/// A cell in a style.
pub fn styled<'a>(text: impl Into<String>, style: Style) -> Cell<'a> {
    Cell::from(Span::styled(text.into(), style))
}

/// A key name at the start of a sentence: `esc` as `Esc`.
fn capitalised(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) if key.len() > 1 => first.to_uppercase().chain(chars).collect(),
        _ => key.to_string(),
    }
}
