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
        // is then not copied again, and the same spans tell [`insert_bulk_with`] that the whole
        // batch shares them.
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

    /// The tenant and source spans every row shares, if they do.
    fn shared(&self) -> Option<[Span; 2]> {
        let first = self.rows.first()?;
        let shared = [first.texts[0].clone(), first.texts[5].clone()];
        self.rows.iter().all(|p| p.texts[0] == shared[0] && p.texts[5] == shared[1]).then_some(shared)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
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

/// `INSERT` of `rows` rows, their parameters numbered as `layout` says (the order [`bind`] gives them).
///
/// `OR FAIL`: a statement that fails part-way keeps the rows before the failure instead of undoing
/// them, which spares SQLite a statement journal (a copy of every page a multi-row insert touches;
/// a quarter of an import with 16 KiB pages). Every caller writes in a transaction that it rolls
/// back whole on an error, so nothing partial is ever committed.
fn insert_sql(rows: usize, layout: Layout) -> String {
    let (before, per_row) = layout.sizes();
    let named = |column: &usize| layout.names(*column);
    let values: Vec<String> = (0..rows)
        .map(|i| {
            let numbers = layout.numbers(before + i * per_row);
            let numbers: Vec<String> = (0..COLUMNS.len()).filter(named).map(|c| format!("?{}", numbers[c])).collect();
            format!("({})", numbers.join(", "))
        })
        .collect();
    let columns: Vec<&str> = (0..COLUMNS.len()).filter(named).map(|c| COLUMNS[c]).collect();
    format!("INSERT OR FAIL INTO access_events ({}) VALUES {}", columns.join(", "), values.join(","))
}

/// The columns an insert gives, in the order of [`Layout::numbers`].
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
/// The column of [`COLUMNS`] that [`Layout::Plain`] leaves to its default.
const TARGET_TENANT: usize = 9;

/// How a statement numbers the values of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Each row has its own 12 parameters, in column order.
    Own,
    /// Every row's tenant and source are `?1` and `?2`, bound once for the whole batch (a batch
    /// of one import shares them); each row's other ten follow, in column order.
    Shared,
    /// As `Shared`, and no row names a target tenant (an import's batch always): the statement
    /// leaves that column NULL, sparing each row a bind and its copies (5% of the writer's work).
    Plain,
}

impl Layout {
    fn of(bulk: &Bulk) -> Layout {
        match bulk.shared() {
            None => Layout::Own,
            Some(_) if bulk.rows.iter().all(|p| p.target_tenant.is_none()) => Layout::Plain,
            Some(_) => Layout::Shared,
        }
    }

    /// Parameters before the first row's, and each row's.
    fn sizes(self) -> (usize, usize) {
        match self {
            Layout::Own => (0, 12),
            Layout::Shared => (2, 10),
            Layout::Plain => (2, 9),
        }
    }

    /// Whether the statement names `column` of [`COLUMNS`] (the others take their defaults).
    fn names(self, column: usize) -> bool {
        self != Layout::Plain || column != TARGET_TENANT
    }

    /// The parameter of each of a row's 12 columns (in the insert's column order) when its own
    /// parameters follow the first `before`; 0 for a column the statement does not name.
    fn numbers(self, before: usize) -> [usize; 12] {
        let mut next = before;
        // `from_fn` visits the columns in order.
        std::array::from_fn(|column| match (self, column) {
            (Layout::Shared | Layout::Plain, 1) => 1,
            (Layout::Shared | Layout::Plain, 11) => 2,
            _ if !self.names(column) => 0,
            _ => {
                next += 1;
                next
            }
        })
    }
}

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
    let rows = stmt.query_map([after, through, limit as i64], |r| {
        Ok(AccessEvent {
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
        })
    })?;
    rows.collect()
}

