//! The detection task of the collector: judges every stored access event (by id, so imported rows,
//! rows already there when it starts and rows written by other programs count too), a chunk at a
//! time off the async workers, and stores each chunk's alerts with the new position through the
//! writer. It resumes from the stored position after a restart.

use std::time::Duration;

use rusqlite::Connection;

use super::judge::{Judge, Judged};
use super::Rules;
use crate::store::detections::{self, Recorded};
use crate::store::writer::{StoreWriter, Tables};

/// How often an idle task looks for new events.
const IDLE: Duration = Duration::from_millis(250);
/// How long it waits after the store refused something before trying again.
const AFTER_ERROR: Duration = Duration::from_secs(2);

/// Runs until the writer goes away, reading through its own read-only connection to `db`.
pub async fn run(writer: StoreWriter, db: std::path::PathBuf, rules: Rules) {
    let Ok(reader) = crate::store::open(&db, crate::store::Access::ReadOnly) else { return };
    let Some((mut judge, mut reader)) = off_workers(reader, move |reader| Judge::at_stored_position(reader, rules))
        .await
        .and_then(|(judge, reader)| Some((judge.ok()?, reader)))
    else {
        tracing::error!("the detection rules cannot read {}; access events are not being judged", db.display());
        return;
    };
    loop {
        let Some((step, back)) = off_workers(reader, move |reader| {
            let mut judge = judge;
            (judge.next(reader, None), judge)
        })
        .await
        else {
            return;
        };
        let (next, returned) = step;
        (judge, reader) = (returned, back);
        let chunk = match next {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                tokio::time::sleep(IDLE).await;
                let _ = judge.refresh_context(&reader);
                continue;
            }
            Err(e) => {
                tracing::warn!("the detection rules cannot read access events: {e}");
                tokio::time::sleep(AFTER_ERROR).await;
                continue;
            }
        };
        let recorded = match writer.call(move |conn| record(conn, chunk)).await {
            Ok(recorded) => recorded,
            Err(_) => return, // the writer has stopped: so has the collector
        };
        let resume = match recorded {
            Ok(Recorded::Stored) => None,
            // An import judged these first: go on from where it left the store.
            Ok(Recorded::Moved { now }) => Some(now),
            Err(e) => {
                tracing::error!(
                    "the store refused the detection rules' alerts: {e}; judging again from the stored position"
                );
                tokio::time::sleep(AFTER_ERROR).await;
                Some(detections::position(&reader).unwrap_or(judge.position()))
            }
        };
        if let Some(position) = resume {
            if let Err(e) = judge.resume_at(&reader, position) {
                tracing::warn!("the detection rules cannot read access events: {e}");
            }
        }
        tokio::task::yield_now().await;
    }
}

/// Stores a judged chunk on the writer, in its transaction.
fn record(conn: &Connection, chunk: Judged) -> (rusqlite::Result<Recorded>, Tables) {
    let recorded = detections::record(conn, chunk.from, chunk.through, &chunk.found);
    let changed = match recorded {
        Ok(Recorded::Stored) if !chunk.found.is_empty() => Tables::ALERTS | Tables::TENANTS,
        _ => Tables::NONE,
    };
    (recorded, changed)
}

/// Runs `work` with the reader on the blocking pool (reading and judging a chunk takes tens of
/// milliseconds, which the async workers, shared with every source, should not spend), and hands
/// the reader back; `None` if the runtime is shutting down.
async fn off_workers<T: Send + 'static>(
    reader: Connection,
    work: impl FnOnce(&Connection) -> T + Send + 'static,
) -> Option<(T, Connection)> {
    tokio::task::spawn_blocking(move || (work(&reader), reader)).await.ok()
}

#[cfg(test)]
mod tests {
    use crate::detect::{judge, Rules};
    use crate::store::{self, access, Access};

    /// What an attacker hides behind a NUL byte is judged too: the rules see every event whole,
    /// and the alert is stored and read back whole as well.
    #[test]
    fn rules_see_past_a_nul_byte() {
        let dir = tempfile::tempdir().unwrap();
        let conn = store::open(&dir.path().join("d.db"), Access::ReadWrite).unwrap();
        let event = |ip: &str, path: &str, user_agent: &str| access::AccessEvent {
            ts: 1_795_694_400_000,
            tenant: "acme".into(),
            src_ip: ip.into(),
            method: "GET".into(),
            path: path.into(),
            status: 200,
            user_agent: user_agent.into(),
            source: "test".into(),
            ..Default::default()
        };
        let events = [
            event("203.0.113.1", "/c\0/../../etc/passwd", "curl/8"),
            event("203.0.113.2", "/", "Mozilla/5.0\0 sqlmap/1.7"),
        ];
        access::insert_many(&conn, &events).unwrap();
        let verdict = judge::judge_backlog(&conn, &Rules::default()).unwrap();
        assert_eq!((verdict.events, verdict.alerts), (2, 2));
        let alerts: Vec<(String, String)> =
            crate::store::alerts::oldest_first(&conn).unwrap().into_iter().map(|a| (a.rule, a.output)).collect();
        assert_eq!(
            alerts,
            [
                (
                    "Web attack pattern".to_string(),
                    "203.0.113.1 sent path traversal above the root to acme: /c\0/../../etc/passwd (decoded: \
                     /etc/passwd)"
                        .to_string()
                ),
                ("Web attack pattern".to_string(), "203.0.113.2 scanned acme with sqlmap: /".to_string()),
            ]
        );
    }

    /// A brute force judged in two runs (as a collector restarted halfway would) is still one
    /// alert: the second run takes the incident up from the events before its position and
    /// brings the stored alert up to date.
    #[test]
    fn an_incident_judged_across_runs_is_one_alert_brought_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let conn = store::open(&dir.path().join("d.db"), Access::ReadWrite).unwrap();
        let failure = |k: i64| access::AccessEvent {
            ts: 1_795_694_400_000 + k * 25_000,
            tenant: "acme".into(),
            src_ip: "203.0.113.20".into(),
            method: "POST".into(),
            path: "/login".into(),
            status: 401,
            source: "test".into(),
            ..Default::default()
        };
        access::insert_many(&conn, &(0..150).map(failure).collect::<Vec<_>>()).unwrap();
        let first = judge::judge_backlog(&conn, &Rules::default()).unwrap();
        access::insert_many(&conn, &(150..300).map(failure).collect::<Vec<_>>()).unwrap();
        let second = judge::judge_backlog(&conn, &Rules::default()).unwrap();
        assert_eq!((first.alerts, second.alerts), (1, 0));
        let (n, count, linked): (i64, i64, i64) = conn
            .query_row(
                "SELECT count(*), json_extract(output_fields_json, '$.\"rampart.count\"'), \
                 (SELECT count(*) FROM alert_events) FROM alerts",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((n, linked), (1, 300));
        assert_eq!(count, 300);
    }
}
