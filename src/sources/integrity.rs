//! The integrity schedule: the collector re-verifies each target when its interval has passed since
//! its last run, hashing on the blocking pool and writing each result in one write.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use crate::config::Config;
use crate::integrity::{self, sign, TargetCheck, TargetConfig, Verification};
use crate::store::integrity::{self as stored, IntegrityRow, Target};
use crate::store::status::Health;
use crate::store::writer::{StoreWriter, Write};
use crate::store::{self, now_ms, Access};

/// The name in the header's source list.
pub const SOURCE: &str = crate::store::status::names::INTEGRITY;
/// How often the schedule looks for new targets when none is due sooner.
const LOOK_AGAIN: Duration = Duration::from_secs(60);

/// The store's row for a `[[integrity]]` entry.
pub fn config_target(t: &TargetConfig) -> Target {
    Target {
        name: t.name.clone(),
        tenant: t.tenant.clone(),
        root: t.root.display().to_string(),
        manifest_path: t.manifest.display().to_string(),
        pubkey_path: t.public_key.display().to_string(),
        // The config's pin, never the key file's own fingerprint: the file may have been swapped.
        key_fingerprint: config_pin(t),
        every_ms: t.every.as_deref().and_then(|e| integrity::parse_every(e).ok()),
        baselined_at: None,
    }
}

/// The key a `[[integrity]]` entry pins, in the form fingerprints are compared in (one that is not a
/// fingerprint is kept as written, so no key matches it and the failure shows it).
fn config_pin(t: &TargetConfig) -> Option<String> {
    t.key_fingerprint.as_deref().map(|f| sign::normalize_fingerprint(f).unwrap_or_else(|| f.to_string()))
}

/// What target `name` is checked against: the config file's entry, else the store's. The pinned
/// key is the config's when it names one, else the store's (pinned by `baseline` or `accept`).
pub fn resolve(conn: &Connection, config: &Config, name: &str) -> rusqlite::Result<Option<TargetCheck>> {
    if let Some(t) = config.integrity.iter().find(|t| t.name == name) {
        let pinned_key = match config_pin(t) {
            Some(pin) => Some(pin),
            None => stored::find(conn, name)?.and_then(|row| row.target.key_fingerprint),
        };
        return Ok(Some(TargetCheck {
            name: t.name.clone(),
            root: t.root.clone(),
            manifest: t.manifest.clone(),
            public_key: t.public_key.clone(),
            pinned_key,
            exclude: t.exclude.clone(),
        }));
    }
    Ok(stored::find(conn, name)?.map(|row| spec_of(&row)))
}

/// A stored target as a verification spec (its exclude list is the signed one).
pub fn spec_of(row: &IntegrityRow) -> TargetCheck {
    TargetCheck {
        name: row.target.name.clone(),
        root: row.target.root.clone().into(),
        manifest: row.target.manifest_path.clone().into(),
        public_key: row.target.pubkey_path.clone().into(),
        pinned_key: row.target.key_fingerprint.clone(),
        exclude: None,
    }
}

/// Verifies on tokio's blocking pool (every core hashes; the async workers and the store's writer
/// never do).
pub async fn verify_off_thread(spec: TargetCheck) -> Verification {
    let (name, pinned_key) = (spec.name.clone(), spec.pinned_key.clone());
    match tokio::task::spawn_blocking(move || integrity::verify(&spec, integrity::walk::cores())).await {
        Ok(v) => v,
        Err(e) => {
            let at = now_ms();
            Verification {
                verdict: integrity::Verdict::Error(format!("the verification of {name} stopped: {e}")),
                checked: 0,
                changes: Vec::new(),
                started_ms: at,
                finished_ms: at,
                fingerprint: None,
                pinned_key,
            }
        }
    }
}

/// When a target is next due: its last run plus its interval; never verified means now.
fn due_at(row: &IntegrityRow) -> i64 {
    let every = row.target.every_ms.unwrap_or(integrity::DEFAULT_EVERY_MS).max(10_000);
    row.run.as_ref().map_or(0, |r| r.started + every)
}

/// Registers the config's targets, then verifies each target whenever it is due, forever.
pub async fn run(writer: StoreWriter, config: Arc<Config>, db: PathBuf) {
    for t in &config.integrity {
        if let Some(Err(why)) = t.every.as_deref().map(integrity::parse_every) {
            crate::sources::report(&writer, SOURCE, Health::Degraded, format!("[[integrity]] {}: every {why}", t.name))
                .await;
        }
        if writer.send(Write::IntegrityTarget(config_target(t))).await.is_err() {
            return;
        }
    }
    // Everything sent is committed once a call returns: the reader below sees the targets.
    if writer.call(|_| ((), crate::store::writer::Tables::NONE)).await.is_err() {
        return;
    }
    let reader = match store::open(&db, Access::ReadOnly) {
        Ok(conn) => conn,
        Err(e) => {
            crate::sources::report(&writer, SOURCE, Health::Down, e.to_string()).await;
            return;
        }
    };
    loop {
        let targets = match stored::list(&reader) {
            Ok(t) => t,
            Err(e) => {
                crate::sources::report(&writer, SOURCE, Health::Down, format!("cannot read targets: {e}")).await;
                tokio::time::sleep(LOOK_AGAIN).await;
                continue;
            }
        };
        let now = now_ms();
        let Some(due) = targets.iter().filter(|t| due_at(t) <= now).min_by_key(|t| due_at(t)) else {
            let next = targets.iter().map(due_at).min().map_or(LOOK_AGAIN, |at| {
                Duration::from_millis((at - now).clamp(1_000, LOOK_AGAIN.as_millis() as i64) as u64)
            });
            tokio::time::sleep(next).await;
            continue;
        };
        let spec = match resolve(&reader, &config, &due.target.name) {
            Ok(Some(spec)) => spec,
            _ => spec_of(due),
        };
        let v = verify_off_thread(spec).await;
        let (run, changes) = v.to_run(&due.target.name);
        if writer.send(Write::IntegrityRun(run, changes)).await.is_err() {
            return;
        }
        let health = match v.verdict {
            integrity::Verdict::SignatureInvalid(_) | integrity::Verdict::Error(_) => Health::Degraded,
            _ => Health::Ok,
        };
        let detail = format!("{}: {}", due.target.name, v.summary());
        if !crate::sources::report(&writer, SOURCE, health, detail).await {
            return;
        }
        // Committed before the next look, so this target is not seen as due again.
        if writer.call(|_| ((), crate::store::writer::Tables::NONE)).await.is_err() {
            return;
        }
    }
}
