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
}

/// The source the Bans pane shows for a ban a rule made.
pub const SOURCE: &str = "rampart";

pub fn insert(conn: &Connection, a: &AutomaticBan) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO automatic_bans (ts, jail, ip, rule, alert_id, dry_run, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![a.ts, a.jail, a.ip, a.rule, a.alert_id, a.dry_run, a.outcome])?;
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
