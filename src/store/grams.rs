//! Which bytes and pairs of adjacent bytes the text of a block of access events holds, kept in
//! the zone map (`store::zones`). Text under three characters has no trigram for the text index
//! to look up (`store::search`), but a block whose text lacks one of its byte pairs, or its one
//! byte, cannot hold a match: a search passes over it unread, and text that no event holds is
//! "nothing matches" at once instead of a search through every row.
//!
//! Bytes are folded as `LIKE` and `COLLATE NOCASE` fold them (ASCII letters only) and then into
//! [`CLASSES`] classes, so that a set is 1,164 bytes: printable ASCII keeps a class each, every
//! control byte shares one, and bytes of 0x80 and above share the 26 classes upper-case letters
//! no longer need. A shared class can only make a block look more likely to match, never less.
//! Text is seen as a filter sees it: a NUL byte as `^@` (see `store::VISIBLE_NUL`).

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// The access pane's free-text columns: the text of the trigram index, and the text a block's
/// byte pairs are taken from.
pub const TEXT_COLUMNS: [&str; 4] = ["path", "user_agent", "src_ip", "user"];

const CLASSES: usize = 96;
/// One bit per class (a byte present), then one per ordered pair of classes (two adjacent).
const BITS: usize = CLASSES + CLASSES * CLASSES;
const BYTES: usize = BITS.div_ceil(8);

fn class(byte: u8) -> usize {
    match byte.to_ascii_lowercase() {
        b @ 0x20..=0x7e => usize::from(b - 0x20),
        0x80..=0xff => usize::from(b'A' - 0x20 + byte % 26),
        _ => CLASSES - 1, // control bytes and DEL
    }
}

/// A set of byte classes and adjacent pairs.
#[derive(Clone, PartialEq, Eq)]
pub struct Grams(Box<[u8; BYTES]>);

impl Default for Grams {
    fn default() -> Self {
        Grams(Box::new([0; BYTES]))
    }
}

impl std::fmt::Debug for Grams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.0.iter().map(|b| b.count_ones()).sum::<u32>();
        write!(f, "Grams({set} of {BITS})")
    }
}

impl Grams {
    fn set(&mut self, bit: usize) {
        self.0[bit / 8] |= 1 << (bit % 8);
    }

    /// Adds the bytes of one value, as a filter sees it (each NUL as `^@`).
    pub fn add(&mut self, text: &[u8]) {
        let mut previous = None;
        for &byte in text {
            if byte == 0 {
                self.follow(&mut previous, b'^');
                self.follow(&mut previous, b'@');
            } else {
                self.follow(&mut previous, byte);
            }
        }
    }

    /// Adds `byte`, and the pair it makes with the byte before it in the same value.
    fn follow(&mut self, previous: &mut Option<usize>, byte: u8) {
        let c = class(byte);
        self.set(c);
        if let Some(p) = previous.replace(c) {
            self.set(CLASSES + p * CLASSES + c);
        }
    }

    /// Requires what every value holding `piece` holds; false when that is nothing (an empty
    /// piece, or one with a NUL byte, which a filter cannot hold as typed).
    pub fn require(&mut self, piece: &str) -> bool {
        if piece.is_empty() || piece.contains('\0') {
            return false;
        }
        self.add(piece.as_bytes());
        true
    }

    pub fn to_blob(&self) -> Vec<u8> {
        self.0.to_vec()
    }
}

/// Whether a block's set `held` (NULL: not known) can hold every byte and pair of `wanted`.
fn holds(held: Option<&[u8]>, wanted: &[u8]) -> bool {
    match held {
        Some(held) if held.len() == wanted.len() => held.iter().zip(wanted).all(|(h, w)| w & !h == 0),
        _ => true,
    }
}

fn blob<'a>(ctx: &'a Context<'_>, i: usize) -> Option<&'a [u8]> {
    match ctx.get_raw(i) {
        ValueRef::Blob(b) => Some(b),
        _ => None,
    }
}

struct OfText;

impl Aggregate<Grams, Option<Vec<u8>>> for OfText {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Grams> {
        Ok(Grams::default())
    }

