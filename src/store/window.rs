//! Windows of rows around a position, by keyset: the first screen of a ten-million-row table costs
//! what the first screen of a ten-row one does. Small registries (tenants, integrity targets) are
//! loaded whole, in name order.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::{access, alerts, audit, bans, filter::Filter, fleet, integrity, status, tenants};

/// One row of any pane.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Tenant(tenants::TenantRow),
    Alert(alerts::Alert),
    Access(access::AccessEvent),
    Ban(bans::Ban),
    Integrity(integrity::IntegrityRow),
    Audit(audit::AuditRow),
    Fleet(fleet::FleetRow),
    RuleGroup(alerts::RuleGroup),
    Source(status::SourceRow),
}

impl Row {
    /// The row's id: stable across reloads, and the keyset position for stream panes.
    pub fn key(&self) -> i64 {
        match self {
            Row::Tenant(r) => r.id,
            Row::Alert(r) => r.id,
            Row::Access(r) => r.id,
            Row::Ban(r) => r.id,
            Row::Integrity(r) => r.id,
            Row::Audit(r) => r.id,
            Row::Fleet(r) => r.id,
            Row::RuleGroup(r) => r.id,
            Row::Source(r) => r.id,
        }
    }
}

/// Where a window is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Around {
    Newest,
    Oldest,
    /// The row with this key (or the next older one) and its neighbours on both sides.
    Key(i64),
}

/// What a window lists: one table's rows in the order a console pane shows them. It mirrors the
/// console's `Pane` one for one on purpose: the store cannot name the console's views (dependencies
/// point down), so `Pane::listing` and `Pane::showing` are the one crossing between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listing {
    Tenants,
    Alerts,
    Access,
    Bans,
    Integrity,
    Audit,
    Sources,
    Fleet,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub listing: Listing,
    pub filter: Option<Filter>,
    pub around: Around,
    /// Rows wanted on each side of the anchor.
    pub per_side: usize,
    /// Count rows newer than this key (the "N new" marker of a pane scrolled away from the top).
    pub count_newer_than: Option<i64>,
    /// Include rows a pane normally hides (the Bans pane's expired and unbanned bans).
    pub history: bool,
    /// One row per rule instead of per alert (the Alerts pane).
    pub grouped: bool,
}

/// Rows newest first, with where the anchor landed and whether either end was reached.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub rows: Vec<Row>,
    pub focus: usize,
    pub at_newest: bool,
    pub at_oldest: bool,
    pub newer_count: Option<u64>,
    /// Rows found so far by a search still going on (see `store::scan`), and how far it is.
    pub searched: Option<Searched>,
}

/// How far a search has got: it has looked at `searched` of the `of` newest ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Searched {
    pub searched: u64,
    pub of: u64,
}

/// Registries are capped: a pane of more tenants than this says so.
pub const REGISTRY_LIMIT: usize = 5000;
/// The "N new" marker stops counting here.
pub const NEWER_COUNT_CAP: u64 = 10_000;

struct ListingSql {
    select: &'static str,
    /// Parameters the SELECT itself takes.
    select_params: Vec<Value>,
    /// A fixed condition of the pane and its parameters.
    base: Option<(&'static str, Vec<Value>)>,
    order: Order,
    map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<Row>,
}

enum Order {
    /// A stream: newest first by id, read in keyset windows.
    Keyset,
    /// A registry: loaded whole in this order (a `GROUP BY` and `ORDER BY` tail).
    Whole(&'static str),
}

impl ListingSql {
    fn stream(select: &'static str, map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<Row>) -> ListingSql {
        ListingSql { select, select_params: vec![], base: None, order: Order::Keyset, map }
    }
}

fn spec(listing: Listing, now_ms: i64, history: bool, grouped: bool) -> ListingSql {
    match listing {
        Listing::Alerts if grouped => ListingSql {
            order: Order::Whole("GROUP BY rule ORDER BY min(priority), count(*) DESC"),
            ..ListingSql::stream(alerts::GROUPED, |r| alerts::group_from_row(r).map(Row::RuleGroup))
        },
        Listing::Tenants => ListingSql {
            select_params: vec![Value::Integer(now_ms - 3_600_000), Value::Integer(now_ms)],
            order: Order::Whole("ORDER BY t.name"),
            ..ListingSql::stream(tenants::SELECT, |r| tenants::from_row(r).map(Row::Tenant))
        },
        Listing::Alerts => ListingSql::stream(alerts::SELECT, |r| alerts::from_row(r).map(Row::Alert)),
        Listing::Access => ListingSql::stream(access::SELECT, |r| access::from_row(r).map(Row::Access)),
        Listing::Bans => ListingSql {
            base: (!history).then(|| (bans::ACTIVE, vec![Value::Integer(now_ms)])),
            ..ListingSql::stream(bans::SELECT, |r| bans::from_row(r).map(Row::Ban))
        },
        Listing::Integrity => ListingSql {
            order: Order::Whole("ORDER BY g.name"),
            ..ListingSql::stream(integrity::SELECT, |r| integrity::from_row(r).map(Row::Integrity))
        },
        Listing::Audit => ListingSql::stream(audit::SELECT, |r| audit::from_row(r).map(Row::Audit)),
        Listing::Sources => ListingSql {
            order: Order::Whole("ORDER BY source"),
            ..ListingSql::stream(status::SELECT, |r| status::row_from(r).map(Row::Source))
        },
        Listing::Fleet => ListingSql::stream(fleet::SELECT, |r| fleet::from_row(r).map(Row::Fleet)),
    }
}

impl ListingSql {
    /// ` WHERE <base> AND <filter> AND <extra>` (empty when there is no condition) and its
    /// parameters: the one place a pane's rows are chosen, for reading them and for counting them.
    fn conditions(&self, filter: Option<&Filter>, extra: Option<(&str, i64)>) -> (String, Vec<Value>) {
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        if let Some((sql, values)) = &self.base {
            conditions.push(format!("({sql})"));
            params.extend(values.iter().cloned());
        }
        if let Some(f) = filter {
            conditions.push(format!("({})", f.sql));
            params.extend(f.params.iter().cloned());
        }
        if let Some((sql, key)) = extra {
            conditions.push(sql.to_string());
            params.push(Value::Integer(key));
        }
        let clause = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        (clause, params)
    }

