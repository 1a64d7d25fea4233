//! Access events: one row per HTTP request seen by a tenant's app or proxy (a public contract, see README).

use rusqlite::Connection;

use super::filter::{Field, FieldKind, Fields, KeyBound, Time};

/// Bits of `access_events.flags`.
pub mod flags {
    /// A failed authentication (e.g. 401 on a login path).
    pub const AUTH_FAILURE: i64 = 1;
    /// The request came from one tenant and reached another.
    pub const CROSS_TENANT: i64 = 2;
    /// The path, query or user agent matches a known attack pattern.
    pub const ATTACK: i64 = 4;
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccessEvent {
    pub id: i64,
    pub ts: i64,
    pub tenant: String,
    pub src_ip: String,
    pub user: Option<String>,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub bytes: i64,
    pub user_agent: String,
    pub target_tenant: Option<String>,
    pub flags: i64,
    pub source: String,
    /// The host the event came from, where its source knows it (a CloudWatch stream's name);
    /// written after the row by [`insert_many`], never by the bulk import path.
    pub host: Option<String>,
}

pub const FIELDS: Fields = Fields {
    fields: &[
        Field { name: "ip", column: "src_ip", kind: FieldKind::Ip },
        Field { name: "tenant", column: "tenant", kind: FieldKind::Text },
        Field { name: "user", column: "user", kind: FieldKind::Text },
        Field { name: "method", column: "method", kind: FieldKind::Text },
        Field { name: "path", column: "path", kind: FieldKind::Text },
        Field { name: "status", column: "status", kind: FieldKind::Int },
        Field { name: "bytes", column: "bytes", kind: FieldKind::Int },
        Field { name: "ua", column: "user_agent", kind: FieldKind::Text },
        Field { name: "target", column: "target_tenant", kind: FieldKind::Text },
        Field { name: "source", column: "source", kind: FieldKind::Text },
        Field { name: "host", column: "host", kind: FieldKind::Text },
    ],
    free_text: &["path", "user_agent", "src_ip", "user"],
    time: Some(Time {
        column: "ts",
        key_bound: KeyBound::Expr { since: super::zones::lowest_id_since, until: super::zones::highest_id_before },
    }),
};

/// The long text columns are capped at [`super::TEXT_CAP`] bytes, NULs and all (read them with
/// [`super::text_at`]).
pub const SELECT: &str = "SELECT id, ts, tenant, src_ip, user, method, substr(CAST(path AS BLOB), 1, 65536), status, \
     bytes, substr(CAST(user_agent AS BLOB), 1, 65536), target_tenant, flags, source, host FROM access_events";

pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccessEvent> {
    Ok(AccessEvent {
        id: r.get(0)?,
        ts: r.get(1)?,
        tenant: r.get(2)?,
        src_ip: r.get(3)?,
        user: r.get(4)?,
        method: r.get(5)?,
        path: super::text_at(r, 6)?,
        status: r.get(7)?,
        bytes: r.get(8)?,
        user_agent: super::text_at(r, 9)?,
        target_tenant: r.get(10)?,
        flags: r.get(11)?,
        source: r.get(12)?,
        host: r.get(13)?,
    })
}

impl AccessEvent {
    /// The event as the borrowed row a [`Bulk`] packs.
    pub fn as_row(&self) -> Row<'_> {
        Row {
            ts: self.ts,
            tenant: &self.tenant,
            src_ip: &self.src_ip,
            user: self.user.as_deref(),
            method: &self.method,
            path: &self.path,
            status: self.status,
            bytes: self.bytes,
            user_agent: &self.user_agent,
            target_tenant: self.target_tenant.as_deref(),
            flags: self.flags,
            source: &self.source,
        }
    }
}

impl From<Row<'_>> for AccessEvent {
    fn from(r: Row<'_>) -> Self {
        AccessEvent {
            id: 0,
            ts: r.ts,
            tenant: r.tenant.to_string(),
            src_ip: r.src_ip.to_string(),
            user: r.user.map(str::to_string),
            method: r.method.to_string(),
            path: r.path.to_string(),
            status: r.status,
            bytes: r.bytes,
            user_agent: r.user_agent.to_string(),
            target_tenant: r.target_tenant.map(str::to_string),
            flags: r.flags,
            source: r.source.to_string(),
            host: None,
        }
    }
}

/// One access event borrowed from wherever it was parsed (a log line, an [`AccessEvent`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    pub ts: i64,
    pub tenant: &'a str,
    pub src_ip: &'a str,
    pub user: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: i64,
    pub bytes: i64,
    pub user_agent: &'a str,
    pub target_tenant: Option<&'a str>,
    pub flags: i64,
    pub source: &'a str,
}

