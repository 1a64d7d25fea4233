//! What the publisher has yet to send: each published table's rows after its cursor, as the
//! JSON objects their CloudWatch events carry.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The tables published, by the `kind` their events carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing {
    Audit,
    Alert,
    Ban,
    /// A ban ended, by an operator or by Fail2Ban itself (`ban_ends`).
    Unban,
    Integrity,
}

impl Outgoing {
    pub const ALL: [Outgoing; 5] =
        [Outgoing::Audit, Outgoing::Alert, Outgoing::Ban, Outgoing::Unban, Outgoing::Integrity];

    pub fn name(self) -> &'static str {
        match self {
            Outgoing::Audit => "audit",
            Outgoing::Alert => "alert",
            Outgoing::Ban => "ban",
            Outgoing::Unban => "unban",
            Outgoing::Integrity => "integrity",
        }
    }
}

/// How far each table is published: its last published id; and the newest event timestamp put.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Published {
    #[serde(default)]
    pub audit: i64,
    #[serde(default)]
    pub alert: i64,
    #[serde(default)]
    pub ban: i64,
    #[serde(default)]
    pub unban: i64,
    #[serde(default)]
    pub integrity: i64,
    #[serde(default)]
    pub ts: i64,
}

impl Published {
    pub fn get(&self, kind: Outgoing) -> i64 {
        match kind {
            Outgoing::Audit => self.audit,
            Outgoing::Alert => self.alert,
            Outgoing::Ban => self.ban,
            Outgoing::Unban => self.unban,
            Outgoing::Integrity => self.integrity,
        }
    }

    pub fn set(&mut self, kind: Outgoing, id: i64) {
        match kind {
            Outgoing::Audit => self.audit = id,
            Outgoing::Alert => self.alert = id,
            Outgoing::Ban => self.ban = id,
            Outgoing::Unban => self.unban = id,
            Outgoing::Integrity => self.integrity = id,
        }
    }

    /// The later of two positions, table by table (positions only ever move forward).
    pub fn max(self, other: Published) -> Published {
        Published {
            audit: self.audit.max(other.audit),
            alert: self.alert.max(other.alert),
            ban: self.ban.max(other.ban),
            unban: self.unban.max(other.unban),
            integrity: self.integrity.max(other.integrity),
            ts: self.ts.max(other.ts),
        }
    }
}

/// A row waiting to be published: its table, id, time, and its fields as the event gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub kind: Outgoing,
    pub id: i64,
    pub ts: i64,
    pub fields: Map<String, Value>,
}

/// Each table's query: id, time and the row as a JSON object. Alerts are in Falco's shape (so a
/// `format = "falco"` reader takes them as they are); alerts that came from CloudWatch are not
/// published again (they are another host's, or already in CloudWatch).
fn query(kind: Outgoing) -> &'static str {
    match kind {
        Outgoing::Audit => {
            "SELECT id, ts, json_object('id', id, 'ts', ts, 'operator', operator, 'ssh_client', ssh_client, \
             'host', host, 'action', action, 'target', target, 'reason', reason, 'outcome', outcome, \
             'detail_json', detail_json, 'prev_hash', prev_hash, 'hash', hash) \
             FROM audit WHERE id > ? ORDER BY id LIMIT ?"
        }
        Outgoing::Alert => {
            "SELECT id, ts, json_object('id', id, 'ts', ts, \
             'time', strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch'), 'priority', priority, \
             'rule', rule, 'source', source, 'hostname', hostname, 'tenant', tenant, 'output', output, \
             'output_fields', json(CASE WHEN json_valid(output_fields_json) THEN output_fields_json ELSE '{}' END), \
             'tags', tags, \
             'src_ip', src_ip) \
             FROM alerts WHERE id > ? AND source NOT LIKE 'cloudwatch:%' ORDER BY id LIMIT ?"
        }
        Outgoing::Ban => {
            "SELECT id, banned_at, json_object('id', id, 'jail', jail, 'ip', ip, 'banned_at', banned_at, \
             'ban_seconds', ban_seconds, 'ban_count', ban_count, 'failures', failures, 'source', source, \
             'tenant', tenant, 'unbanned_at', unbanned_at, 'unbanned_by', unbanned_by) \
             FROM bans WHERE id > ? ORDER BY id LIMIT ?"
        }
        Outgoing::Unban => {
            "SELECT e.id, e.at, json_object('id', e.id, 'ban', e.ban, 'jail', b.jail, 'ip', b.ip, \
             'banned_at', b.banned_at, 'unbanned_at', e.at, 'unbanned_by', e.by, 'tenant', b.tenant) \
             FROM ban_ends e JOIN bans b ON b.id = e.ban WHERE e.id > ? ORDER BY e.id LIMIT ?"
        }
        Outgoing::Integrity => {
            "SELECT id, coalesce(finished, started), json_object('id', id, 'target', target, 'started', started, \
             'finished', finished, 'signature_ok', signature_ok, 'checked', checked, 'modified', modified, \
             'added', added, 'removed', removed, 'unreadable', unreadable, 'error', error, \
             'key_fingerprint', key_fingerprint) \
             FROM integrity_runs WHERE id > ? ORDER BY id LIMIT ?"
        }
    }
}

/// Up to `limit` unpublished rows of each table, each table in id order.
pub fn pending(conn: &Connection, after: &Published, limit: usize) -> rusqlite::Result<Vec<Vec<Pending>>> {
    let mut tables = Vec::new();
    for kind in Outgoing::ALL {
        let mut stmt = conn.prepare_cached(query(kind))?;
        let rows = stmt.query_map(rusqlite::params![after.get(kind), limit as i64], |r| {
            let text: String = r.get(2)?;
            let mut fields = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            };
            if kind == Outgoing::Alert {
                // Stored as a rank; published by name, as Falco writes it.
                let rank = fields.get("priority").and_then(Value::as_i64).unwrap_or(0);
                let name = crate::store::priority::Priority::from_rank(rank).to_string();
                fields.insert("priority".into(), Value::String(name));
                let tags = fields.get("tags").and_then(Value::as_str).unwrap_or_default();
                let tags: Vec<Value> =
                    tags.split(',').filter(|t| !t.is_empty()).map(|t| Value::String(t.to_string())).collect();
                fields.insert("tags".into(), Value::Array(tags));
            }
            Ok(Pending { kind, id: r.get(0)?, ts: r.get(1)?, fields })
        })?;
        tables.push(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    Ok(tables)
}
