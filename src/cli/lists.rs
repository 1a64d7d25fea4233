//! `rampart alerts list`, `rampart access list`: the streams' panes, headless, with the console's
//! filter language; and how every headless table says it is empty or cut.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use color_eyre::eyre::bail;
use color_eyre::Result;

use super::args::ListArgs;
use super::out::{self, Mistake};
use crate::pane::Pane;
use crate::store::filter::{compile, Filter};
use crate::store::newest::{self, Stream};
use crate::store::scan::{self, Scan};
use crate::store::window::{Around, Listing, Query, Row, Searched};
use crate::store::{self, now_ms, Access};
use crate::text::format;

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, newest first by the time of the alert
    #[command(after_help = FILTER_HELP)]
    List {
        #[command(flatten)]
        list: ListArgs,
        /// At least this severe (emergency, alert, critical, error, warning, notice, informational, debug)
        #[arg(long)]
        priority: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// List access events, newest first by the time of the request
    #[command(after_help = FILTER_HELP)]
    List {
        #[command(flatten)]
        list: ListArgs,
        /// Search every stored event for a filter no index answers at once (by default such a
        /// filter searches the newest events for a moment and says how many it searched)
        #[arg(long)]
        all: bool,
    },
}

/// The filter language, for `--help` and the manual pages (docs/filter.md says more).
pub const FILTER_HELP: &str = concat!(
    "The filter language (--filter, and `/` in the console):\n",
    "  word, \"a phrase\"      substring anywhere in the row's text\n",
    "  field:value           exact, case-insensitive; * is a wildcard (path:*login*)\n",
    "  status>=400, status:4xx, bytes<100\n",
    "                        numbers compare; 4xx is 400-499\n",
    "  priority>=warning     at least as severe as Warning (Falco's order)\n",
    "  since:15m, until:2h, since:2026-11-26T10:00\n",
    "                        a time window (s m h d w, or a UTC date)\n",
    "  !term                 anything but (!tenant:acme)\n",
    "Terms are and-ed; user text is only ever a bound parameter. An unknown field is refused with the\n",
    "fields this list has."
);

/// Said when a table has no rows to show.
pub fn say_no_rows() {
    eprintln!("no rows");
}

/// Said under a table that was cut at `--limit`: how many rows were left out.
pub fn say_more(more: usize, at_least: bool) {
    if more > 0 {
        eprintln!("{}{more} more — use --limit to see more", if at_least { "at least " } else { "" });
    }
}

/// Rows counted past the last one shown stop here: "at least N more" is all an operator needs, and
/// counting a common match on 10,000,000 rows to the end took half a second.
const MORE_COUNT_CAP: usize = 10_000;

/// `rampart alerts list`, `rampart access list`: newest first by the time of the alert or
/// request (not the order they reached the store: imports arrive late), with the console's filter
/// language.
/// How long the plain query of a headless list may take before a filtered Access list searches
/// newest first instead, and how long that search goes on (unless `--all`): the whole command
/// stays within a quarter of a second on 10,000,000 events.
const PLAIN_BUDGET: Duration = Duration::from_millis(60);
const SEARCH_BUDGET: Duration = Duration::from_millis(120);
/// How long counting the rows past `--limit` may take.
const COUNT_BUDGET: Duration = Duration::from_millis(30);

