//! `[[respond]]` rules (on an alert, ban its source address, or raise its tenant for isolation)
//! and the `[guardrails]` every automatic action passes: networks never banned, and at most so
//! many actions a minute.

use serde::Deserialize;

/// `[[respond]]`: which alerts (by rule name and/or lowest priority) ban their source address in
/// which Fail2Ban jail, for the jail's `bantime` or, when shorter, `ban_for` (Fail2Ban's client sets
/// no time per ban: rampart lifts it).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RespondRule {
    /// Who acted, in the audit log (`rampart (rule NAME)`).
    pub name: String,
    /// Alerts of this rule (`Brute-force login`, a Falco rule's name)…
    pub rule: Option<String>,
    /// …and/or of at least this priority (`critical` takes Critical, Alert and Emergency).
    pub priority: Option<String>,
    /// What the rule does: `ban` (the default), `suggest isolation` (an alert the operator
    /// confirms by isolating the tenant in the console) or `isolate` (at once, only when said).
    #[serde(default)]
    pub action: RespondAction,
    /// The Fail2Ban jail to ban in (for `ban`).
    #[serde(default)]
    pub jail: String,
    /// Lift the ban after this long (`10m`, `1h`), if the jail's `bantime` has not already.
    #[serde(default)]
    pub ban_for: Option<String>,
    /// Say "would ban" (in the audit log) instead of banning.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a `[[respond]]` rule does with an alert.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub enum RespondAction {
    /// Ban the alert's source address in the rule's jail.
    #[default]
    #[serde(rename = "ban")]
    Ban,
    /// Raise the alert's tenant for isolation: an alert saying so, which the operator confirms by
    /// isolating it (never isolated by rampart).
    #[serde(rename = "suggest isolation", alias = "suggest-isolation")]
    SuggestIsolation,
    /// Isolate the alert's tenant at once: only ever when a rule says so.
    #[serde(rename = "isolate")]
    Isolate,
}

/// `[guardrails]`: what no `[[respond]]` rule may do.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Guardrails {
    /// Networks never banned (`192.0.2.0/24`, `2001:db8::/32` or one address): the host's own,
    /// the operators', the load balancer's. Loopback addresses are never banned either.
    pub allow: Vec<String>,
    /// Most automatic actions in any minute; beyond it rampart stops acting, and says so, until
    /// the minute has passed.
    pub max_per_minute: u32,
}

impl Default for Guardrails {
    fn default() -> Guardrails {
        Guardrails { allow: Vec::new(), max_per_minute: 10 }
    }
}
