//! What every pane shares: its border and title, column headings, the selected row, and the
//! message an empty pane shows. Each pane's file says only which columns it has.

mod access;
mod alerts;
mod audit;
mod bans;
mod fleet;
mod integrity;
mod sources;
mod tenants;

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Paragraph, Row as TableRow, Table, Wrap};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;
use unicode_width::UnicodeWidthStr;

use super::histogram;
use crate::action::Action;
use crate::app::state::State;
use crate::config::Theme;
use crate::layout;
use crate::pane::Pane;
use crate::store::window::Row;
use crate::text::format;
use crate::text::sanitize;

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
    /// Columns are dropped when the pane is too narrow, highest number first; 0 is dropped only
    /// to make room for an address.
    pub drop: u8,
    /// The column holds addresses, which are never cut: a cut address reads as another, valid
    /// one (`2001:db8:612f::abcd:1234` as `2001:db8:612f::`). It is as wide as its widest
    /// address on screen, and the other columns shrink or go to make room.
    pub address: bool,
    /// The column names the host a row came from: shown only when the rows on screen come from
    /// more than one host, or the pane is at least [`WIDE`] columns wide.
    pub host: bool,
}

/// A pane this wide has room for a HOST column even when every row has the same host.
pub const WIDE: u16 = 160;

pub const fn col(title: &'static str, width: Constraint, min: u16, drop: u8) -> Column {
    Column { title, width, min, drop, address: false, host: false }
}

/// A column of addresses (see [`Column::address`]).
pub const fn address_col(title: &'static str, width: Constraint, min: u16, drop: u8) -> Column {
    Column { title, width, min, drop, address: true, host: false }
}

/// A column of host names (see [`Column::host`]).
pub const fn host_col(title: &'static str, width: Constraint, min: u16, drop: u8) -> Column {
    Column { title, width, min, drop, address: false, host: true }
}

type Columns = &'static [Column];