pub fn list(db: &Path, pane: Pane, args: ListArgs, priority: Option<String>, all: bool) -> Result<ExitCode> {
    let ListArgs { json, since, filter, limit, .. } = args;
    let mut terms: Vec<String> = filter.into_iter().collect();
    if let Some(since) = since {
        terms.push(format!("since:{since}"));
    }
    if let Some(p) = priority {
        terms.push(format!("priority>={p}"));
    }
    let now = now_ms();
    let filter = compile(&terms.join(" "), pane.fields(), now).map_err(|e| Mistake::usage(e.to_string()))?;
    let conn = store::open(db, Access::ReadOnly)?;
    let stream = match pane {
        Pane::Alerts => Stream::Alerts,
        Pane::Access => Stream::Access,
        other => bail!("{} has no headless list", other.title()),
    };
    let narrowed = match (&filter, pane) {
        (Some(f), Pane::Access) => store::search::narrow(&conn, f)?,
        _ => None,
    };
    let kept = narrowed.as_ref().or(filter.as_ref());
    let plain = || newest::by_time(&conn, stream, kept, limit);
    // A filtered Access list that SQLite cannot answer at once is searched newest first.
    let searchable = pane == Pane::Access && filter.is_some() && !all;
    let ruled_out = match (&filter, pane) {
        (Some(f), Pane::Access) => scan::ruled_out(&conn, f)?,
        _ => false,
    };
    let (rows, searched) = if ruled_out {
        (Vec::new(), None)
    } else if searchable {
        match scan::within(&conn, PLAIN_BUDGET, plain)? {
            Some(rows) => (rows, None),
            None => search(&conn, filter.clone(), limit)?,
        }
    } else {
        (plain()?, None)
    };
    let (more, at_least) = if rows.len() < limit || searched.is_some() {
        (0, false)
    } else {
        let count = || newest::count_up_to(&conn, stream, kept, MORE_COUNT_CAP);
        match scan::within(&conn, COUNT_BUDGET, count)? {
            // At least one more row matches, or the count would have ended sooner.
            None => (1, true),
            Some(matching) => (matching.saturating_sub(rows.len()), matching >= MORE_COUNT_CAP),
        }
    };
    if json {
        let rows: Vec<serde_json::Value> = rows.iter().map(row_json).collect();
        out::json_pretty(&rows)?;
    } else if rows.is_empty() {
        say_no_rows();
    } else {
        let ip_width = address_width(rows.iter().map(|r| match r {
            Row::Access(e) => e.src_ip.as_str(),
            _ => "",
        }));
        let width = terminal_width();
        out!("{}", fit(header(pane, ip_width), width))?;
        for row in &rows {
            out!("{}", fit(row_line(row, ip_width), width))?;
        }
    }
    say_more(more, at_least);
    if let Some(s) = searched {
        eprintln!(
            "searched the newest {} of {} stored events (by arrival) — `--all` searches every one",
            format::thousands(s.searched),
            format::thousands(s.of)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The newest rows by arrival that `filter` keeps, searched newest first for [`SEARCH_BUDGET`],
/// newest first by time; and how far the search got when it stopped before the oldest event.
fn search(conn: &rusqlite::Connection, filter: Option<Filter>, limit: usize) -> Result<(Vec<Row>, Option<Searched>)> {
    let q = Query {
        listing: Listing::Access,
        filter,
        around: Around::Newest,
        per_side: limit.div_ceil(2).max(1),
        count_newer_than: None,
        history: false,
        grouped: false,
    };
    let mut scan = Scan::start(conn, &q)?;
    scan.run(conn, SEARCH_BUDGET)?;
    let searched = (!scan.done()).then(|| scan.searched());
    let mut rows = scan.page().rows;
    rows.sort_by_key(|r| match r {
        Row::Access(e) => std::cmp::Reverse((e.ts, e.id)),
        other => std::cmp::Reverse((0, other.key())),
    });
    rows.truncate(limit);
    Ok((rows, searched))
}

/// How wide a table's address column is: its widest address, and at least its heading
/// (`SOURCE IP`), so that an IPv4-only table is not padded to the longest IPv6 address.
pub fn address_width<'a>(addresses: impl Iterator<Item = &'a str>) -> usize {
    addresses.map(|a| a.chars().count()).max().unwrap_or(0).max("SOURCE IP".len())
}

/// The terminal's width when standard output is one; piped, lines are printed whole.
fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    crossterm::terminal::size().ok().map(|(columns, _)| usize::from(columns)).filter(|w| *w >= 20)
}

/// `line` cut to `width` columns with `…` (what is cut is the last column: the user agent, the
/// alert's output), so a table on a terminal never wraps.
fn fit(line: String, width: Option<usize>) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let Some(width) = width else { return line };
    if line.width() <= width {
        return line;
    }
    let room = width.saturating_sub(1);
    let mut used = 0;
    let mut end = 0;
    for (i, c) in line.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            end = i;
            break;
        }
        used += w;
    }
    format!("{}…", &line[..end])
}

/// The column names over `row_line`'s columns.
fn header(pane: Pane, ip_width: usize) -> String {
    match pane {
        Pane::Alerts => format!("{:<24}  {:<13}  {:<40}  {:<10}  OUTPUT", "TIME (UTC)", "PRIORITY", "RULE", "TENANT"),
        _ => format!(
            "{:<24}  {:<10} {:<ip_width$} {:<7} {:<4} PATH  USER AGENT",
            "TIME (UTC)", "TENANT", "SOURCE IP", "METHOD", "CODE"
        ),
    }
}

fn row_json(row: &Row) -> serde_json::Value {
    match row {
        Row::Alert(a) => serde_json::json!({
            "id": a.id, "time": format::timestamp(a.ts), "priority": a.priority.name(), "rule": a.rule,
            "source": a.source, "hostname": a.hostname, "tenant": a.tenant, "output": a.output,
            "output_fields": serde_json::from_str::<serde_json::Value>(&a.output_fields_json).unwrap_or_default(),
            "tags": a.tags.split(',').filter(|t| !t.is_empty()).collect::<Vec<_>>(), "ip": a.src_ip,
            "acknowledged_by": a.acked_by,
        }),
        Row::Access(e) => serde_json::json!({
            "id": e.id, "time": format::timestamp(e.ts), "tenant": e.tenant, "host": e.host, "ip": e.src_ip, "user": e.user,
            "method": e.method, "path": e.path, "status": e.status, "bytes": e.bytes, "user_agent": e.user_agent,
            "target_tenant": e.target_tenant, "flags": e.flags, "source": e.source,
        }),
        _ => serde_json::Value::Null,
    }
}

/// One line per row; text from outside is made safe for a terminal here too.
fn row_line(row: &Row, ip_width: usize) -> String {
    let clean = |s: &str| crate::text::sanitize::clean(s, 2000).into_owned();
    match row {
        Row::Alert(a) => format!(
            "{}  {:<13}  {:<40}  {:<10}  {}",
            format::timestamp(a.ts),
            a.priority.name(),
            clean(&a.rule),
            clean(a.tenant.as_deref().unwrap_or("-")),
            clean(&a.output)
        ),
        Row::Access(e) => format!(
            "{}  {:<10} {:<ip_width$} {:<7} {:<4} {}  {}",
            format::timestamp(e.ts),
            clean(&e.tenant),
            clean(&e.src_ip),
            clean(&e.method),
            e.status,
            clean(&e.path),
            clean(&e.user_agent)
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn a_line_is_cut_to_the_terminal_with_an_ellipsis_and_whole_when_piped() {
        assert_eq!(fit("abcdef".into(), Some(4)), "abc…");
        assert_eq!(fit("abcd".into(), Some(4)), "abcd");
        assert_eq!(fit("abcdef".into(), None), "abcdef");
        assert_eq!(fit("日本語です".into(), Some(5)), "日本…");
    }
}
