//! The nginx/Apache "combined" access-log format, parsed by hand (no regex, no per-line date
//! parser): `host ident user [time] "request" status bytes "referer" "user-agent"`.

use std::borrow::Cow;

use crate::store::access::{flags, AccessEvent, Row};

/// Why a line is not an access event; counted, never silently dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unparsed {
    #[error("not in the combined format (host ident user [time] \"request\" status bytes \"referer\" \"user agent\")")]
    Fields,
    #[error("the client address is not an IP address")]
    Address,
    #[error("the time is not written as 26/Nov/2026:10:59:03 +0000")]
    Time,
    #[error("no status code (a number from 100 to 599 after the request)")]
    Status,
}

/// Where `byte` first is in `text`, by a plain loop: the fields before the request are a few
/// bytes long, too short for a vectorised search to pay for its start (it was a fifth of parsing).
fn find_near(text: &str, byte: u8) -> Option<usize> {
    text.bytes().position(|b| b == byte)
}

/// A cursor over one line.
struct Line<'a> {
    rest: &'a str,
}

impl<'a> Line<'a> {
    fn skip_spaces(&mut self) {
        let spaces = self.rest.bytes().take_while(|&b| b == b' ').count();
        self.rest = &self.rest[spaces..];
    }

    /// A bare word up to the next space.
    fn word(&mut self) -> Option<&'a str> {
        self.skip_spaces();
        if self.rest.is_empty() {
            return None;
        }
        let end = find_near(self.rest, b' ').unwrap_or(self.rest.len());
        let (w, r) = self.rest.split_at(end);
        self.rest = r;
        Some(w)
    }

    /// `[...]`.
    fn bracketed(&mut self) -> Option<&'a str> {
        self.skip_spaces();
        let body = self.rest.strip_prefix('[')?;
        let end = find_near(body, b']')?;
        self.rest = &body[end + 1..];
        Some(&body[..end])
    }

    /// `"..."` with `\"` and `\\` escapes (Apache) or `\xHH` (nginx) left as text; borrowed unless
    /// it held an escape.
    fn quoted(&mut self) -> Option<Cow<'a, str>> {
        self.skip_spaces();
        let body = self.rest.strip_prefix('"')?;
        let end = memchr::memchr2(b'"', b'\\', body.as_bytes())?;
        if body.as_bytes()[end] == b'"' {
            self.rest = &body[end + 1..];
            return Some(Cow::Borrowed(&body[..end]));
        }
        let mut out = String::with_capacity(body.len());
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, '"')) => out.push('"'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => return None,
                },
                '"' => {
                    self.rest = &body[i + 1..];
                    return Some(Cow::Owned(out));
                }
                c => out.push(c),
            }
        }
        None
    }
}

/// Month abbreviations as combined-log times write them, January first.
const MONTHS: [[u8; 3]; 12] =
    [*b"Jan", *b"Feb", *b"Mar", *b"Apr", *b"May", *b"Jun", *b"Jul", *b"Aug", *b"Sep", *b"Oct", *b"Nov", *b"Dec"];

/// `26/Nov/2026:10:59:03 +0000` → Unix milliseconds.
///
/// By arithmetic on the digits (a day count from the civil date, as chrono computes it, without
/// its general-purpose parsing): a quarter of what parsing a line cost went here.
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits(&b[r]);
    let day = num(0..2)?;
    // Compared as three-byte arrays (a few integer comparisons; twelve slice comparisons were a
    // `memcmp` call each).
    let month = MONTHS.iter().position(|m| *m == [b[3], b[4], b[5]])? as i64 + 1;
    let year = num(7..11)?;
    let (h, m, sec) = (num(12..14)?, num(15..17)?, num(18..20)?);
    if day < 1 || day > days_in_month(year, month) || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let utc = ((days_from_civil(year, month, day) * 24 + h) * 60 + m) * 60_000 + sec * 1000;
    let offset = s[20..].trim();
    let offset_ms = if offset.is_empty() {
        0
    } else {
        // By bytes: a multi-byte character among the four must not split a slice in two.
        let (sign, hhmm) = match offset.as_bytes() {
            [b'+', rest @ ..] => (1, rest),
            [b'-', rest @ ..] => (-1, rest),
            _ => return None,
        };
        if hhmm.len() != 4 {
            return None;
        }
        sign * (digits(&hhmm[..2])? * 60 + digits(&hhmm[2..])?) * 60_000
    };
    Some(utc - offset_ms)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// One combined-format line's fields, borrowed from the line wherever nothing had to be rewritten.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields<'a> {
    pub ts: i64,
    pub src_ip: Cow<'a, str>,
    pub user: Option<&'a str>,
    pub method: Cow<'a, str>,
    pub path: Cow<'a, str>,
    pub status: i64,
    pub bytes: i64,
    pub referer: Option<Cow<'a, str>>,
    pub user_agent: Cow<'a, str>,
}

