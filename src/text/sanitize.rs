//! Makes text that came from outside safe to put on a terminal: no escapes, controls or bidi tricks.

use std::borrow::Cow;

/// Bidirectional formatting characters that can make text read differently than it is stored.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that draw as nothing (zero-width spaces and joiners, invisible operators, fillers,
/// variation selectors, tags, soft hyphens) or break the line: shown, `sql\u{200B}map` would
/// read as `sqlmap`.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2060}'..='\u{2065}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Whether a terminal could act on `c` or show it as something else: a control (C0, DEL, C1), a
/// bidi override, an invisible character. [`clean`] names each; JSON output escapes each.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_invisible(c)
}

/// Returns `s` with every control character made visible and inert.
///
/// C0 controls and DEL use caret notation (`ESC` becomes `^[`, NUL `^@`, as `cat -v` shows them);
/// C1 controls, bidi overrides and invisible characters (`U+200B` and the like) become `<U+XXXX>`. At most `max_chars` characters of `s` are looked at, so a
/// megabyte-long user agent costs no more to draw than the part that fits on screen.
pub fn clean(s: &str, max_chars: usize) -> Cow<'_, str> {
    let mut end = s.len();
    let mut dirty = false;
    for (n, (i, c)) in s.char_indices().enumerate() {
        if n == max_chars {
            end = i;
            break;
        }
        dirty |= needs_escape(c);
    }
    if !dirty {
        return Cow::Borrowed(&s[..end]);
    }
    let mut out = String::with_capacity(end + 8);
    for c in s[..end].chars() {
        match c {
            '\u{0}'..='\u{1F}' => {
                out.push('^');
                out.push((c as u8 + b'@') as char);
            }
            '\u{7F}' => out.push_str("^?"),
            c if needs_escape(c) => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`clean`] with no length limit, for text already bounded by the store.
pub fn clean_all(s: &str) -> Cow<'_, str> {
    clean(s, usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_untouched() {
        assert!(matches!(clean("GET /index.html", 100), Cow::Borrowed("GET /index.html")));
    }

    #[test]
    fn escapes_become_caret_notation() {
        assert_eq!(clean("a\x1b[2Jb", 100), "a^[[2Jb");
        assert_eq!(clean("bell\x07", 100), "bell^G");
        assert_eq!(clean("del\x7f", 100), "del^?");
    }

    #[test]
    fn c1_and_bidi_are_named() {
        assert_eq!(clean("x\u{9b}31m", 100), "x<U+009B>31m");
        assert_eq!(clean("evil\u{202E}txt.exe", 100), "evil<U+202E>txt.exe");
    }

    #[test]
    fn invisible_characters_are_named() {
        assert_eq!(clean("sql\u{200B}map", 100), "sql<U+200B>map");
        assert_eq!(clean("sql\u{200D}map\u{FEFF}", 100), "sql<U+200D>map<U+FEFF>");
        assert_eq!(clean("ad\u{00AD}min\u{2060}", 100), "ad<U+00AD>min<U+2060>");
        assert_eq!(clean("tag\u{E0041}", 100), "tag<U+E0041>");
    }

    #[test]
    fn stops_after_max_chars() {
        let long = "é".repeat(1_000_000);
        assert_eq!(clean(&long, 3), "ééé");
        assert_eq!(clean("ab\x1bcd", 3), "ab^[");
    }
}