/// Access events packed for one bulk insert: their text in one buffer, each row's fields as ranges of
/// it. Packing costs one copy per field and no allocation per row, which is what makes imports fast.
#[derive(Debug, Default)]
pub struct Bulk {
    text: String,
    rows: Vec<Packed>,
}

type Span = std::ops::Range<usize>;

#[derive(Debug)]
struct Packed {
    ts: i64,
    status: i64,
    bytes: i64,
    flags: i64,
    /// tenant, src_ip, method, path, user_agent, source.
    texts: [Span; 6],
    user: Option<Span>,
    target_tenant: Option<Span>,
}

impl Bulk {
    /// An empty batch with room for `rows` rows and `text` bytes of their text, so that filling it
    /// copies each field once rather than again at every doubling of its buffers.
    pub fn with_capacity(rows: usize, text: usize) -> Bulk {
        Bulk { text: String::with_capacity(text), rows: Vec::with_capacity(rows) }
    }

    pub fn push(&mut self, r: &Row<'_>) {
        // The tenant and source of a batch are nearly always those of the row before: their text
        // is then not copied again.
        let (tenant, source) = match self.rows.last() {
            Some(p) => (self.same(&p.texts[0], r.tenant), self.same(&p.texts[5], r.source)),
            None => (None, None),
        };
        let tenant = tenant.unwrap_or_else(|| self.put(r.tenant));
        let (src_ip, method, path, user_agent) =
            (self.put(r.src_ip), self.put(r.method), self.put(r.path), self.put(r.user_agent));
        let source = source.unwrap_or_else(|| self.put(r.source));
        let texts = [tenant, src_ip, method, path, user_agent, source];
        let user = r.user.map(|u| self.put(u));
        let target_tenant = r.target_tenant.map(|t| self.put(t));
        self.rows.push(Packed {
            ts: r.ts,
            status: r.status,
            bytes: r.bytes,
            flags: r.flags,
            texts,
            user,
            target_tenant,
        });
    }

    fn put(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    /// `span` again, when it holds `s`.
    fn same(&self, span: &Span, s: &str) -> Option<Span> {
        (&self.text[span.clone()] == s).then(|| span.clone())
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Empties the batch, keeping its room for the next.
    pub fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Bytes of text held.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The rows as they were pushed, borrowed from the batch's buffer.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        let text = self.text.as_str();
        self.rows.iter().map(move |p| {
            let [tenant, src_ip, method, path, user_agent, source] = p.texts.clone().map(|span| &text[span]);
            Row {
                ts: p.ts,
                tenant,
                src_ip,
                user: p.user.clone().map(|span| &text[span]),
                method,
                path,
                status: p.status,
                bytes: p.bytes,
                user_agent,
                target_tenant: p.target_tenant.clone().map(|span| &text[span]),
                flags: p.flags,
                source,
            }
        })
    }
}

/// Rows per INSERT statement in bulk loads: one statement step for many rows is a third faster.
const ROWS_PER_INSERT: usize = 50;

/// `INSERT` of `rows` rows, each row's 12 parameters in [`COLUMNS`] order.
///
/// `OR FAIL`: a statement that fails part-way keeps the rows before the failure instead of undoing
/// them, which spares SQLite a statement journal (a copy of every page a multi-row insert touches;
/// a quarter of an import with 16 KiB pages). Every caller writes in a transaction that it rolls
/// back whole on an error, so nothing partial is ever committed.
fn insert_sql(rows: usize) -> String {
    let row = format!("({})", vec!["?"; COLUMNS.len()].join(", "));
    format!("INSERT OR FAIL INTO access_events ({}) VALUES {}", COLUMNS.join(", "), vec![row; rows].join(","))
}

/// The columns an insert gives, in the order [`bind`] binds them.
const COLUMNS: [&str; 12] = [
    "ts",
    "tenant",
    "src_ip",
    "user",
    "method",
    "path",
    "status",
    "bytes",
    "user_agent",
    "target_tenant",
    "flags",
    "source",
];

/// The newest event's id (0 when there is none).
pub fn last_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT ifnull(max(id), 0) FROM access_events", [], |r| r.get(0))
}

/// Whether any event lies strictly between ids `after` and `before`.
pub fn any_between(conn: &Connection, after: i64, before: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM access_events WHERE id > ? AND id < ?)")?
        .query_row([after, before], |r| r.get(0))
}

