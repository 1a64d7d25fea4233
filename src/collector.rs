//! The collector: the source tasks that fill a store. One process per store runs it, chosen by an
//! exclusive lock on `<db>.collector.lock`; other consoles on the same store are viewers.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use crate::store::status::Expected;

/// What in `config` keeps the collector from starting (a listener it may not open), said so that
/// the fix is plain; `rampart collect` refuses to start on it, a console shows it on the source's row.
pub fn check(config: &crate::config::Config) -> Result<(), String> {
    crate::config::check::listener(&config.falco)
}

/// Keeps the collector's memory near what it holds, for a process that runs all day beside the
/// tenants: glibc's malloc otherwise gives each busy thread an arena of its own and keeps large
/// freed blocks (a CloudWatch page, a writer batch) in them. One arena (threads keep their own
/// small-block caches) and blocks of 128 KiB or more mapped on their own, so that freeing one
/// gives it back: a 100,000-event CloudWatch backfill peaked at 76–79 MiB resident without this,
/// 45 MiB with it (`cargo bench --bench cloudwatch`, issue 21). Call before any thread starts.
#[allow(unsafe_code)]
pub fn bound_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets malloc's parameters; called before the collector's threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Starts every configured source on the collector's task set.
pub fn spawn_sources(
    tasks: &mut tokio::task::JoinSet<()>,
    writer: &crate::store::writer::StoreWriter,
    config: &crate::config::Config,
    db: &Path,
) {
    // Sources an earlier config had and this one has not no longer pass for working ones.
    let expected: Vec<Expected> = planned(config).into_iter().flat_map(|p| p.names).collect();
    let retiring = writer.clone();
    tasks.spawn(async move {
        let retired = retiring.call(move |conn| {
            let retired = crate::store::status::retire_others(conn, &expected);
            let tables = match &retired {
                Ok(names) if !names.is_empty() => crate::store::writer::Tables::STATUS,
                _ => crate::store::writer::Tables::NONE,
            };
            (retired, tables)
        });
        match retired.await {
            Ok(Ok(names)) if !names.is_empty() => {
                tracing::info!("sources no longer in the config, shown as not configured: {}", names.join(", "))
            }
            Ok(Err(e)) => tracing::warn!("cannot mark the sources no longer in the config: {e}"),
            _ => {}
        }
    });
    tasks.spawn(crate::detect::runner::run(writer.clone(), db.to_owned(), config.detect.clone()));
    tasks.spawn(crate::store::indexer::keep_indexed(db.to_owned()));
    tasks.spawn(crate::sources::falco_http::run(writer.clone(), config.falco.clone()));
    tasks.spawn(crate::sources::fail2ban::run(writer.clone(), config.fail2ban.clone()));
    tasks.spawn(crate::sources::cloudwatch::run(
        writer.clone(),
        config.cloudwatch.clone(),
        config.cloudwatch_publish.clone(),
    ));
    tasks.spawn(crate::sources::cloudwatch_publish::run(writer.clone(), config.cloudwatch_publish.clone()));
    let config_arc = std::sync::Arc::new(config.clone());
    tasks.spawn(crate::sources::integrity::run(writer.clone(), config_arc.clone(), db.to_owned()));
    use crate::sources::logfile::{self, Format, LogFile};
    for entry in &config.access_log {
        let format = match entry.tenant_rule() {
            Ok(rule) if entry.format == crate::config::LogFormat::Json => {
                Format::Json(rule, Box::new(entry.fields.clone()))
            }
            Ok(rule) => Format::Combined(rule),
            Err(why) => {
                // A half-written entry is said in the header, not guessed at.
                let (writer, name) = (writer.clone(), format!("access:{}", entry.path.display()));
                tasks.spawn(async move {
                    crate::sources::report(&writer, &name, crate::store::status::Health::Down, why).await;
                });
                continue;
            }
        };
        tasks.spawn(logfile::run(writer.clone(), LogFile { path: entry.path.clone(), format }));
    }
    for path in &config.falco.files {
        tasks.spawn(logfile::run(writer.clone(), LogFile { path: path.clone(), format: Format::Falco }));
    }
    tasks.spawn(crate::sources::engine_logs::run(writer.clone(), config.docker.clone(), config.engine_logs.clone()));
    tasks.spawn(crate::respond::reisolate::run(writer.clone(), config.docker.clone()));
    tasks.spawn(crate::respond::rules::run(writer.clone(), config_arc.clone(), db.to_owned()));
    let (writer, docker, tenants) = (writer.clone(), config.docker.clone(), config.tenants.clone());
    tasks.spawn(async move {
        for name in tenants {
            let tenant = crate::store::writer::Write::Tenant { name, label_selector: String::new() };
            if writer.send(tenant).await.is_err() {
                return;
            }
        }
        crate::sources::docker::run(writer, docker).await;
    });
}

