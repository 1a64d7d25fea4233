//! Source health (`source_status`): what each collector source last reported, for the header and
//! the Sources view.

use rusqlite::{params, Connection};

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

pub fn upsert(conn: &Connection, s: &SourceStatus) -> rusqlite::Result<()> {
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
/// transaction that stores them, so the counts are exact across restarts).
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
    Ok(())
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
