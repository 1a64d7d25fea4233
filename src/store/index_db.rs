//! The indexes' own database file beside the store, `<db>-index`: the trigram and address indexes
//! filters search, the histogram's counts, the zone map and how far they reach (`store::indexer`
//! fills them). Everything in it is derived from the access events, so it is rebuilt from them
//! whenever it is missing, damaged, of another layout or another store's.
//!
//! A file of its own because SQLite locks a file, not a table: while the indexes lived in the
//! store, every indexer transaction held the one writer, and an FTS5 merge of a term most rows hold
//! is one step however it is sized (81 ms at 10,000,000 events, issue 21). Now the indexer writes
//! this file on a connection of its own ([`open_writer`]) and only reads the store, so a source's
//! writes never wait for it. Every connection [`super::open`] makes reads it attached as `idx`,
//! read-only (a read-only attachment takes no write lock when that connection begins a write);
//! queries name its tables unqualified.
//!
//! Trust: the file is believed only if it is a plain file owned by the store's owner, as are its
//! `-wal` and `-shm` — one planted beside a store in a shared folder could otherwise hide rows
//! from filters. The collector refuses to start beside such a file; a reader ignores it and
//! scans.

use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::StoreError;

/// The schema name the store's connections attach the indexes under.
pub const SCHEMA_NAME: &str = "idx";

/// The indexer connection's page caches (KiB) for the indexes and for the store it reads.
const INDEX_CACHE_KIB: i64 = 256;
const STORE_CACHE_KIB: i64 = 256;

/// rampart's mark on the file (`PRAGMA application_id`, "rmpi"): any other database found there is
/// left alone, never emptied.
const APPLICATION_ID: i64 = 0x726d_7069;

/// The layout of the file; another version is emptied and rebuilt.
const VERSION: i64 = 1;

/// The file's tables in schema `db`. Their history before they had a file of their own is in
/// `store::schema` (versions 10, 14, 15 and 16). `index_of` names the store the indexes were made
/// from (`store_identity`), so a copy of another store's indexes is never read as this one's.
fn schema(db: &str) -> String {
    format!(
        "CREATE VIRTUAL TABLE {db}.access_text USING fts5(
             path, user_agent, src_ip, user, content='', detail='none', tokenize='trigram'
         );
         CREATE VIRTUAL TABLE {db}.access_ip USING fts5(
             src_ip, content='', detail='none', tokenize=\"ascii tokenchars '.:'\"
         );
         CREATE TABLE {db}.access_indexed_through (
             only          INTEGER PRIMARY KEY CHECK (only = 1),
             event         INTEGER NOT NULL,
             ts            INTEGER NOT NULL
         );
         CREATE TABLE {db}.access_counts (
             span          INTEGER NOT NULL,
             start         INTEGER NOT NULL,
             status        INTEGER NOT NULL,
             n             INTEGER NOT NULL,
             max_bytes     INTEGER NOT NULL,
             PRIMARY KEY (span, start, status)
         ) WITHOUT ROWID;
         CREATE TABLE {db}.access_blocks (
             block         INTEGER PRIMARY KEY,
             min_ts        INTEGER NOT NULL,
             max_ts        INTEGER NOT NULL,
             min_status    INTEGER NOT NULL,
             max_status    INTEGER NOT NULL,
             statuses      INTEGER NOT NULL,
             min_bytes     INTEGER NOT NULL,
             max_bytes     INTEGER NOT NULL,
             grams         BLOB
         );
         CREATE TABLE {db}.index_of (
             only          INTEGER PRIMARY KEY CHECK (only = 1),
             store         TEXT NOT NULL
         );"
    )
}

/// `<db>-index`, the indexes' file of the store at `db`.
pub fn path_of(db: &Path) -> PathBuf {
    super::beside(db, "-index")
}

/// The indexes' file and the `-wal` and `-shm` SQLite keeps beside it.
pub fn files_of(db: &Path) -> [PathBuf; 3] {
    let path = path_of(db);
    [super::beside(&path, "-wal"), super::beside(&path, "-shm"), path]
}

/// Why no indexes are kept beside the store at `db`: its folder is writable by others than its
/// owner, who could put files where the indexes and their `-wal` and `-shm` belong between a
/// check and SQLite's opening them. Filters then scan. `None` when they may be kept.
pub fn not_kept(db: &Path) -> Option<String> {
    let dir = db.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let meta = std::fs::metadata(dir).ok()?;
    (meta.mode() & 0o022 != 0).then(|| {
        format!(
            "{} is writable by others (mode {:o}): the filters' indexes are not kept beside a store there, \
             filters scan; keep the store in a folder only its owner writes",
            dir.display(),
            meta.mode() & 0o7777
        )
    })
}

