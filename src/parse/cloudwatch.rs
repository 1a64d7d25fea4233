//! CloudWatch Logs messages as rows: the parser of each `[[cloudwatch]]` format (Falco, JSON
//! lines, combined text, and the events another host's `[cloudwatch_publish]` put), each event's
//! stream naming the host it came from.

use super::jsonlines::FieldNames;
use super::{combined, falco, jsonlines, TenantRule};
use crate::store::alerts::Alert;

/// How a message becomes a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Falco,
    Json(TenantRule, Box<FieldNames>),
    /// JSON access-log lines whose tenant is the value of this field (`tenant_from = "field"`).
    JsonTenantField(String, Box<FieldNames>),
    Text(TenantRule),
    /// Events another host's `[cloudwatch_publish]` put.
    Rampart,
}

/// One parsed event: an access event or an alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Access(crate::store::access::AccessEvent),
    Alert(Alert),
    /// A published audit row, ban, end of a ban or integrity run of another host.
    Fleet(crate::store::fleet::FleetRow),
    /// A published row refused: it claims another host than the stream it came from (why).
    Refused(String),
}

impl Payload {
    /// Parses one message; the stream names the host an alert without a hostname came from, and
    /// the host of every published row (a row claiming another `origin` is refused).
    pub fn parse(&self, message: &str, stream: &str, source: &str) -> Result<Parsed, String> {
        match self {
            Payload::Falco => {
                let mut a = falco::parse(message)?;
                if a.hostname.is_empty() {
                    a.hostname = stream.to_string();
                }
                a.source = source.to_string();
                Ok(Parsed::Alert(a))
            }
            Payload::Json(rule, names) => jsonlines::parse(message, names, rule, source).map(|e| host_from(e, stream)),
            Payload::JsonTenantField(field, names) => {
                let mut e = jsonlines::parse(message, names, &TenantRule::Fixed(String::new()), source)?;
                e.tenant = tenant_of(message, field)?;
                Ok(host_from(e, stream))
            }
            Payload::Text(rule) => combined::parse_with(message.trim_end(), rule, source)
                .map(|e| host_from(e, stream))
                .map_err(|e| e.to_string()),
            Payload::Rampart => {
                let v: serde_json::Value =
                    serde_json::from_str(message).map_err(|e| format!("not a published rampart event: {e}"))?;
                // The stream is the host (each host's role may put only into its own stream);
                // what the message says about its origin is a claim, checked against it.
                let origin = stream;
                if let Some(claimed) = v.get("origin") {
                    if claimed.as_str() != Some(stream) {
                        let claimed: String = claimed.to_string().chars().take(80).collect();
                        let why = format!("claims origin {claimed} in stream \"{stream}\"");
                        return Ok(Parsed::Refused(why.chars().filter(|c| !c.is_control()).collect()));
                    }
                }
                match v.get("kind").and_then(|k| k.as_str()) {
                    Some("alert") => {
                        let mut a = falco::parse(message)?;
                        a.hostname = origin.to_string();
                        a.source = source.to_string();
                        Ok(Parsed::Alert(a))
                    }
                    Some(kind @ ("audit" | "ban" | "unban" | "integrity")) => {
                        crate::store::fleet::FleetRow::from_published(origin, kind, &v)
                            .map(Parsed::Fleet)
                            .ok_or_else(|| format!("a published {kind} without its id"))
                    }
                    other => Err(format!("not a published rampart event: kind {other:?}")),
                }
            }
        }
    }
}

/// An access event with its stream's name as its host (streams are named for the host that
/// writes them: `web-1`, an instance id).
fn host_from(mut e: crate::store::access::AccessEvent, stream: &str) -> Parsed {
    if !stream.is_empty() {
        e.host = Some(stream.to_string());
    }
    Parsed::Access(e)
}

/// The tenant a JSON line names in `field` ([`crate::parse::tenant::from_field`]).
fn tenant_of(message: &str, field: &str) -> Result<String, String> {
    crate::parse::tenant::from_field(message, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_row_is_its_streams_whatever_origin_it_claims() {
        let row = |origin: &str| format!(r#"{{"kind":"audit","origin":{origin},"id":1,"ts":5,"action":"isolate"}}"#);
        match Payload::Rampart.parse(&row("\"web-2\""), "web-2", "s") {
            Ok(Parsed::Fleet(r)) => assert_eq!((r.origin.as_str(), r.stream.as_str()), ("web-2", "web-2")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Payload::Rampart.parse(&row("\"web-2\""), "evil", "s"),
            Ok(Parsed::Refused("claims origin \"web-2\" in stream \"evil\"".into()))
        );
        assert!(matches!(Payload::Rampart.parse(&row("7"), "evil", "s"), Ok(Parsed::Refused(_))));
        let alert = r#"{"kind":"alert","origin":"web-2","hostname":"db-1","priority":"Emergency","rule":"r","output":"o","time":"2026-11-26T11:54:56.789Z"}"#;
        match Payload::Rampart.parse(alert, "web-2", "s") {
            Ok(Parsed::Alert(a)) => assert_eq!(a.hostname, "web-2", "an alert's host is its stream"),
            other => panic!("{other:?}"),
        }
    }
}
