//! Which tenant an access log line belongs to (fixed, or read from its host, referer, path or a field), and what may name a tenant.

use std::borrow::Cow;

/// How an access log's lines are given their tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRule {
    /// Every line belongs to this tenant.
    Fixed(String),
    /// The first label of the virtual host (`acme.example.com` → `acme`).
    Host,
    /// The first label of the Referer's host.
    Referer,
    /// The first segment of the path (`/acme/cart` → `acme`).
    PathPrefix,
}

/// The longest tenant name (a DNS label's bound): a longer one read from a log line is no name.
pub const MAX_NAME: usize = 63;

/// Whether `name` can name a tenant: 1 to [`MAX_NAME`] ASCII letters, digits, `-`, `_` or `.`.
/// Names come from log lines anyone can send (a path's first segment, a Host header), so a name
/// that is not one — 5,000 characters, controls, spaces — is refused where it enters.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A tenant name given by a person (`--tenant`): checked with [`is_name`], said why when refused.
pub fn parse_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || is_name(name) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "'{}' is not a tenant name: use at most {MAX_NAME} letters, digits, '-', '_' or '.'",
            crate::text::sanitize::clean(name, 80)
        ))
    }
}

/// The tenant a JSON line names in `field`: text (or a number), lower-cased; a line without it,
/// or with one that is not a name ([`is_name`]), does not parse (it would belong to no tenant).
pub fn from_field(message: &str, field: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(message).map_err(|e| format!("not JSON: {e}"))?;
    let name = match v.get(field) {
        Some(serde_json::Value::String(t)) if !t.trim().is_empty() && t != "-" => t.trim().to_lowercase(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => return Err(format!("no tenant in '{field}'")),
    };
    if is_name(&name) {
        Ok(name)
    } else {
        Err(format!(
            "the tenant in '{field}' is not a name (at most {MAX_NAME} letters, digits, '-', '_' or '.'): '{}'",
            crate::text::sanitize::clean(&name, 40)
        ))
    }
}

/// `name` when it is one, else no tenant (empty).
fn checked(name: Cow<'_, str>) -> Cow<'_, str> {
    if is_name(&name) {
        name
    } else {
        Cow::Borrowed("")
    }
}

fn first_label(host: &str) -> String {
    host.split(['.', ':']).next().unwrap_or_default().to_ascii_lowercase()
}

impl TenantRule {
    /// The tenant of a line; one read from the line that is not a name ([`is_name`]) is none (empty).
    pub fn tenant<'a>(&'a self, host: Option<&str>, referer: Option<&str>, path: &'a str) -> Cow<'a, str> {
        let read = match self {
            // Checked where it was given (the config, `--tenant`).
            TenantRule::Fixed(t) => return Cow::Borrowed(t),
            TenantRule::Host => Cow::Owned(host.map(first_label).unwrap_or_default()),
            TenantRule::Referer => Cow::Owned(
                referer
                    .and_then(|r| r.split("://").nth(1))
                    .and_then(|rest| rest.split('/').next())
                    .map(first_label)
                    .unwrap_or_default(),
            ),
            TenantRule::PathPrefix => {
                Cow::Borrowed(path.trim_start_matches('/').split(['/', '?']).next().unwrap_or_default())
            }
        };
        checked(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_read_from_a_line_must_be_a_name() {
        let long = format!("/{}/cart", "a".repeat(5000));
        assert_eq!(TenantRule::PathPrefix.tenant(None, None, &long), "");
        assert_eq!(TenantRule::PathPrefix.tenant(None, None, "/acme-2.eu/cart"), "acme-2.eu");
        assert_eq!(TenantRule::PathPrefix.tenant(None, None, "/ac%20me/cart"), "");
        assert_eq!(TenantRule::PathPrefix.tenant(None, None, "/ac\u{202e}me/"), "");
        assert_eq!(TenantRule::Host.tenant(Some(&format!("{}.example.com", "x".repeat(64))), None, "/"), "");
        assert_eq!(TenantRule::Host.tenant(Some(&format!("{}.example.com", "x".repeat(63))), None, "/").len(), 63);
        assert_eq!(TenantRule::Referer.tenant(None, Some("https://Globex.example.com/x"), "/"), "globex");
    }

    #[test]
    fn a_tenant_field_must_hold_a_name() {
        assert_eq!(from_field(r#"{"t":" Acme "}"#, "t"), Ok("acme".to_string()));
        assert_eq!(from_field(r#"{"t":42}"#, "t"), Ok("42".to_string()));
        assert_eq!(from_field(r#"{"t":"-"}"#, "t"), Err("no tenant in 't'".to_string()));
        let long = format!(r#"{{"t":"{}"}}"#, "a".repeat(5000));
        let said = from_field(&long, "t").unwrap_err();
        assert!(said.starts_with("the tenant in 't' is not a name (at most 63 letters"), "{said}");
        assert!(said.len() < 200, "bounded: {said}");
        assert!(from_field(r#"{"t":"ac\u009bme"}"#, "t").unwrap_err().contains("ac<U+009B>me"));
    }

    #[test]
    fn a_tenant_given_by_a_person_is_checked_and_said_why() {
        assert_eq!(parse_name(" acme "), Ok("acme".to_string()));
        assert_eq!(parse_name(""), Ok(String::new()));
        assert_eq!(
            parse_name("ac me"),
            Err("'ac me' is not a tenant name: use at most 63 letters, digits, '-', '_' or '.'".to_string())
        );
        assert!(parse_name(&"a".repeat(64)).is_err());
    }
}
