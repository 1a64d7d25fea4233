//! Source health (`source_status`): what each collector source last reported, for the header.

use rusqlite::{params, Connection};

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
}

pub fn upsert(conn: &Connection, s: &SourceStatus) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO source_status (source, state, detail, last_ok, last_error) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT(source) DO UPDATE SET state = excluded.state, detail = excluded.detail, \
         last_ok = coalesce(excluded.last_ok, last_ok), last_error = coalesce(excluded.last_error, last_error)",
    )?
    .execute(params![s.source, s.health.as_str(), s.detail, s.last_ok, s.last_error])?;
    Ok(())
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<SourceStatus>> {
    let mut stmt =
        conn.prepare_cached("SELECT source, state, detail, last_ok, last_error FROM source_status ORDER BY source")?;
    let rows = stmt.query_map([], |r| {
        Ok(SourceStatus {
            source: r.get(0)?,
            health: Health::parse(&r.get::<_, String>(1)?),
            detail: r.get(2)?,
            last_ok: r.get(3)?,
            last_error: r.get(4)?,
        })
    })?;
    rows.collect()
}
