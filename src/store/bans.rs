//! IP bans (from Fail2Ban or made by an operator): rows, inserts and the Bans pane's query.

use rusqlite::{params, Connection, Row};

use super::filter::{Field, FieldKind, Fields, KeyBound, Time};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ban {
    pub id: i64,
    pub jail: String,
    pub ip: String,
    pub banned_at: i64,
    /// Negative means permanent.
    pub ban_seconds: i64,
    pub ban_count: i64,
    pub failures: i64,
    pub matches_json: String,
    pub source: String,
    pub tenant: Option<String>,
    pub unbanned_at: Option<i64>,
    pub unbanned_by: Option<String>,
}

impl Ban {
    /// When the ban ends, or `None` when it is permanent.
    pub fn expires_at(&self) -> Option<i64> {
        (self.ban_seconds >= 0).then(|| self.banned_at + self.ban_seconds * 1000)
    }

    pub fn is_active(&self, now_ms: i64) -> bool {
        self.unbanned_at.is_none() && self.expires_at().is_none_or(|t| t > now_ms)
    }
}

pub const FIELDS: Fields = Fields {
    fields: &[
        Field { name: "ip", column: "ip", kind: FieldKind::Ip },
        Field { name: "jail", column: "jail", kind: FieldKind::Text },
        Field { name: "tenant", column: "tenant", kind: FieldKind::Text },
        Field { name: "source", column: "source", kind: FieldKind::Text },
        Field { name: "count", column: "ban_count", kind: FieldKind::Int },
        Field { name: "failures", column: "failures", kind: FieldKind::Int },
    ],
    free_text: &["ip", "jail", "tenant", "matches_json"],
    time: Some(Time { column: "banned_at", key_bound: KeyBound::None }),
};

/// `matches_json` is capped at [`super::TEXT_CAP`] bytes, NULs and all (read with [`super::text_at`]).
pub const SELECT: &str = "SELECT id, jail, ip, banned_at, ban_seconds, ban_count, failures, \
     substr(CAST(matches_json AS BLOB), 1, 65536), source, tenant, unbanned_at, unbanned_by FROM bans";

/// The SQL condition for "active at `?`" (one parameter: now in ms).
pub const ACTIVE: &str = "unbanned_at IS NULL AND (ban_seconds < 0 OR banned_at + ban_seconds * 1000 > ?)";

pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Ban> {
    Ok(Ban {
        id: r.get(0)?,
        jail: r.get(1)?,
        ip: r.get(2)?,
        banned_at: r.get(3)?,
        ban_seconds: r.get(4)?,
        ban_count: r.get(5)?,
        failures: r.get(6)?,
        matches_json: super::text_at(r, 7)?,
        source: r.get(8)?,
        tenant: r.get(9)?,
        unbanned_at: r.get(10)?,
        unbanned_by: r.get(11)?,
    })
}

/// Stores a ban unless one with the same jail, IP and time is already there (its identity). The
/// address is stored in its canonical form.
pub fn insert(conn: &Connection, b: &Ban) -> rusqlite::Result<()> {
    let ip = super::canonical_ip(&b.ip).unwrap_or_else(|| b.ip.clone());
    conn.prepare_cached(
        "INSERT OR IGNORE INTO bans (jail, ip, banned_at, ban_seconds, ban_count, failures, matches_json, source, tenant, \
         unbanned_at, unbanned_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        b.jail,
        ip,
        b.banned_at,
        b.ban_seconds,
        b.ban_count,
        b.failures,
        b.matches_json,
        b.source,
        b.tenant,
        b.unbanned_at,
        b.unbanned_by
    ])?;
    Ok(())
}

/// Ends a ban; false when it was not active.
pub fn mark_unbanned(conn: &Connection, id: i64, operator: &str, at: i64) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE bans SET unbanned_at = ?, unbanned_by = ? WHERE id = ? AND unbanned_at IS NULL",
        params![at, operator, id],
    )?;
    Ok(n == 1)
}

/// Whether `ip` (canonical) is banned in `jail` at `now`.
pub fn active_in(conn: &Connection, jail: &str, ip: &str, now: i64) -> rusqlite::Result<bool> {
    let sql =
        format!("SELECT EXISTS (SELECT 1 FROM bans WHERE jail = ?1 AND ip = ?2 AND {})", ACTIVE.replace('?', "?3"));
    conn.prepare_cached(&sql)?.query_row(params![jail, ip, now], |r| r.get(0))
}