/// Inserts many events.
pub fn insert_many(conn: &Connection, events: &[AccessEvent]) -> rusqlite::Result<()> {
    let mut bulk = Bulk::default();
    events.iter().for_each(|e| bulk.push(&e.as_row()));
    insert_bulk(conn, &bulk)?;
    if events.iter().any(|e| e.host.is_some()) {
        // In one transaction of the one writer the rows took consecutive ids, the last one being
        // the last inserted; the host is set on those that have one.
        let first = conn.last_insert_rowid() - events.len() as i64 + 1;
        let mut set = conn.prepare_cached("UPDATE access_events SET host = ? WHERE id = ?")?;
        for (i, e) in events.iter().enumerate() {
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

/// How [`insert_bulk_with`] hands a batch's text to SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextBinding {
    /// Pointers into the batch's own buffer (`SQLITE_STATIC`), never copied: what imports use.
    InPlace,
    /// Copied by SQLite at every bind (`SQLITE_TRANSIENT`, rusqlite's ordinary binding): kept so
    /// that `benches/ingest.rs` can show what binding in place buys.
    Copied,
}

/// Inserts a packed batch, its text bound in place (see [`insert_bulk_with`]).
pub fn insert_bulk(conn: &Connection, bulk: &Bulk) -> rusqlite::Result<()> {
    insert_bulk_with(conn, bulk, TextBinding::InPlace)
}

/// Inserts a packed batch: `ROWS_PER_INSERT` rows to a statement, the rest one by one.
///
/// The many-row statements are where rampart talks to SQLite's C interface itself (the `raw`
/// module, the crate's one use of `unsafe`): rusqlite copies every bound string
/// (`SQLITE_TRANSIENT`), which was a quarter of an import's time; with [`TextBinding::InPlace`]
/// the text is bound where it lies in `bulk` (`SQLITE_STATIC`). The one-row statement for the
/// remainder stays in rusqlite's cache and always copies: a cached statement outlives `bulk`, so
/// it must never hold pointers into it (rusqlite also clears its bindings when it is put back).
pub fn insert_bulk_with(conn: &Connection, bulk: &Bulk, binding: TextBinding) -> rusqlite::Result<()> {
    static ONE_ROW: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert_sql(1, Layout::Own));
    let mut chunks = bulk.rows.chunks_exact(ROWS_PER_INSERT);
    if bulk.len() >= ROWS_PER_INSERT {
        let shared = bulk.shared();
        let layout = Layout::of(bulk);
        let sql = insert_sql(ROWS_PER_INSERT, layout);
        let (before, per_row) = layout.sizes();
        let text = bulk.text.as_str();
        match binding {
            TextBinding::InPlace => {
                let mut stmt = raw::Statement::prepare(conn, &sql)?;
                bind_shared(&mut stmt, text, shared.as_ref())?;
                for chunk in chunks.by_ref() {
                    for (i, row) in chunk.iter().enumerate() {
                        bind(&mut stmt, before + i * per_row, text, row, layout)?;
                    }
                    stmt.run()?;
                }
            }
            TextBinding::Copied => {
                let mut stmt = conn.prepare(&sql)?;
                bind_shared(&mut stmt, text, shared.as_ref())?;
                for chunk in chunks.by_ref() {
                    for (i, row) in chunk.iter().enumerate() {
                        bind(&mut stmt, before + i * per_row, text, row, layout)?;
                    }
                    stmt.raw_execute()?;
                }
            }
        }
    }
    if !chunks.remainder().is_empty() {
        let mut stmt = conn.prepare_cached(&ONE_ROW)?;
        for row in chunks.remainder() {
            bind(&mut *stmt, 0, &bulk.text, row, Layout::Own)?;
            stmt.raw_execute()?;
        }
    }
    Ok(())
}

/// What [`bind`] needs of a statement: both kinds bind the same rows the same way.
trait Binder<'t> {
    fn int(&mut self, n: usize, v: i64) -> rusqlite::Result<()>;
    fn text(&mut self, n: usize, v: Option<&'t str>) -> rusqlite::Result<()>;
}

/// rusqlite's own binding: SQLite copies the text (`SQLITE_TRANSIENT`).
impl<'t> Binder<'t> for rusqlite::Statement<'_> {
    fn int(&mut self, n: usize, v: i64) -> rusqlite::Result<()> {
        self.raw_bind_parameter(n, v)
    }

    fn text(&mut self, n: usize, v: Option<&'t str>) -> rusqlite::Result<()> {
        self.raw_bind_parameter(n, v)
    }
}

