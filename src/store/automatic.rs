//! What `[[respond]]` rules did: each automatic ban (or, in a dry run, the ban it would have made),
//! with the rule and the alert behind it. The Bans pane marks Fail2Ban's rows of these as rampart's.

use rusqlite::{params, Connection};

/// One automatic action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomaticBan {
    pub ts: i64,
    pub jail: String,
    pub ip: String,
    pub rule: String,
    pub alert_id: i64,
    pub dry_run: bool,
    /// `banned`, `would ban`, or why not.
    pub outcome: String,
    /// When rampart lifts the ban (the rule's `ban_for`), if it does.
    pub until: Option<i64>,
}

/// A ban whose time is over, to lift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub id: i64,
    pub jail: String,
    pub ip: String,
    pub rule: String,
    /// The Bans pane's row of it, if Fail2Ban's database has it (0 if not).
    pub ban_id: i64,
}

/// The source the Bans pane shows for a ban a rule made.
pub const SOURCE: &str = "rampart";

pub fn insert(conn: &Connection, a: &AutomaticBan) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO automatic_bans (ts, jail, ip, rule, alert_id, dry_run, outcome, until) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![a.ts, a.jail, a.ip, a.rule, a.alert_id, a.dry_run, a.outcome, a.until])?;
    mark(conn)
}

/// Marks Fail2Ban's rows of bans a rule made (through `fail2ban-client`, so Fail2Ban's database
/// calls them manual) by jail, address and a time within a minute of the rule's
/// action, as rampart's.
pub fn mark(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE bans SET source = ?1 WHERE source IN ('fail2ban', 'manual') AND unbanned_at IS NULL AND EXISTS ( \
           SELECT 1 FROM automatic_bans r WHERE r.ip = bans.ip AND r.jail = bans.jail AND r.dry_run = 0 \
           AND r.outcome = 'banned' AND bans.banned_at BETWEEN r.ts - 5000 AND r.ts + 60000)",
    )?
    .execute([SOURCE])?;
    Ok(())
}

/// The bans made for a time that is over at `now` and not lifted yet.
pub fn due(conn: &Connection, now: i64) -> rusqlite::Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.jail, r.ip, r.rule, ifnull((SELECT max(b.id) FROM bans b WHERE b.jail = r.jail AND b.ip = r.ip \
           AND b.unbanned_at IS NULL), 0) FROM automatic_bans r \
         WHERE r.until <= ? AND r.lifted_at IS NULL AND r.outcome = 'banned' AND r.dry_run = 0 ORDER BY r.id LIMIT 100",
    )?;
    let rows = stmt.query_map([now], |r| {
        Ok(Due { id: r.get(0)?, jail: r.get(1)?, ip: r.get(2)?, rule: r.get(3)?, ban_id: r.get(4)? })
    })?;
    rows.collect()
}

/// Notes that a ban made for a time was lifted (or that lifting it was tried: it is not tried again).
pub fn lifted(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE automatic_bans SET lifted_at = ? WHERE id = ?")?.execute(params![now, id])?;
    Ok(())
}
