//! The control socket's protocol: one JSON line asked, one JSON line answered, per connection.
//!
//! Asked: `{"action":"isolate","target":"acme","reason":"shell in container"}` (`pause`, `jail`
//! where the action takes them; `{"action":"permissions"}` asks what the caller may do).
//! Answered: `{"outcome":"ok"|"failed"|"refused","message":…,"details":[…],"operator":…}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::respond::{Outcome, Request};

/// The longest request line accepted; anything longer is refused unread.
pub const MAX_LINE: u64 = 16 * 1024;

/// What a caller asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    pub action: String,
    /// The tenant, the address, the alert's id or the integrity target.
    #[serde(default)]
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jail: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pause: bool,
}

/// How it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Failed,
    /// Not performed: the policy, or a malformed request.
    Refused,
}

/// The collector's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub outcome: Verdict,
    pub message: String,
    #[serde(default)]
    pub details: Vec<String>,
    /// Who the collector took the caller for.
    #[serde(default)]
    pub operator: String,
    /// For `permissions`: every action, `null` where the caller may, else why not.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub permissions: BTreeMap<String, Option<String>>,
}

impl Answer {
    pub fn refused(message: impl Into<String>) -> Answer {
        Answer {
            outcome: Verdict::Refused,
            message: message.into(),
            details: Vec::new(),
            operator: String::new(),
            permissions: BTreeMap::new(),
        }
    }

    pub fn of(outcome: Outcome) -> Answer {
        Answer {
            outcome: if outcome.ok { Verdict::Ok } else { Verdict::Failed },
            message: outcome.message,
            details: outcome.details,
            operator: String::new(),
            permissions: BTreeMap::new(),
        }
    }

    /// As the console shows an outcome (a refusal is a failure that says so).
    pub fn outcome(&self) -> Outcome {
        let message = match self.outcome {
            Verdict::Refused => format!("refused by the collector: {}", self.message),
            _ => self.message.clone(),
        };
        Outcome { ok: self.outcome == Verdict::Ok, message, details: self.details.clone() }
    }
}

impl Ask {
    /// What a console asks for to have `request` performed (`None` for the steps that are signed
    /// on the command line and never go through the collector).
    pub fn of(request: &Request) -> Option<Ask> {
        let ask = |action: &str, target: String| Ask { action: action.into(), target, ..Ask::default() };
        Some(match request {
            Request::Isolate { tenant, reason, pause } => {
                Ask { reason: Some(reason.clone()), pause: *pause, ..ask("isolate", tenant.clone()) }
            }
            Request::Restore { tenant } => ask("restore", tenant.clone()),
            Request::Unban { ip, jail, .. } => Ask { jail: Some(jail.clone()), ..ask("unban", ip.clone()) },
            Request::Ban { ip, jail, reason } => {
                Ask { jail: Some(jail.clone()), reason: Some(reason.clone()), ..ask("ban", ip.clone()) }
            }
            Request::Acknowledge { alert_id, .. } => ask("acknowledge", alert_id.to_string()),
            Request::Verify { target } => ask("verify", target.clone()),
            Request::Baseline { .. } | Request::Accept { .. } | Request::Drill { .. } => return None,
        })
    }
}

/// A request checked for what the collector will act on, before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Permissions,
    /// `Unban` with `jail: None` is an unban from every jail that holds the address.
    Unban {
        ip: String,
        jail: Option<String>,
    },
    Acknowledge {
        alert_id: i64,
    },
    /// Isolate, restore, ban and verify are complete as asked.
    Request(Request),
}