/// Binds the tenant and source a [`Layout::Shared`] or [`Layout::Plain`] statement's rows share, once: bindings
/// outlive the resets between its runs.
fn bind_shared<'t>(stmt: &mut impl Binder<'t>, text: &'t str, shared: Option<&[Span; 2]>) -> rusqlite::Result<()> {
    if let Some([tenant, source]) = shared {
        stmt.text(1, Some(&text[tenant.clone()]))?;
        stmt.text(2, Some(&text[source.clone()]))?;
    }
    Ok(())
}

/// Binds one packed row's values after the first `before` parameters: all 12, or with
/// [`Layout::Shared`] all but the tenant and source, with [`Layout::Plain`] also not the target
/// tenant.
fn bind<'t>(
    stmt: &mut impl Binder<'t>,
    before: usize,
    text: &'t str,
    p: &Packed,
    layout: Layout,
) -> rusqlite::Result<()> {
    let span = |s: &Span| &text[s.clone()];
    let [tenant, src_ip, method, path, user_agent, source] = &p.texts;
    let at = layout.numbers(before);
    let own = layout == Layout::Own;
    stmt.int(at[0], p.ts)?;
    if own {
        stmt.text(at[1], Some(span(tenant)))?;
    }
    stmt.text(at[2], Some(span(src_ip)))?;
    stmt.text(at[3], p.user.as_ref().map(span))?;
    stmt.text(at[4], Some(span(method)))?;
    stmt.text(at[5], Some(span(path)))?;
    stmt.int(at[6], p.status)?;
    stmt.int(at[7], p.bytes)?;
    stmt.text(at[8], Some(span(user_agent)))?;
    if layout.names(TARGET_TENANT) {
        stmt.text(at[TARGET_TENANT], p.target_tenant.as_ref().map(span))?;
    }
    stmt.int(at[10], p.flags)?;
    if own {
        stmt.text(at[11], Some(span(source)))?;
    }
    Ok(())
}

