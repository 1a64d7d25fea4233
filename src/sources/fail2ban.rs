//! Banned IPs from Fail2Ban: its own SQLite database, read read-only and briefly so that Fail2Ban
//! is never kept waiting, re-read only when it changed (`PRAGMA data_version`), and its history
//! read incrementally by rowid.
//!
//! The SQL here is over Fail2Ban's database, not rampart's store (whose SQL lives in `store/`):
//! its schema is Fail2Ban's, and so is knowing how to read it.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::config::Fail2banConfig;
use crate::store::bans::Ban;
use crate::store::status::Health;
use crate::store::writer::{StoreWriter, Write};

pub const SOURCE: &str = crate::store::status::names::FAIL2BAN;
/// How often the database is looked at; a look that finds nothing new costs one PRAGMA.
const POLL: Duration = Duration::from_millis(500);

/// An open Fail2Ban database and how far it has been read.
#[derive(Debug)]
pub struct Reader {
    conn: Connection,
    pub version: i64,
    /// Version 2 databases have no `bips` (current bans) table; current bans then come from history.
    pub has_bips: bool,
    data_version: Option<i64>,
    history_rowid: i64,
}

/// What changed since the last look.
pub struct Changes {
    /// Fail2Ban's complete list of current bans, when its schema has one.
    pub active: Option<Vec<Ban>>,
    pub history: Vec<Ban>,
    pub jails: Vec<String>,
}

impl Reader {
    /// Opens the database read-only, with words for what is wrong.
    pub fn open(path: &Path) -> Result<Reader, String> {
        if !path.exists() {
            return Err(format!(
                "Fail2Ban's database {} does not exist — is Fail2Ban installed and running (apt-get install fail2ban)? \
                 Set [fail2ban] database in the config if it lives elsewhere",
                path.display()
            ));
        }
        if let Err(e) = std::fs::File::open(path) {
            return Err(format!(
                "cannot read {}: {e} — run as root or add your user to a group that may read it",
                path.display()
            ));
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        conn.busy_timeout(Duration::from_millis(250)).map_err(|e| e.to_string())?;
        let version: i64 = conn
            .query_row("SELECT version FROM fail2banDb LIMIT 1", [], |r| r.get(0))
            .map_err(|e| format!("{} is not a Fail2Ban database ({e})", path.display()))?;
        if version < 2 {
            return Err(format!("Fail2Ban database version {version} is not supported (versions 2 and later are)"));
        }
        let has_bips = conn
            .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bips'", [], |_| Ok(()))
            .optional()
            .map_err(|e| e.to_string())?
            .is_some();
        Ok(Reader { conn, version, has_bips, data_version: None, history_rowid: 0 })
    }

    /// Reads what changed, or `None` when Fail2Ban has written nothing since the last look.
    pub fn poll(&mut self) -> Result<Option<Changes>, String> {
        let version: i64 = self.conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(|e| e.to_string())?;
        if self.data_version == Some(version) {
            return Ok(None);
        }
        // One read transaction, so the three reads agree with each other.
        self.conn.execute_batch("BEGIN").map_err(|e| e.to_string())?;
        let result = self.read();
        let _ = self.conn.execute_batch("COMMIT");
        let changes = result.map_err(|e| e.to_string())?;
        self.data_version = Some(version);
        Ok(Some(changes))
    }

    fn read(&mut self) -> rusqlite::Result<Changes> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT rowid, jail, ip, timeofban, bantime, bancount, data FROM bans WHERE rowid > ? ORDER BY rowid LIMIT 50000",
        )?;
        let mut history = Vec::new();
        let mut rows = stmt.query([self.history_rowid])?;
        while let Some(r) = rows.next()? {
            self.history_rowid = r.get(0)?;
            history.push(ban(r, 1)?);
        }
        drop(rows);
        drop(stmt);
        let active = if self.has_bips {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT ip, jail, timeofban, bantime, bancount, data FROM bips LIMIT 100000")?;
            let rows = stmt.query_map([], |r| {
                let mut b = ban_fields(r, 2, 3, 4, 5)?;
                b.ip = address(r.get(0)?);
                b.jail = r.get(1)?;
                Ok(b)
            })?;
            Some(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        } else {
            None
        };
        let mut stmt = self.conn.prepare_cached("SELECT name FROM jails WHERE enabled = 1 ORDER BY name")?;
        let jails = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(Changes { active, history, jails })
    }
}

