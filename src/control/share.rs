//! What of the collector's files the operators' group may read: the store, its WAL and shared
//! memory index, the indexes' file beside it (`store::index_db`) and its own two, the collector
//! lock and the log (0640, group `rampart`), and the store's folder (0750). Only the collector
//! writes any of them.
//!
//! A reader in the group opens the store read-only. SQLite (≥ 3.22) reads a WAL database through
//! a `-shm` it may not write by building the WAL index in its own memory; a `-shm` writable by the
//! group would spare that work but would let any operator corrupt the index the collector trusts,
//! so it stays read-only (DESIGN.md, Privilege and trust). Measured (`benches/wal_readers.py`): a
//! reader in the group, with a 16 MB WAL and a writer committing every 5 ms, took a median 0.101
//! ms per read transaction through a read-only `-shm` and 0.096 ms through a group-writable one
//! (SQLite 3.40, 100 transactions each; the same within this shared machine's noise, since SQLite
//! maps a read-only `-shm` the writer keeps current): nothing is bought by the risk. SQLite gives the `-wal` and `-shm` it makes the main file's mode and owner, so they
//! follow the store.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::Gid;

/// The group that may read the store and connect to the socket when the config names none.
pub const DEFAULT_GROUP: &str = "rampart";

/// The operators' group: the one the config names (which must exist), else `rampart` when it
/// exists; `None` when there is none, and then only the collector's user reads and connects.
pub fn group(named: Option<&str>) -> Result<Option<(Gid, String)>, String> {
    match named {
        Some(name) => match nix::unistd::Group::from_name(name) {
            Ok(Some(g)) => Ok(Some((g.gid, name.to_string()))),
            _ => Err(format!("[control] group = \"{name}\": no such group (groupadd --system {name})")),
        },
        None => {
            Ok(nix::unistd::Group::from_name(DEFAULT_GROUP).ok().flatten().map(|g| (g.gid, DEFAULT_GROUP.to_string())))
        }
    }
}

/// The files beside a store that the collector makes: the store, `-wal`, `-shm`, the indexes'
/// file with its own two, the lock, the log.
pub fn files_of(db: &Path) -> Vec<PathBuf> {
    let beside = |suffix: &str| {
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        db.with_file_name(name)
    };
    let mut files = vec![db.to_owned(), beside("-wal"), beside("-shm")];
    files.extend(crate::store::index_db::files_of(db));
    files.extend([crate::collector::lock_path(db), db.with_extension("log")]);
    files
}

/// Gives the store's files mode 0640 and group `gid` (when given), and its folder 0750 with the
/// same group, where this process owns them (a folder it does not own, such as `/tmp`, is left
/// as it is). Returns what was done, in words.
pub fn share(db: &Path, gid: Option<Gid>) -> Result<String, String> {
    let me = nix::unistd::geteuid().as_raw();
    for path in files_of(db) {
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if meta.uid() != me {
            continue;
        }
        set(&path, 0o640, gid)?;
    }
    let dir = db.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir_meta = std::fs::metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let world = dir_meta.mode() & 0o007;
    if dir_meta.uid() == me && gid.is_some() && dir_meta.mode() & 0o1000 == 0 {
        // Nothing taken from others: a folder they could already enter keeps that.
        set(dir, 0o750 | world, gid)?;
    }
    Ok(match gid {
        Some(_) => format!("{} and the files beside it: mode 0640, readable by the group", db.display()),
        None => format!("{} and the files beside it: mode 0640, no operators' group", db.display()),
    })
}

fn set(path: &Path, mode: u32, gid: Option<Gid>) -> Result<(), String> {
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid.as_raw()))
            .map_err(|e| format!("cannot give {} to its group: {e}", path.display()))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))
}
