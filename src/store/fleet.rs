//! Other hosts' record, read from what their `[cloudwatch_publish]` put (`format = "rampart"`):
//! their audit rows, bans, ends of bans and integrity runs, kept apart from this host's own
//! tables (they never enter the local audit chain, and no action of this console applies to them).
//! Their alerts go to the alerts table like any other (host in `hostname`).

use rusqlite::{params, Connection, Row};
use serde_json::Value;

use super::filter::{Field, FieldKind, Fields, KeyBound, Time};

/// One published row of another host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FleetRow {
    pub id: i64,
    /// The host that published it: the stream it was read from (a row claiming another is refused).
    pub origin: String,
    /// The log group and stream it was read from (with kind and id, what makes it one row here).
    pub group: String,
    pub stream: String,
    /// The id of the store that published it (a new store on a host numbers its rows from 1 again).
    pub store: String,
    /// `audit`, `ban`, `unban` or `integrity`.
    pub kind: String,
    /// The row's id on its host.
    pub ref_id: i64,
    pub ts: i64,
    /// One line that says what happened, made when the row is read.
    pub summary: String,
    /// The published fields as they came.
    pub fields_json: String,
}

impl FleetRow {
    /// The row an event of kind `kind` from `origin` gives; `None` when it lacks its id.
    pub fn from_published(origin: &str, kind: &str, v: &Value) -> Option<FleetRow> {
        let ref_id = v.get("id")?.as_i64()?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let int = |k: &str| v.get(k).and_then(Value::as_i64);
        let (ts, summary) = match kind {
            "audit" => {
                let reason = text("reason");
                let reason = if reason.is_empty() { String::new() } else { format!(" — {reason}") };
                (
                    int("ts"),
                    format!(
                        "{} {} by {}: {}{reason}",
                        text("action"),
                        text("target"),
                        text("operator"),
                        text("outcome")
                    ),
                )
            }
            "ban" => {
                let seconds = int("ban_seconds").unwrap_or(0);
                let length = if seconds < 0 { "permanent".to_string() } else { format!("{seconds} s") };
                (int("banned_at"), format!("ban {} in {} ({length})", text("ip"), text("jail")))
            }
            "unban" => {
                (int("unbanned_at"), format!("unban {} in {} by {}", text("ip"), text("jail"), text("unbanned_by")))
            }
            "integrity" => {
                let error = text("error");
                let what = if !error.is_empty() {
                    format!("error: {error}")
                } else if int("signature_ok") == Some(0) {
                    "SIGNATURE INVALID".to_string()
                } else {
                    let drift: i64 = ["modified", "added", "removed", "unreadable"].iter().filter_map(|k| int(k)).sum();
                    if drift == 0 {
                        format!("clean ({} checked)", int("checked").unwrap_or(0))
                    } else {
                        format!(
                            "drift {drift}: {} modified, {} added, {} removed, {} unreadable",
                            int("modified").unwrap_or(0),
                            int("added").unwrap_or(0),
                            int("removed").unwrap_or(0),
                            int("unreadable").unwrap_or(0)
                        )
                    }
                };
                (int("finished").or(int("started")), format!("verify {}: {what}", text("target")))
            }
            _ => return None,
        };
        let mut fields = v.clone();
        if let Value::Object(map) = &mut fields {
            // How far the publisher got is its own bookkeeping, not the row's.
            map.remove("after");
        }
        Some(FleetRow {
            id: 0,
            origin: origin.to_string(),
            group: String::new(),
            stream: origin.to_string(),
            store: text("store"),
            kind: kind.to_string(),
            ref_id,
            ts: ts.unwrap_or(0),
            summary,
            fields_json: fields.to_string(),
        })
    }

    /// The row as read from `stream` of `group`.
    pub fn read_from(self, group: &str, stream: &str) -> FleetRow {
        FleetRow { group: group.to_string(), stream: stream.to_string(), ..self }
    }
}

/// Stores rows not stored before (by group, stream, store, kind and id); returns how many were new.
pub fn insert_many(conn: &Connection, rows: &[FleetRow]) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO fleet (origin, log_group, stream, store, kind, ref_id, ts, summary, fields_json) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?;
    let mut new = 0;
    for r in rows {
        new += stmt.execute(params![
            r.origin,
            r.group,
            r.stream,
            r.store,
            r.kind,
            r.ref_id,
            r.ts,
            r.summary,
            r.fields_json
        ])?;
    }
    Ok(new)
}

