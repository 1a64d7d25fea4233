//! Source health (`source_status`): what each collector source last reported, for the header and
//! the Sources view.

use rusqlite::{params, Connection, OptionalExtension};

use super::filter::{Field, FieldKind, Fields};

/// The names sources report under: the sources write them, the console's panes look them up.
pub mod names {
    pub const DOCKER: &str = "docker";
    pub const FAIL2BAN: &str = "fail2ban";
    pub const FALCO_HTTP: &str = "falco:http";
    pub const INTEGRITY: &str = "integrity";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ok,
    Degraded,
    Down,
    Off,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Degraded => "degraded",
            Health::Down => "down",
            Health::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Health {
        match s {
            "ok" => Health::Ok,
            "degraded" => Health::Degraded,
            "down" => Health::Down,
            _ => Health::Off,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceStatus {
    pub source: String,
    pub health: Health,
    pub detail: String,
    pub last_ok: Option<i64>,
    pub last_error: Option<String>,
    /// A few words for the Sources view's STATE column (`backfilling 40%`, `throttled`); empty
    /// means the health's own word.
    pub summary: String,
    /// Rows stored and lines that did not parse over the source's life, where it counts them
    /// (`None` keeps what was reported before).
    pub stored: Option<i64>,
    pub unparsed: Option<i64>,
}

impl SourceStatus {
    /// What the STATE column says.
    pub fn state(&self) -> &str {
        if self.summary.is_empty() {
            self.health.as_str()
        } else {
            &self.summary
        }
    }
}

/// A row of the Sources view: a source's status and how many of its unparsed lines are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    /// The status row's rowid: stable while the source exists.
    pub id: i64,
    pub status: SourceStatus,
    pub kept: i64,
}

pub const FIELDS: Fields = Fields {
    fields: &[
        Field { name: "source", column: "source", kind: FieldKind::Text },
        Field { name: "health", column: "state", kind: FieldKind::Text },
        Field { name: "state", column: "ifnull(nullif(summary, ''), state)", kind: FieldKind::Text },
    ],
    free_text: &["source", "state", "summary", "detail", "last_error"],
    time: None,
};

/// Every source with its kept unparsed lines counted (at most [`super::unparsed::KEEP`] each).
pub const SELECT: &str = "SELECT rowid, source, state, detail, last_ok, last_error, summary, stored, unparsed, \
     (SELECT count(*) FROM unparsed_lines u WHERE u.source = source_status.source) FROM source_status";

pub fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<SourceRow> {
    Ok(SourceRow {
        id: r.get(0)?,
        status: SourceStatus {
            source: r.get(1)?,
            health: Health::parse(&r.get::<_, String>(2)?),
            detail: r.get(3)?,
            last_ok: r.get(4)?,
            last_error: r.get(5)?,
            summary: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            stored: r.get(7)?,
            unparsed: r.get(8)?,
        },
        kept: r.get(9)?,
    })
}

/// The STATE of a source whose lines none parse, though it reads them well.
pub const NOTHING_PARSES: &str = "nothing parses";
/// The STATE of a source most of whose lines do not parse.
pub const MOSTLY_UNPARSED: &str = "mostly not parsed";
/// The STATE of a source the collector no longer runs (it left the config).
pub const NOT_CONFIGURED: &str = "not configured";

/// What a source's counts say about it beside what it says itself: a source that reads well but
/// stores nothing of what it reads is not ok. `None` when the counts add nothing.
fn counts_say(stored: Option<i64>, unparsed: Option<i64>) -> Option<&'static str> {
    let (stored, unparsed) = (stored.unwrap_or(0), unparsed.unwrap_or(0));
    if unparsed > 0 && stored == 0 {
        Some(NOTHING_PARSES)
    } else if unparsed > stored {
        Some(MOSTLY_UNPARSED)
    } else {
        None
    }
}

/// Records what a source reports, made the worst true thing about it: an `ok` from a source
/// whose lines (so far, counted in the store) mostly do not parse is recorded as degraded, and
/// is not a time it was last ok.
pub fn upsert(conn: &Connection, s: &SourceStatus) -> rusqlite::Result<()> {
    let mut s = s.clone();
    if s.health == Health::Ok {
        let before: Option<(Option<i64>, Option<i64>)> = conn
            .prepare_cached("SELECT stored, unparsed FROM source_status WHERE source = ?")?
            .query_row([&s.source], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (stored, unparsed) = before.unwrap_or_default();
        if let Some(state) = counts_say(s.stored.or(stored), s.unparsed.or(unparsed)) {
            s.health = Health::Degraded;
            s.summary = state.to_string();
            s.last_ok = None;
        }
    }
    conn.prepare_cached(
        "INSERT INTO source_status (source, state, detail, last_ok, last_error, summary, stored, unparsed) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT(source) DO UPDATE SET state = excluded.state, detail = excluded.detail, \
         last_ok = coalesce(excluded.last_ok, last_ok), last_error = coalesce(excluded.last_error, last_error), \
         summary = excluded.summary, stored = coalesce(excluded.stored, stored), \
         unparsed = coalesce(excluded.unparsed, unparsed)",
    )?
    .execute(params![
        s.source,
        s.health.as_str(),
        s.detail,
        s.last_ok,
        s.last_error,
        s.summary,
        s.stored,
        s.unparsed
    ])?;
    Ok(())
}

/// Adds to a source's counts of rows stored and lines not parsed, in the caller's transaction (the
/// transaction that stores them, so the counts are exact across restarts); a source that was ok
/// and now stores nothing of what it reads is degraded at once (and ok again once it does).
pub fn count(conn: &Connection, source: &str, stored: i64, unparsed: i64) -> rusqlite::Result<()> {
    if stored == 0 && unparsed == 0 {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO source_status (source, state, stored, unparsed) VALUES (?, 'ok', ?, ?) \
         ON CONFLICT(source) DO UPDATE SET stored = ifnull(stored, 0) + excluded.stored, \
         unparsed = ifnull(unparsed, 0) + excluded.unparsed",
    )?
    .execute(params![source, stored, unparsed])?;
    let (state, summary, stored, unparsed): (String, Option<String>, Option<i64>, Option<i64>) = conn
        .prepare_cached("SELECT state, summary, stored, unparsed FROM source_status WHERE source = ?")?
        .query_row([source], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    let summary = summary.unwrap_or_default();
    let judged_before = summary == NOTHING_PARSES || summary == MOSTLY_UNPARSED;
    let now = counts_say(stored, unparsed);
    let (state, summary) = match now {
        Some(says) if state == "ok" || judged_before => ("degraded", says.to_string()),
        None if judged_before => ("ok", String::new()),
        _ => return Ok(()),
    };
    conn.prepare_cached("UPDATE source_status SET state = ?, summary = ? WHERE source = ?")?
        .execute(params![state, summary, source])?;
    Ok(())
}

/// A source the collector runs, as its status rows are named: exactly, or every name under a
/// prefix (the groups a CloudWatch `group_prefix` finds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Name(String),
    Prefix(String),
}

impl Expected {
    pub fn matches(&self, source: &str) -> bool {
        match self {
            Expected::Name(name) => source == name,
            Expected::Prefix(prefix) => source.starts_with(prefix.as_str()),
        }
    }
}

/// Marks every source the collector does not run (any more) as `off`, `not configured`, keeping
/// its counts, last time ok and last error; returns their names. A source left out of the config
/// then no longer passes for a working one.
pub fn retire_others(conn: &Connection, expected: &[Expected]) -> rusqlite::Result<Vec<String>> {
    let names: Vec<String> = conn
        .prepare_cached("SELECT source FROM source_status WHERE NOT (state = 'off' AND ifnull(summary, '') = ?)")?
        .query_map([NOT_CONFIGURED], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let retired: Vec<String> = names.into_iter().filter(|n| !expected.iter().any(|e| e.matches(n))).collect();
    for name in &retired {
        conn.prepare_cached(
            "UPDATE source_status SET state = 'off', summary = ?, \
             detail = 'not in the config the collector runs; it last said: ' || detail WHERE source = ?",
        )?
        .execute(params![NOT_CONFIGURED, name])?;
    }
    Ok(retired)
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<SourceStatus>> {
    let mut stmt = conn.prepare_cached(
        "SELECT source, state, detail, last_ok, last_error, summary, stored, unparsed FROM source_status ORDER BY source",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(SourceStatus {
            source: r.get(0)?,
            health: Health::parse(&r.get::<_, String>(1)?),
            detail: r.get(2)?,
            last_ok: r.get(3)?,
            last_error: r.get(4)?,
            summary: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            stored: r.get(6)?,
            unparsed: r.get(7)?,
        })
    })?;
    rows.collect()
}