/// Which columns fit in `width`, and how wide each one is. `needed` is, per column, the widest
/// text it has to show whole (only address columns need any). The least important columns go
/// first; fixed columns shrink towards their minimum before a `Fill` column gets less than its
/// own; if addresses still do not fit, the other columns go, rightmost first; the `Fill` columns
/// share what is left by weight. Only an address wider than the whole pane is cut.
fn fitting(cols: Columns, width: u16, needed: &[u16], hidden: &[bool]) -> Vec<(usize, u16)> {
    let mut keep: Vec<usize> = (0..cols.len()).filter(|i| !hidden.get(*i).copied().unwrap_or(false)).collect();
    let spacing = |keep: &[usize]| keep.len().saturating_sub(1) as u16;
    let least = |i: usize| if cols[i].address { cols[i].min.max(needed[i]) } else { cols[i].min };
    // Columns drop until the rest fit at their natural width (fixed columns at full length,
    // `Fill` columns at their minimum); only then do fixed columns shrink.
    let natural = |i: usize| match cols[i].width {
        Constraint::Length(n) => n.max(least(i)),
        _ => least(i),
    };
    let total = |keep: &[usize], w: &dyn Fn(usize) -> u16| keep.iter().map(|i| w(*i)).sum::<u16>() + spacing(keep);
    while total(&keep, &natural) > width {
        let Some(worst) = keep.iter().copied().filter(|i| cols[*i].drop > 0).max_by_key(|i| (cols[*i].drop, *i)) else {
            break;
        };
        keep.retain(|i| *i != worst);
    }
    // Room for whole addresses: the other columns go, rightmost first.
    while total(&keep, &least) > width {
        let Some(last) = keep.iter().copied().filter(|i| !cols[*i].address).max() else { break };
        keep.retain(|i| *i != last);
    }
    let mut widths: Vec<(usize, u16)> = keep.iter().map(|i| (*i, natural(*i))).collect();
    let room = width.saturating_sub(spacing(&keep));
    let mut used: u16 = widths.iter().map(|(_, w)| *w).sum();
    // Too wide: take from columns above their least width, widest first.
    while used > room {
        let Some(slot) = widths.iter_mut().filter(|(i, w)| *w > least(*i)).max_by_key(|(_, w)| *w) else {
            break;
        };
        slot.1 -= 1;
        used -= 1;
    }
    // Only addresses are left and still too wide: the widest is cut (and marked).
    while used > room {
        let Some(slot) = widths.iter_mut().filter(|(_, w)| *w > 0).max_by_key(|(_, w)| *w) else { break };
        slot.1 -= 1;
        used -= 1;
    }
    // What is left goes to the `Fill` columns, each getting its weight's share of their room
    // (never less than it has).
    let fills: Vec<usize> =
        (0..widths.len()).filter(|k| matches!(cols[widths[*k].0].width, Constraint::Fill(_))).collect();
    let weight = |k: usize| if let Constraint::Fill(n) = cols[widths[k].0].width { n.max(1) } else { 0 };
    let weights: u32 = fills.iter().map(|k| u32::from(weight(*k))).sum();
    if weights > 0 && room > used {
        let fill_room: u16 = room - used + fills.iter().map(|k| widths[*k].1).sum::<u16>();
        let mut want: Vec<u16> = fills
            .iter()
            .map(|k| {
                let share = u32::from(fill_room) * u32::from(weight(*k)) / weights;
                widths[*k].1.max(share as u16)
            })
            .collect();
        // A column held at its own width takes from the others' shares.
        while want.iter().sum::<u16>() > fill_room {
            let Some(j) = (0..want.len()).filter(|j| want[*j] > widths[fills[*j]].1).max_by_key(|j| want[*j]) else {
                break;
            };
            want[j] -= 1;
        }
        // Rounding leaves a column or two over: the last `Fill` column takes them.
        let short = fill_room.saturating_sub(want.iter().sum());
        if let Some(last) = want.last_mut() {
            *last += short;
        }
        for (k, w) in fills.iter().zip(want) {
            widths[*k].1 = w;
        }
    }
    widths
}

/// `span` fitted to `width` columns of the terminal: whole if it fits, else cut and ending in `…`,
/// so a cut value never passes for a whole one.
pub fn fit(span: Span<'_>, width: u16) -> Span<'_> {
    let width = width as usize;
    if span.content.width() <= width {
        return span;
    }
    let mut text = String::new();
    let mut used = 0;
    for c in span.content.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        text.push(c);
        used += w;
    }
    if width > 0 {
        text.push('…');
    }
    Span::styled(text, span.style)
}

/// `spans` fitted to `width` columns: whole if they fit, else cut where the width runs out and
/// ending in `…` (in the style of the span that was cut).
pub fn fit_spans(spans: Vec<Span<'_>>, width: u16) -> Vec<Span<'_>> {
    let total: usize = spans.iter().map(Span::width).sum();
    if total <= width as usize {
        return spans;
    }
    let mut left = width as usize;
    let mut out = Vec::new();
    for span in spans {
        let w = span.width();
        if w < left {
            left -= w;
            out.push(span);
            continue;
        }
        // This span does not fit with room for the mark after it: cut it one column short.
        let mut text = String::new();
        let mut used = 0;
        for c in span.content.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw + 1 > left {
                break;
            }
            text.push(c);
            used += cw;
        }
        if left > 0 {
            text.push('…');
        }
        out.push(Span::styled(text, span.style));
        break;
    }
    out
}