pub const FIELDS: Fields = Fields {
    fields: &[
        Field { name: "host", column: "origin", kind: FieldKind::Text },
        Field { name: "kind", column: "kind", kind: FieldKind::Text },
        Field { name: "group", column: "log_group", kind: FieldKind::Text },
        Field { name: "stream", column: "stream", kind: FieldKind::Text },
    ],
    free_text: &["origin", "kind", "summary"],
    time: Some(Time { column: "ts", key_bound: KeyBound::None }),
};

pub const SELECT: &str =
    "SELECT id, origin, kind, ref_id, ts, summary, fields_json, log_group, stream, store FROM fleet";

pub fn from_row(r: &Row) -> rusqlite::Result<FleetRow> {
    Ok(FleetRow {
        id: r.get(0)?,
        origin: r.get(1)?,
        kind: r.get(2)?,
        ref_id: r.get(3)?,
        ts: r.get(4)?,
        summary: r.get(5)?,
        fields_json: r.get(6)?,
        group: r.get(7)?,
        stream: r.get(8)?,
        store: r.get(9)?,
    })
}

/// The newest `limit` rows, newest first.
pub fn newest(conn: &Connection, limit: i64) -> rusqlite::Result<Vec<FleetRow>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY id DESC LIMIT ?"))?;
    let rows = stmt.query_map([limit], from_row)?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_reads_as_one_line() {
        let audit = json!({"id": 4, "ts": 10, "action": "isolate", "target": "acme", "operator": "alice",
            "outcome": "ok", "reason": "beaconing", "after": {"audit": 4}});
        let row = FleetRow::from_published("web-2", "audit", &audit).unwrap();
        assert_eq!(row.summary, "isolate acme by alice: ok — beaconing");
        assert_eq!((row.ref_id, row.ts), (4, 10));
        assert!(!row.fields_json.contains("after"), "{}", row.fields_json);

        let ban = json!({"id": 1, "jail": "sshd", "ip": "192.0.2.7", "banned_at": 5, "ban_seconds": -1});
        assert_eq!(FleetRow::from_published("h", "ban", &ban).unwrap().summary, "ban 192.0.2.7 in sshd (permanent)");
        let unban = json!({"id": 2, "jail": "sshd", "ip": "192.0.2.7", "unbanned_at": 9, "unbanned_by": "fail2ban"});
        let row = FleetRow::from_published("h", "unban", &unban).unwrap();
        assert_eq!((row.summary.as_str(), row.ts), ("unban 192.0.2.7 in sshd by fail2ban", 9));
        let run = json!({"id": 3, "target": "web", "started": 1, "finished": 2, "signature_ok": 1,
            "checked": 10, "modified": 1, "added": 2, "removed": 0, "unreadable": 0});
        assert_eq!(
            FleetRow::from_published("h", "integrity", &run).unwrap().summary,
            "verify web: drift 3: 1 modified, 2 added, 0 removed, 0 unreadable"
        );
        let bad = json!({"id": 3, "target": "web", "started": 1, "signature_ok": 0});
        assert_eq!(FleetRow::from_published("h", "integrity", &bad).unwrap().summary, "verify web: SIGNATURE INVALID");
        assert_eq!(FleetRow::from_published("h", "audit", &json!({"ts": 1})), None, "no id, no row");
    }

    #[test]
    fn a_second_store_on_a_host_keeps_its_rows_beside_the_first_stores() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("s.db"), crate::store::Access::ReadWrite).unwrap();
        let row = |store: &str, action: &str| {
            let v = json!({"id": 1, "ts": 10, "action": action, "target": "acme", "operator": "alice",
                "outcome": "ok", "store": store});
            FleetRow::from_published("web-2", "audit", &v).unwrap().read_from("/rampart/", "web-2")
        };
        assert_eq!(insert_many(&conn, &[row("old", "isolate"), row("old", "isolate")]).unwrap(), 1);
        assert_eq!(insert_many(&conn, &[row("new", "restore")]).unwrap(), 1, "the new store's row 1 is its own");
        let rows = newest(&conn, 10).unwrap();
        let stores: Vec<&str> = rows.iter().map(|r| r.store.as_str()).collect();
        assert_eq!(stores, ["new", "old"]);
    }
}
