//! The filter language (`ip:203.0.113.7 status>=400 !tenant:acme since:15m login`) compiled to
//! parameterised SQL. User text only ever reaches SQLite as a bound parameter.

use rusqlite::types::Value;

use super::priority::Priority;

/// What kind of value a filter field holds, which decides the comparisons it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Exact, case-insensitive; `*` is a wildcard.
    Text,
    /// Integer comparisons; `4xx` means 400 to 499.
    Int,
    /// Falco priority; `>=` means "at least as severe as".
    Priority,
    /// One entry of a comma-separated list.
    Tag,
    /// `yes`/`no`: whether the column is set.
    Present,
    /// An IP address as stored: canonical text (lowercase, compressed IPv6), compared exactly so
    /// the column's index serves it; `*` is a wildcard.
    Ip,
}

/// One field that a pane can be filtered on.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: FieldKind,
}

/// Everything the filter language needs to know about one pane's table.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub fields: &'static [Field],
    /// Columns that free text is searched in.
    pub free_text: &'static [&'static str],
    /// The time column that `since:` and `until:` restrict, if the pane has one.
    pub time: Option<Time>,
}

/// A pane's time column. Rows arrive roughly in time order, so a time bound also bounds the
/// integer key: the compiled filter says so, and a keyset scan stops where the window ends
/// instead of reading the whole table.
#[derive(Debug, Clone, Copy)]
pub struct Time {
    pub column: &'static str,
    /// How the key bound is found, when the table is large enough to need one.
    pub key_bound: KeyBound,
}

/// How a time bound becomes a bound on the integer key `id`.
#[derive(Debug, Clone, Copy)]
pub enum KeyBound {
    /// None: the time condition alone.
    None,
    /// The lowest (highest) `id` of the rows inside the bound, found through this index on the
    /// time column of this table; reads every index entry inside the bound.
    Index { table: &'static str, index: &'static str },
    /// SQL expressions for the lowest id a row at or after a time can have, and the highest id
    /// a row before a time can have, each pushing its parameters (see `store::zones`).
    Expr { since: fn(i64, &mut Vec<Value>) -> String, until: fn(i64, &mut Vec<Value>) -> String },
}

impl Fields {
    fn names(&self) -> String {
        let mut names: Vec<&str> = self.fields.iter().map(|f| f.name).collect();
        if self.time.is_some() {
            names.extend(["since", "until"]);
        }
        names.join(", ")
    }
}

/// A compiled filter: a SQL boolean expression with `?` placeholders and their values in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub text: String,
    pub sql: String,
    pub params: Vec<Value>,
    /// What the filter's positive terms require of a row, for an index to list the rows that
    /// might match (see `store::search`); the SQL alone decides which do.
    pub needles: Vec<Needle>,
    /// The SQL keeps only rows an index listed (`store::search::narrow`, at most
    /// `search::CANDIDATE_CAP`): read in one statement, not block by block (each block's statement
    /// would ask the index again).
    pub listed: bool,
}

/// What one positive term says every matching row holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needle {
    /// Each piece occurs in `column` (free text: in one of the pane's free-text columns), ignoring
    /// ASCII case.
    Text { column: Option<&'static str>, pieces: Vec<String> },
    /// `column` is exactly this address, in the store's canonical form.
    Address { column: &'static str, ip: String },
    /// The integer in `column` lies within `low..=high` (a number, a status class, a comparison,
    /// or a time bound on the time column).
    Range { column: &'static str, low: i64, high: i64 },
}

/// Why a filter could not be compiled; shown under the filter input as typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("unknown field '{field}' — this pane has: {known}")]
    UnknownField { field: String, known: String },
    #[error("'{field}' needs a value, as in {field}:VALUE")]
    EmptyValue { field: String },
    #[error("'{value}' is not a number for '{field}' (try {field}:404, {field}>=400 or {field}:4xx)")]
    NotANumber { field: String, value: String },
    #[error(
        "unknown priority '{value}' — use emergency, alert, critical, error, warning, notice, informational or debug"
    )]
    UnknownPriority { value: String },
    #[error("'{field}' takes yes or no, not '{value}'")]
    NotYesNo { field: String, value: String },
    #[error("'{field}' only takes ':' or '!=' (it is text, not a number)")]
    NotOrdered { field: String },
    #[error("'{value}' is not a time: use a duration like 15m, 2h, 7d or a date like 2026-11-26T10:00")]
    BadTime { value: String },
    #[error("this pane has no time column, so '{field}' does not apply")]
    NoTime { field: String },
    #[error("a quote is not closed")]
    OpenQuote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }
}