/// A source the collector starts: what it is called when it is listed, and the names its status
/// rows go under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub label: String,
    pub names: Vec<Expected>,
}

/// Every source [`spawn_sources`] starts for `config`, in the order it starts them (the detection
/// rules and the filter indexer, which report no status, are not among them).
pub fn planned(config: &crate::config::Config) -> Vec<Planned> {
    use crate::store::status::names;
    let one = |label: String| Planned { names: vec![Expected::Name(label.clone())], label };
    let file_name = |path: &Path| path.file_name().and_then(|n| n.to_str()).unwrap_or("log").to_string();
    let mut planned = Vec::new();
    if let Some(listen) = &config.falco.listen {
        let mut p = one(names::FALCO_HTTP.to_string());
        p.label = format!("{} (on {listen})", names::FALCO_HTTP);
        planned.push(p);
    }
    planned.push(one(names::FAIL2BAN.to_string()));
    for entry in &config.cloudwatch {
        planned.push(match (&entry.group, &entry.group_prefix) {
            (Some(group), _) => one(format!("cloudwatch:{group}")),
            (None, Some(prefix)) => Planned {
                label: format!("cloudwatch:{prefix}* (every group under the prefix)"),
                names: vec![Expected::Prefix(format!("cloudwatch:{prefix}"))],
            },
            (None, None) => one(format!("cloudwatch:{}", entry.label())),
        });
    }
    if let Some(publish) = &config.cloudwatch_publish {
        let host = crate::host::name();
        planned.push(one(crate::sources::cloudwatch_publish::status_name(&publish.group_name(&host))));
    }
    planned.push(one(names::INTEGRITY.to_string()));
    for entry in &config.access_log {
        let mut p = one(format!("access:{}", file_name(&entry.path)));
        // A half-written entry reports under its whole path.
        p.names.push(Expected::Name(format!("access:{}", entry.path.display())));
        planned.push(p);
    }
    for path in &config.falco.files {
        planned.push(one(format!("falco:{}", file_name(path))));
    }
    planned.push(one(names::DOCKER.to_string()));
    planned.push(one(crate::respond::reisolate::SOURCE.to_string()));
    if !config.respond.is_empty() {
        planned.push(one(crate::respond::rules::SOURCE.to_string()));
    }
    if config.engine_logs.enabled {
        planned.push(Planned {
            label: format!(
                "{}* (each container labelled {}=combined|json)",
                crate::sources::engine_logs::PREFIX,
                config.engine_logs.label
            ),
            names: vec![Expected::Prefix(crate::sources::engine_logs::PREFIX.to_string())],
        });
    }
    planned
}

/// Held for as long as this process is the store's collector; released on drop or exit.
#[derive(Debug)]
pub struct CollectorLock {
    _file: File,
    pub path: PathBuf,
}

pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".collector.lock");
    db.with_file_name(name)
}

/// Takes the collector lock, or says who holds it.
pub fn try_lock(db: &Path) -> std::io::Result<Result<CollectorLock, String>> {
    let path = lock_path(db);
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "pid {} ({})", std::process::id(), whoami::username())?;
            file.flush()?;
            Ok(Ok(CollectorLock { _file: file, path }))
        }
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            Ok(Err(if holder.is_empty() { "another process".to_string() } else { holder.to_string() }))
        }
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Who collects into the store at `db` now, asked without writing anything (for a read-only
/// console): `Some(holder)` while a process holds the collector lock, `None` when nobody does.
/// The kernel's lock table (`/proc/locks`) says whether the lock file is held; the file's text
/// says by whom.
pub fn holder(db: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let path = lock_path(db);
    let mut file = File::open(&path).ok()?;
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let text = text.trim();
    let meta = file.metadata().ok()?;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let id = format!("{:02x}:{:02x}:{}", libc::major(meta.dev()), libc::minor(meta.dev()), meta.ino());
    // `1: FLOCK  ADVISORY  WRITE 1234 fe:00:5367661 0 EOF`
    let held = locks.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&"FLOCK") && fields.get(3) == Some(&"WRITE") && fields.get(5) == Some(&id.as_str())
    });
    held.then(|| if text.is_empty() { "another process".to_string() } else { text.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.db");
        let first = try_lock(&db).unwrap().expect("first lock");
        let second = try_lock(&db).unwrap();
        assert_eq!(second.unwrap_err(), format!("pid {} ({})", std::process::id(), whoami::username()));
        drop(first);
        assert!(try_lock(&db).unwrap().is_ok());
    }

    #[test]
    fn the_holder_is_read_from_the_kernels_lock_table() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.db");
        assert_eq!(holder(&db), None, "no lock file: nobody collects");
        let lock = try_lock(&db).unwrap().expect("lock");
        assert_eq!(holder(&db), Some(format!("pid {} ({})", std::process::id(), whoami::username())));
        drop(lock);
        assert_eq!(holder(&db), None, "the file stays, its lock is gone");
        assert!(lock_path(&db).exists());
    }
}
