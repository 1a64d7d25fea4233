//! The isolation journal: what a container looked like before rampart isolated it, written before
//! anything is changed, so an interrupted isolation can be finished or undone after a crash.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// One network a container was attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    #[serde(default)]
    pub ip: Option<String>,
    /// Its IPv6 address, on a network that has IPv6 (entries written before this field have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A container's state before isolation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Before {
    pub name: String,
    pub networks: Vec<Attachment>,
    pub paused: bool,
    /// Networks left attached, so that the container keeps its address there, and cut at the
    /// host end of the link instead: those without a configured subnet, where the engine would not
    /// give a disconnected container its address back. Entries written before this field existed
    /// have none: every network was disconnected.
    #[serde(default)]
    pub held: Vec<String>,
    /// The restart policy rampart replaced with "no" while a network is held (a restart would
    /// bring the link back up), to be put back on restore.
    #[serde(default)]
    pub restart_policy: Option<RestartPolicy>,
}

/// A container's restart policy, as the engine names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPolicy {
    pub name: String,
    #[serde(default)]
    pub maximum_retry_count: Option<i64>,
}

/// Where a container's journal entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Isolate,
    Restore,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Isolate => "isolate",
            Step::Restore => "restore",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub id: i64,
    pub tenant: String,
    pub container: String,
    pub step: Step,
    pub before: Before,
    pub done: bool,
}

const ACTIVE: &str = "NOT (step = 'restore' AND done = 1)";

/// The entry of `container` that is not yet fully restored, if any.
pub fn active(conn: &Connection, container: &str) -> rusqlite::Result<Option<JournalEntry>> {
    conn.query_row(
        &format!(
            "SELECT id, tenant, container, step, state_before_json, done FROM isolation_journal \
             WHERE container = ? AND {ACTIVE} ORDER BY id DESC LIMIT 1"
        ),
        [container],
        row,
    )
    .optional()
}

/// Every entry of `tenant` not yet fully restored.
pub fn active_of(conn: &Connection, tenant: &str) -> rusqlite::Result<Vec<JournalEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, tenant, container, step, state_before_json, done FROM isolation_journal \
         WHERE tenant = ? AND {ACTIVE} ORDER BY id"
    ))?;
    let rows = stmt.query_map([tenant], row)?;
    rows.collect()
}

/// Tenants with a step that was started and never finished: an interrupted isolate or restore.
pub fn interrupted_tenants(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT tenant FROM isolation_journal WHERE done = 0 ORDER BY tenant")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JournalEntry> {
    let step: String = r.get(3)?;
    let before: String = r.get(4)?;
    let before = serde_json::from_str(&before)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(JournalEntry {
        id: r.get(0)?,
        tenant: r.get(1)?,
        container: r.get(2)?,
        step: if step == "restore" { Step::Restore } else { Step::Isolate },
        before,
        done: r.get(5)?,
    })
}

/// Records, before touching it, that `container` is about to be isolated.
pub fn begin_isolate(conn: &Connection, tenant: &str, container: &str, before: &Before) -> rusqlite::Result<i64> {
    let json = serde_json::to_string(before).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute(
        "INSERT INTO isolation_journal (tenant, container, step, state_before_json, done) VALUES (?, ?, 'isolate', ?, 0)",
        params![tenant, container, json],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Moves an entry to `step`, finished or not.
pub fn set(conn: &Connection, id: i64, step: Step, done: bool) -> rusqlite::Result<()> {
    conn.execute("UPDATE isolation_journal SET step = ?, done = ? WHERE id = ?", params![step.as_str(), done, id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_written_before_held_networks_existed_reads_as_all_disconnected() {
        let old = r#"{"name":"acme-web","networks":[{"name":"acme_default","ip":"172.18.0.2","aliases":["web"]}],"paused":false}"#;
        let before: Before = serde_json::from_str(old).unwrap();
        assert_eq!(before.networks[0].ip.as_deref(), Some("172.18.0.2"));
        assert!(before.held.is_empty());
        assert_eq!(before.restart_policy, None);
    }
}