/// Why `file` is not to be believed as part of the store's indexes: not a plain file with one
/// name (a link could point anywhere), or owned by a user who is neither the store's `owner` nor
/// this process's. `None` when it is fine or does not exist.
fn foreign(file: &Path, owner: u32) -> Option<String> {
    let meta = std::fs::symlink_metadata(file).ok()?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.file_type().is_file() || meta.nlink() != 1 {
        Some(format!("{} is not a plain file", file.display()))
    } else if meta.uid() != owner && meta.uid() != me {
        Some(format!("{} belongs to uid {}, the store to uid {owner}", file.display(), meta.uid()))
    } else {
        None
    }
}

/// The store's owner.
fn owner_of(db: &Path) -> Result<std::fs::Metadata, StoreError> {
    std::fs::metadata(db).map_err(|e| StoreError::Unreadable { path: db.to_owned(), cause: e.to_string() })
}

/// Makes the indexes' file ready for the store at `db` (whose connection is `store`, migrated):
/// created with the store's mode (and, by root, its owner and group) when missing, emptied when it
/// holds another layout or another store's indexes, made anew when it is not a database at all.
/// A `-wal` or `-shm` of it that is not the owner's is removed (only the owner writes the
/// indexes, so they hold nothing of theirs). Refuses an indexes' file it cannot trust, or a
/// database there that is not rampart's indexes.
pub(super) fn prepare(db: &Path, store: &Connection) -> Result<(), StoreError> {
    if not_kept(db).is_some() {
        return Ok(());
    }
    let path = path_of(db);
    let like = owner_of(db)?;
    if let Some(why) = foreign(&path, like.uid()) {
        return Err(StoreError::UntrustedIndex { path, why });
    }
    for file in &files_of(db)[..2] {
        if let Some(why) = foreign(file, like.uid()) {
            std::fs::remove_file(file).map_err(|e| StoreError::UntrustedIndex {
                path: file.clone(),
                why: format!("{why}, and it cannot be removed ({e})"),
            })?;
        }
    }
    let id: String =
        store.query_row("SELECT id FROM store_identity", [], |r| r.get(0)).map_err(|e| super::classify(db, e))?;
    let create =
        || create(&path, &like).map_err(|e| StoreError::Unreadable { path: path.clone(), cause: e.to_string() });
    create()?;
    let ours = match build(&path, &id) {
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ffi::ErrorCode::NotADatabase | rusqlite::ffi::ErrorCode::DatabaseCorrupt)
            ) =>
        {
            for file in files_of(db) {
                let _ = std::fs::remove_file(file);
            }
            create()?;
            build(&path, &id).map_err(|e| super::classify(&path, e))?
        }
        other => other.map_err(|e| super::classify(&path, e))?,
    };
    if !ours {
        let why = format!("{} is a database, but not rampart's indexes", path.display());
        return Err(StoreError::UntrustedIndex { path, why });
    }
    Ok(())
}