/// Items (each a few spans: `WARN 207`, `q quit`) fitted to `width` columns: as many whole items
/// as fit, then `mark` (`…`) when some had to go, so an item is never shown cut (a count cut to
/// `WARN 2` reads as another, plausible count).
pub fn fit_items<'a>(items: Vec<Vec<Span<'a>>>, width: u16, mark: Span<'a>) -> Vec<Span<'a>> {
    let width = width as usize;
    let widths: Vec<usize> = items.iter().map(|item| item.iter().map(Span::width).sum()).collect();
    if widths.iter().sum::<usize>() <= width {
        return items.into_iter().flatten().collect();
    }
    let mut out = Vec::new();
    let mut used = 0;
    let mark_width = mark.width();
    for (item, w) in items.into_iter().zip(widths) {
        if used + w + mark_width > width {
            break;
        }
        used += w;
        out.extend(item);
    }
    if used + mark_width <= width {
        out.push(mark);
    }
    out
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
        Pane::Sources => sources::COLUMNS,
        Pane::Fleet => fleet::COLUMNS,
    }
}

fn cells<'a>(row: &'a Row, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    match row {
        Row::Tenant(r) => tenants::cells(r, ctx),
        Row::Alert(r) => alerts::cells(r, ctx),
        Row::Access(r) => access::cells(r, ctx),
        Row::Ban(r) => bans::cells(r, ctx),
        Row::Integrity(r) => integrity::cells(r, ctx),
        Row::Audit(r) => audit::cells(r, ctx),
        Row::Fleet(r) => fleet::cells(r, ctx),
        Row::RuleGroup(r) => alerts::group_cells(r, ctx),
        Row::Source(r) => sources::cells(r, ctx),
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
    if let Some(s) = p.searched {
        let text = format!(" searching… {} of {} ", format::count(s.searched), format::count(s.of));
        status.push(Span::styled(text, theme.marker));
    } else if p.searching() {
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
    // Both ends of each border share its width: a title that would run into the other end, or
    // past the corner, is cut and ends in `…` (the pane's name keeps its place first).
    let room = area.width.saturating_sub(2);
    let name_width = title.first().map_or(0, |s| s.width() as u16).min(room);
    let status_width = status.iter().map(|s| s.width() as u16).sum::<u16>();
    let title_room = room.saturating_sub(status_width + u16::from(status_width > 0)).max(name_width);
    let title = fit_spans(title, title_room);
    let title_width = title.iter().map(|s| s.width() as u16).sum::<u16>();
    let status = fit_spans(status, room.saturating_sub(title_width + 1));
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(if focused { theme.border_focused } else { theme.border })
        .title(Line::from(title))
        .title(Line::from(status).right_aligned())
        .style(theme.base);
    if let Some(problem) = source_problem {
        let text = format!(" {}: {} ", problem.source, sanitize::clean(&problem.detail, 300));
        let line = fit_spans(vec![Span::styled(text, theme.error)], room);
        block = block.title_bottom(Line::from(line));
    }
    // A histogram of nothing (an empty table) takes no room: the pane says what would fill it.
    let counted = p.histogram.as_ref().filter(|h| !h.counts.is_empty());
    let histogram_rows = if counted.is_some() { layout::histogram_rows(pane, area) } else { 0 };
    if let (true, Some(h), None) = (histogram_rows > 0, counted, source_problem) {
        let pieces = histogram::caption(h, p.zoom).into_iter().map(|t| vec![Span::styled(t, theme.muted)]).collect();
        block =
            block.title_bottom(Line::from(fit_items(pieces, room, Span::styled("… ", theme.muted))).right_aligned());
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
    if histogram_rows > 0 && body.height > histogram_rows {
        if let Some(h) = counted {
            let bars = Rect { height: histogram_rows, ..body };
            histogram::draw(frame.buffer_mut(), bars, h, &histogram::styles(theme, pane));
        }
        body.y += histogram_rows;
        body.height -= histogram_rows;
    }
    let message = if let Some(e) = &p.load_error {
        Some((format!("Cannot load {}: {e}", pane.title()), theme.error))
    } else if !p.loaded {
        Some(("loading…".to_string(), theme.muted))
    } else if p.rows.is_empty() && p.filter.is_some() {
        // While a search is still going, nothing found is not yet nothing matching.
        let what = match p.searched {
            Some(_) => "Nothing found yet; still searching (see above).",
            None => "Nothing matches the filter.",
        };
        let clear = state.keymap.key_name(crate::action::Action::Close);
        Some((clear.map_or(what.to_string(), |k| format!("{what} {} clears it.", capitalised(&k))), theme.muted))
    } else if let (true, Some(problem)) = (p.rows.is_empty(), source_problem) {
        Some((
            format!(
                "{}: {}\n\n{}",
                problem.source,
                sanitize::clean_all(&problem.detail),
                empty_hint(pane, &state.keymap)
            ),
            theme.error,
        ))
    } else if p.rows.is_empty() {
        Some((empty_hint(pane, &state.keymap), theme.muted))
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
    let shown: Vec<Vec<Span<'_>>> = p.rows[p.offset.min(end)..end].iter().map(|row| cells(row, &ctx)).collect();
    let mut needed = vec![0u16; cols.len()];
    for row in &shown {
        for ((need, col), span) in needed.iter_mut().zip(cols).zip(row) {
            if col.address {
                *need = (*need).max(u16::try_from(span.width()).unwrap_or(u16::MAX));
            }
        }
    }
    // A HOST column earns its place when the rows on screen come from more than one host.
    let hidden: Vec<bool> = cols
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let mut hosts =
                shown.iter().filter_map(|row| row.get(k)).map(|s| s.content.as_ref()).filter(|h| !h.is_empty());
            let first = hosts.next();
            c.host && body.width < WIDE && hosts.all(|h| Some(h) == first)
        })
        .collect();
    let fitted = fitting(cols, body.width, &needed, &hidden);
    let rows = shown.into_iter().enumerate().map(|(i, mut spans)| {
        if p.offset + i != p.selected {
            return TableRow::new(fitted_cells(&fitted, spans));
        }
        // A cell's own colour stays on the selected row unless it is the selection's background,
        // where it would vanish (light-yellow warning text on the light-yellow bar).
        for span in &mut spans {
            if span.style.fg.is_some() && span.style.fg == selected_style.bg {
                span.style.fg = selected_style.fg;
            }
        }
        TableRow::new(fitted_cells(&fitted, spans)).style(selected_style)
    });
    let titles = cols.iter().map(|c| Span::raw(c.title)).collect();
    let header = TableRow::new(fitted_cells(&fitted, titles)).style(theme.column_header);
    let widths = fitted.iter().map(|(_, w)| Constraint::Length(*w));
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    frame.render_widget(table, body);
}

/// The cells of the columns that fit, each fitted to its width.
fn fitted_cells<'a>(fitted: &[(usize, u16)], mut spans: Vec<Span<'a>>) -> Vec<Cell<'a>> {
    fitted.iter().map(|(k, w)| Cell::from(fit(spans.get_mut(*k).map(std::mem::take).unwrap_or_default(), *w))).collect()
}

