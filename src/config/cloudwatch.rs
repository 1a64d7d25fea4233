//! `[[cloudwatch]]` entries as the config file gives them (checked when the config is read, see
//! `config::check`).

use std::time::Duration;

use serde::Deserialize;

use super::TenantFrom;
use crate::parse::cloudwatch::Payload;
use crate::parse::jsonlines::FieldNames;
use crate::parse::TenantRule;

/// `[[cloudwatch]]`: one log group (or every group under a prefix) and what its messages hold.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub group: Option<String>,
    pub group_prefix: Option<String>,
    #[serde(default)]
    pub format: PayloadFormat,
    pub filter_pattern: Option<String>,
    #[serde(default)]
    pub streams: Vec<String>,
    pub stream_prefix: Option<String>,
    /// How far back the first read goes: `15m`, `2h`, `1d` [default: 15m].
    pub since: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Another endpoint than AWS's (a VPC endpoint, a local test server).
    pub endpoint_url: Option<String>,
    /// How often the group is polled [default: 5s].
    pub poll: Option<String>,
    /// How far behind the newest stored event each poll re-reads, for late events [default: 10m].
    pub overlap: Option<String>,
    /// FilterLogEvents requests per second, for all groups together (the smallest given wins;
    /// the account's quota is 5–25/s per region, shared with every other client) [default: 3].
    pub requests_per_second: Option<u32>,
    /// Every event belongs to this tenant…
    pub tenant: Option<String>,
    /// …or its tenant comes from its virtual `host`, `referer`, `path`, or the JSON `field` named
    /// by `[cloudwatch.fields] tenant` (JSON access events).
    pub tenant_from: Option<TenantFrom>,
    /// JSON field names, for `format = "json"`.
    #[serde(default)]
    pub fields: Fields,
}

/// `[cloudwatch.fields]`: the names of `[access_log.fields]`, plus `tenant` (for
/// `tenant_from = "field"`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Fields {
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
    /// The field that holds the tenant's name [default: tenant].
    pub tenant: String,
}

impl Default for Fields {
    fn default() -> Fields {
        let n = FieldNames::default();
        Fields {
            time: n.time,
            ip: n.ip,
            user: n.user,
            method: n.method,
            path: n.path,
            status: n.status,
            bytes: n.bytes,
            user_agent: n.user_agent,
            host: n.host,
            referer: n.referer,
            tenant: "tenant".into(),
        }
    }
}

impl Fields {
    /// The names the JSON lines parser reads (all but `tenant`).
    pub fn names(&self) -> FieldNames {
        FieldNames {
            time: self.time.clone(),
            ip: self.ip.clone(),
            user: self.user.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status.clone(),
            bytes: self.bytes.clone(),
            user_agent: self.user_agent.clone(),
            host: self.host.clone(),
            referer: self.referer.clone(),
        }
    }
}

/// What a group's messages are.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    /// Falco's JSON output: alerts.
    #[default]
    Falco,
    /// JSON access-log lines.
    Json,
    /// Combined-format access-log lines.
    Text,
    /// What other hosts' `[cloudwatch_publish]` put (one stream per host): their alerts, stored as
    /// alerts, and their audit rows, bans, ends of bans and integrity runs, stored as fleet rows
    /// (the Fleet view); each bound to the stream it came from, whatever host it claims.
    Rampart,
}

/// `[cloudwatch_publish]`: where the collector puts rampart's own events (a table of its own:
/// TOML cannot hold both `[[cloudwatch]]` entries and a `[cloudwatch.publish]` table).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    /// The log group [default: `/rampart/<hostname>`]; the stream is the host's name.
    pub group: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Another endpoint than AWS's (a VPC endpoint, a local test server).
    pub endpoint_url: Option<String>,
}

impl PublishConfig {
    /// The group events go to.
    pub fn group_name(&self, host: &str) -> String {
        self.group.clone().unwrap_or_else(|| format!("/rampart/{host}"))
    }
}

/// A `15m`-style duration (units ms, s, m, h, d).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || format!("'{text}' is not a duration like 500ms, 90s, 15m, 2h or 1d");
    let n: u64 = number.parse().map_err(|_| bad())?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(ms).map(Duration::from_millis).ok_or_else(bad)
}

/// A `[[cloudwatch]]` entry checked: everything a follower needs but the groups themselves.
#[derive(Debug, Clone)]
pub struct Settings {
    pub entry: GroupConfig,
    pub payload: Payload,
    pub since: Duration,
    pub poll: Duration,
    pub overlap: Duration,
}

impl GroupConfig {
    /// What the entry is called in messages.
    pub fn label(&self) -> String {
        match (&self.group, &self.group_prefix) {
            (Some(g), _) => g.clone(),
            (None, Some(p)) => format!("{p}*"),
            (None, None) => "(no group)".into(),
        }
    }

