//! The SQLite store: the model of the world that sources write and panes read.

pub mod access;
pub mod alerts;
pub mod audit;
pub mod automatic;
pub mod bans;
pub mod counts;
pub mod cursors;
pub mod detections;
pub mod drills;
pub mod filter;
pub mod fleet;
pub mod grams;
pub mod histogram;
pub mod imports;
pub mod incident;
pub mod index_db;
pub mod indexer;
pub mod integrity;
pub mod journal;
pub mod newest;
pub mod outbox;
pub mod overview;
pub mod priority;
pub mod related;
pub mod scan;
pub mod schema;
pub mod search;
pub mod status;
pub mod tails;
pub mod tenants;
pub mod transaction;
pub mod unparsed;
pub mod window;
pub mod writer;
pub mod zones;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How long a connection waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store could not be opened. Each message tells the operator what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path} was written by a newer rampart (schema version {found}; this build knows up to {supported}) \
         — upgrade rampart, or pass --db to use another file; the file was left untouched"
    )]
    NewerSchema { path: PathBuf, found: i64, supported: i64 },
    #[error(
        "{path} is not a rampart database or is damaged ({cause}) \
         — the file was left untouched; move it aside or pass --db to use another file"
    )]
    NotADatabase { path: PathBuf, cause: String },
    #[error("cannot open {path}: {cause} — check that the file and its folder are readable and writable by you")]
    Unreadable { path: PathBuf, cause: String },
    #[error(
        "{path} has an older schema (version {found}; this build uses {supported}) and reading it cannot \
         upgrade it — run `rampart collect` or open the console on it once (either upgrades it), then try again"
    )]
    OlderSchema { path: PathBuf, found: i64, supported: i64 },
    #[error("{path} does not exist yet — start the collector (`rampart` or `rampart collect`) once to create it")]
    Missing { path: PathBuf },
    #[error(
        "{why}: rampart does not believe indexes it did not write (they decide which rows a filter reads) \
         — remove the file (rampart rebuilds the indexes from the events) or pass --db to use another store"
    )]
    UntrustedIndex { path: PathBuf, why: String },
    #[error("store error on {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
}

/// An address in the one text form the store keeps (IPv6 compressed and lower-case, as
/// `2001:db8::1`), so that comparing two addresses' text compares the addresses; `None` when
/// `text` is not an address.
pub fn canonical_ip(text: &str) -> Option<String> {
    text.trim().parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

/// Whether a connection may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Creates the file if needed and migrates the schema.
    ReadWrite,
    /// Never writes; the schema must already be current.
    ReadOnly,
}

/// Opens (creating and migrating when `ReadWrite`) the store at `path`.
pub fn open(path: &Path, access: Access) -> Result<Connection, StoreError> {
    let flags = match access {
        Access::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        Access::ReadOnly => {
            if !path.exists() {
                return Err(StoreError::Missing { path: path.to_owned() });
            }
            OpenFlags::SQLITE_OPEN_READ_ONLY
        }
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let (conn, version) = match connect(path, flags) {
        // A reader that may not write beside the store cannot create the `-wal` and `-shm` files a
        // WAL database is read through (with them present, SQLite builds the WAL index in the
        // reader's own memory). Without a `-wal` file every committed page is in the main file, and
        // nobody is writing (a writer would have made one): it is read as it stands, unchanging.
        Err(e)
            if access == Access::ReadOnly
                && e.sqlite_error_code() == Some(rusqlite::ffi::ErrorCode::ReadOnly)
                && !beside(path, "-wal").exists() =>
        {
            connect(&immutable_uri(path), flags).map_err(|e| classify(path, e))?
        }
        other => other.map_err(|e| classify(path, e))?,
    };
    if version > schema::latest_version() {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: schema::latest_version(),
        });
    }
    if access == Access::ReadWrite {
        if version == 0 {
            // A new store: 16 KiB pages make bulk imports a sixth faster than the default 4 KiB
            // (fewer page splits and log frames); an existing file keeps its size (this is a no-op).
            conn.pragma_update(None, "page_size", 16384).map_err(|e| classify(path, e))?;
        }
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| classify(path, e))?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| classify(path, e))?;
        migrate(&conn).map_err(|e| classify(path, e))?;
        index_db::prepare(path, &conn)?;
    } else if version < schema::latest_version() {
        return Err(StoreError::OlderSchema {
            path: path.to_owned(),
            found: version,
            supported: schema::latest_version(),
        });
    }
    index_db::attach(&conn, path).map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// Opens `target` (a path, or a `file:` URI) and reads its schema version: the first real