/// Compiles `input` for a pane. An empty input gives `Ok(None)`: no filter.
pub fn compile(input: &str, fields: &Fields, now_ms: i64) -> Result<Option<Filter>, FilterError> {
    let words = split_words(input)?;
    if words.is_empty() {
        return Ok(None);
    }
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    let mut needles = Vec::new();
    for word in words {
        let (negated, body) = match word.strip_prefix('!') {
            Some(rest) if !rest.is_empty() => (true, rest.to_string()),
            _ => (false, word),
        };
        let clause = match split_term(&body) {
            Some((name, op, value)) => {
                let clause = term(fields, name, op, value, now_ms, &mut params)?;
                if !negated && op == Op::Eq {
                    needles.extend(needle(fields, name, value));
                }
                if !negated {
                    needles.extend(range(fields, name, op, value, now_ms));
                }
                clause
            }
            None => {
                if !negated {
                    needles.push(Needle::Text { column: None, pieces: vec![body.clone()] });
                }
                free_text(fields, &body, &mut params)
            }
        };
        clauses.push(if negated { format!("NOT IFNULL({clause}, 0)") } else { clause });
    }
    Ok(Some(Filter { text: input.trim().to_string(), sql: clauses.join(" AND "), params, needles, listed: false }))
}

/// `4xx` (any digit 1–9, either case) → 4: the hundreds of a class of numbers, 400 to 499.
fn status_class(value: &str) -> Option<i64> {
    let hundreds = value.to_ascii_lowercase().strip_suffix("xx")?.parse::<i64>().ok()?;
    (1..=9).contains(&hundreds).then_some(hundreds)
}

/// The range of integers `name OP value` (already compiled, so known to be valid) allows in its
/// column, for a time bound or a number; none for `!=` or any other kind of field.
fn range(fields: &Fields, name: &str, op: Op, value: &str, now_ms: i64) -> Option<Needle> {
    let lname = name.to_ascii_lowercase();
    if lname == "since" || lname == "until" {
        let at = parse_time(value, now_ms).ok()?;
        let column = fields.time?.column;
        let (low, high) = if lname == "since" { (at, i64::MAX) } else { (i64::MIN, at.checked_sub(1)?) };
        return Some(Needle::Range { column, low, high });
    }
    let field = fields.fields.iter().find(|f| f.name == lname && f.kind == FieldKind::Int)?;
    let (low, high) = match (op, status_class(value)) {
        (Op::Eq, Some(h)) => (h * 100, h * 100 + 99),
        (Op::Eq, _) => {
            let n = value.parse().ok()?;
            (n, n)
        }
        (Op::Ne, _) => return None,
        (Op::Ge, _) => (value.parse().ok()?, i64::MAX),
        (Op::Gt, _) => (value.parse::<i64>().ok()?.checked_add(1)?, i64::MAX),
        (Op::Le, _) => (i64::MIN, value.parse().ok()?),
        (Op::Lt, _) => (i64::MIN, value.parse::<i64>().ok()?.checked_sub(1)?),
    };
    Some(Needle::Range { column: field.column, low, high })
}

