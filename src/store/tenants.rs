//! Tenants and their containers: upserts and the Tenants pane's per-tenant summary query.

use rusqlite::{params, Connection, Row};

use super::filter::{Field, FieldKind, Fields};

/// A tenant's isolation status as stored.
pub mod status {
    pub const ACTIVE: &str = "active";
    pub const ISOLATED: &str = "isolated";
    pub const PARTIAL: &str = "partially isolated";
}

/// One line of the Tenants pane: the tenant and what is known about it elsewhere in the store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantRow {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub isolated_at: Option<i64>,
    pub isolated_by: Option<String>,
    pub reason: Option<String>,
    pub running: i64,
    pub containers: i64,
    pub networks: String,
    pub alerts_1h: i64,
    pub active_bans: i64,
    /// Files changed in the newest integrity run of the tenant's targets; `None` when never verified.
    pub drift: Option<i64>,
    pub signature_ok: Option<bool>,
    /// Networks this tenant shares with another tenant's containers (a lateral-movement path).
    pub shared_networks: String,
    /// Containers on Docker's default bridge, which every container can join.
    pub on_default_bridge: i64,
    /// Containers that are privileged, mount the Docker socket, or share the host's network or PIDs.
    pub risky: i64,
    /// `[{"name", "image", "state", "networks": [...], "posture": {...}}]`, for the detail view.
    pub containers_json: String,
    /// When the isolation in force was applied again by itself (a container restarted or a new
    /// one started), and what happened then; `None` when it never was.
    pub reisolated_at: Option<i64>,
    pub reisolated: Option<String>,
}

/// A container as discovered (or simulated); networks are `[{"name":…,"ip":…,"aliases":[…]}]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Container {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub networks_json: String,
    pub posture_json: String,
}

pub const FIELDS: Fields = Fields {
    fields: &[
        Field { name: "name", column: "t.name", kind: FieldKind::Text },
        Field { name: "status", column: "t.status", kind: FieldKind::Text },
    ],
    free_text: &["t.name", "t.status"],
    time: None,
};

/// Two parameters: the start of the last hour, and now (for active bans), both in ms.
pub const SELECT: &str = "SELECT t.id, t.name, t.status, t.isolated_at, t.isolated_by, t.reason, \
     (SELECT count(*) FROM containers c WHERE c.tenant = t.name AND c.state = 'running'), \
     (SELECT count(*) FROM containers c WHERE c.tenant = t.name), \
     (SELECT ifnull(group_concat(DISTINCT json_extract(j.value, '$.name')), '') \
        FROM containers c, json_each(c.networks_json) j WHERE c.tenant = t.name), \
     (SELECT count(*) FROM alerts a WHERE a.tenant = t.name AND a.ts >= ?), \
     (SELECT count(*) FROM bans b WHERE (b.tenant = t.name OR b.ip IN (SELECT json_extract(j.value, '$.ip') \
        FROM containers c, json_each(c.networks_json) j WHERE c.tenant = t.name)) AND b.unbanned_at IS NULL \
        AND (b.ban_seconds < 0 OR b.banned_at + b.ban_seconds * 1000 > ?)), \
     (SELECT sum(r.modified + r.added + r.removed + r.unreadable) FROM integrity_targets g \
        JOIN integrity_runs r ON r.id = (SELECT max(id) FROM integrity_runs WHERE target = g.name) \
        WHERE g.tenant = t.name), \
     (SELECT min(r.signature_ok) FROM integrity_targets g \
        JOIN integrity_runs r ON r.id = (SELECT max(id) FROM integrity_runs WHERE target = g.name) \
        WHERE g.tenant = t.name), \
     (SELECT ifnull(group_concat(DISTINCT json_extract(j.value, '$.name')), '') \
        FROM containers c, json_each(c.networks_json) j \
        WHERE c.tenant = t.name AND ifnull(json_extract(j.value, '$.quarantine'), 0) = 0 \
        AND json_extract(j.value, '$.name') IN (SELECT json_extract(j2.value, '$.name') \
            FROM containers c2, json_each(c2.networks_json) j2 WHERE c2.tenant <> t.name)), \
     (SELECT count(DISTINCT c.id) FROM containers c, json_each(c.networks_json) j \
        WHERE c.tenant = t.name AND json_extract(j.value, '$.name') = 'bridge'), \
     (SELECT count(*) FROM containers c WHERE c.tenant = t.name AND ( \
        json_extract(c.posture_json, '$.privileged') = 1 OR json_extract(c.posture_json, '$.docker_socket') = 1 \
        OR json_extract(c.posture_json, '$.host_network') = 1 OR json_extract(c.posture_json, '$.host_pid') = 1)), \
     (SELECT json_group_array(json_object('name', c.name, 'image', c.image, 'state', c.state, \
        'networks', json(c.networks_json), 'posture', json(c.posture_json))) \
        FROM (SELECT * FROM containers WHERE tenant = t.name ORDER BY name LIMIT 200) c), \
     CASE WHEN t.status <> 'active' AND t.reisolated_at >= ifnull(t.isolated_at, 0) THEN t.reisolated_at END, \
     CASE WHEN t.status <> 'active' AND t.reisolated_at >= ifnull(t.isolated_at, 0) THEN t.reisolated END \
     FROM tenants t";