/// The collector source whose health a pane shows.
fn source_of(pane: Pane) -> Option<&'static str> {
    match pane {
        Pane::Tenants => Some(crate::store::status::names::DOCKER),
        Pane::Bans => Some(crate::store::status::names::FAIL2BAN),
        _ => None,
    }
}

pub use integrity::seconds;

/// A cell's text in a style.
pub fn styled<'a>(text: impl Into<String>, style: Style) -> Span<'a> {
    Span::styled(text.into(), style)
}

/// What an empty pane says: what would fill it and how to enable that; `keymap` names the keys it
/// mentions.
fn empty_hint(pane: Pane, keymap: &crate::config::Keymap) -> String {
    let text = match pane {
        Pane::Tenants => {
            "No tenants yet. A tenant is the set of Docker containers labelled rampart.tenant=NAME. \
             Try `rampart demo` to see a populated console."
        }
        Pane::Alerts => {
            "No alerts. Falco's JSON output arrives with `rampart ingest falco FILE` (or `-` for a pipe \
             from falco)."
        }
        Pane::Access => {
            "No access events. Follow a log with [[access_log]] path and tenant in the config file, import \
             one with `rampart ingest access FILE`, or write rows into the access_events table (README)."
        }
        Pane::Bans => {
            return match keymap.key_name(Action::Ban) {
                Some(key) => {
                    format!("No active bans. Bans come from Fail2Ban's database, or from `{key}` on any IP.")
                }
                None => "No active bans. Bans come from Fail2Ban's database.".to_string(),
            }
        }
        Pane::Integrity => {
            let verify = keymap.key_name(Action::Verify).map(|k| format!("; {k} runs one now")).unwrap_or_default();
            return format!(
                "No integrity targets. A target is a file tree whose SHA-256 manifest is signed with RSA: \
                 make one with `rampart integrity baseline NAME PATH --key PRIVATE.pem`, or declare \
                 [[integrity]] in the config file. Its verifications appear here{verify}."
            );
        }
        Pane::Audit => "The audit log is empty: every action an operator takes is recorded here.",
        Pane::Sources => {
            "No source has reported yet. The collector (`rampart`, or `rampart collect`) runs the sources \
             the config file names — Docker, Fail2Ban, [[access_log]], [falco], [[cloudwatch]], \
             [cloudwatch_publish], [[integrity]] — and each reports its state here."
        }
        Pane::Fleet => {
            "No other host's record yet. A collector with [[cloudwatch]] group_prefix = \"/rampart/\" and \
             format = \"rampart\" shows here what other hosts' [cloudwatch_publish] put: their audit rows, \
             bans, unbans and integrity runs (their alerts go to the Alerts pane). Nothing here can be acted on."
        }
    };
    text.to_string()
}