/// A prepared statement through SQLite's C interface, binding text without copying it: the one
/// module of the crate allowed `unsafe` (the crate root denies it everywhere else).
///
/// # Why binding in place is sound
///
/// SQLite's contract for text bound with `SQLITE_STATIC` (sqlite3.h, `sqlite3_bind_blob`): "the
/// object and the provided pointer to it must remain valid until either the prepared statement is
/// finalized or the same SQL parameter is bound to something else, whichever occurs sooner".
/// `sqlite3_reset` does not end that duty: "Bindings are not cleared by the sqlite3_reset()
/// routine", so a statement that was reset still points at the text it was given, and would read
/// it again if stepped; only a new bind of that parameter, `sqlite3_clear_bindings` or
/// `sqlite3_finalize` lets go of it. The argument therefore does not rest on resets at all:
///
/// - Text reaches SQLite only through [`Statement::text`], which takes it as `&'t str`, so every
///   text the statement has ever been given is borrowed for all of `'t`, and not mutable
///   meanwhile.
/// - [`Statement`] holds `PhantomData<&'t str>` and implements `Drop`, and its drop is the only
///   place that finalizes it. Drop check therefore requires `'t` to be alive where the statement
///   is dropped: the compiler rejects any program in which a bound text is freed or changed before
///   `sqlite3_finalize` has run, whichever binding was the last one and however often the statement
///   was reset and stepped in between. (`'t` is covariant: a statement may be moved to a shorter
///   `'t`, which only shortens its own life; through `&mut` it cannot, so text that lives less
///   than the statement can never be bound to it.)
/// - SQLite reads a binding only while the statement runs (`sqlite3_step`, here in
///   [`Statement::run`]), always on a live statement, so within `'t`. A statement leaked with
///   `mem::forget` is never finalized, but nothing can step it again either.
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

    /// A statement of `conn` whose bound text lives for `'t`; finalized on drop.
    pub struct Statement<'t, 'c> {
        db: *mut ffi::sqlite3,
        stmt: *mut ffi::sqlite3_stmt,
        _text: PhantomData<&'t str>,
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
            let this = Statement { db, stmt, _text: PhantomData, _conn: PhantomData };
            this.check(rc)?;
            Ok(this)
        }

        /// Steps the statement to its end and resets it for the next rows. The reset keeps every
        /// binding: the text stays borrowed until the statement is dropped (see the module's note).
        pub fn run(&self) -> rusqlite::Result<()> {
            // SAFETY: `stmt` is a live prepared statement; every text bound to it lives for `'t`,
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

    impl<'t> super::Binder<'t> for Statement<'t, '_> {
        fn int(&mut self, n: usize, v: i64) -> rusqlite::Result<()> {
            let n = c_int::try_from(n).map_err(|_| too_big())?;
            // SAFETY: `stmt` is a live prepared statement.
            self.check(unsafe { ffi::sqlite3_bind_int64(self.stmt, n, v) })
        }

        /// Binds text in place (`SQLITE_STATIC`): SQLite keeps the pointer until the parameter is
        /// bound again or the statement is finalized, and `'t` outlives both (see the module's note).
        fn text(&mut self, n: usize, v: Option<&'t str>) -> rusqlite::Result<()> {
            let n = c_int::try_from(n).map_err(|_| too_big())?;
            let rc = match v {
                Some(v) => {
                    let len = c_int::try_from(v.len()).map_err(|_| too_big())?;
                    let ptr = if v.is_empty() { c"".as_ptr() } else { v.as_ptr().cast() };
                    // SAFETY: `stmt` is live; `ptr` is valid for `len` bytes for all of `'t`,
                    // which lasts until this statement is finalized (see the module's note).
                    unsafe { ffi::sqlite3_bind_text(self.stmt, n, ptr, len, ffi::SQLITE_STATIC()) }
                }
                // SAFETY: `stmt` is a live prepared statement.
                None => unsafe { ffi::sqlite3_bind_null(self.stmt, n) },
            };
            self.check(rc)
        }
    }

    impl Drop for Statement<'_, '_> {
        fn drop(&mut self) {
            // SAFETY: finalizing the statement we prepared, once; a null pointer is a no-op. After
            // this SQLite holds no pointer into any text bound to it.
            unsafe { ffi::sqlite3_finalize(self.stmt) };
        }
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
        assert_eq!(stored(TextBinding::InPlace, &events), events);
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
        assert!(bulk.shared().is_some());
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
            assert_eq!(&stored(TextBinding::InPlace, events), events);
            assert_eq!(&stored(TextBinding::Copied, events), events);
        }
        let mut mixed = Bulk::default();
        sources.iter().for_each(|e| mixed.push(&e.as_row()));
        assert!(mixed.shared().is_none());
    }

    #[test]
    fn a_batch_without_targets_leaves_them_null_and_stores_the_same_rows() {
        let event = |i: i64| AccessEvent {
            ts: i,
            tenant: "acme".into(),
            src_ip: format!("192.0.2.{}", i % 250),
            user: (i % 3 == 0).then(|| format!("user{i}")),
            method: "GET".into(),
            path: format!("/page/{i}"),
            status: 200 + i % 300,
            bytes: i * 7,
            user_agent: "curl/8".into(),
            source: "ingest:a.log".into(),
            ..Default::default()
        };
        let plain: Vec<AccessEvent> = (0..130).map(event).collect();
        let layout = |events: &[AccessEvent]| {
            let mut bulk = Bulk::default();
            events.iter().for_each(|e| bulk.push(&e.as_row()));
            Layout::of(&bulk)
        };
        assert_eq!(layout(&plain), Layout::Plain);
        let sql = insert_sql(2, Layout::Plain);
        assert!(!sql.contains("target_tenant"), "{sql}");
        assert!(
            sql.ends_with(
                "VALUES (?3, ?1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?2),(?12, ?1, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?2)"
            ),
            "{sql}"
        );
        // One row naming a target, and the batch gives the column again; flags are given either way.
        let mut flagged = plain.clone();
        flagged[77].flags = flags::CROSS_TENANT;
        assert_eq!(layout(&flagged), Layout::Plain);
        let mut targeted = plain.clone();
        targeted[3].target_tenant = Some("globex".into());
        for events in [&plain, &flagged, &targeted] {
            if events == &targeted {
                assert_eq!(layout(events), Layout::Shared);
            }
            assert_eq!(&stored(TextBinding::InPlace, events), events);
            assert_eq!(&stored(TextBinding::Copied, events), events);
        }
    }
}