pub fn from_row(r: &Row<'_>) -> rusqlite::Result<TenantRow> {
    Ok(TenantRow {
        id: r.get(0)?,
        name: r.get(1)?,
        status: r.get(2)?,
        isolated_at: r.get(3)?,
        isolated_by: r.get(4)?,
        reason: r.get(5)?,
        running: r.get(6)?,
        containers: r.get(7)?,
        networks: r.get(8)?,
        alerts_1h: r.get(9)?,
        active_bans: r.get(10)?,
        drift: r.get(11)?,
        signature_ok: r.get(12)?,
        shared_networks: r.get(13)?,
        on_default_bridge: r.get(14)?,
        risky: r.get(15)?,
        containers_json: r.get(16)?,
        reisolated_at: r.get(17)?,
        reisolated: r.get(18)?,
    })
}

/// Adds a tenant if it is new; an empty `label_selector` keeps the one already stored.
pub fn upsert(conn: &Connection, name: &str, label_selector: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO tenants (name, label_selector, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT(name) DO UPDATE SET label_selector = coalesce(nullif(excluded.label_selector, ''), label_selector), \
         updated_at = excluded.updated_at",
    )?
    .execute(params![name, label_selector, now])?;
    Ok(())
}

/// Replaces the containers table with what the Docker engine reports, and marks tenants whose
/// isolation was interrupted as partially isolated.
pub fn sync(conn: &Connection, containers: &[Container], now: i64) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS seen_containers (id TEXT PRIMARY KEY); DELETE FROM seen_containers",
    )?;
    for c in containers {
        upsert(conn, &c.tenant, "", now)?;
        upsert_container(conn, c, now)?;
        conn.prepare_cached("INSERT OR IGNORE INTO seen_containers (id) VALUES (?)")?.execute([&c.id])?;
    }
    conn.execute("DELETE FROM containers WHERE id NOT IN (SELECT id FROM seen_containers)", [])?;
    for tenant in super::journal::interrupted_tenants(conn)? {
        conn.execute(
            "UPDATE tenants SET status = ?, updated_at = ? WHERE name = ? AND status <> ?",
            params![status::PARTIAL, now, tenant, status::PARTIAL],
        )?;
    }
    Ok(())
}

pub fn remove_container(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM containers WHERE id = ?", [id])?;
    Ok(())
}

pub fn upsert_container(conn: &Connection, c: &Container, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO containers (id, tenant, name, image, state, networks_json, posture_json, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET tenant = excluded.tenant, name = excluded.name, \
         image = excluded.image, state = excluded.state, networks_json = excluded.networks_json, \
         posture_json = excluded.posture_json, updated_at = excluded.updated_at",
    )?
    .execute(params![c.id, c.tenant, c.name, c.image, c.state, c.networks_json, c.posture_json, now])?;
    Ok(())
}

/// Every address a tenant's containers hold on their networks: address → tenant.
pub fn container_addresses(conn: &Connection) -> rusqlite::Result<std::collections::HashMap<String, String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(j.value, '$.ip'), c.tenant FROM containers c, json_each(c.networks_json) j \
         WHERE json_extract(j.value, '$.ip') IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Tenants that are not active (isolated, or on their way), with when they were isolated (0 when
/// not known).
pub fn isolated_since(conn: &Connection) -> rusqlite::Result<std::collections::HashMap<String, i64>> {
    let mut stmt = conn.prepare_cached("SELECT name, ifnull(isolated_at, 0) FROM tenants WHERE status <> 'active'")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

pub fn containers_of(conn: &Connection, tenant: &str) -> rusqlite::Result<Vec<Container>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, tenant, name, image, state, networks_json, posture_json FROM containers WHERE tenant = ? ORDER BY name",
    )?;
    let rows = stmt.query_map([tenant], |r| {
        Ok(Container {
            id: r.get(0)?,
            tenant: r.get(1)?,
            name: r.get(2)?,
            image: r.get(3)?,
            state: r.get(4)?,
            networks_json: r.get(5)?,
            posture_json: r.get(6)?,
        })
    })?;
    rows.collect()
}

/// Whether `name` is isolated, wholly or in part.
pub fn is_isolated(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM tenants WHERE name = ? AND status <> ?)")?
        .query_row(params![name, status::ACTIVE], |r| r.get(0))
}

/// Every tenant isolated wholly or in part.
pub fn isolated(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT name FROM tenants WHERE status <> ? ORDER BY name")?;
    let rows = stmt.query_map([status::ACTIVE], |r| r.get(0))?;
    rows.collect()
}

/// When the isolation of `name` was last applied (isolated, or isolated again by itself), in ms.
pub fn last_cut(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT max(ifnull(isolated_at, 0), ifnull(reisolated_at, 0)) FROM tenants WHERE name = ?")?
        .query_row([name], |r| r.get(0))
        .map(Some)
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })
}

/// Notes that the isolation in force was applied again by itself, and what happened.
pub fn note_reisolated(conn: &Connection, name: &str, what: &str, at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tenants SET reisolated_at = ?, reisolated = ? WHERE name = ?")?
        .execute(params![at, what, name])?;
    Ok(())
}

/// Records an isolation status change; `by` and `reason` are cleared when the tenant is active again.
pub fn set_status(
    conn: &Connection,
    name: &str,
    new_status: &str,
    by: &str,
    reason: Option<&str>,
    at: i64,
) -> rusqlite::Result<bool> {
    let isolated = new_status != status::ACTIVE;
    let n = conn.execute(
        "UPDATE tenants SET status = ?, isolated_at = ?, isolated_by = ?, reason = ?, updated_at = ? WHERE name = ?",
        params![
            new_status,
            isolated.then_some(at),
            isolated.then_some(by),
            if isolated { reason } else { None },
            at,
            name
        ],
    )?;
    Ok(n == 1)
}