/// Parses one request line: every field bounded, names kept to the characters they may have,
/// addresses as addresses. The error is what the caller is told.
pub fn parse(line: &str) -> Result<Checked, String> {
    let ask: Ask = serde_json::from_str(line.trim_end()).map_err(|e| format!("not a request: {e}"))?;
    let target = || name(&ask.target, "target");
    let reason = || {
        let r = ask.reason.as_deref().unwrap_or("").trim();
        match r {
            "" => Err(format!("{}: a reason is required (it is recorded in the audit log)", ask.action)),
            r if r.chars().count() > 500 || r.chars().any(char::is_control) => {
                Err(format!("{}: the reason must be one line of at most 500 characters", ask.action))
            }
            r => Ok(r.to_string()),
        }
    };
    let ip = || {
        crate::store::canonical_ip(&ask.target)
            .ok_or_else(|| format!("{}: '{}' is not an IP address", ask.action, clip(&ask.target)))
    };
    let jail = |j: &str| name(j, "jail");
    Ok(match ask.action.as_str() {
        "permissions" => Checked::Permissions,
        "isolate" => Checked::Request(Request::Isolate { tenant: target()?, reason: reason()?, pause: ask.pause }),
        "restore" => Checked::Request(Request::Restore { tenant: target()? }),
        "verify" => Checked::Request(Request::Verify { target: target()? }),
        "ban" => {
            let j = ask.jail.as_deref().ok_or("ban: a jail is required")?;
            Checked::Request(Request::Ban { ip: ip()?, jail: jail(j)?, reason: reason()? })
        }
        "unban" => Checked::Unban { ip: ip()?, jail: ask.jail.as_deref().map(jail).transpose()? },
        "acknowledge" => Checked::Acknowledge {
            alert_id: ask
                .target
                .parse()
                .map_err(|_| format!("acknowledge: '{}' is not an alert's number", clip(&ask.target)))?,
        },
        other => return Err(format!("'{}' is not an action the collector performs", clip(other))),
    })
}

/// A tenant, jail or target name: 1 to 128 characters, none of them a control character, a space
/// or a leading `-` (nothing that a program it is passed to could take for an option).
fn name(text: &str, what: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.chars().count() <= 128
        && !text.starts_with('-')
        && !text.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!("'{}' is not a {what} name", clip(text)))
    }
}

/// At most 60 characters of what a caller sent, without control characters, for an error.
fn clip(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_before_anything_is_done() {
        assert_eq!(
            parse(r#"{"action":"isolate","target":"acme","reason":" shell ","pause":true}"#),
            Ok(Checked::Request(Request::Isolate { tenant: "acme".into(), reason: "shell".into(), pause: true }))
        );
        assert_eq!(
            parse(r#"{"action":"unban","target":"2001:DB8::0001"}"#),
            Ok(Checked::Unban { ip: "2001:db8::1".into(), jail: None })
        );
        assert_eq!(
            parse(r#"{"action":"isolate","target":"acme"}"#).unwrap_err(),
            "isolate: a reason is required (it is recorded in the audit log)"
        );
        assert_eq!(parse(r#"{"action":"unban","target":"-h"}"#).unwrap_err(), "unban: '-h' is not an IP address");
        assert_eq!(
            parse(r#"{"action":"ban","target":"192.0.2.1","jail":"--help","reason":"x"}"#).unwrap_err(),
            "'--help' is not a jail name"
        );
        assert_eq!(parse(r#"{"action":"restore","target":"a b"}"#).unwrap_err(), "'a b' is not a target name");
        assert_eq!(
            parse(r#"{"action":"rm -rf","target":"x"}"#).unwrap_err(),
            "'rm -rf' is not an action the collector performs"
        );
        assert!(parse(r#"{"action":"isolate","target":"acme","reason":"x","operator":"root"}"#)
            .unwrap_err()
            .starts_with("not a request: unknown field `operator`"));
        assert_eq!(
            parse(r#"{"action":"isolate","target":"acme","reason":"a\nb"}"#).unwrap_err(),
            "isolate: the reason must be one line of at most 500 characters"
        );
    }

    #[test]
    fn every_console_request_travels_and_comes_back_the_same() {
        let requests = [
            Request::Isolate { tenant: "acme".into(), reason: "why".into(), pause: true },
            Request::Restore { tenant: "acme".into() },
            Request::Ban { ip: "192.0.2.7".into(), jail: "sshd".into(), reason: "r".into() },
            Request::Verify { target: "www".into() },
        ];
        for request in requests {
            let line = serde_json::to_string(&Ask::of(&request).unwrap()).unwrap();
            assert_eq!(parse(&line), Ok(Checked::Request(request)));
        }
    }
}
