//! `[[cloudwatch]]` entries as the config file gives them (checked when the config is read, see
//! `config::check`).

use std::time::Duration;

use serde::Deserialize;

use super::TenantFrom;
use crate::parse::jsonlines::FieldNames;

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
    /// What other hosts' `[cloudwatch_publish]` put (`/rampart/<host>` groups): their alerts, for a
    /// fleet view; their audit rows, bans and integrity runs are recognised but not stored yet.
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