    /// Runs `SELECT … WHERE <base> AND <filter> AND <extra> <tail>`.
    fn fetch(
        &self,
        conn: &Connection,
        filter: Option<&Filter>,
        extra: Option<(&str, i64)>,
        tail: &str,
        limit: usize,
    ) -> rusqlite::Result<Vec<Row>> {
        let (clause, chosen) = self.conditions(filter, extra);
        let mut params = self.select_params.clone();
        params.extend(chosen);
        params.push(Value::Integer(limit as i64));
        let sql = format!("{}{clause} {tail} LIMIT ?", self.select);
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(params), self.map)?;
        rows.collect()
    }

    fn count_newer(&self, conn: &Connection, filter: Option<&Filter>, key: i64) -> rusqlite::Result<u64> {
        let (clause, params) = self.conditions(filter, Some(("id > ?", key)));
        let table = self.select.rsplit("FROM ").next().unwrap_or_default();
        let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {table}{clause} LIMIT {NEWER_COUNT_CAP})");
        conn.prepare_cached(&sql)?.query_row(params_from_iter(params), |r| r.get(0))
    }
}

/// Loads the window a query asks for.
pub fn load(conn: &Connection, q: &Query, now_ms: i64) -> rusqlite::Result<Page> {
    let spec = spec(q.listing, now_ms, q.history, q.grouped);
    let narrowed = match (&q.filter, q.listing) {
        (Some(f), Listing::Access) => super::search::narrow(conn, f)?,
        _ => None,
    };
    let filter = narrowed.as_ref().or(q.filter.as_ref());
    let n = q.per_side.max(1);
    let mut page = if let Order::Whole(tail) = spec.order {
        let rows = spec.fetch(conn, filter, None, tail, REGISTRY_LIMIT)?;
        let focus = match q.around {
            Around::Key(k) => rows.iter().position(|r| r.key() == k).unwrap_or(0),
            Around::Oldest => rows.len().saturating_sub(1),
            Around::Newest => 0,
        };
        Page { rows, focus, at_newest: true, at_oldest: true, newer_count: None, searched: None }
    } else {
        match q.around {
            Around::Newest => {
                let rows = spec.fetch(conn, filter, None, "ORDER BY id DESC", 2 * n)?;
                let at_oldest = rows.len() < 2 * n;
                Page { rows, focus: 0, at_newest: true, at_oldest, newer_count: None, searched: None }
            }
            Around::Oldest => {
                let mut rows = spec.fetch(conn, filter, None, "ORDER BY id ASC", 2 * n)?;
                rows.reverse();
                let at_newest = rows.len() < 2 * n;
                let focus = rows.len().saturating_sub(1);
                Page { rows, focus, at_newest, at_oldest: true, newer_count: None, searched: None }
            }
            Around::Key(k) => {
                let mut rows = spec.fetch(conn, filter, Some(("id > ?", k)), "ORDER BY id ASC", n)?;
                let at_newest = rows.len() < n;
                rows.reverse();
                let focus = rows.len();
                let older = spec.fetch(conn, filter, Some(("id <= ?", k)), "ORDER BY id DESC", n)?;
                let at_oldest = older.len() < n;
                rows.extend(older);
                let focus = focus.min(rows.len().saturating_sub(1));
                Page { rows, focus, at_newest, at_oldest, newer_count: None, searched: None }
            }
        }
    };
    if let (Order::Keyset, Some(key)) = (&spec.order, q.count_newer_than) {
        page.newer_count = Some(spec.count_newer(conn, filter, key)?);
    }
    Ok(page)
}
