//! A day of history for the demo store, written in one transaction and then indexed in one more.

use rusqlite::Connection;

use super::generator::{Generator, TENANTS};
use crate::store::audit::{self, NewEntry};
use crate::store::fleet::{self, FleetRow};
use crate::store::tenants::{self, status};
use crate::store::writer::Write;

/// Access events in the seeded day.
pub const HISTORY_EVENTS: usize = 120_000;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Fills an empty store with a day of history ending at `now`, and returns the generator, ready
/// to go on live.
pub fn seed(conn: &Connection, seed: u64, now: i64, events: usize) -> rusqlite::Result<Generator> {
    let mut gen = Generator::new(seed);
    crate::store::transaction::immediate(conn, |conn| {
        let mut writes = gen.registry();
        let start = now - DAY_MS;
        // SSH brute-forcers banned through the day, newest first: popping gives them in time order.
        let mut ssh_bans: Vec<(i64, bool)> = (0..12).map(|i| (now - (i * 97 + 13) * 60_000, i % 4 == 0)).collect();
        for i in 0..events {
            let ts = start + (i as i64 * DAY_MS) / events.max(1) as i64;
            while ssh_bans.last().is_some_and(|(at, _)| *at <= ts) {
                if let Some((at, permanent)) = ssh_bans.pop() {
                    writes.push(gen.ssh_ban(at, permanent));
                }
            }
            gen.step(ts, &mut writes);
            if writes.len() > 1024 {
                apply(conn, &mut writes, now)?;
            }
        }
        for hour in (1..=24).rev() {
            let ts = now - hour * HOUR_MS + 600_000;
            for t in 0..TENANTS.len() {
                // acme drifted after the last deploy; the others are clean.
                let run = if t == 0 && hour == 1 { gen.drift_run(ts, t) } else { gen.clean_run(ts, t) };
                writes.push(run);
            }
        }
        apply(conn, &mut writes, now)?;
        history_of_operators(conn, now)?;
        history_of_other_hosts(conn, now)
    })?;
    // Indexed as the collector's indexer would, in one chunk: the unfiltered histogram reads its
    // per-minute counts from the first frame, and filters use the indexes at once.
    let indexes = crate::store::index_db::open_writer_beside(conn)?;
    crate::store::transaction::immediate(&indexes, |ix| crate::store::indexer::index_chunk(ix, i64::MAX))?;
    Ok(gen)
}

fn apply(conn: &Connection, writes: &mut Vec<Write>, now: i64) -> rusqlite::Result<()> {
    for w in writes.drain(..) {
        w.apply(conn, now)?;
    }
    Ok(())
}

/// What the day's operators did: umbrella was isolated three hours ago and still is.
fn history_of_operators(conn: &Connection, now: i64) -> rusqlite::Result<()> {
    let isolated_at = now - 3 * HOUR_MS;
    let reason = "crypto miner found in umbrella-app-1 (INC-2041)";
    tenants::set_status(conn, "umbrella", status::ISOLATED, "alice", Some(reason), isolated_at)?;
    let entries = [
        (now - 9 * HOUR_MS, "bob", "acknowledge", "alert 12 (Launch Privileged Container)", None, "ok"),
        (now - 7 * HOUR_MS, "bob", "unban", "203.0.113.45 in rampart-login", None, "ok"),
        (isolated_at, "alice", "isolate", "tenant umbrella", Some(reason), "ok"),
        (now - 2 * HOUR_MS, "alice", "ban", "198.51.100.66 in sshd", Some("C2 address from INC-2041"), "ok"),
    ];
    for (ts, operator, action, target, reason, outcome) in entries {
        audit::append(
            conn,
            &NewEntry {
                ts,
                operator: operator.into(),
                ssh_client: Some("192.0.2.10".into()),
                host: super::generator::HOSTNAME.into(),
                action: action.into(),
                target: target.into(),
                reason: reason.map(str::to_string),
                outcome: outcome.into(),
                detail_json: r#"{"backend":"Demo","message":"seeded history"}"#.into(),
            },
        )?;
    }
    Ok(())
}

/// What two other hosts of the fleet published (as a `format = "rampart"` reader stores it), so the
/// Fleet view has something to show.
fn history_of_other_hosts(conn: &Connection, now: i64) -> rusqlite::Result<()> {
    use serde_json::json;
    let published = [
        (
            "web-2",
            "ban",
            json!({"id": 1, "jail": "sshd", "ip": "198.51.100.23", "banned_at": now - 8 * HOUR_MS, "ban_seconds": 600}),
        ),
        (
            "web-2",
            "unban",
            json!({"id": 1, "ban": 1, "jail": "sshd", "ip": "198.51.100.23", "unbanned_at": now - 8 * HOUR_MS + 600_000, "unbanned_by": "fail2ban"}),
        ),
        (
            "web-3",
            "integrity",
            json!({"id": 7, "target": "web-3-app", "started": now - 5 * HOUR_MS, "finished": now - 5 * HOUR_MS + 2_000, "signature_ok": 1, "checked": 1_204, "modified": 2, "added": 1, "removed": 0, "unreadable": 0}),
        ),
        (
            "web-3",
            "audit",
            json!({"id": 3, "ts": now - 4 * HOUR_MS, "operator": "carol", "action": "isolate", "target": "tenant globex", "reason": "drift in web-3-app (INC-2043)", "outcome": "ok"}),
        ),
        (
            "web-2",
            "ban",
            json!({"id": 2, "jail": "rampart-login", "ip": "2001:db8:7::99", "banned_at": now - HOUR_MS, "ban_seconds": -1}),
        ),
    ];
    let rows: Vec<FleetRow> = published
        .iter()
        .filter_map(|(host, kind, v)| {
            FleetRow::from_published(host, kind, v).map(|r| r.read_from("/rampart/fleet", host))
        })
        .collect();
    fleet::insert_many(conn, &rows).map(|_| ())
}