    fn step(&self, ctx: &mut Context<'_>, grams: &mut Grams) -> rusqlite::Result<()> {
        for i in 0..ctx.len() {
            if let ValueRef::Text(b) | ValueRef::Blob(b) = ctx.get_raw(i) {
                grams.add(b);
            }
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, grams: Option<Grams>) -> rusqlite::Result<Option<Vec<u8>>> {
        Ok(grams.map(|g| g.to_blob()))
    }
}

/// Registers the SQL functions over sets: `text_grams(text, …)` (the set of the values of a
/// group of rows, as a BLOB), `grams_or(a, b)` (the union, NULL when either is not known) and
/// `grams_hold(held, wanted)` (1 unless `held` is known and lacks part of `wanted`).
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_aggregate_function("text_grams", -1, flags, OfText)?;
    conn.create_scalar_function("grams_or", 2, flags, |ctx| {
        Ok(match (blob(ctx, 0), blob(ctx, 1)) {
            (Some(a), Some(b)) if a.len() == b.len() => Some(a.iter().zip(b).map(|(a, b)| a | b).collect::<Vec<u8>>()),
            _ => None,
        })
    })?;
    conn.create_scalar_function("grams_hold", 2, flags, |ctx| Ok(holds(blob(ctx, 0), blob(ctx, 1).unwrap_or(&[]))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(texts: &[&[u8]]) -> Grams {
        let mut g = Grams::default();
        texts.iter().for_each(|t| g.add(t));
        g
    }

    fn wants(piece: &str) -> Grams {
        let mut g = Grams::default();
        assert!(g.require(piece));
        g
    }

    #[test]
    fn a_set_holds_every_piece_of_its_text_in_any_ascii_case() {
        let held = of(&[b"/wp-login.php", "Mozilla/5.0 Ärger\0x".as_bytes()]);
        for piece in ["w", "wp", "-L", "PHP", "Är", "r^", "^@", "@x", "/5.0 "] {
            assert!(holds(Some(&held.to_blob()), &wants(piece).to_blob()), "{piece}");
        }
        for piece in ["zq", "q", "pw", "\t", "pl", "xm", "ä"] {
            assert!(!holds(Some(&held.to_blob()), &wants(piece).to_blob()), "{piece}");
        }
    }

    #[test]
    fn pairs_do_not_span_two_values() {
        let held = of(&[b"ab", b"cd"]);
        assert!(!holds(Some(&held.to_blob()), &wants("bc").to_blob()));
    }

    #[test]
    fn an_unknown_set_may_hold_anything() {
        assert!(holds(None, &wants("zq").to_blob()));
        let mut nothing = Grams::default();
        assert!(!nothing.require("") && !nothing.require("a\0"));
    }

    #[test]
    fn sql_functions_build_merge_and_test_sets() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (g INTEGER, path TEXT, user_agent TEXT, src_ip TEXT, user TEXT);
             INSERT INTO t VALUES (1, '/a', 'curl', '203.0.113.7', NULL), (1, '/zq', '', '::1', 'bob'),
                                  (2, '/b', 'wget', '198.51.100.1', NULL);",
        )
        .unwrap();
        let sets: Vec<Vec<u8>> = conn
            .prepare("SELECT text_grams(path, user_agent, src_ip, user) FROM t GROUP BY g ORDER BY g")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let hold = |held: &Vec<u8>, piece: &str| -> bool {
            conn.query_row("SELECT grams_hold(?, ?)", (held, wants(piece).to_blob()), |r| r.get(0)).unwrap()
        };
        assert!(hold(&sets[0], "zq") && hold(&sets[0], "BO") && !hold(&sets[1], "zq"));
        let both: Vec<u8> = conn.query_row("SELECT grams_or(?, ?)", (&sets[0], &sets[1]), |r| r.get(0)).unwrap();
        assert!(hold(&both, "zq") && hold(&both, "wg"));
        let unknown: Option<Vec<u8>> = conn.query_row("SELECT grams_or(NULL, ?)", [&sets[0]], |r| r.get(0)).unwrap();
        assert_eq!(unknown, None);
        assert!(conn
            .query_row("SELECT grams_hold(NULL, ?)", [wants("zq").to_blob()], |r| r.get::<_, bool>(0))
            .unwrap());
    }
}
