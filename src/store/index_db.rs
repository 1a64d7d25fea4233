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

/// Why the indexes' files beside `db` are not to be believed: one that is not a plain file (a
/// link could point anywhere) or belongs to a user who is neither the store's owner nor this
/// process's. `None` when every one that exists is theirs.
fn untrusted(db: &Path) -> Option<String> {
    let owner = std::fs::metadata(db).ok()?.uid();
    let me = nix::unistd::geteuid().as_raw();
    files_of(db).into_iter().find_map(|file| {
        let meta = std::fs::symlink_metadata(&file).ok()?;
        if !meta.file_type().is_file() {
            Some(format!("{} is not a plain file", file.display()))
        } else if meta.uid() != owner && meta.uid() != me {
            Some(format!("{} belongs to uid {}, the store to uid {owner}", file.display(), meta.uid()))
        } else {
            None
        }
    })
}

/// Makes the indexes' file ready for the store at `db` (whose connection is `store`, migrated):
/// created with the store's mode when missing, emptied when it holds another layout or another
/// store's indexes, made anew when it is not a database at all. Refuses a file it cannot trust.
pub(super) fn prepare(db: &Path, store: &Connection) -> Result<(), StoreError> {
    let path = path_of(db);
    if let Some(why) = untrusted(db) {
        return Err(StoreError::UntrustedIndex { path, why });
    }
    let id: String =
        store.query_row("SELECT id FROM store_identity", [], |r| r.get(0)).map_err(|e| super::classify(db, e))?;
    let like =
        std::fs::metadata(db).map_err(|e| StoreError::Unreadable { path: db.to_owned(), cause: e.to_string() })?;
    create(&path, &like).map_err(|e| StoreError::Unreadable { path: path.clone(), cause: e.to_string() })?;
    match build(&path, &id) {
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ffi::ErrorCode::NotADatabase | rusqlite::ffi::ErrorCode::DatabaseCorrupt)
            ) =>
        {
            for file in files_of(db) {
                let _ = std::fs::remove_file(file);
            }
            create(&path, &like).map_err(|e| StoreError::Unreadable { path: path.clone(), cause: e.to_string() })?;
            build(&path, &id).map_err(|e| super::classify(&path, e))
        }
        other => other.map_err(|e| super::classify(&path, e)),
    }
}

/// Creates `path` empty unless it exists (never through a link), with the store's mode and, when
/// made by root, its owner and group (as SQLite gives a store's `-wal`), so that the store's owner
/// can write it and believes it.
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
            if nix::unistd::geteuid().is_root() && store.uid() != 0 {
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

/// Brings the file at `path` to this layout, made from the store `id`.
fn build(path: &Path, id: &str) -> rusqlite::Result<()> {
    let conn = connect(path)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let of: Option<String> = if version == VERSION {
        conn.query_row("SELECT store FROM index_of", [], |r| r.get(0)).optional()?
    } else {
        None
    };
    if of.as_deref() == Some(id) {
        return Ok(());
    }
    if version == 0 {
        // As the store's: 16 KiB pages (fewer page splits as FTS5 segments grow).
        conn.pragma_update(None, "page_size", 16384)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    super::transaction::immediate(&conn, |conn| {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != 0 {
            // Another layout or another store's: nothing in it is worth keeping.
            let tables = |sql: &str| -> rusqlite::Result<Vec<String>> {
                conn.prepare(sql)?.query_map([], |r| r.get(0))?.collect()
            };
            for t in tables("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")?
            {
                conn.execute_batch(&format!("DROP TABLE \"{}\"", t.replace('"', "\"\"")))?;
            }
            for t in tables("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")? {
                conn.execute_batch(&format!("DROP TABLE \"{}\"", t.replace('"', "\"\"")))?;
            }
        }
        conn.execute_batch(&schema("main"))?;
        conn.execute("INSERT INTO index_of (only, store) VALUES (1, ?1)", [id])?;
        conn.pragma_update(None, "user_version", VERSION)
    })
}

/// Attaches the indexes to a store connection as [`SCHEMA_NAME`], read-only. When they cannot be
/// believed or read (missing, not the store owner's, another layout or store, or a reader that
/// cannot open them), empty tables in the connection's own temporary schema stand in: the
/// filters then scan, as they do before the indexer has run.
pub(super) fn attach(conn: &Connection, db: &Path) -> rusqlite::Result<()> {
    let path = path_of(db);
    let usable = untrusted(db).is_none() && path.exists();
    if usable {
        let plain = super::file_uri(&path, "mode=ro");
        let attached = attach_as(conn, &plain).or_else(|_| {
            // A reader that may not write beside the indexes cannot create their `-shm`; without
            // a `-wal` every committed page is in the file (as for the store, see `super::open`).
            if super::beside(&path, "-wal").exists() {
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

    /// Rows the address index lists (0 when the indexes are not read).
    fn listed(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM access_ip WHERE access_ip MATCH '\"203.0.113.7\"'", [], |r| r.get(0))
            .unwrap()
    }

    /// The point of the file: while the indexer is inside a transaction (a chunk, or an FTS5 merge
    /// that cannot be cut short), the store's writer commits at once, and readers see both.
    #[test]
    fn an_indexer_in_the_middle_of_a_transaction_never_holds_the_stores_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let conn = open(&db, Access::ReadWrite).unwrap();
        access::insert_many(&conn, &events(3_000, 1_760_000_000_000)).unwrap();
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

    /// A link lying where the indexes belong (it could point at any file, or at indexes made to
    /// hide rows) is refused by a writer, which says why, and ignored by a reader, which scans.
    #[test]
    fn a_link_where_the_indexes_belong_is_refused_and_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let conn = open(&db, Access::ReadWrite).unwrap();
        access::insert_many(&conn, &events(1_000, 1_760_000_000_000)).unwrap();
        indexer::catch_up(&conn).unwrap();
        drop(conn);
        let elsewhere = dir.path().join("elsewhere");
        for file in files_of(&db) {
            let _ = std::fs::remove_file(&file);
        }
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

    /// Indexes that are not a database (damaged, or another program's file) are made anew, with
    /// the store's mode; the store's own rows are untouched.
    #[test]
    fn a_damaged_index_file_is_made_anew_with_the_stores_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let conn = open(&db, Access::ReadWrite).unwrap();
        access::insert_many(&conn, &events(1_000, 1_760_000_000_000)).unwrap();
        indexer::catch_up(&conn).unwrap();
        drop(conn);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
        for file in files_of(&db) {
            let _ = std::fs::remove_file(&file);
        }
        std::fs::write(path_of(&db), vec![0x5a; 65536]).unwrap();
        let conn = open(&db, Access::ReadWrite).unwrap();
        assert_eq!(indexer::indexed_through(&conn).unwrap(), 0);
        assert_eq!(std::fs::metadata(path_of(&db)).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(indexer::catch_up(&conn).unwrap().through, 1_000);
        assert_eq!(listed(&conn), 20);
        assert_eq!(access::last_id(&conn).unwrap(), 1_000);
    }
}