/// The bans of `ip` (canonical) active at `now`, in `jail` or in any: (ban id, jail).
pub fn active_of(conn: &Connection, ip: &str, jail: Option<&str>, now: i64) -> rusqlite::Result<Vec<(i64, String)>> {
    let sql = format!(
        "SELECT id, jail FROM bans WHERE ip = ?1 AND (?2 IS NULL OR jail = ?2) AND {}",
        ACTIVE.replace('?', "?3")
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![ip, jail, now], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The `limit` newest bans (by id), only those active at `active_at` when it is given; and how
/// many there are in all.
pub fn newest(conn: &Connection, active_at: Option<i64>, limit: usize) -> rusqlite::Result<(Vec<Ban>, usize)> {
    let condition = match active_at {
        Some(now) => ACTIVE.replace('?', &now.to_string()),
        None => "1".to_string(),
    };
    let mut stmt = conn.prepare(&format!("{SELECT} WHERE {condition} ORDER BY id DESC LIMIT ?"))?;
    let rows: Vec<Ban> = stmt.query_map([limit as i64], from_row)?.collect::<rusqlite::Result<_>>()?;
    let total = if rows.len() < limit {
        rows.len()
    } else {
        conn.query_row(&format!("SELECT count(*) FROM bans WHERE {condition}"), [], |r| r.get::<_, i64>(0))? as usize
    };
    Ok((rows, total))
}

/// How many times `ip` was banned before, so a repeat offender stands out.
pub fn previous_count(conn: &Connection, ip: &str) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM bans WHERE ip = ?", [ip], |r| r.get(0))
}

/// Jails the host has, and jails named in the store, offered when an operator bans an IP.
pub fn jails(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name FROM jails UNION SELECT jail FROM (SELECT DISTINCT jail FROM bans LIMIT 100) ORDER BY 1 LIMIT 100",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Brings the store in step with Fail2Ban: `history` rows are added once (by jail, IP and time of
/// ban), and, when `active` is Fail2Ban's complete list of current bans, every ban of the store that
/// Fail2Ban no longer holds is marked as ended. New rows get the tenant the IP belongs to.
pub fn sync_fail2ban(
    conn: &Connection,
    active: Option<&[Ban]>,
    history: &[Ban],
    jails: &[String],
    now: i64,
) -> rusqlite::Result<()> {
    let before: i64 = conn.query_row("SELECT ifnull(max(id), 0) FROM bans", [], |r| r.get(0))?;
    for jail in jails {
        conn.prepare_cached("INSERT OR IGNORE INTO jails (name, source) VALUES (?, 'fail2ban')")?.execute([jail])?;
    }
    for b in history.iter().chain(active.unwrap_or_default()) {
        insert(conn, b)?;
    }
    if let Some(active) = active {
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS f2b_active (jail TEXT, ip TEXT, banned_at INTEGER); DELETE FROM f2b_active",
        )?;
        let mut keep = conn.prepare_cached("INSERT INTO f2b_active (jail, ip, banned_at) VALUES (?, ?, ?)")?;
        for b in active {
            keep.execute(params![b.jail, b.ip, b.banned_at])?;
        }
        conn.execute(
            &format!(
                "UPDATE bans SET unbanned_at = ?1, unbanned_by = 'fail2ban' WHERE source IN ('fail2ban', 'manual', 'rampart') \
                 AND {} AND NOT EXISTS (SELECT 1 FROM f2b_active a WHERE a.jail = bans.jail AND a.ip = bans.ip \
                 AND a.banned_at = bans.banned_at)",
                ACTIVE.replace('?', "?1")
            ),
            [now],
        )?;
    }
    // The tenant an address belongs to: inside a tenant's network, else last seen in its access log.
    conn.execute(
        "UPDATE bans SET tenant = coalesce( \
            (SELECT c.tenant FROM containers c, json_each(c.networks_json) j \
             WHERE json_extract(j.value, '$.ip') = bans.ip LIMIT 1), \
            (SELECT e.tenant FROM access_events e WHERE e.src_ip = bans.ip ORDER BY e.id DESC LIMIT 1)) \
         WHERE id > ? AND tenant IS NULL",
        [before],
    )?;
    // Bans a `[[respond]]` rule made are rampart's.
    super::automatic::mark(conn)
}