/// Creates `path` empty unless it exists (never through a link), with the store's mode and, when
/// made by root, its owner and group (as SQLite gives a store's `-wal`), so that the store's owner
/// can write it, believes it, and the operators' group reads it.
fn create(path: &Path, store: &std::fs::Metadata) -> std::io::Result<()> {
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(store.permissions().mode() & 0o666)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    match made {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
        Ok(file) => {
            if nix::unistd::geteuid().is_root() {
                std::os::unix::fs::fchown(&file, Some(store.uid()), Some(store.gid()))?;
            }
            Ok(())
        }
    }
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NOFOLLOW
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Brings the file at `path` to this layout, made from the store `id`; `false` (touching
/// nothing) when it is a database but not rampart's indexes.
fn build(path: &Path, id: &str) -> rusqlite::Result<bool> {
    let conn = connect(path)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let mark: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    // Unmarked indexes of this layout were written by the first build that had the file.
    let has_index_of = || -> rusqlite::Result<bool> {
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'index_of'", [], |r| r.get::<_, i64>(0))
            .map(|n| n > 0)
    };
    if mark != APPLICATION_ID && (version != 0 || tables > 0) && !(mark == 0 && version == VERSION && has_index_of()?) {
        return Ok(false);
    }
    if made_from(&conn, version)?.as_deref() == Some(id) && mark == APPLICATION_ID {
        return Ok(true);
    }
    if version == 0 {
        // As the store's: 16 KiB pages (fewer page splits as FTS5 segments grow).
        conn.pragma_update(None, "page_size", 16384)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    super::transaction::immediate(&conn, |conn| {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if made_from(conn, version)?.as_deref() != Some(id) {
            if version != 0 {
                // Another layout or another store's: nothing in it is worth keeping.
                let tables = |sql: &str| -> rusqlite::Result<Vec<String>> {
                    conn.prepare(sql)?.query_map([], |r| r.get(0))?.collect()
                };
                for t in
                    tables("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")?
                {
                    conn.execute_batch(&format!("DROP TABLE \"{}\"", t.replace('"', "\"\"")))?;
                }
                for t in tables("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")? {
                    conn.execute_batch(&format!("DROP TABLE \"{}\"", t.replace('"', "\"\"")))?;
                }
            }
            conn.execute_batch(&schema("main"))?;
            conn.execute("INSERT INTO index_of (only, store) VALUES (1, ?1)", [id])?;
            conn.pragma_update(None, "user_version", VERSION)?;
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)
    })?;
    Ok(true)
}

/// The store the indexes in a file of layout `version` were made from (`None` for another layout).
fn made_from(conn: &Connection, version: i64) -> rusqlite::Result<Option<String>> {
    if version != VERSION {
        return Ok(None);
    }
    conn.query_row("SELECT store FROM index_of", [], |r| r.get(0)).optional()
}

/// Attaches the indexes to a store connection as [`SCHEMA_NAME`], read-only. When they cannot be
/// believed or read (not kept, missing, not the store owner's, another layout or store, or a
/// reader that cannot open them), empty tables in the connection's own temporary schema stand
/// in: the filters then scan, as they do before the indexer has run. A reader who is not the
/// indexes' owner never makes their `-wal` or `-shm` (they would then be its own, and not
/// believed): without them it reads the file as it stands.
pub(super) fn attach(conn: &Connection, db: &Path) -> rusqlite::Result<()> {
    let path = path_of(db);
    let owner = std::fs::metadata(db).map(|m| m.uid());
    let files = files_of(db);
    let believed = owner.is_ok_and(|owner| files.iter().all(|f| foreign(f, owner).is_none()));
    if not_kept(db).is_none() && believed && path.exists() {
        let me = nix::unistd::geteuid().as_raw();
        let mine = std::fs::metadata(&path).is_ok_and(|m| m.uid() == me);
        let live = files[..2].iter().all(|f| f.exists());
        let uri = if mine || live { super::file_uri(&path, "mode=ro") } else { super::file_uri(&path, "immutable=1") };
        let attached = attach_as(conn, &uri).or_else(|_| {
            // A reader that may not write beside the indexes cannot create their `-shm`; without
            // a `-wal` every committed page is in the file (as for the store, see `super::open`).
            if files[0].exists() {
                Err(())
            } else {
                attach_as(conn, &super::file_uri(&path, "immutable=1"))
            }
        });
        if attached.is_ok() {
            return Ok(());
        }
    }
    tracing::debug!("the indexes at {} are not read (filters scan)", path.display());
    conn.execute_batch(&schema("temp"))
}

/// Attaches `uri` and checks that it is this layout, made from this store; detaches it if not.
fn attach_as(conn: &Connection, uri: &str) -> Result<(), ()> {
    conn.execute("ATTACH DATABASE ?1 AS idx", [uri]).map_err(drop)?;
    let version = conn.query_row("PRAGMA idx.user_version", [], |r| r.get::<_, i64>(0));
    let ours = version.is_ok_and(|v| v == VERSION)
        && conn
            .query_row("SELECT (SELECT store FROM idx.index_of) = (SELECT id FROM main.store_identity)", [], |r| {
                r.get::<_, Option<bool>>(0)
            })
            .is_ok_and(|same| same == Some(true));
    if ours {
        Ok(())
    } else {
        let _ = conn.execute_batch("DETACH DATABASE idx");
        Err(())
    }
}

/// The indexer's connection: the indexes' file as its main schema, written; the store attached
/// read-only as `store`, so that the indexer's transactions take the indexes' lock and never the
/// store's. The store at `db` must have been opened with [`super::open`] read-write once (which
/// prepares the file).
pub fn open_writer(db: &Path) -> rusqlite::Result<Connection> {
    if let Some(why) = not_kept(db) {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(why),
        ));
    }
    let conn = connect(&path_of(db))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    super::register_functions(&conn)?;
    conn.execute("ATTACH DATABASE ?1 AS store", [super::file_uri(db, "mode=ro")])?;
    // Small page caches: the collector runs all day beside the tenants (issue 21, ≤ 50 MB). A
    // chunk reads the store's newest rows once, in order; FTS5 writes its segments whole.
    conn.execute_batch(&format!(
        "PRAGMA main.cache_size = -{INDEX_CACHE_KIB}; PRAGMA store.cache_size = -{STORE_CACHE_KIB}"
    ))?;
    Ok(conn)
}

/// [`open_writer`] for the store `conn` is open on (tests, benchmarks, `indexer::catch_up`).
pub fn open_writer_beside(conn: &Connection) -> rusqlite::Result<Connection> {
    let db = conn.path().filter(|p| !p.is_empty()).ok_or_else(|| rusqlite::Error::InvalidPath(PathBuf::new()))?;
    open_writer(Path::new(db))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::access::{self, AccessEvent};
    use crate::store::{indexer, open, Access};

    fn events(n: usize, ts0: i64) -> Vec<AccessEvent> {
        (0..n)
            .map(|i| AccessEvent {
                ts: ts0 + i as i64 * 1000,
                tenant: "acme".into(),
                src_ip: format!("203.0.113.{}", i % 50),
                method: "GET".into(),
                path: format!("/login/{i}"),
                status: 401,
                user_agent: "curl/8".into(),
                source: "test".into(),
                ..Default::default()
            })
            .collect()
    }

    /// A store in a folder of its own holding `n` events.
    fn store(n: usize) -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let conn = open(&db, Access::ReadWrite).unwrap();
        access::insert_many(&conn, &events(n, 1_760_000_000_000)).unwrap();
        (dir, db, conn)
    }

    /// Removes the indexes' files of the store at `db`, whichever exist.
    fn remove_indexes(db: &Path) {
        for file in files_of(db) {
            let _ = std::fs::remove_file(file);
        }
    }

    /// Rows the address index lists (0 when the indexes are not read).
    fn listed(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM access_ip WHERE access_ip MATCH '\"203.0.113.7\"'", [], |r| r.get(0))
            .unwrap()
    }

    /// The point of the file: while the indexer is inside a transaction (a chunk, or an FTS5 merge
    /// that cannot be cut short), the store's writer commits at once, and readers see both.
    #[test]
    fn an_indexer_in_the_middle_of_a_transaction_never_holds_the_stores_writer() {
        let (_dir, db, conn) = store(3_000);
        let ix = open_writer(&db).unwrap();
        ix.execute_batch("BEGIN IMMEDIATE").unwrap();
        indexer::index_chunk(&ix, 2_000).unwrap();
        conn.busy_timeout(std::time::Duration::ZERO).unwrap();
        crate::store::transaction::immediate(&conn, |c| access::insert_many(c, &events(500, 1_760_100_000_000)))
            .expect("the writer does not wait for the indexer");
        let reader = open(&db, Access::ReadOnly).unwrap();
        assert_eq!(access::last_id(&reader).unwrap(), 3_500);
        assert_eq!(indexer::indexed_through(&reader).unwrap(), 0, "the chunk is not committed yet");
        ix.execute_batch("COMMIT").unwrap();
        assert_eq!(indexer::indexed_through(&reader).unwrap(), 2_000);
        assert_eq!(listed(&reader), 40);
        assert_eq!(indexer::catch_up(&conn).unwrap().through, 3_500);
        assert_eq!(listed(&reader), 70);
    }

    /// Indexes removed while the collector's indexer runs are made anew and filled again from
    /// the events, without a restart.
    #[test]
    fn indexes_removed_under_the_indexer_are_made_anew() {
        let (_dir, db, conn) = store(3_000);
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let task = runtime.spawn(indexer::keep_indexed(db.clone()));
        let caught_up = |want: i64| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                let reader = open(&db, Access::ReadOnly).unwrap();
                if indexer::indexed_through(&reader).unwrap() == want {
                    return reader;
                }
                assert!(std::time::Instant::now() < deadline, "never indexed through {want}");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        };
        caught_up(3_000);
        let before = std::fs::metadata(path_of(&db)).unwrap().ino();
        remove_indexes(&db);
        access::insert_many(&conn, &events(500, 1_760_100_000_000)).unwrap();
        let reader = caught_up(3_500);
        assert_eq!(listed(&reader), 70);
        assert_ne!(std::fs::metadata(path_of(&db)).unwrap().ino(), before, "a new file");
        task.abort();
        let _ = runtime.block_on(task);
    }

    /// A link lying where the indexes belong (it could point at any file, or at indexes made to
    /// hide rows) is refused by a writer, which says why, and ignored by a reader, which scans.
    #[test]
    fn a_link_where_the_indexes_belong_is_refused_and_never_followed() {
        let (dir, db, conn) = store(1_000);
        indexer::catch_up(&conn).unwrap();
        drop(conn);
        let elsewhere = dir.path().join("elsewhere");
        remove_indexes(&db);
        std::fs::write(&elsewhere, b"not for rampart").unwrap();
        std::os::unix::fs::symlink(&elsewhere, path_of(&db)).unwrap();
        let refused = open(&db, Access::ReadWrite).unwrap_err();
        assert!(matches!(refused, StoreError::UntrustedIndex { .. }), "{refused}");
        let said = refused.to_string();
        assert!(said.contains("s.db-index is not a plain file") && said.contains("remove the file"), "{said}");
        let reader = open(&db, Access::ReadOnly).unwrap();
        assert_eq!(indexer::indexed_through(&reader).unwrap(), 0);
        assert_eq!(listed(&reader), 0);
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"not for rampart", "never written through");
        std::fs::remove_file(path_of(&db)).unwrap();
        let conn = open(&db, Access::ReadWrite).unwrap();
        assert_eq!(indexer::catch_up(&conn).unwrap().through, 1_000, "rebuilt once removed");
        assert_eq!(listed(&conn), 20);
    }

    /// Beside a store in a folder others may write, no indexes are made, read or kept: the store
    /// opens, filters scan, and the indexer says why it does not run.
    #[test]
    fn no_indexes_are_kept_in_a_folder_others_may_write() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let db = dir.path().join("s.db");
        let conn = open(&db, Access::ReadWrite).unwrap();
        access::insert_many(&conn, &events(100, 1_760_000_000_000)).unwrap();
        assert!(!path_of(&db).exists());
        let refused = indexer::catch_up(&conn).unwrap_err().to_string();
        assert!(refused.contains("is writable by others (mode 1777)"), "{refused}");
        assert_eq!(indexer::indexed_through(&conn).unwrap(), 0);
        assert_eq!(listed(&conn), 0);
        let reader = open(&db, Access::ReadOnly).unwrap();
        assert_eq!(access::last_id(&reader).unwrap(), 100);
        assert!(!path_of(&db).exists(), "a reader makes none either");
    }

    /// A database of another kind where the indexes belong (a second store named `s.db-index`,
    /// say) is never emptied: the store refuses to open beside it and says why.
    #[test]
    fn another_database_where_the_indexes_belong_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let other = open(&path_of(&db), Access::ReadWrite).unwrap();
        access::insert_many(&other, &events(10, 1_760_000_000_000)).unwrap();
        drop(other);
        for file in &files_of(&db)[..2] {
            let _ = std::fs::remove_file(file);
        }
        let refused = open(&db, Access::ReadWrite).unwrap_err();
        assert!(refused.to_string().contains("s.db-index is a database, but not rampart's indexes"), "{refused}");
        let other = open(&path_of(&db), Access::ReadOnly).unwrap();
        assert_eq!(access::last_id(&other).unwrap(), 10, "untouched");
    }

    /// Indexes that are not a database (damaged, or another program's file) are made anew, with
    /// the store's mode; the store's own rows are untouched.
    #[test]
    fn a_damaged_index_file_is_made_anew_with_the_stores_mode() {
        let (_dir, db, conn) = store(1_000);
        indexer::catch_up(&conn).unwrap();
        drop(conn);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
        remove_indexes(&db);
        std::fs::write(path_of(&db), vec![0x5a; 65536]).unwrap();
        let conn = open(&db, Access::ReadWrite).unwrap();
        assert_eq!(indexer::indexed_through(&conn).unwrap(), 0);
        assert_eq!(std::fs::metadata(path_of(&db)).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(indexer::catch_up(&conn).unwrap().through, 1_000);
        assert_eq!(listed(&conn), 20);
        assert_eq!(access::last_id(&conn).unwrap(), 1_000);
    }
}