/// A key name at the start of a sentence: `esc` as `Esc`.
fn capitalised(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) if key.len() > 1 => first.to_uppercase().chain(chars).collect(),
        _ => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[Column] = &[
        col("TIME", Constraint::Length(14), 14, 0),
        address_col("IP", Constraint::Length(15), 2, 0),
        col("JAIL", Constraint::Length(10), 6, 0),
        col("COUNT", Constraint::Length(5), 5, 1),
        col("TEXT", Constraint::Fill(1), 8, 0),
    ];

    #[test]
    fn an_address_column_is_as_wide_as_its_widest_address() {
        let needed = [0, 38, 0, 0, 0];
        let shown = [false; 5];
        // Room for all: the address is whole, the text takes the rest.
        assert_eq!(fitting(COLS, 90, &needed, &shown), [(0, 14), (1, 38), (2, 10), (3, 5), (4, 19)]);
        // Less: the droppable column goes, then the others shrink to their least width.
        assert_eq!(fitting(COLS, 70, &needed, &shown), [(0, 14), (1, 38), (2, 7), (4, 8)]);
        // Less still: the other columns go, rightmost first, never the address.
        assert_eq!(fitting(COLS, 60, &needed, &shown), [(0, 14), (1, 38), (2, 6)]);
        assert_eq!(fitting(COLS, 40, &needed, &shown), [(1, 38)]);
        // Only an address wider than the pane itself is cut (and `fit` marks the cut).
        assert_eq!(fitting(COLS, 30, &needed, &shown), [(1, 30)]);
        // A hidden column gives its room to the others.
        let hidden = [false, false, false, true, false];
        assert_eq!(fitting(COLS, 90, &needed, &hidden), [(0, 14), (1, 38), (2, 10), (4, 25)]);
    }

    #[test]
    fn a_cut_cell_ends_in_an_ellipsis() {
        assert_eq!(fit(Span::raw("rampart-login"), 10).content, "rampart-l…");
        assert_eq!(fit(Span::raw("sshd"), 10).content, "sshd");
        assert_eq!(fit(Span::raw("漢字漢字"), 6).content, "漢字…", "wide characters count double");
        assert_eq!(fit(Span::raw("abc"), 1).content, "…");
        assert_eq!(fit(Span::raw("abc"), 0).content, "");
    }
}
