//! The collector: the source tasks that fill a store. One process per store runs it, chosen by an
//! exclusive lock on `<db>.collector.lock`; other consoles on the same store are viewers.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

/// What in `config` keeps the collector from starting (a listener it may not open), said so that
/// the fix is plain; `rampart collect` refuses to start on it, a console shows it on the source's row.
pub fn check(config: &crate::config::Config) -> Result<(), String> {
    crate::sources::falco_http::check(&config.falco)
}

/// Starts every configured source on the collector's task set.
pub fn spawn_sources(
    tasks: &mut tokio::task::JoinSet<()>,
    writer: &crate::store::writer::StoreWriter,
    config: &crate::config::Config,
    db: &Path,
) {
    tasks.spawn(crate::detect::runner::run(writer.clone(), db.to_owned(), config.detect.clone()));
    tasks.spawn(crate::store::search::keep_indexed(writer.clone()));
    tasks.spawn(crate::sources::falco_http::run(writer.clone(), config.falco.clone()));
    tasks.spawn(crate::sources::fail2ban::run(writer.clone(), config.fail2ban.clone()));
    tasks.spawn(crate::sources::cloudwatch::run(
        writer.clone(),
        config.cloudwatch.clone(),
        config.cloudwatch_publish.clone(),
    ));
    tasks.spawn(crate::sources::cloudwatch_publish::run(writer.clone(), config.cloudwatch_publish.clone()));
    let config_arc = std::sync::Arc::new(config.clone());
    tasks.spawn(crate::sources::integrity::run(writer.clone(), config_arc, db.to_owned()));
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
