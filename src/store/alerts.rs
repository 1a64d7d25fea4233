//! Falco-style alerts: rows, inserts and the Alerts pane's query.

use rusqlite::{params, Connection, Row};

use super::filter::{Field, FieldKind, Fields, KeyBound, Time};
pub use super::priority::Priority;

/// One alert, in Falco's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: i64,
    pub ts: i64,
    pub priority: Priority,
    pub rule: String,
    pub source: String,
    pub hostname: String,
    pub tenant: Option<String>,
    pub output: String,
    pub output_fields_json: String,
    pub tags: String,
    pub src_ip: Option<String>,
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
}

pub const FIELDS: Fields = Fields {
    fields: &[
        Field { name: "priority", column: "priority", kind: FieldKind::Priority },
        Field { name: "rule", column: "rule", kind: FieldKind::Text },
        Field { name: "tenant", column: "tenant", kind: FieldKind::Text },
        Field { name: "source", column: "source", kind: FieldKind::Text },
        Field { name: "host", column: "hostname", kind: FieldKind::Text },
        Field { name: "tag", column: "tags", kind: FieldKind::Tag },
        Field { name: "ip", column: "src_ip", kind: FieldKind::Ip },
        Field { name: "acked", column: "acked_at", kind: FieldKind::Present },
    ],
    free_text: &["rule", "output", "tenant", "tags"],
    time: Some(Time { column: "ts", key_bound: KeyBound::Index { table: "alerts", index: "alerts_by_ts" } }),
};

/// The long text columns are capped at [`super::TEXT_CAP`] bytes, NULs and all (read them with
/// [`super::text_at`]).
pub const SELECT: &str = "SELECT id, ts, priority, rule, source, hostname, tenant, \
     substr(CAST(output AS BLOB), 1, 65536), substr(CAST(output_fields_json AS BLOB), 1, 65536), tags, src_ip, \
     acked_by, acked_at FROM alerts";

pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Alert> {
    Ok(Alert {
        id: r.get(0)?,
        ts: r.get(1)?,
        priority: Priority::from_rank(r.get(2)?),
        rule: r.get(3)?,
        source: r.get(4)?,
        hostname: r.get(5)?,
        tenant: r.get(6)?,
        output: super::text_at(r, 7)?,
        output_fields_json: super::text_at(r, 8)?,
        tags: r.get(9)?,
        src_ip: r.get(10)?,
        acked_by: r.get(11)?,
        acked_at: r.get(12)?,
    })
}

pub fn insert(conn: &Connection, a: &Alert) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO alerts (ts, priority, rule, source, hostname, tenant, output, output_fields_json, tags, src_ip, acked_by, acked_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        a.ts,
        a.priority.rank(),
        a.rule,
        a.source,
        a.hostname,
        a.tenant,
        a.output,
        a.output_fields_json,
        a.tags,
        a.src_ip,
        a.acked_by,
        a.acked_at
    ])?;
    Ok(())
}

/// Every alert, oldest first (tests and small stores: unbounded).
pub fn oldest_first(conn: &Connection) -> rusqlite::Result<Vec<Alert>> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY id"))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

/// The newest alert's id (0 when there is none): what came after it is new.
pub fn last_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT ifnull(max(id), 0) FROM alerts", [], |r| r.get(0))
}

/// Marks an alert acknowledged; false when it does not exist or was acknowledged already.
pub fn acknowledge(conn: &Connection, id: i64, operator: &str, at: i64) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_at IS NULL",
        params![operator, at, id],
    )?;
    Ok(n == 1)
}

/// Gives alerts newer than `after_id` the tenant of the container they name (by id prefix, name,
/// or a Kubernetes namespace equal to a tenant's name).
pub fn assign_tenants(conn: &Connection, after_id: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE alerts SET tenant = coalesce( \
            (SELECT c.tenant FROM containers c WHERE \
               (json_extract(alerts.output_fields_json, '$.\"container.id\"') IS NOT NULL \
                AND c.id LIKE json_extract(alerts.output_fields_json, '$.\"container.id\"') || '%') \
               OR c.name = json_extract(alerts.output_fields_json, '$.\"container.name\"') LIMIT 1), \
            (SELECT t.name FROM tenants t WHERE t.name = json_extract(alerts.output_fields_json, '$.\"k8s.ns.name\"'))) \
         WHERE id > ? AND tenant IS NULL",
        [after_id],
    )
}

/// One line of the Alerts pane grouped by rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    /// The newest alert of the rule.
    pub id: i64,
    pub rule: String,
    pub count: i64,
    pub open: i64,
    pub last_ts: i64,
    /// The most severe priority among them.
    pub priority: Priority,
}

/// Alerts grouped by rule, most severe first, then most frequent.
pub const GROUPED: &str = "SELECT max(id), rule, count(*), sum(acked_at IS NULL), max(ts), min(priority) FROM alerts";

pub fn group_from_row(r: &Row<'_>) -> rusqlite::Result<RuleGroup> {
    Ok(RuleGroup {
        id: r.get(0)?,
        rule: r.get(1)?,
        count: r.get(2)?,
        open: r.get(3)?,
        last_ts: r.get(4)?,
        priority: Priority::from_rank(r.get(5)?),
    })
}

/// The rule of alert `id`, when there is one.
pub fn rule_of(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT rule FROM alerts WHERE id = ?", [id], |r| r.get(0)).optional()
}
