//! Access logs as JSON lines (nginx `log_format … escape=json`, app loggers), with the field names
//! set in the config.

use serde::Deserialize;
use serde_json::Value;

use super::TenantRule;
use crate::store::access::{flags, AccessEvent};

/// Which JSON field holds what; the defaults are nginx's variable names.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct FieldNames {
    pub time: String,
    pub ip: String,
    pub user: String,
    pub method: String,
    pub path: String,
    pub status: String,
    pub bytes: String,
    pub user_agent: String,
    pub host: String,
    pub referer: String,
}

impl Default for FieldNames {
    fn default() -> FieldNames {
        FieldNames {
            time: "time".into(),
            ip: "remote_addr".into(),
            user: "remote_user".into(),
            method: "request_method".into(),
            path: "request_uri".into(),
            status: "status".into(),
            bytes: "body_bytes_sent".into(),
            user_agent: "http_user_agent".into(),
            host: "host".into(),
            referer: "http_referer".into(),
        }
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty() && *s != "-")
}

fn number(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An HTTP status code, as a number or text: a whole number from 100 to 599, else none (the line
/// is then not parsed, as a combined line without one is not).
fn status(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().filter(|s| (100..=599).contains(s)),
        Value::String(s) => super::combined::http_status(s),
        _ => None,
    }
}

/// RFC 3339 text, nginx's `$time_local`, or a Unix time in seconds (possibly fractional) or ms.
fn time(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .ok()
            .or_else(|| super::combined::parse_time(s)),
        Value::Number(n) => {
            let f = n.as_f64()?;
            Some(if f > 1e12 { f as i64 } else { (f * 1000.0) as i64 })
        }
        _ => None,
    }
}

pub fn parse(line: &str, names: &FieldNames, rule: &TenantRule, source: &str) -> Result<AccessEvent, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let ts = v.get(&names.time).and_then(time).ok_or_else(|| format!("no usable time in '{}'", names.time))?;
    let ip = text(&v, &names.ip).ok_or_else(|| format!("no address in '{}'", names.ip))?;
    let src_ip = ip
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("the address in '{}' is not an IP address", names.ip))?;
    let path = text(&v, &names.path).unwrap_or_default().to_string();
    let status = status(&v, &names.status)
        .ok_or_else(|| format!("no status in '{}' (a whole number from 100 to 599)", names.status))?;
    let method = text(&v, &names.method).unwrap_or_default().to_string();
    Ok(AccessEvent {
        id: 0,
        ts,
        tenant: rule.tenant(text(&v, &names.host), text(&v, &names.referer), &path).into_owned(),
        src_ip,
        user: text(&v, &names.user).map(str::to_string),
        flags: if status == 401 { flags::AUTH_FAILURE } else { 0 },
        method,
        path,
        status,
        bytes: number(&v, &names.bytes).unwrap_or(0),
        user_agent: text(&v, &names.user_agent).unwrap_or_default().to_string(),
        target_tenant: None,
        source: source.to_string(),
        host: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_json_with_defaults_and_the_tenant_from_the_host() {
        let line = r#"{"time":"2026-11-26T10:00:00+00:00","remote_addr":"2001:DB8::5","remote_user":"-","request_method":"GET","request_uri":"/cart","status":"404","body_bytes_sent":"17","http_user_agent":"curl/8","host":"Acme.example.com"}"#;
        let e = parse(line, &FieldNames::default(), &TenantRule::Host, "t").unwrap();
        assert_eq!(
            (e.tenant.as_str(), e.src_ip.as_str(), e.status, e.bytes, e.user.clone()),
            ("acme", "2001:db8::5", 404, 17, None)
        );
    }

    #[test]
    fn custom_names_numeric_time_and_other_tenant_rules() {
        let names = FieldNames {
            time: "ts".into(),
            ip: "client".into(),
            status: "code".into(),
            path: "url".into(),
            ..Default::default()
        };
        let line = r#"{"ts": 1795694400.5, "client": "203.0.113.4", "code": 200, "url": "/globex/api", "http_referer": "https://initech.example.com/x"}"#;
        let e = parse(line, &names, &TenantRule::PathPrefix, "t").unwrap();
        assert_eq!((e.ts, e.tenant.as_str()), (1_795_694_400_500, "globex"));
        assert_eq!(parse(line, &names, &TenantRule::Referer, "t").unwrap().tenant, "initech");
        assert!(parse(r#"{"ts": 1}"#, &names, &TenantRule::Host, "t").unwrap_err().contains("no address in 'client'"));
        assert!(parse("nope", &names, &TenantRule::Host, "t").unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn a_status_outside_100_to_599_is_no_status_and_the_line_is_not_parsed() {
        let names = FieldNames::default();
        for status in ["2.5e10", "-5", "\"-5\"", "\"2.5e10\"", "600", "200.5", "null"] {
            let line = format!(r#"{{"time":"2026-11-26T10:00:00Z","remote_addr":"203.0.113.4","status":{status}}}"#);
            let err = parse(&line, &names, &TenantRule::Host, "t").unwrap_err();
            assert_eq!(err, "no status in 'status' (a whole number from 100 to 599)", "{status}");
        }
        let line = r#"{"time":"2026-11-26T10:00:00Z","remote_addr":"203.0.113.4","status":503}"#;
        assert_eq!(parse(line, &names, &TenantRule::Host, "t").unwrap().status, 503);
    }
}