    /// Checks the entry, or says what is wrong with it.
    pub fn settings(&self) -> Result<Settings, String> {
        let label = self.label();
        if self.group.is_some() == self.group_prefix.is_some() {
            return Err(format!("[[cloudwatch]] {label} needs either group or group_prefix (and not both)"));
        }
        if !self.streams.is_empty() && self.stream_prefix.is_some() {
            return Err(format!("[[cloudwatch]] {label}: give streams or stream_prefix, not both"));
        }
        let rule = match (&self.tenant, self.tenant_from) {
            (Some(t), None) => TenantRule::Fixed(t.clone()),
            (None, Some(TenantFrom::Field)) if self.format != PayloadFormat::Json => {
                return Err(format!("[[cloudwatch]] {label}: tenant_from = \"field\" needs format = \"json\""))
            }
            // Read by `Payload::JsonTenantField`.
            (None, Some(TenantFrom::Field)) => TenantRule::Fixed(String::new()),
            (None, Some(TenantFrom::Host)) if self.format == PayloadFormat::Text => {
                return Err(format!("[[cloudwatch]] {label}: tenant_from = \"host\" needs format = \"json\""))
            }
            (None, Some(TenantFrom::Host)) => TenantRule::Host,
            (None, Some(TenantFrom::Referer)) => TenantRule::Referer,
            (None, Some(TenantFrom::Path)) => TenantRule::PathPrefix,
            (None, None) if matches!(self.format, PayloadFormat::Falco | PayloadFormat::Rampart) => {
                TenantRule::Fixed(String::new())
            }
            _ => return Err(format!("[[cloudwatch]] {label} needs either tenant or tenant_from (and not both)")),
        };
        let payload = match self.format {
            PayloadFormat::Falco => Payload::Falco,
            PayloadFormat::Json if self.tenant_from == Some(TenantFrom::Field) => {
                Payload::JsonTenantField(self.fields.tenant.clone(), Box::new(self.fields.names()))
            }
            PayloadFormat::Json => Payload::Json(rule, Box::new(self.fields.names())),
            PayloadFormat::Text => Payload::Text(rule),
            PayloadFormat::Rampart => Payload::Rampart,
        };
        let duration = |v: &Option<String>, default: &str| {
            parse_duration(v.as_deref().unwrap_or(default)).map_err(|e| format!("[[cloudwatch]] {label}: {e}"))
        };
        Ok(Settings {
            entry: self.clone(),
            payload,
            since: duration(&self.since, "15m")?,
            poll: duration(&self.poll, "5s")?.max(Duration::from_millis(100)),
            overlap: duration(&self.overlap, "10m")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::cloudwatch::Parsed;

    #[test]
    fn a_tenant_field_names_each_lines_tenant_and_the_stream_its_host() {
        let text = "format = \"json\"\ngroup = \"/g\"\ntenant_from = \"field\"\n[fields]\ntenant = \"customer\"\nip = \"client\"";
        let entry: GroupConfig = toml::from_str(text).unwrap();
        let payload = entry.settings().unwrap().payload;
        let line = |customer: &str| {
            format!(r#"{{"time":"2026-11-26T11:00:00+00:00","client":"192.0.2.1","status":200{customer}}}"#)
        };
        match payload.parse(&line(r#","customer":"Globex""#), "web-1", "cloudwatch:/g") {
            Ok(Parsed::Access(e)) => {
                assert_eq!(
                    (e.tenant.as_str(), e.host.as_deref(), e.src_ip.as_str()),
                    ("globex", Some("web-1"), "192.0.2.1")
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(payload.parse(&line(""), "web-1", "s").unwrap_err(), "no tenant in 'customer'");
        let entry: GroupConfig = toml::from_str("format = \"text\"\ngroup = \"/g\"\ntenant_from = \"field\"").unwrap();
        assert_eq!(entry.settings().unwrap_err(), "[[cloudwatch]] /g: tenant_from = \"field\" needs format = \"json\"");
        let wrong: Result<GroupConfig, _> = toml::from_str("group = \"/g\"\n[fields]\ncustomer = \"x\"");
        assert!(wrong.unwrap_err().to_string().contains("unknown field `customer`"));
    }

    #[test]
    fn an_entry_without_group_or_tenant_says_so() {
        let entry: GroupConfig = toml::from_str("format = \"json\"\ngroup = \"/ecs/app\"").unwrap();
        assert_eq!(
            entry.settings().unwrap_err(),
            "[[cloudwatch]] /ecs/app needs either tenant or tenant_from (and not both)"
        );
        let entry: GroupConfig = toml::from_str("format = \"falco\"").unwrap();
        assert_eq!(
            entry.settings().unwrap_err(),
            "[[cloudwatch]] (no group) needs either group or group_prefix (and not both)"
        );
    }
    #[test]
    fn durations_read_as_written() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("15 minutes").is_err());
    }
}