/// How many events have ids after `after` up to and including `through`.
pub fn count_between(conn: &Connection, after: i64, through: i64) -> rusqlite::Result<u64> {
    let n: i64 =
        conn.query_row("SELECT count(*) FROM access_events WHERE id > ? AND id <= ?", [after, through], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

/// Events with ids after `after` up to and including `through`, in id order, at most `limit`,
/// with the columns the detection rules look at, read whatever another program stored in them
/// (the rules must never stop at a row they cannot read): text capped at [`super::TEXT_CAP`]
/// bytes with invalid UTF-8 replaced, numbers written out as text where text is wanted, anything
/// but a number as 0 where a number is.
pub fn for_rules(conn: &Connection, after: i64, through: i64, limit: usize) -> rusqlite::Result<Vec<AccessEvent>> {
    let mut events = Vec::new();
    each_for_rules(conn, after, through, limit, |e| events.push(e))?;
    Ok(events)
}

/// [`for_rules`] one event at a time, none kept: what the collector's rules read a chunk with.
pub fn each_for_rules(
    conn: &Connection,
    after: i64,
    through: i64,
    limit: usize,
    mut each: impl FnMut(AccessEvent),
) -> rusqlite::Result<()> {
    use rusqlite::types::ValueRef;
    fn text(v: ValueRef<'_>) -> String {
        let bytes = match v {
            ValueRef::Text(b) | ValueRef::Blob(b) => b,
            ValueRef::Integer(n) => return n.to_string(),
            ValueRef::Real(x) => return x.to_string(),
            ValueRef::Null => return String::new(),
        };
        String::from_utf8_lossy(&bytes[..bytes.len().min(super::TEXT_CAP)]).into_owned()
    }
    fn optional_text(v: ValueRef<'_>) -> Option<String> {
        (v != ValueRef::Null).then(|| text(v))
    }
    fn number(v: ValueRef<'_>) -> i64 {
        match v {
            ValueRef::Integer(n) => n,
            ValueRef::Real(x) => x as i64,
            _ => 0,
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, ts, tenant, src_ip, user, method, path, status, user_agent, target_tenant, flags \
         FROM access_events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
    )?;
    let mut rows = stmt.query([after, through, limit as i64])?;
    while let Some(r) = rows.next()? {
        each(AccessEvent {
            id: r.get(0)?,
            ts: number(r.get_ref(1)?),
            tenant: text(r.get_ref(2)?),
            src_ip: text(r.get_ref(3)?),
            user: optional_text(r.get_ref(4)?),
            method: text(r.get_ref(5)?),
            path: text(r.get_ref(6)?),
            status: number(r.get_ref(7)?),
            user_agent: text(r.get_ref(8)?),
            target_tenant: optional_text(r.get_ref(9)?),
            flags: number(r.get_ref(10)?),
            ..Default::default()
        });
    }
    Ok(())
}

/// Inserts many events (a slice, or the ones a filter keeps, not copied first).
pub fn insert_many<'a, I>(conn: &Connection, events: I) -> rusqlite::Result<()>
where
    I: IntoIterator<Item = &'a AccessEvent>,
    I::IntoIter: Clone,
{
    let events = events.into_iter();
    let mut bulk = Bulk::default();
    events.clone().for_each(|e| bulk.push(&e.as_row()));
    insert_bulk(conn, &bulk)?;
    if events.clone().any(|e| e.host.is_some()) {
        // In one transaction of the one writer the rows took consecutive ids, the last one being
        // the last inserted; the host is set on those that have one.
        let first = conn.last_insert_rowid() - bulk.len() as i64 + 1;
        let mut set = conn.prepare_cached("UPDATE access_events SET host = ? WHERE id = ?")?;
        for (i, e) in events.enumerate() {
            if let Some(host) = &e.host {
                set.execute(rusqlite::params![host, first + i as i64])?;
            }
        }
    }
    Ok(())
}

/// Inserts one event.
pub fn insert(conn: &Connection, e: &AccessEvent) -> rusqlite::Result<()> {
    insert_many(conn, std::slice::from_ref(e))
}

/// How [`insert_bulk_with`] gives a batch to SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextBinding {
    /// Read by SQLite where it lies in the batch, through the `rampart_bulk` table
    /// ([`register_table`]): nothing is bound or copied row by row. What imports use.
    Table,
    /// Bound row by row to many-row `INSERT`s, each text copied by SQLite (`SQLITE_TRANSIENT`,
    /// rusqlite's ordinary binding): what small batches use, and what `benches/ingest.rs`
    /// compares the table with.
    Copied,
}

pub use self::raw::register_table;

/// Batches smaller than this are bound row by row: preparing the table's insert costs more than
/// binding a few rows to a cached statement.
const TABLE_FROM: usize = 64;

/// Inserts a packed batch (see [`insert_bulk_with`]).
pub fn insert_bulk(conn: &Connection, bulk: &Bulk) -> rusqlite::Result<()> {
    let binding = if bulk.len() >= TABLE_FROM { TextBinding::Table } else { TextBinding::Copied };
    insert_bulk_with(conn, bulk, binding)
}

/// Inserts a packed batch: in one `INSERT … SELECT` from the batch itself, or `ROWS_PER_INSERT`
/// rows to a statement and the rest one by one.
///
/// The table is where rampart talks to SQLite's C interface itself (the `raw` module, the
/// crate's one use of `unsafe`): binding each value of each row, even in place, was a third of
/// the writer's work in an import, and rusqlite copies every bound string besides. The one-row
/// statement stays in rusqlite's cache and copies: a cached statement outlives `bulk`, so it must
/// never hold pointers into it (rusqlite also clears its bindings when it is put back).
pub fn insert_bulk_with(conn: &Connection, bulk: &Bulk, binding: TextBinding) -> rusqlite::Result<()> {
    static ONE_ROW: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert_sql(1));
    if bulk.is_empty() {
        return Ok(());
    }
    if binding == TextBinding::Table {
        let mut stmt = raw::Statement::prepare(conn, &raw::INSERT_FROM_TABLE)?;
        stmt.bulk(1, bulk)?;
        return stmt.run();
    }
    let mut chunks = bulk.rows.chunks_exact(ROWS_PER_INSERT);
    if bulk.len() >= ROWS_PER_INSERT {
        let mut stmt = conn.prepare(&insert_sql(ROWS_PER_INSERT))?;
        for chunk in chunks.by_ref() {
            for (i, row) in chunk.iter().enumerate() {
                bind(&mut stmt, i * COLUMNS.len(), &bulk.text, row)?;
            }
            stmt.raw_execute()?;
        }
    }
    let mut stmt = conn.prepare_cached(&ONE_ROW)?;
    for row in chunks.remainder() {
        bind(&mut stmt, 0, &bulk.text, row)?;
        stmt.raw_execute()?;
    }
    Ok(())
}

/// Binds one packed row's 12 values after the first `before` parameters, in [`COLUMNS`] order.
fn bind(stmt: &mut rusqlite::Statement<'_>, before: usize, text: &str, p: &Packed) -> rusqlite::Result<()> {
    let span = |s: &Span| &text[s.clone()];
    let [tenant, src_ip, method, path, user_agent, source] = &p.texts;
    let texts = [tenant, src_ip, method, path, user_agent, source].map(span);
    stmt.raw_bind_parameter(before + 1, p.ts)?;
    stmt.raw_bind_parameter(before + 2, texts[0])?;
    stmt.raw_bind_parameter(before + 3, texts[1])?;
    stmt.raw_bind_parameter(before + 4, p.user.as_ref().map(span))?;
    stmt.raw_bind_parameter(before + 5, texts[2])?;
    stmt.raw_bind_parameter(before + 6, texts[3])?;
    stmt.raw_bind_parameter(before + 7, p.status)?;
    stmt.raw_bind_parameter(before + 8, p.bytes)?;
    stmt.raw_bind_parameter(before + 9, texts[4])?;
    stmt.raw_bind_parameter(before + 10, p.target_tenant.as_ref().map(span))?;
    stmt.raw_bind_parameter(before + 11, p.flags)?;
    stmt.raw_bind_parameter(before + 12, texts[5])
}

/// An insert that SQLite reads from a batch where it lies: a prepared statement through SQLite's
/// C interface given the batch by pointer, and the `rampart_bulk` virtual table that reads it.
/// The one module of the crate allowed `unsafe` (the crate root denies it everywhere else).
///
/// # Why reading in place is sound
///
/// The batch reaches SQLite as a pointer bound to a parameter (`sqlite3_bind_pointer`, no
/// destructor: SQLite never frees it). SQLite's contract for a bound value held by reference
/// (sqlite3.h, `sqlite3_bind_blob`): it "must remain valid until either the prepared statement is
/// finalized or the same SQL parameter is bound to something else, whichever occurs sooner".
/// `sqlite3_reset` does not end that duty ("Bindings are not cleared by the sqlite3_reset()
/// routine"). The argument therefore does not rest on resets at all:
///
/// - A batch reaches SQLite only through [`Statement::bulk`], which takes it as `&'t Bulk`, so
///   every batch the statement has ever been given is borrowed for all of `'t`, and not mutable
///   meanwhile.
/// - [`Statement`] holds `PhantomData<&'t Bulk>` and implements `Drop`, and its drop is the only
///   place that finalizes it. Drop check therefore requires `'t` to be alive where the statement
///   is dropped: the compiler rejects any program in which a bound batch is freed or changed
///   before `sqlite3_finalize` has run. (`'t` is covariant: a statement may be moved to a shorter
///   `'t`, which only shortens its own life; through `&mut` it cannot, so a batch that lives less
///   than the statement can never be bound to it.)
/// - SQLite reads the pointer only while the statement runs (`sqlite3_step`, here in
///   [`Statement::run`]), where it hands it to the table's `xFilter` (`sqlite3_value_pointer`,
///   which gives it only to a reader naming the same type, [`POINTER`]: no SQL can make one out
///   of a number or a blob). The table's cursor keeps it while the statement runs and reads rows
///   only below the batch's length.
/// - The table gives each text to SQLite as `SQLITE_STATIC`, pointing into the batch: SQLite
///   copies it into the row it writes before the step returns, within `'t`.
/// - The connection handle is valid while the statement lives: `'c` borrows the `Connection`
///   and the same drop check keeps it open until after `sqlite3_finalize`. The raw pointers make
///   the statement neither `Send` nor `Sync`, so it is used on the connection's thread only.
/// - Lengths are passed explicitly (no NUL terminator is read) and an empty text is given a
///   pointer to a static empty string, as rusqlite does, never a dangling one.
#[allow(unsafe_code)]
mod raw {
    use std::ffi::c_int;
    use std::marker::PhantomData;

    use rusqlite::{ffi, Connection};

    /// A statement of `conn` whose bound batch lives for `'t`; finalized on drop.
    pub struct Statement<'t, 'c> {
        db: *mut ffi::sqlite3,
        stmt: *mut ffi::sqlite3_stmt,
        _batch: PhantomData<&'t super::Bulk>,
        _conn: PhantomData<&'c Connection>,
    }

    impl<'t, 'c> Statement<'t, 'c> {
        pub fn prepare(conn: &'c Connection, sql: &str) -> rusqlite::Result<Self> {
            // SAFETY: the handle is valid while `conn` is borrowed, which `'c` ties this statement to.
            let db = unsafe { conn.handle() };
            let mut stmt = std::ptr::null_mut();
            let len = c_int::try_from(sql.len()).map_err(|_| too_big())?;
            // SAFETY: `sql` is valid for `len` bytes (no NUL terminator needed when the length is given).
            let rc = unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr().cast(), len, &mut stmt, std::ptr::null_mut()) };
            let this = Statement { db, stmt, _batch: PhantomData, _conn: PhantomData };
            this.check(rc)?;
            Ok(this)
        }

        /// Steps the statement to its end and resets it. The reset keeps every binding: the batch
        /// stays borrowed until the statement is dropped (see the module's note).
        pub fn run(&self) -> rusqlite::Result<()> {
            // SAFETY: `stmt` is a live prepared statement; every batch bound to it lives for `'t`,
            // which lasts as long as the statement does.
            let rc = unsafe { ffi::sqlite3_step(self.stmt) };
            // The error message is read before the reset, which would repeat the code but not the words.
            let result = if rc == ffi::SQLITE_DONE { Ok(()) } else { self.check(rc) };
            // SAFETY: `stmt` is a live prepared statement.
            unsafe { ffi::sqlite3_reset(self.stmt) };
            result
        }

        fn check(&self, rc: c_int) -> rusqlite::Result<()> {
            if rc == ffi::SQLITE_OK {
                return Ok(());
            }
            // SAFETY: `db` is valid (see `prepare`); the message is copied out at once.
            let message =
                unsafe { std::ffi::CStr::from_ptr(ffi::sqlite3_errmsg(self.db)) }.to_string_lossy().into_owned();
            Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), Some(message)))
        }
    }

    impl Drop for Statement<'_, '_> {
        fn drop(&mut self) {
            // SAFETY: finalizing the statement we prepared, once; a null pointer is a no-op. After
            // this SQLite holds no pointer into any text bound to it.
            unsafe { ffi::sqlite3_finalize(self.stmt) };
        }
    }

    /// Every row of a batch, read by SQLite where it lies (see [`register_table`]).
    pub static INSERT_FROM_TABLE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let columns = super::COLUMNS.join(", ");
        format!("INSERT OR FAIL INTO access_events ({columns}) SELECT {columns} FROM rampart_bulk(?1)")
    });

    /// The name a batch's pointer is bound under: SQLite hands it only to a reader asking for it
    /// by this name, so no SQL can make one from a number or a blob.
    const POINTER: &std::ffi::CStr = c"rampart::store::access::Bulk";

    impl<'t> Statement<'t, '_> {
        /// Binds parameter `n` to `bulk` by pointer, for `rampart_bulk(?n)`: SQLite keeps the
        /// pointer until the parameter is bound again or the statement is finalized, and `'t`
        /// outlives both, as for text (see the module's note).
        pub fn bulk(&mut self, n: c_int, bulk: &'t super::Bulk) -> rusqlite::Result<()> {
            let ptr = std::ptr::from_ref(bulk).cast_mut().cast::<std::ffi::c_void>();
            // SAFETY: `stmt` is live; `ptr` is valid for all of `'t`; no destructor is given, so
            // SQLite never frees it.
            self.check(unsafe { ffi::sqlite3_bind_pointer(self.stmt, n, ptr, POINTER.as_ptr(), None) })
        }
    }

    /// Registers `rampart_bulk(BATCH)` on `conn`: an eponymous virtual table whose rows are those
    /// of the batch bound to its one argument, each value given to SQLite where it lies in the
    /// batch (`SQLITE_STATIC`), so inserting a batch binds nothing row by row.
    pub fn register_table(conn: &Connection) -> rusqlite::Result<()> {
        // SAFETY: the handle is valid while `conn` is borrowed; the module is static.
        let rc = unsafe {
            ffi::sqlite3_create_module_v2(conn.handle(), c"rampart_bulk".as_ptr(), &MODULE, std::ptr::null_mut(), None)
        };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), Some("cannot register rampart_bulk".into())))
        }
    }

    /// The columns of `rampart_bulk`: [`super::COLUMNS`] in their order (`column` answers by
    /// position), then a hidden one, the batch it reads.
    const SCHEMA: &std::ffi::CStr = c"CREATE TABLE x(ts, tenant, src_ip, user, method, path, status, bytes, \
        user_agent, target_tenant, flags, source, batch HIDDEN)";
    const BATCH: c_int = 12;

    static MODULE: ffi::sqlite3_module = ffi::sqlite3_module {
        iVersion: 0,
        xCreate: None,
        xConnect: Some(connect),
        xBestIndex: Some(best_index),
        xDisconnect: Some(disconnect),
        xDestroy: Some(disconnect),
        xOpen: Some(open),
        xClose: Some(close),
        xFilter: Some(filter),
        xNext: Some(next),
        xEof: Some(eof),
        xColumn: Some(column),
        xRowid: Some(rowid),
        // SAFETY: the rest are optional methods, absent (null) when zeroed.
        ..unsafe { std::mem::zeroed() }
    };

    /// A cursor over one batch: SQLite's part first, as it requires.
    #[repr(C)]
    struct Cursor {
        base: ffi::sqlite3_vtab_cursor,
        bulk: *const super::Bulk,
        at: usize,
    }

    unsafe extern "C" fn connect(
        db: *mut ffi::sqlite3,
        _aux: *mut std::ffi::c_void,
        _argc: c_int,
        _argv: *const *const std::ffi::c_char,
        vtab: *mut *mut ffi::sqlite3_vtab,
        _error: *mut *mut std::ffi::c_char,
    ) -> c_int {
        // SAFETY: SQLite passes its live handle and a place for the new table.
        unsafe {
            let rc = ffi::sqlite3_declare_vtab(db, SCHEMA.as_ptr());
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            *vtab = Box::into_raw(Box::new(std::mem::zeroed::<ffi::sqlite3_vtab>()));
        }
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn disconnect(vtab: *mut ffi::sqlite3_vtab) -> c_int {
        // SAFETY: `vtab` was made by `connect` and SQLite lets go of it here, once.
        drop(unsafe { Box::from_raw(vtab) });
        ffi::SQLITE_OK
    }

    /// Only a plan given the batch is usable: the equality on the hidden column, passed to
    /// `filter` as its one argument.
    unsafe extern "C" fn best_index(_vtab: *mut ffi::sqlite3_vtab, info: *mut ffi::sqlite3_index_info) -> c_int {
        // SAFETY: SQLite passes a valid index info whose arrays hold `nConstraint` entries.
        let info = unsafe { &mut *info };
        let n = usize::try_from(info.nConstraint).unwrap_or(0);
        if n == 0 {
            return ffi::SQLITE_CONSTRAINT;
        }
        // SAFETY: as above; both arrays are non-null when `nConstraint` > 0.
        let (constraints, usage) = unsafe {
            (std::slice::from_raw_parts(info.aConstraint, n), std::slice::from_raw_parts_mut(info.aConstraintUsage, n))
        };
        let given = constraints
            .iter()
            .position(|c| c.iColumn == BATCH && c_int::from(c.op) == ffi::SQLITE_INDEX_CONSTRAINT_EQ && c.usable != 0);
        let Some(at) = given else { return ffi::SQLITE_CONSTRAINT };
        usage[at].argvIndex = 1;
        usage[at].omit = 1;
        info.estimatedCost = 1.0;
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn open(_vtab: *mut ffi::sqlite3_vtab, cursor: *mut *mut ffi::sqlite3_vtab_cursor) -> c_int {
        let made = Box::new(Cursor {
            // SAFETY: a plain C struct, which SQLite fills in.
            base: unsafe { std::mem::zeroed() },
            bulk: std::ptr::null(),
            at: 0,
        });
        // SAFETY: SQLite passes a place for the cursor; `base` is the first field of a `repr(C)` struct.
        unsafe { *cursor = Box::into_raw(made).cast::<ffi::sqlite3_vtab_cursor>() };
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn close(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
        // SAFETY: made by `open` as a `Cursor`, let go of here once.
        drop(unsafe { Box::from_raw(cursor.cast::<Cursor>()) });
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn filter(
        cursor: *mut ffi::sqlite3_vtab_cursor,
        _index: c_int,
        _index_text: *const std::ffi::c_char,
        argc: c_int,
        argv: *mut *mut ffi::sqlite3_value,
    ) -> c_int {
        // SAFETY: `cursor` is one of ours; `argv` holds `argc` values. A value that is not a batch
        // bound by `Statement::bulk` gives a null pointer: no rows.
        unsafe {
            let cursor = &mut *cursor.cast::<Cursor>();
            cursor.bulk =
                if argc == 1 { ffi::sqlite3_value_pointer(*argv, POINTER.as_ptr()).cast() } else { std::ptr::null() };
            cursor.at = 0;
        }
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn next(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
        // SAFETY: `cursor` is one of ours.
        unsafe { (*cursor.cast::<Cursor>()).at += 1 };
        ffi::SQLITE_OK
    }

    /// The batch a cursor reads, while the statement that bound it runs.
    ///
    /// SAFETY: the caller holds a cursor of ours; its pointer, when not null, was bound by
    /// `Statement::bulk` for `'t`, which outlasts every step of the statement.
    unsafe fn batch<'a>(cursor: *mut ffi::sqlite3_vtab_cursor) -> (Option<&'a super::Bulk>, usize) {
        // SAFETY: as the function's contract says.
        unsafe {
            let cursor = &*cursor.cast::<Cursor>();
            (cursor.bulk.as_ref(), cursor.at)
        }
    }

    unsafe extern "C" fn eof(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
        // SAFETY: SQLite passes a cursor of ours.
        let (bulk, at) = unsafe { batch(cursor) };
        c_int::from(bulk.is_none_or(|b| at >= b.rows.len()))
    }

    unsafe extern "C" fn rowid(cursor: *mut ffi::sqlite3_vtab_cursor, rowid: *mut ffi::sqlite3_int64) -> c_int {
        // SAFETY: SQLite passes a cursor of ours and a place for the row id.
        unsafe { *rowid = batch(cursor).1 as ffi::sqlite3_int64 };
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn column(
        cursor: *mut ffi::sqlite3_vtab_cursor,
        ctx: *mut ffi::sqlite3_context,
        i: c_int,
    ) -> c_int {
        // SAFETY: SQLite passes a cursor of ours, not at its end, and a live context.
        let (Some(bulk), at) = (unsafe { batch(cursor) }) else { return ffi::SQLITE_ERROR };
        let Some(p) = bulk.rows.get(at) else { return ffi::SQLITE_ERROR };
        let text = |span: Option<&super::Span>| match span.and_then(|s| bulk.text.get(s.clone())) {
            // SAFETY: the text lies in the batch, valid while the statement runs (see `batch`);
            // SQLite copies it into the row it writes before the step returns.
            Some(t) => unsafe {
                match c_int::try_from(t.len()) {
                    Ok(len) => {
                        let ptr = if t.is_empty() { c"".as_ptr() } else { t.as_ptr().cast() };
                        ffi::sqlite3_result_text(ctx, ptr, len, ffi::SQLITE_STATIC());
                    }
                    Err(_) => ffi::sqlite3_result_error_toobig(ctx),
                }
            },
            // SAFETY: a live context.
            None => unsafe { ffi::sqlite3_result_null(ctx) },
        };
        // SAFETY: a live context.
        let int = |v: i64| unsafe { ffi::sqlite3_result_int64(ctx, v) };
        let [tenant, src_ip, method, path, user_agent, source] = &p.texts;
        match i {
            0 => int(p.ts),
            1 => text(Some(tenant)),
            2 => text(Some(src_ip)),
            3 => text(p.user.as_ref()),
            4 => text(Some(method)),
            5 => text(Some(path)),
            6 => int(p.status),
            7 => int(p.bytes),
            8 => text(Some(user_agent)),
            9 => text(p.target_tenant.as_ref()),
            10 => int(p.flags),
            11 => text(Some(source)),
            _ => text(None),
        }
        ffi::SQLITE_OK
    }

    fn too_big() -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_TOOBIG), Some("value too large".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(binding: TextBinding, events: &[AccessEvent]) -> Vec<AccessEvent> {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("a.db"), crate::store::Access::ReadWrite).unwrap();
        let mut bulk = Bulk::default();
        events.iter().for_each(|e| bulk.push(&e.as_row()));
        conn.execute_batch("BEGIN").unwrap();
        insert_bulk_with(&conn, &bulk, binding).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY id")).unwrap();
        let rows = stmt.query_map([], from_row).unwrap().map(Result::unwrap);
        rows.map(|e| AccessEvent { id: 0, ..e }).collect()
    }

    #[test]
    fn text_bound_in_place_and_copied_store_the_same_rows() {
        // Two 50-row statements (the second reuses the first's, reset with its bindings kept),
        // then single rows; empty texts, missing values and a NUL byte among them.
        let events: Vec<AccessEvent> = (0..120)
            .map(|i| AccessEvent {
                ts: i,
                tenant: if i % 7 == 0 { String::new() } else { format!("tenant-{}", i % 3) },
                src_ip: format!("192.0.2.{i}"),
                user: (i % 2 == 0).then(|| format!("user{i}")),
                method: "GET".into(),
                path: if i % 11 == 0 { "/a\0b".into() } else { format!("/page/{i}") },
                status: 200 + i,
                bytes: i * 10,
                user_agent: if i % 5 == 0 { String::new() } else { "curl/8".into() },
                target_tenant: (i % 9 == 0).then(|| "globex".into()),
                flags: i % 4,
                source: "test".into(),
                ..Default::default()
            })
            .collect();
        assert_eq!(stored(TextBinding::Table, &events), events);
        assert_eq!(stored(TextBinding::Copied, &events), events);
    }

    #[test]
    fn a_batch_of_one_tenant_and_source_binds_them_once_and_stores_the_same_rows() {
        let event = |i: i64, tenant: &str, source: &str| AccessEvent {
            ts: i,
            tenant: tenant.into(),
            src_ip: format!("192.0.2.{}", i % 250),
            user: (i % 3 == 0).then(|| format!("user{i}")),
            method: if i % 2 == 0 { "GET".into() } else { "POST".into() },
            path: format!("/page/{i}"),
            status: 200 + i % 300,
            bytes: i * 7,
            user_agent: if i % 5 == 0 { "acme".into() } else { "curl/8".into() },
            target_tenant: (i % 9 == 0).then(|| "globex".into()),
            flags: i % 4,
            source: source.into(),
            ..Default::default()
        };
        // Shared: 160 rows of one tenant and source (three 50-row statements and ten single rows),
        // with user agents and targets that happen to equal the tenant's text.
        let one: Vec<AccessEvent> = (0..160).map(|i| event(i, "acme", "ingest:a.log")).collect();
        let mut bulk = Bulk::default();
        one.iter().for_each(|e| bulk.push(&e.as_row()));
        let each: usize = one
            .iter()
            .map(|e| {
                let r = e.as_row();
                [
                    r.tenant,
                    r.src_ip,
                    r.method,
                    r.path,
                    r.user_agent,
                    r.source,
                    r.user.unwrap_or(""),
                    r.target_tenant.unwrap_or(""),
                ]
                .iter()
                .map(|t| t.len())
                .sum::<usize>()
            })
            .sum();
        assert_eq!(bulk.text_len(), each - 159 * "acmeingest:a.log".len(), "the shared text is held once");
        // Not shared: the same with the tenant or the source changing part-way.
        let tenants: Vec<AccessEvent> =
            (0..160).map(|i| event(i, if i < 120 { "acme" } else { "globex" }, "ingest:a.log")).collect();
        let sources: Vec<AccessEvent> =
            (0..160).map(|i| event(i, "acme", if i == 70 { "other" } else { "ingest:a.log" })).collect();
        for events in [&one, &tenants, &sources] {
            assert_eq!(&stored(TextBinding::Table, events), events);
            assert_eq!(&stored(TextBinding::Copied, events), events);
        }
    }

    #[test]
    fn the_batch_table_reads_only_a_batch_bound_by_pointer() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("a.db"), crate::store::Access::ReadWrite).unwrap();
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
        // A number, a blob or text where the batch goes is no batch: no rows, nothing read.
        for given in ["42", "x'00112233445566778899aabbccddeeff'", "'rampart::store::access::Bulk'", "NULL"] {
            assert_eq!(count(&format!("SELECT count(*) FROM rampart_bulk({given})")).unwrap(), 0, "{given}");
        }
        // Without a batch there is no way to read it at all.
        assert!(count("SELECT count(*) FROM rampart_bulk").is_err());
    }
}