/// access, which is what fails on a file that is not SQLite or a WAL store a reader cannot open.
fn connect(target: &Path, flags: OpenFlags) -> rusqlite::Result<(Connection, i64)> {
    let conn = Connection::open_with_flags(target, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    register_functions(&conn)?;
    access::register_table(&conn)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok((conn, version))
}

/// Whether `conn` reads its store as it stood when opened (the fallback of [`open`] for a reader
/// that cannot create the WAL files): it would not see what a collector started later writes.
pub fn is_snapshot(conn: &Connection) -> bool {
    let mode: rusqlite::Result<String> = conn.query_row("PRAGMA main.journal_mode", [], |r| r.get(0));
    mode.is_ok_and(|m| !m.eq_ignore_ascii_case("wal"))
}

/// `path` with `suffix` added to its file name (`r.db` → `r.db-wal`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// A `file:` URI that opens `path` as immutable (no locks, no `-shm`, no `-wal`).
fn immutable_uri(path: &Path) -> PathBuf {
    PathBuf::from(file_uri(path, "immutable=1"))
}

/// A `file:` URI for `path` (made absolute, every byte outside a safe few escaped) with `query`.
fn file_uri(path: &Path, query: &str) -> String {
    use std::os::unix::ffi::OsStrExt;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut uri = String::from("file:");
    for &b in absolute.as_os_str().as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => uri.push(b as char),
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}

/// Why this process cannot write the store at `path` (the file, or its `-wal` or `-shm` beside
/// it, is not writable by this user or on a read-only file system); `None` when it can, or when
/// the store does not exist yet. Nothing is changed by asking.
pub fn unwritable(path: &Path) -> Option<String> {
    [path.to_owned(), beside(path, "-wal"), beside(path, "-shm")].into_iter().find_map(|file| {
        match std::fs::OpenOptions::new().write(true).open(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Some(format!("{} is not writable by you ({e})", file.display()))
            }
            _ => None,
        }
    })
}

/// SQLite's text functions (`LIKE`, `substr`, `length`, …) read text only up to its first NUL byte,
/// so `Mozilla/5.0\0 sqlmap/1.7` would look like `Mozilla/5.0` to a filter. Text is stored, bound
/// and read with its length, whole; where SQL has to look inside it, it looks through these.
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    // `visible_nul(x)`: NULL when `x` holds no NUL byte (the common case costs no copy), else `x`
    // with each NUL written `^@`, as the screen shows it. Filters match `ifnull(visible_nul(x), x)`.
    conn.create_scalar_function(VISIBLE_NUL, 1, flags, |ctx| {
        let bytes = match ctx.get_raw(0) {
            ValueRef::Text(b) | ValueRef::Blob(b) => b,
            _ => return Ok(None),
        };
        if memchr::memchr(0, bytes).is_none() {
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(bytes).replace('\0', "^@")))
    })?;
    grams::register(conn)
}

/// The name of the SQL function that shows NUL bytes as `^@` (see [`register_functions`]).
pub const VISIBLE_NUL: &str = "visible_nul";

/// Text capped at this many bytes when read for a window: a hostile megabyte-long value cannot
/// bloat one. The SELECTs that cap write it out as `substr(CAST(x AS BLOB), 1, 65536)`: a BLOB is
/// cut by bytes and keeps its NULs, where `substr` of TEXT would stop at the first NUL.
pub const TEXT_CAP: usize = 65536;

/// Reads column `i` as text, whole even if it holds NUL bytes: TEXT as stored, or a BLOB cut by
/// [`TEXT_CAP`] (a character cut in two at the end is left out). Bytes that are not UTF-8 (a row
/// another program wrote) read as U+FFFD instead of failing the whole window.
pub fn text_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    use rusqlite::types::ValueRef;
    let bytes = match r.get_ref(i)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => b,
        ValueRef::Null => return Ok(String::new()),
        ValueRef::Integer(n) => return Ok(n.to_string()),
        ValueRef::Real(x) => return Ok(x.to_string()),
    };
    Ok(match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    })
}

/// Applies every pending migration in one immediate transaction, so that two processes opening the
/// same new file never both apply one, and a store is never left between two of them.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    transaction::immediate(conn, |conn| {
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let mut version = found;
        while let Some(sql) = schema::MIGRATIONS.get(version as usize) {
            conn.execute_batch(sql)?;
            version += 1;
        }
        // Nothing is written to a store already at the latest schema.
        if version == found {
            return Ok(());
        }
        conn.pragma_update(None, "user_version", version)
    })
}

fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::ErrorCode;
    let path = path.to_owned();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::NotADatabase { path, cause: e.to_string() }
        }
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            StoreError::Unreadable { path, cause: e.to_string() }
        }
        _ => StoreError::Sqlite { path, source: e },
    }
}

/// Milliseconds since the Unix epoch, the unit of every `ts` column.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reader_is_told_from_one_that_follows_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        // A name that needs escaping in a URI.
        let db = dir.path().join("a store?#%.db");
        drop(open(&db, Access::ReadWrite).unwrap());
        let follows = open(&db, Access::ReadOnly).unwrap();
        assert!(!is_snapshot(&follows));
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let (snapshot, version) = connect(&immutable_uri(&db), flags).unwrap();
        assert_eq!(version, schema::latest_version());
        assert!(is_snapshot(&snapshot));
        assert_eq!(snapshot.path(), follows.path(), "the same file");
    }
}