/// What `name:value` (already compiled, so known to be valid) requires of a matching row.
fn needle(fields: &Fields, name: &str, value: &str) -> Option<Needle> {
    let field = fields.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))?;
    let pieces = || value.split('*').filter(|p| !p.is_empty()).map(str::to_string).collect();
    match field.kind {
        FieldKind::Text => Some(Needle::Text { column: Some(field.column), pieces: pieces() }),
        FieldKind::Ip if value.contains('*') => Some(Needle::Text { column: Some(field.column), pieces: pieces() }),
        FieldKind::Ip => Some(Needle::Address { column: field.column, ip: canonical_address(value) }),
        _ => None,
    }
}

/// Splits on white space, keeping "quoted phrases" (with `\"` and `\\` escapes) together.
fn split_words(input: &str) -> Result<Vec<String>, FilterError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_quote = false;
    let mut chars = input.chars();
    let mut started = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quote = !in_quote;
                started = true;
            }
            '\\' if in_quote => current.extend(chars.next()),
            c if c.is_whitespace() && !in_quote => {
                if started {
                    words.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if in_quote {
        return Err(FilterError::OpenQuote);
    }
    if started {
        words.push(current);
    }
    Ok(words)
}

/// `name<op>value` where name is a plain identifier; anything else is free text.
fn split_term(word: &str) -> Option<(&str, Op, &str)> {
    let end = word.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    if end == 0 {
        return None;
    }
    let (name, rest) = word.split_at(end);
    let (op, value) =
        [("!=", Op::Ne), (">=", Op::Ge), ("<=", Op::Le), (":", Op::Eq), ("=", Op::Eq), (">", Op::Gt), ("<", Op::Lt)]
            .iter()
            .find_map(|(sym, op)| rest.strip_prefix(sym).map(|v| (*op, v)))?;
    Some((name, op, value))
}

fn term(
    fields: &Fields,
    name: &str,
    op: Op,
    value: &str,
    now_ms: i64,
    params: &mut Vec<Value>,
) -> Result<String, FilterError> {
    let lname = name.to_ascii_lowercase();
    if value.is_empty() {
        return Err(FilterError::EmptyValue { field: lname });
    }
    if lname == "since" || lname == "until" {
        let Time { column, key_bound } = fields.time.ok_or(FilterError::NoTime { field: lname.clone() })?;
        let at = parse_time(value, now_ms)?;
        params.push(Value::Integer(at));
        let since = lname == "since";
        let cmp = if since { ">=" } else { "<" };
        // The key bound follows from the time bound: it only tells the planner where to stop.
        return Ok(match key_bound {
            KeyBound::None => format!("{column} {cmp} ?"),
            // INDEXED BY keeps SQLite from finding min(id) by walking the whole table.
            KeyBound::Index { table, index } => {
                params.push(Value::Integer(at));
                let (key_bound, none) = if since {
                    ("id >= ifnull((SELECT min(id)", i64::MAX)
                } else {
                    ("id <= ifnull((SELECT max(id)", -1)
                };
                format!("({column} {cmp} ? AND {key_bound} FROM {table} INDEXED BY {index} WHERE {column} {cmp} ?), {none}))")
            }
            KeyBound::Expr { since: lowest, until: highest } => {
                if since {
                    format!("({column} {cmp} ? AND id >= {})", lowest(at, params))
                } else {
                    format!("({column} {cmp} ? AND id <= {})", highest(at, params))
                }
            }
        });
    }
    let field = fields
        .fields
        .iter()
        .find(|f| f.name == lname)
        .ok_or_else(|| FilterError::UnknownField { field: name.to_string(), known: fields.names() })?;
    let column = field.column;
    match field.kind {
        FieldKind::Text | FieldKind::Tag => {
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(FilterError::NotOrdered { field: lname });
            }
            let target =
                if field.kind == FieldKind::Tag { format!("(',' || {column} || ',')") } else { column.to_string() };
            let (cmp, pattern) = if field.kind == FieldKind::Tag {
                ("LIKE", format!("%,{},%", like_pattern(value)))
            } else if value.contains('*') {
                ("LIKE", like_pattern(value))
            } else {
                ("=", value.to_string())
            };
            params.push(Value::Text(pattern));
            let clause = if cmp == "LIKE" { like(&target) } else { format!("{target} = ? COLLATE NOCASE") };
            Ok(if op == Op::Ne { format!("NOT IFNULL({clause}, 0)") } else { clause })
        }
        FieldKind::Ip => {
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(FilterError::NotOrdered { field: lname });
            }
            let clause = if value.contains('*') {
                params.push(Value::Text(like_pattern(value)));
                like(column)
            } else {
                params.push(Value::Text(canonical_address(value)));
                format!("{column} = ?")
            };
            Ok(if op == Op::Ne { format!("NOT IFNULL({clause}, 0)") } else { clause })
        }
        FieldKind::Int => {
            if let (Some(hundreds), Op::Eq | Op::Ne) = (status_class(value), op) {
                params.push(Value::Integer(hundreds * 100));
                params.push(Value::Integer(hundreds * 100 + 99));
                let clause = format!("{column} BETWEEN ? AND ?");
                return Ok(if op == Op::Ne { format!("NOT ({clause})") } else { clause });
            }
            let n: i64 =
                value.parse().map_err(|_| FilterError::NotANumber { field: lname, value: value.to_string() })?;
            params.push(Value::Integer(n));
            Ok(format!("{column} {} ?", op.sql()))
        }
        FieldKind::Priority => {
            let p: Priority = value.parse().map_err(|_| FilterError::UnknownPriority { value: value.to_string() })?;
            // Lower rank = more severe, so "at least as severe" flips the comparison.
            let flipped = match op {
                Op::Gt => Op::Lt,
                Op::Ge => Op::Le,
                Op::Lt => Op::Gt,
                Op::Le => Op::Ge,
                other => other,
            };
            params.push(Value::Integer(p.rank()));
            Ok(format!("{column} {} ?", flipped.sql()))
        }
        FieldKind::Present => {
            let yes = match value.to_ascii_lowercase().as_str() {
                "yes" | "true" | "1" => true,
                "no" | "false" | "0" => false,
                _ => return Err(FilterError::NotYesNo { field: lname, value: value.to_string() }),
            };
            let yes = yes != (op == Op::Ne);
            Ok(format!("{column} IS {}NULL", if yes { "NOT " } else { "" }))
        }
    }
}