/// A history row: (rowid, jail, ip, timeofban, bantime, bancount, data) from column `at`.
fn ban(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Ban> {
    let mut b = ban_fields(r, at + 2, at + 3, at + 4, at + 5)?;
    b.jail = r.get(at)?;
    b.ip = address(r.get(at + 1)?);
    Ok(b)
}

/// Fail2Ban's address in the store's canonical form, so that it compares equal to the same
/// address however it came to be written.
fn address(ip: String) -> String {
    crate::store::canonical_ip(&ip).unwrap_or(ip)
}

fn ban_fields(
    r: &rusqlite::Row<'_>,
    timeofban: usize,
    bantime: usize,
    bancount: usize,
    data: usize,
) -> rusqlite::Result<Ban> {
    // `data` is JSON stored as BLOB or TEXT depending on the Fail2Ban version.
    let data = match r.get_ref(data)? {
        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
            String::from_utf8_lossy(t).into_owned()
        }
        _ => String::new(),
    };
    let json: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
    let failures = json.get("failures").and_then(|f| f.as_i64()).unwrap_or(0);
    let matches = matched_lines(&json);
    let source = if failures == 0 && matches.is_empty() { "manual" } else { "fail2ban" };
    Ok(Ban {
        banned_at: r.get::<_, i64>(timeofban)?.saturating_mul(1000),
        ban_seconds: r.get(bantime)?,
        ban_count: r.get(bancount)?,
        failures,
        matches_json: serde_json::to_string(&matches).unwrap_or_else(|_| "[]".into()),
        source: source.into(),
        ..Default::default()
    })
}

/// Fail2Ban's `matches`, each line as the log had it. Fail2Ban stores a line either whole, as a
/// string, or split around the time it found in it, as `[before, time, after]`
/// (`["203.0.113.9 - bob [", "26/Nov/2026:10:41:36 +0000", "] \"POST /login …"]`): the pieces
/// joined with nothing between them are the line.
fn matched_lines(json: &serde_json::Value) -> Vec<String> {
    let Some(list) = json.get("matches").and_then(|m| m.as_array()) else { return Vec::new() };
    list.iter()
        .filter_map(|m| match m {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(parts) => {
                let line: String = parts.iter().filter_map(|p| p.as_str()).collect();
                (!line.is_empty()).then_some(line)
            }
            _ => None,
        })
        .take(200)
        .collect()
}

async fn status(writer: &StoreWriter, health: Health, detail: String) -> bool {
    super::report(writer, SOURCE, health, detail).await
}

/// Runs until the writer goes away, reopening the database when it disappears or fails.
pub async fn run(writer: StoreWriter, config: Fail2banConfig) {
    let mut last_problem = String::new();
    loop {
        let path = config.database.clone();
        let opened = tokio::task::spawn_blocking(move || Reader::open(&path)).await;
        let mut reader = match opened {
            Ok(Ok(r)) => r,
            Ok(Err(why)) => {
                if why != last_problem && !status(&writer, Health::Down, why.clone()).await {
                    return;
                }
                last_problem = why;
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            Err(e) => {
                tracing::error!("the Fail2Ban reader panicked: {e}");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        last_problem.clear();
        let support = if reader.has_bips {
            format!("database version {}", reader.version)
        } else {
            format!("database version {} has no table of current bans: bans are read from its history", reader.version)
        };
        if !status(&writer, Health::Ok, support.clone()).await {
            return;
        }
        loop {
            let joined = tokio::task::spawn_blocking(move || {
                let polled = reader.poll();
                (reader, polled)
            })
            .await;
            let Ok((back, polled)) = joined else {
                tracing::error!("the Fail2Ban reader panicked; reopening the database");
                break;
            };
            reader = back;
            match polled {
                Ok(Some(c)) => {
                    let write = Write::SyncFail2ban { active: c.active, history: c.history, jails: c.jails };
                    if writer.send(write).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                // Busy while Fail2Ban writes: try again at the next look, quietly.
                Err(e) if e.contains("locked") || e.contains("busy") => {}
                Err(e) => {
                    if !status(&writer, Health::Down, format!("reading {}: {e}", config.database.display())).await {
                        return;
                    }
                    break;
                }
            }
            if !config.database.exists() {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
