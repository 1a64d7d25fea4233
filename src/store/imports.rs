//! Files imported with `rampart ingest`, by fingerprint, so that importing the same file twice is
//! recognised instead of storing its lines twice.

use rusqlite::{params, Connection, OptionalExtension};

/// What was imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Access,
    Falco,
}

impl ImportKind {
    fn name(self) -> &'static str {
        match self {
            ImportKind::Access => "access",
            ImportKind::Falco => "falco",
        }
    }
}

/// One import of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub kind: ImportKind,
    /// The file's fingerprint (`ingest::fingerprint::of`).
    pub fingerprint: String,
    /// Where the file was when it was imported.
    pub path: String,
    pub lines: i64,
    pub stored: i64,
    pub imported_at: i64,
    pub imported_by: String,
}

/// The latest import of a file with this fingerprint, if any.
pub fn find(conn: &Connection, kind: ImportKind, fingerprint: &str) -> rusqlite::Result<Option<Import>> {
    conn.query_row(
        "SELECT path, lines, stored, imported_at, imported_by FROM imports WHERE kind = ? AND fingerprint = ? \
         ORDER BY id DESC LIMIT 1",
        params![kind.name(), fingerprint],
        |r| {
            Ok(Import {
                kind,
                fingerprint: fingerprint.to_string(),
                path: r.get(0)?,
                lines: r.get(1)?,
                stored: r.get(2)?,
                imported_at: r.get(3)?,
                imported_by: r.get(4)?,
            })
        },
    )
    .optional()
}

pub fn record(conn: &Connection, i: &Import) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO imports (kind, fingerprint, path, lines, stored, imported_at, imported_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![i.kind.name(), i.fingerprint, i.path, i.lines, i.stored, i.imported_at, i.imported_by],
    )?;
    Ok(())
}
