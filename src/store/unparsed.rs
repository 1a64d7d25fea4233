//! Lines a source could not parse, kept for inspection (the newest [`KEEP`] per source, each cut
//! to [`LINE_CAP`] bytes), written in the same transaction as the rows they came with.

use rusqlite::{params, Connection};

/// Lines kept per source; older ones are deleted as newer ones arrive.
pub const KEEP: i64 = 1_000;
/// Bytes of a line kept (a line cut here ends in `…`).
pub const LINE_CAP: usize = 2_048;
/// Bytes of the reason kept.
const REASON_CAP: usize = 300;

/// One line that was not a row, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// When the line was read, or the event's own time when the source has one (ms).
    pub ts: i64,
    pub reason: String,
    pub line: String,
}

impl Line {
    /// A line with its text and reason cut to what is kept.
    pub fn new(ts: i64, reason: &str, line: &str) -> Line {
        Line { ts, reason: cut(reason, REASON_CAP), line: cut(line, LINE_CAP) }
    }
}

/// `text` cut at a character boundary to at most `cap` bytes, marked with `…` when cut.
fn cut(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_string();
    }
    let mut end = cap.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Keeps `lines` of `source` and forgets its lines beyond the newest [`KEEP`], in the caller's
/// transaction.
pub fn keep(conn: &Connection, source: &str, lines: &[Line]) -> rusqlite::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut insert =
        conn.prepare_cached("INSERT INTO unparsed_lines (source, ts, reason, line) VALUES (?, ?, ?, ?)")?;
    // Only the newest KEEP of a large batch are worth writing.
    let skip = lines.len().saturating_sub(KEEP as usize);
    for l in &lines[skip..] {
        insert.execute(params![source, l.ts, l.reason, l.line])?;
    }
    conn.prepare_cached(
        "DELETE FROM unparsed_lines WHERE source = ?1 AND id <= \
         (SELECT id FROM unparsed_lines WHERE source = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?
    .execute(params![source, KEEP])?;
    Ok(())
}

/// The kept lines of `source`, newest first.
pub fn of(conn: &Connection, source: &str) -> rusqlite::Result<Vec<Line>> {
    let mut stmt =
        conn.prepare_cached("SELECT ts, reason, line FROM unparsed_lines WHERE source = ? ORDER BY id DESC LIMIT ?")?;
    let rows = stmt.query_map(params![source, KEEP], |r| {
        Ok(Line { ts: r.get(0)?, reason: super::text_at(r, 1)?, line: super::text_at(r, 2)? })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_lines_are_kept_each_cut_to_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("u.db"), crate::store::Access::ReadWrite).unwrap();
        let batch =
            |from: i64, n: i64| (from..from + n).map(|i| Line::new(i, "bad", &format!("line {i}"))).collect::<Vec<_>>();
        keep(&conn, "a", &batch(0, 700)).unwrap();
        keep(&conn, "a", &batch(700, 700)).unwrap();
        keep(&conn, "b", &batch(0, 3)).unwrap();
        let a = of(&conn, "a").unwrap();
        assert_eq!(a.len(), KEEP as usize);
        assert_eq!((a[0].line.as_str(), a[999].line.as_str()), ("line 1399", "line 400"));
        assert_eq!(of(&conn, "b").unwrap().len(), 3, "each source keeps its own");
        let long = Line::new(0, "r", &"é".repeat(LINE_CAP));
        assert!(long.line.len() <= LINE_CAP && long.line.ends_with('…'), "{}", long.line.len());
    }
}
