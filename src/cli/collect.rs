//! What `rampart collect` says on standard error (and in its log): the sources it starts, and
//! every change of a source's state while it runs (an outage, a recovery).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use crate::store::status::{Health, SourceStatus};
use crate::store::{self, Access};

/// How often the store's source states are looked at.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// The line `collect` starts with: where it collects, every source it starts, where it logs.
pub fn started(db: &Path, config: &Config) -> String {
    let sources: Vec<String> = crate::collector::planned(config).into_iter().map(|p| p.label).collect();
    format!(
        "rampart collect: collecting into {} with {} sources: {}; and the detection rules and the filter \
         indexer; logging to {}; stop with SIGTERM or Ctrl-C",
        db.display(),
        sources.len(),
        sources.join(", "),
        log_path(db).display()
    )
}

/// The log file of a store: next to it, named after it (`rampart.db` logs into `rampart.log`).
pub fn log_path(db: &Path) -> PathBuf {
    db.with_extension("log")
}

/// What a state is, for saying when it changes: its health and its words, without the
/// numbers of work under way (`backfilling 40%` and `41%` are one state).
fn state_of(s: &SourceStatus) -> (Health, String) {
    let words: String = s.state().chars().filter(|c| !c.is_ascii_digit()).collect();
    (s.health, words)
}

/// The line that says a source's state changed (or was first seen), if it is worth a line: a
/// source first seen ok is already in the list of sources started.
fn change(before: Option<&(Health, String)>, s: &SourceStatus) -> Option<String> {
    let now = state_of(s);
    if before == Some(&now) {
        return None;
    }
    let detail = crate::text::sanitize::clean(&s.detail, 300);
    let source = crate::text::sanitize::clean(&s.source, 200);
    match (before, s.health) {
        (None, Health::Ok) => None,
        (Some((was, _)), Health::Ok) if *was != Health::Ok => Some(format!("{source} is ok again: {detail}")),
        (_, Health::Ok) => Some(format!("{source}: {detail}")),
        _ => Some(format!("{source} is {}: {detail}", s.state())),
    }
}

/// Says every change of a source's state on standard error and in the log, until the task is
/// dropped.
pub async fn say_changes(db: PathBuf) {
    let mut known: HashMap<String, (Health, String)> = HashMap::new();
    let mut conn = None;
    loop {
        if conn.is_none() {
            conn = store::open(&db, Access::ReadOnly).ok();
        }
        if let Some(statuses) = conn.as_ref().and_then(|c| crate::store::status::list(c).ok()) {
            for s in statuses {
                if let Some(line) = change(known.get(&s.source), &s) {
                    if s.health == Health::Ok {
                        tracing::info!("{line}");
                    } else {
                        tracing::warn!("{line}");
                    }
                    eprintln!("rampart collect: {line}");
                }
                known.insert(s.source.clone(), state_of(&s));
            }
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(health: Health, summary: &str, detail: &str) -> SourceStatus {
        SourceStatus {
            source: "cloudwatch:/ecs/app".into(),
            health,
            detail: detail.into(),
            last_ok: None,
            last_error: None,
            summary: summary.into(),
            stored: None,
            unparsed: None,
        }
    }

    #[test]
    fn outages_and_recoveries_are_said_progress_is_not_repeated() {
        let down = status(Health::Down, "endpoint unreachable", "endpoint unreachable: connection refused");
        assert_eq!(
            change(None, &down).as_deref(),
            Some("cloudwatch:/ecs/app is endpoint unreachable: endpoint unreachable: connection refused")
        );
        let ok = status(Health::Ok, "ok", "ok: 12 events stored");
        assert_eq!(
            change(Some(&state_of(&down)), &ok).as_deref(),
            Some("cloudwatch:/ecs/app is ok again: ok: 12 events stored")
        );
        assert_eq!(change(None, &ok), None, "a source first seen ok is in the list already");
        assert_eq!(change(Some(&state_of(&ok)), &status(Health::Ok, "ok", "ok: 13 events stored")), None);
        let at_40 = status(Health::Degraded, "backfilling 40%", "backfilling 40%: 4000 events stored");
        let at_41 = status(Health::Degraded, "backfilling 41%", "backfilling 41%: 4100 events stored");
        assert_eq!(change(Some(&state_of(&at_40)), &at_41), None);
    }
}
