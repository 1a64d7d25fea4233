//! Fire drills (`rampart drill`): each drill's row, what it watches for in the store (the
//! attacker's access events, its alerts, its bans, a target's drift), and the marking of the
//! alerts it caused as a drill's, so that they never count as an incident.

use rusqlite::{params, Connection, OptionalExtension};

/// Who acknowledges a drill's alerts: what the Alerts pane and `rampart report` show beside them.
pub fn actor(id: i64) -> String {
    format!("rampart (drill {id})")
}

/// Whether an alert's acknowledgement says it was a drill's.
pub fn is_drill_actor(acked_by: Option<&str>) -> bool {
    acked_by.is_some_and(|by| by.starts_with("rampart (drill ") && by.ends_with(')'))
}

/// Whether an alert's tags say it was a drill's.
pub fn is_drill_tags(tags: &str) -> bool {
    tags.split(',').any(|t| t.trim() == "drill")
}

pub fn begin(conn: &Connection, tenant: &str, scenario: &str, at: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO drills (tenant, scenario, started_at) VALUES (?, ?, ?)")?
        .execute(params![tenant, scenario, at])?;
    Ok(conn.last_insert_rowid())
}

pub fn set_attacker(conn: &Connection, id: i64, ip: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE drills SET attacker_ip = ? WHERE id = ?")?.execute(params![ip, id])?;
    Ok(())
}

pub fn finish(conn: &Connection, id: i64, report_json: &str, at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE drills SET finished_at = ?, report_json = ? WHERE id = ?")?.execute(params![
        at,
        report_json,
        id
    ])?;
    Ok(())
}

/// Marks the alerts from `ip` since `since` (by id: after `after`) as the drill's: acknowledged
/// by [`actor`] and tagged `drill`. Returns how many.
pub fn mark_alerts(conn: &Connection, id: i64, ip: &str, after: i64, at: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE alerts SET acked_by = ?, acked_at = ?, \
         tags = CASE WHEN tags = '' THEN 'drill' ELSE tags || ',drill' END \
         WHERE id > ? AND src_ip = ? AND (acked_by IS NULL OR acked_by <> ?)",
    )?
    .execute(params![actor(id), at, after, ip, actor(id)])
}

/// The highest alert id now (what a drill's alerts come after).
pub fn last_alert(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT ifnull(max(id), 0) FROM alerts", [], |r| r.get(0))
}

/// How many access events of `tenant` from `ip` arrived after event id `after`.
pub fn seen(conn: &Connection, tenant: &str, ip: &str, after: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM access_events WHERE id > ? AND tenant = ? AND src_ip = ?")?
        .query_row(params![after, tenant, ip], |r| r.get(0))
}

/// The highest access event id now.
pub fn last_access(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT ifnull(max(id), 0) FROM access_events", [], |r| r.get(0))
}

/// The first alert from `ip` after alert id `after`: (id, rule).
pub fn alert(conn: &Connection, ip: &str, after: i64) -> rusqlite::Result<Option<(i64, String)>> {
    conn.prepare_cached("SELECT id, rule FROM alerts WHERE id > ? AND src_ip = ? ORDER BY id LIMIT 1")?
        .query_row(params![after, ip], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// A ban of `ip` made at or after `since` (ms): (jail, outcome), a `[[respond]]` rule's first
/// (`banned`, `would ban` or why not), else one Fail2Ban's database shows.
pub fn ban(conn: &Connection, ip: &str, since: i64) -> rusqlite::Result<Option<(String, String)>> {
    let automatic = conn
        .prepare_cached("SELECT jail, outcome FROM automatic_bans WHERE ip = ? AND ts >= ? ORDER BY id LIMIT 1")?
        .query_row(params![ip, since], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if automatic.is_some() {
        return Ok(automatic);
    }
    conn.prepare_cached("SELECT jail, 'banned' FROM bans WHERE ip = ? AND banned_at >= ? ORDER BY id LIMIT 1")?
        .query_row(params![ip, since / 1000 * 1000], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// The Bans pane's row of `ip` in `jail`, if Fail2Ban's database has it (0 if not).
pub fn ban_id(conn: &Connection, ip: &str, jail: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT ifnull(max(id), 0) FROM bans WHERE ip = ? AND jail = ?")?
        .query_row(params![ip, jail], |r| r.get(0))
}

/// The first verification of `target` after run id `after` that found it changed: the number
/// of files that differ.
pub fn drift(conn: &Connection, target: &str, after: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT modified + added + removed FROM integrity_runs WHERE target = ? AND id > ? \
         AND modified + added + removed > 0 ORDER BY id LIMIT 1",
    )?
    .query_row(params![target, after], |r| r.get(0))
    .optional()
}

/// The highest verification run id now.
pub fn last_run(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT ifnull(max(id), 0) FROM integrity_runs", [], |r| r.get(0))
}