impl<'a> Fields<'a> {
    /// The access event these fields make for `tenant`, read by `source`.
    pub fn row<'s>(&'s self, tenant: &'s str, source: &'s str) -> Row<'s> {
        Row {
            ts: self.ts,
            tenant,
            src_ip: &self.src_ip,
            user: self.user,
            method: &self.method,
            path: &self.path,
            status: self.status,
            bytes: self.bytes,
            user_agent: &self.user_agent,
            target_tenant: None,
            flags: if self.status == 401 { flags::AUTH_FAILURE } else { 0 },
            source,
        }
    }

    /// The tenant `rule` gives this line.
    pub fn tenant<'s>(&'s self, rule: &'s super::TenantRule) -> Cow<'s, str> {
        rule.tenant(None, self.referer.as_deref(), &self.path)
    }
}

/// An address in its canonical form: IPv6 compressed and lower-case; IPv4 as written, since Rust
/// accepts only the canonical dotted quad (no leading zeros, every part 0-255). Anything else
/// (`999.1.1.1`, a host name) is not an address.
fn canonical_ip(host: &str) -> Result<Cow<'_, str>, Unparsed> {
    // A byte loop: an address is too short for a vectorised search to pay for its start.
    if host.bytes().any(|c| c == b':') {
        host.parse::<std::net::Ipv6Addr>().map(|ip| Cow::Owned(ip.to_string())).map_err(|_| Unparsed::Address)
    } else {
        super::address::ipv4(host).map(|_| Cow::Borrowed(host)).ok_or(Unparsed::Address)
    }
}

/// `METHOD PATH PROTOCOL` → method and path, borrowed when the request was.
fn split_request(request: Cow<'_, str>) -> (Cow<'_, str>, Cow<'_, str>) {
    fn split(r: &str) -> (&str, &str) {
        let Some(end) = find_near(r, b' ') else { return (r, "") };
        let (method, rest) = (&r[..end], &r[end + 1..]);
        let path = find_near(rest, b' ').map_or(rest, |end| &rest[..end]);
        (method, path)
    }
    match request {
        Cow::Borrowed(r) => {
            let (m, p) = split(r);
            (Cow::Borrowed(m), Cow::Borrowed(p))
        }
        Cow::Owned(r) => {
            let (m, p) = split(&r);
            (Cow::Owned(m.to_string()), Cow::Owned(p.to_string()))
        }
    }
}

/// An HTTP status code: a whole number from 100 to 599. Anything else (`2.5e10`, `-5`, `0`) is no
/// status, and a line without one is not an access log line (it is counted as not parsed).
pub fn http_status(text: &str) -> Option<i64> {
    digits(text.as_bytes()).or_else(|| text.parse::<i64>().ok()).filter(|s| (100..=599).contains(s))
}

/// A short run of plain digits (a time's parts, a status, a size) as a number, without the
/// standard parser's generality; `None` for anything else (the status and size hand that to it).
fn digits(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 18 {
        return None;
    }
    bytes.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
}

/// Parses one combined-format line.
pub fn fields(line: &str) -> Result<Fields<'_>, Unparsed> {
    let end = line.bytes().rposition(|b| b != b'\r' && b != b'\n').map_or(0, |last| last + 1);
    let mut l = Line { rest: &line[..end] };
    let host = l.word().ok_or(Unparsed::Fields)?;
    let _ident = l.word().ok_or(Unparsed::Fields)?;
    let user = l.word().ok_or(Unparsed::Fields)?;
    let time = l.bracketed().ok_or(Unparsed::Fields)?;
    let ts = parse_time(time).ok_or(Unparsed::Time)?;
    let request = l.quoted().ok_or(Unparsed::Fields)?;
    let status = http_status(l.word().ok_or(Unparsed::Fields)?).ok_or(Unparsed::Status)?;
    let bytes = l.word().map_or(0, |b| digits(b.as_bytes()).unwrap_or_else(|| b.parse().unwrap_or(0)));
    let referer = l.quoted();
    let user_agent = l.quoted().unwrap_or_default();
    let (method, path) = split_request(request);
    Ok(Fields {
        ts,
        src_ip: canonical_ip(host)?,
        user: (user != "-").then_some(user),
        method,
        path,
        status,
        bytes,
        referer,
        user_agent,
    })
}

/// Parses one combined-format line for `tenant`.
pub fn parse(line: &str, tenant: &str, source: &str) -> Result<AccessEvent, Unparsed> {
    parse_with(line, &super::TenantRule::Fixed(tenant.to_string()), source)
}

