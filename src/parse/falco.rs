//! Falco's JSON output (`json_output: true`), one alert per line, current and older shapes.

use serde::Deserialize;

use crate::store::alerts::{Alert, Priority};

#[derive(Deserialize)]
struct FalcoLine {
    time: String,
    priority: String,
    rule: String,
    #[serde(default)]
    output: String,
    #[serde(default)]
    output_fields: serde_json::Map<String, serde_json::Value>,
    // Older Falco versions have none of these.
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// Parses one line of Falco JSON. The error says what is wrong, for the count of rejected lines.
pub fn parse(line: &str) -> Result<Alert, String> {
    let f: FalcoLine = serde_json::from_str(line.trim()).map_err(|e| format!("not a Falco alert: {e}"))?;
    let ts = chrono::DateTime::parse_from_rfc3339(&f.time)
        .map_err(|e| format!("time '{}': {e}", f.time))?
        .timestamp_millis();
    let priority: Priority = f.priority.parse().map_err(|()| format!("unknown priority '{}'", f.priority))?;
    let field = |k: &str| f.output_fields.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let src_ip = field("fd.cip").or_else(|| field("fd.rip")).and_then(|ip| crate::store::canonical_ip(&ip));
    Ok(Alert {
        id: 0,
        ts,
        priority,
        rule: f.rule,
        source: f.source.unwrap_or_else(|| "syscall".into()),
        hostname: f.hostname.unwrap_or_default(),
        tenant: None,
        output: f.output,
        output_fields_json: serde_json::Value::Object(f.output_fields).to_string(),
        tags: f.tags.join(","),
        src_ip,
        acked_by: None,
        acked_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as Falco 0.3x writes it.
    const CURRENT: &str = r#"{"hostname":"tenant-host-01","output":"12:34:56.789012345: Notice A shell was spawned in a container with an attached terminal (evt_type=execve user=root user_uid=0 user_loginuid=-1 process=bash proc_exepath=/usr/bin/bash parent=runc command=bash terminal=34816 exe_flags=EXE_WRITABLE container_id=3ad7d6c1e9a1 container_name=globex-web-1)","output_fields":{"container.id":"3ad7d6c1e9a1","container.name":"globex-web-1","evt.time":1795694096789012345,"proc.cmdline":"bash","user.name":"root"},"priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["T1059","container","maturity_stable","mitre_execution","shell"],"time":"2026-11-26T11:54:56.789012345Z"}"#;
    /// Before Falco 0.31: no hostname, source or tags; `Informational` spelled `Info`.
    const OLDER: &str = r#"{"output":"Sensitive file opened","priority":"info","rule":"Read sensitive file untrusted","time":"2021-03-01T10:00:00.000000000Z","output_fields":{"fd.name":"/etc/shadow"}}"#;

    #[test]
    fn current_shape_keeps_every_field() {
        let a = parse(CURRENT).unwrap();
        assert_eq!(
            (a.priority, a.rule.as_str(), a.source.as_str(), a.hostname.as_str()),
            (Priority::Notice, "Terminal shell in container", "syscall", "tenant-host-01")
        );
        assert_eq!(a.tags, "T1059,container,maturity_stable,mitre_execution,shell");
        assert_eq!(a.ts, 1_795_694_096_789);
        assert!(a.output_fields_json.contains("\"container.name\":\"globex-web-1\""));
        assert!(a.output_fields_json.contains("1795694096789012345"), "nanoseconds kept in the fields");
    }

    #[test]
    fn older_shape_loads() {
        let a = parse(OLDER).unwrap();
        assert_eq!((a.priority, a.hostname.as_str(), a.tags.as_str()), (Priority::Informational, "", ""));
    }

    #[test]
    fn the_client_address_is_kept_in_canonical_form() {
        let line = CURRENT.replace("\"proc.cmdline\":\"bash\"", "\"fd.cip\":\"2001:DB8:0:0::0001\"");
        assert_eq!(parse(&line).unwrap().src_ip.as_deref(), Some("2001:db8::1"));
        let line = CURRENT.replace("\"proc.cmdline\":\"bash\"", "\"fd.cip\":\"999.1.1.1\"");
        assert_eq!(parse(&line).unwrap().src_ip, None, "not an address");
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(parse("not json").unwrap_err().starts_with("not a Falco alert"));
        assert!(parse(&CURRENT.replace("\"Notice\"", "\"Loud\"")).unwrap_err().contains("unknown priority 'Loud'"));
    }
}