/// An address as the store keeps it; text that is not one, lower-cased.
fn canonical_address(value: &str) -> String {
    value.parse::<std::net::IpAddr>().map_or_else(|_| value.to_ascii_lowercase(), |ip| ip.to_string())
}

fn free_text(fields: &Fields, word: &str, params: &mut Vec<Value>) -> String {
    let pattern = format!("%{}%", escape_like(word));
    let parts: Vec<String> = fields
        .free_text
        .iter()
        .map(|column| {
            params.push(Value::Text(pattern.clone()));
            like(column)
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

/// `target LIKE ?`, seeing the whole value: SQLite's LIKE stops at a NUL byte, so a value that
/// holds one is matched as the screen shows it, each NUL written `^@` (see `store::VISIBLE_NUL`;
/// a value without one costs a scan for the byte and no copy).
fn like(target: &str) -> String {
    format!("ifnull({nul}({target}), {target}) LIKE ? ESCAPE '\\'", nul = super::VISIBLE_NUL)
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `*` becomes `%`; LIKE's own wildcards are escaped.
fn like_pattern(s: &str) -> String {
    escape_like(s).replace('*', "%")
}

/// A duration back from now (`90s`, `15m`, `2h`, `7d`, `1w`) or an absolute UTC date/time.
pub fn parse_time(value: &str, now_ms: i64) -> Result<i64, FilterError> {
    let bad = || FilterError::BadTime { value: value.to_string() };
    if let Some(unit) = value.chars().last() {
        let digits = &value[..value.len() - unit.len_utf8()];
        if let Ok(n) = digits.parse::<i64>() {
            let unit_ms = match unit {
                's' => 1_000,
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                'w' => 604_800_000,
                _ => return Err(bad()),
            };
            return Ok(now_ms.saturating_sub(n.saturating_mul(unit_ms)));
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(value, format) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc().timestamp_millis());
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: Fields = Fields {
        fields: &[
            Field { name: "ip", column: "src_ip", kind: FieldKind::Ip },
            Field { name: "status", column: "status", kind: FieldKind::Int },
            Field { name: "priority", column: "priority", kind: FieldKind::Priority },
        ],
        free_text: &["path", "user_agent"],
        time: Some(Time { column: "ts", key_bound: KeyBound::Index { table: "t", index: "t_by_ts" } }),
    };

    #[test]
    fn empty_input_is_no_filter() {
        assert_eq!(compile("   ", &FIELDS, 0), Ok(None));
    }

    #[test]
    fn terms_become_bound_parameters() {
        let f = compile("ip:203.0.113.7 status>=400 since:15m", &FIELDS, 1_000_000_000).unwrap().unwrap();
        assert_eq!(
            f.sql,
            "src_ip = ? AND status >= ? AND \
             (ts >= ? AND id >= ifnull((SELECT min(id) FROM t INDEXED BY t_by_ts WHERE ts >= ?), 9223372036854775807))"
        );
        let since = Value::Integer(1_000_000_000 - 900_000);
        assert_eq!(f.params, vec![Value::Text("203.0.113.7".into()), Value::Integer(400), since.clone(), since]);
    }

    #[test]
    fn ip_addresses_compare_in_canonical_form() {
        let f = compile("ip:2001:DB8:0:0::1", &FIELDS, 0).unwrap().unwrap();
        assert_eq!((f.sql.as_str(), &f.params[..]), ("src_ip = ?", &[Value::Text("2001:db8::1".into())][..]));
        let f = compile("ip:203.0.113.*", &FIELDS, 0).unwrap().unwrap();
        assert_eq!(f.params, vec![Value::Text("203.0.113.%".into())]);
    }

    #[test]
    fn priority_at_least_warning_means_rank_at_most_four() {
        let f = compile("priority>=WARNING", &FIELDS, 0).unwrap().unwrap();
        assert_eq!(f.sql, "priority <= ?");
        assert_eq!(f.params, vec![Value::Integer(4)]);
    }

    #[test]
    fn status_class_and_negation() {
        let f = compile("!status:4xx", &FIELDS, 0).unwrap().unwrap();
        assert_eq!(f.sql, "NOT IFNULL(status BETWEEN ? AND ?, 0)");
    }

    #[test]
    fn quoted_free_text_and_like_escapes() {
        let f = compile(r#""100%_sure \"x\"""#, &FIELDS, 0).unwrap().unwrap();
        assert_eq!(f.params[0], Value::Text(r#"%100\%\_sure "x"%"#.into()));
        assert_eq!(
            f.sql,
            concat!(
                r"(ifnull(visible_nul(path), path) LIKE ? ESCAPE '\' OR ",
                r"ifnull(visible_nul(user_agent), user_agent) LIKE ? ESCAPE '\')"
            )
        );
    }

    #[test]
    fn errors_say_what_is_allowed() {
        assert_eq!(
            compile("stauts:401", &FIELDS, 0).unwrap_err().to_string(),
            "unknown field 'stauts' — this pane has: ip, status, priority, since, until"
        );
        assert!(matches!(compile("status:abc", &FIELDS, 0), Err(FilterError::NotANumber { .. })));
        assert!(matches!(compile("ip>3", &FIELDS, 0), Err(FilterError::NotOrdered { .. })));
        assert!(matches!(compile("\"open", &FIELDS, 0), Err(FilterError::OpenQuote)));
        assert!(matches!(compile("since:yesterday", &FIELDS, 0), Err(FilterError::BadTime { .. })));
    }
}