/// Parses one combined-format line, deriving the tenant by `rule`.
pub fn parse_with(line: &str, rule: &super::TenantRule, source: &str) -> Result<AccessEvent, Unparsed> {
    let f = fields(line)?;
    Ok(AccessEvent::from(f.row(&f.tenant(rule), source)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn a_plain_line() {
        let e = parse(
            r#"203.0.113.7 - bob [26/Nov/2026:10:59:03 +0000] "GET /index.html?q=1 HTTP/1.1" 200 512 "-" "curl/8.5.0""#,
            "acme",
            "test",
        )
        .unwrap();
        assert_eq!(
            (e.src_ip.as_str(), e.user.as_deref(), e.method.as_str(), e.path.as_str()),
            ("203.0.113.7", Some("bob"), "GET", "/index.html?q=1")
        );
        assert_eq!((e.status, e.bytes, e.user_agent.as_str()), (200, 512, "curl/8.5.0"));
        assert_eq!(e.ts, chrono::DateTime::parse_from_rfc3339("2026-11-26T10:59:03Z").unwrap().timestamp_millis());
    }

    #[test]
    fn quotes_escapes_ipv6_offsets_and_dashes() {
        let e = parse(
            r#"2001:DB8::1 - - [26/Nov/2026:12:59:03 +0200] "POST /login HTTP/1.1" 401 - "https://x/" "say \"hi\" \\ \x22""#,
            "acme",
            "t",
        )
        .unwrap();
        assert_eq!(e.src_ip, "2001:db8::1", "canonical form");
        assert_eq!(e.user, None);
        assert_eq!(e.bytes, 0);
        assert_eq!(e.user_agent, r#"say "hi" \ \x22"#);
        assert_eq!(e.ts, chrono::DateTime::parse_from_rfc3339("2026-11-26T10:59:03Z").unwrap().timestamp_millis());
        assert_eq!(e.flags & flags::AUTH_FAILURE, flags::AUTH_FAILURE);
    }

    #[test]
    fn a_client_that_is_not_an_address_is_refused() {
        for host in ["999.1.1.1", "1.2.3", "01.2.3.4", "example.com", "2001:db8::zz", "-"] {
            let line = format!(r#"{host} - - [26/Nov/2026:10:59:03 +0000] "GET / HTTP/1.1" 200 1 "-" "curl""#);
            assert_eq!(parse(&line, "a", "t").unwrap_err(), Unparsed::Address, "{host}");
        }
        assert_eq!(Unparsed::Status.to_string(), "no status code (a number from 100 to 599 after the request)");
    }

    #[test]
    fn a_status_outside_100_to_599_is_no_status_and_the_line_is_not_parsed() {
        for status in ["2.5e10", "-5", "0", "99", "600", "25000000000", "2OO"] {
            let line =
                format!(r#"203.0.113.1 - - [26/Nov/2026:10:59:03 +0000] "GET / HTTP/1.1" {status} 1 "-" "curl""#);
            assert_eq!(parse(&line, "a", "t").unwrap_err(), Unparsed::Status, "{status}");
        }
        for status in [100, 200, 599] {
            let line =
                format!(r#"203.0.113.1 - - [26/Nov/2026:10:59:03 +0000] "GET / HTTP/1.1" {status} 1 "-" "curl""#);
            assert_eq!(parse(&line, "a", "t").unwrap().status, status);
        }
    }

    #[test]
    fn times_are_read_as_chrono_reads_them() {
        let mut day = chrono::NaiveDate::from_ymd_opt(1600, 1, 1).unwrap();
        while day.year() < 2401 {
            for (h, m, s) in [(0, 0, 0), (10, 59, 3), (23, 59, 59)] {
                let text = format!("{} {h:02}:{m:02}:{s:02} +0000", day.format("%d/%b/%Y"));
                let text = text.replacen(' ', ":", 1);
                let want = day.and_hms_opt(h, m, s).unwrap().and_utc().timestamp_millis();
                assert_eq!(parse_time(&text), Some(want), "{text}");
            }
            day = day.succ_opt().unwrap();
        }
        for bad in [
            "29/Feb/2025:00:00:00 +0000",
            "31/Apr/2026:00:00:00 +0000",
            "00/Jan/2026:00:00:00 +0000",
            "32/Jan/2026:00:00:00 +0000",
            "01/Jan/2026:24:00:00 +0000",
            "01/Jan/2026:00:60:00 +0000",
            "01/Jan/2026:00:00:60 +0000",
            "01/Foo/2026:00:00:00 +0000",
            "1a/Jan/2026:00:00:00 +0000",
            "01/Jan/2026:00:00:00 +0\u{e9}0",
            "01/Jan/2026:00:00:00 +\u{e9}00",
            "01/Jan/2026:00:00:00 ++100",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(parse_time("29/Feb/2000:00:00:00 +0000"), Some(951_782_400_000), "2000 is a leap year");
        assert_eq!(parse_time("29/Feb/1900:00:00:00 +0000"), None, "1900 is not");
    }

    #[test]
    fn garbage_is_counted_not_guessed() {
        assert_eq!(parse("", "a", "t").unwrap_err(), Unparsed::Fields);
        assert_eq!(parse("hello world", "a", "t").unwrap_err(), Unparsed::Fields);
        assert_eq!(parse(r#"1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1"#, "a", "t").unwrap_err(), Unparsed::Time);
        assert_eq!(
            parse(r#"1.2.3.4 - - [26/Nov/2026:10:59:03 +0000] "GET / HTTP/1.1" abc 1"#, "a", "t").unwrap_err(),
            Unparsed::Status
        );
        assert_eq!(
            parse(r#"1.2.3.4 - - [26/Nov/2026:10:59:03 +0000] "GET / HTTP/1.1 200 1"#, "a", "t").unwrap_err(),
            Unparsed::Fields
        );
    }
}
