//! A request target as the server would see it, for judging: percent-decoded until stable, overlong UTF-8 and `%u` forms read as what they mean, the path's segments resolved.

use std::borrow::Cow;

/// Most rounds of percent-decoding: enough for any real double or triple encoding, and a bound on
/// what a hostile target can cost.
pub const ROUNDS: usize = 4;

/// `text` percent-decoded again and again until it stops changing (at most [`ROUNDS`] times);
/// `+` is a space when `plus_is_space` (a query). `%uXXXX` (IIS) is the character it names, an
/// overlong UTF-8 form (`%c0%ae`) the ASCII character it encodes, a NUL stays a NUL (the judge
/// sees it), bytes that are no UTF-8 become U+FFFD. Borrowed when there was nothing to decode.
pub fn percent(text: &str, plus_is_space: bool) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for _ in 0..ROUNDS {
        let pending = |s: &str| s.bytes().any(|b| b == b'%' || (plus_is_space && b == b'+'));
        if !pending(&out) {
            break;
        }
        let once = decode_once(&out, plus_is_space);
        if once == *out {
            break;
        }
        out = Cow::Owned(once);
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One round of percent-decoding.
fn decode_once(text: &str, plus_is_space: bool) -> String {
    let s = text.as_bytes();
    let mut bytes = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                let two = s.get(i + 1..i + 3).and_then(|h| Some((hex(h[0])? << 4) | hex(h[1])?));
                let wide = s
                    .get(i + 1..i + 6)
                    .filter(|h| h[0].eq_ignore_ascii_case(&b'u'))
                    .and_then(|h| h[1..].iter().try_fold(0u32, |n, c| Some((n << 4) | u32::from(hex(*c)?))))
                    .and_then(char::from_u32);
                if let Some(b) = two {
                    bytes.push(b);
                    i += 3;
                } else if let Some(c) = wide {
                    bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    i += 6;
                } else {
                    bytes.push(b'%');
                    i += 1;
                }
            }
            b'+' if plus_is_space => {
                bytes.push(b' ');
                i += 1;
            }
            b => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(unoverlong(bytes)).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Overlong UTF-8 encodings of ASCII (`C0 AE` for `.`, `E0 80 AF` for `/`) replaced by the byte
/// they encode, as a lenient decoder would read them.
fn unoverlong(bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.iter().any(|b| matches!(b, 0xC0 | 0xC1 | 0xE0)) {
        return bytes;
    }
    let cont = |b: Option<&u8>| b.filter(|b| (0x80..=0xBF).contains(*b)).map(|b| b & 0x3F);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            lead @ (0xC0 | 0xC1) if cont(bytes.get(i + 1)).is_some() => {
                out.push(((lead & 1) << 6) | cont(bytes.get(i + 1)).unwrap_or(0));
                i += 2;
            }
            0xE0 if bytes.get(i + 1).is_some_and(|b| (0x80..=0x81).contains(b)) && cont(bytes.get(i + 2)).is_some() => {
                out.push(((bytes[i + 1] & 1) << 6) | cont(bytes.get(i + 2)).unwrap_or(0));
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A path with its segments resolved: `\` read as `/`, empty and `.` segments dropped, `..`
/// taking back the segment before it; and how many `..` reached above the root (0 for a path
/// that stays inside it). Borrowed when there was nothing to resolve.
pub fn resolve(path: &str) -> (Cow<'_, str>, usize) {
    let b = path.as_bytes();
    let plain =
        !(b.contains(&b'\\') || b.starts_with(b".") || b.windows(2).any(|w| w == b"//" || w == b"/." || w == b".;"));
    if plain {
        return (Cow::Borrowed(path), 0);
    }
    let rooted = path.starts_with(['/', '\\']);
    let mut kept: Vec<&str> = Vec::new();
    let mut above = 0;
    for segment in path.split(['/', '\\']) {
        // A segment's parameters (`..;jsessionid=1`) do not change where it leads.
        match segment.split(';').next().unwrap_or(segment) {
            "" | "." => {}
            ".." => {
                if kept.pop().is_none() {
                    above += 1;
                }
            }
            s => kept.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    if rooted {
        out.push('/');
    }
    out.push_str(&kept.join("/"));
    if path.ends_with(['/', '\\']) && !kept.is_empty() {
        out.push('/');
    }
    (Cow::Owned(out), above)
}

/// `text` as a filter that removes `../` (and `..\\`) in one pass leaves it: what `....//` and
/// `..././` were written to become.
pub fn strip_climbs_once(text: &str) -> String {
    text.replace('\\', "/").replace("../", "")
}

/// A request target split and decoded for judging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// The path, decoded and resolved.
    pub path: Cow<'a, str>,
    /// How many `..` segments of the decoded path reached above the root.
    pub above_root: usize,
    /// As many, once a filter has stripped every `../` from the decoded path in one pass
    /// (`....//` and `..././` become `../`); 0 when the path holds no `..`.
    pub above_root_once_stripped: usize,
    /// The query's parameters' values (a parameter without `=` is its own value), each decoded
    /// with `+` as a space.
    pub values: Vec<Cow<'a, str>>,
    /// Each value's parameter name as it came (empty for a parameter without `=`).
    pub names: Vec<&'a str>,
}

impl<'a> Target<'a> {
    /// `raw` (path and query as the request line had them) decoded.
    pub fn of(raw: &'a str) -> Target<'a> {
        let (path, query) = raw.split_once('?').unwrap_or((raw, ""));
        let decoded = percent(path, false);
        let above_root_once_stripped = if decoded.contains("..") { resolve(&strip_climbs_once(&decoded)).1 } else { 0 };
        let (path, above_root) = match decoded {
            Cow::Borrowed(p) => resolve(p),
            Cow::Owned(p) => {
                let (resolved, above) = resolve(&p);
                (Cow::Owned(resolved.into_owned()), above)
            }
        };
        let (names, values) = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or(("", p)))
            .map(|(name, value)| (name, percent(value, true)))
            .unzip();
        Target { path, above_root, above_root_once_stripped, values, names }
    }

    /// The whole target as decoded, for showing beside the raw one.
    pub fn shown(&self) -> String {
        let mut out = self.path.to_string();
        for (i, (name, value)) in self.names.iter().zip(&self.values).enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            if !name.is_empty() {
                out.push_str(name);
                out.push('=');
            }
            out.push_str(value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_until_stable_within_a_bound() {
        assert_eq!(percent("%252e%252e%252fetc%252fpasswd", false), "../etc/passwd");
        assert_eq!(percent("a+b%2Bc", true), "a b c", "a + that was encoded is a space on the next round");
        assert_eq!(percent("a+b", false), "a+b");
        assert_eq!(percent("100%", false), "100%");
        assert_eq!(percent("%zz%4", false), "%zz%4");
        assert_eq!(percent("%u002e%u002E/", false), "../");
        assert_eq!(percent("%c0%ae%c0%ae%c0%af", false), "../", "overlong forms read as ASCII");
        assert_eq!(percent("%e0%80%ae", false), ".");
        assert_eq!(percent("a%00b", false), "a\0b", "NUL kept for the judge to see");
        assert_eq!(percent("%ff", false), "\u{fffd}");
        // Encoded five times: decoded four times, then judged as it is.
        assert_eq!(percent("%25252525252e", false), "%252e");
        assert!(matches!(percent("/plain/path", false), Cow::Borrowed(_)));
    }

    #[test]
    fn a_filter_that_strips_climbs_once_leaves_them_in_evasive_forms() {
        assert_eq!(strip_climbs_once("....//....//etc/passwd"), "../../etc/passwd");
        assert_eq!(strip_climbs_once("..././..././etc/passwd"), "../../etc/passwd");
        assert_eq!(strip_climbs_once("....\\\\etc"), "../etc");
        assert_eq!(Target::of("/static/....//....//....//etc/passwd").above_root_once_stripped, 2);
        assert_eq!(Target::of("/%2e%2e%2e%2e%2f%2fetc/passwd").above_root_once_stripped, 1);
        assert_eq!(Target::of("/static/....//etc").above_root, 0, "a segment of four dots is a name");
        assert_eq!(Target::of("/docs/a/../b/....ellipsis").above_root_once_stripped, 0);
    }

    #[test]
    fn paths_resolved_and_escapes_counted() {
        assert_eq!(resolve("/a/./b//c/../d"), (Cow::Borrowed("/a/b/d"), 0));
        assert_eq!(resolve("/static/../../../etc/passwd"), (Cow::Borrowed("/etc/passwd"), 2));
        assert_eq!(resolve("..\\..\\windows\\win.ini"), (Cow::Borrowed("windows/win.ini"), 2));
        assert_eq!(resolve("/blog/2026/../2026/post"), (Cow::Borrowed("/blog/2026/post"), 0));
        assert_eq!(resolve("/index.html").1, 0);
        assert_eq!(resolve("/app/..;/..;/etc/passwd"), (Cow::Borrowed("/etc/passwd"), 1));
        assert_eq!(resolve("/shop;jsessionid=1/cart").1, 0);
        assert!(matches!(resolve("/a/b.html").0, Cow::Borrowed(_)));
    }

    #[test]
    fn a_target_split_into_its_decoded_path_and_values() {
        let t = Target::of("/static/%252e%252e%252f%252e%252e%252fetc%252fpasswd?q=select+chairs&x&id=1%27--");
        assert_eq!(t.path, "/etc/passwd");
        assert_eq!(t.above_root, 1);
        assert_eq!(t.above_root_once_stripped, 0);
        assert_eq!(t.values, ["select chairs", "x", "1'--"]);
        assert_eq!(t.shown(), "/etc/passwd?q=select chairs&x&id=1'--");
    }
}
