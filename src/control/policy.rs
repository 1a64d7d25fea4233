//! The `[operators]` policy: which Unix users and groups may ask the collector for which action.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The actions a console may ask the collector for, as the audit log and the keymap name them.
pub const ACTIONS: &[&str] = &["isolate", "restore", "unban", "ban", "acknowledge", "verify"];

/// `[operators]`: per action, who besides root may ask the collector for it (`"user:alice"`,
/// `"group:oncall"`). An action without an entry is root's alone.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Operators {
    pub isolate: Vec<String>,
    pub restore: Vec<String>,
    pub unban: Vec<String>,
    pub ban: Vec<String>,
    pub acknowledge: Vec<String>,
    pub verify: Vec<String>,
}

/// One entry of a list: a user or a group, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User(String),
    Group(String),
}

impl Principal {
    /// `user:NAME` or `group:NAME`, or what is wrong with the text.
    pub fn parse(text: &str) -> Result<Principal, String> {
        let (kind, name) = text.split_once(':').unwrap_or(("", text));
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'));
        match kind {
            "user" | "group" if !valid => {
                Err(format!("\"{text}\" does not name a {kind} (letters, digits, _ - . only)"))
            }
            "user" => Ok(Principal::User(name.to_string())),
            "group" => Ok(Principal::Group(name.to_string())),
            _ => Err(format!("\"{text}\" must be \"user:NAME\" or \"group:NAME\"")),
        }
    }
}

/// Who is asking, as the kernel and the system's user database say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub uid: u32,
    pub user: String,
    /// Every group the user is in (primary and supplementary), by name.
    pub groups: Vec<String>,
}

impl Operators {
    /// The list of `action` (empty for an action the policy does not know).
    pub fn entries(&self, action: &str) -> &[String] {
        match action {
            "isolate" => &self.isolate,
            "restore" => &self.restore,
            "unban" => &self.unban,
            "ban" => &self.ban,
            "acknowledge" => &self.acknowledge,
            "verify" => &self.verify,
            _ => &[],
        }
    }

    /// Every entry that does not parse, as (action, index, why).
    pub fn problems(&self) -> Vec<(&'static str, usize, String)> {
        ACTIONS
            .iter()
            .flat_map(|action| {
                self.entries(action)
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, e)| Principal::parse(e).err().map(|why| (*action, i, why)))
            })
            .collect()
    }

    /// Whether `member` may ask for `action`: root always may; otherwise the reason it may not,
    /// as the console shows it ("isolate: only members of secops").
    pub fn decide(&self, action: &str, member: &Member) -> Result<(), String> {
        if !ACTIONS.contains(&action) {
            return Err(format!("{action}: not an action the collector performs"));
        }
        if member.uid == 0 {
            return Ok(());
        }
        let principals: Vec<Principal> = self.entries(action).iter().filter_map(|e| Principal::parse(e).ok()).collect();
        let allowed = principals.iter().any(|p| match p {
            Principal::User(name) => *name == member.user,
            Principal::Group(name) => member.groups.contains(name),
        });
        if allowed {
            return Ok(());
        }
        let users: Vec<&str> = principals
            .iter()
            .filter_map(|p| if let Principal::User(u) = p { Some(u.as_str()) } else { None })
            .collect();
        let groups: Vec<&str> = principals
            .iter()
            .filter_map(|p| if let Principal::Group(g) = p { Some(g.as_str()) } else { None })
            .collect();
        let mut who: Vec<String> = vec!["root".into()];
        who.extend(users.iter().map(|u| u.to_string()));
        if !groups.is_empty() {
            who.push(format!("members of {}", groups.join(", ")));
        }
        let who = match who.len() {
            1 => "root".to_string(),
            // Root goes without saying once anybody else may.
            2 => who[1].clone(),
            _ => format!("{} and {}", who[1..who.len() - 1].join(", "), who[who.len() - 1]),
        };
        Err(format!("{action}: only {who}"))
    }

    /// `decide` for every action: `None` where `member` may act, else why not.
    pub fn permissions(&self, member: &Member) -> BTreeMap<String, Option<String>> {
        ACTIONS.iter().map(|a| (a.to_string(), self.decide(a, member).err())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(uid: u32, user: &str, groups: &[&str]) -> Member {
        Member { uid, user: user.into(), groups: groups.iter().map(|g| g.to_string()).collect() }
    }

    fn policy() -> Operators {
        Operators {
            unban: vec!["group:oncall".into(), "group:secops".into()],
            isolate: vec!["group:secops".into()],
            restore: vec!["user:carol".into(), "group:secops".into()],
            acknowledge: vec!["user:carol".into(), "user:dave".into()],
            ..Default::default()
        }
    }

    #[test]
    fn members_of_a_listed_group_or_listed_users_may_act_and_others_are_told_who_may() {
        let p = policy();
        let bob = member(1001, "bob", &["bob", "oncall"]);
        assert_eq!(p.decide("unban", &bob), Ok(()));
        assert_eq!(p.decide("isolate", &bob), Err("isolate: only members of secops".into()));
        assert_eq!(p.decide("restore", &bob), Err("restore: only carol and members of secops".into()));
        assert_eq!(p.decide("acknowledge", &bob), Err("acknowledge: only carol and dave".into()));
        assert_eq!(p.decide("ban", &bob), Err("ban: only root".into()));
        assert_eq!(p.decide("restore", &member(1002, "carol", &[])), Ok(()));
        assert_eq!(p.decide("shutdown", &bob), Err("shutdown: not an action the collector performs".into()));
        // A group of the same name as a user is not that user.
        assert!(p.decide("isolate", &member(1003, "secops", &["secops2"])).is_err());
    }

    #[test]
    fn root_may_do_everything_even_with_an_empty_policy() {
        let root = member(0, "root", &["root"]);
        assert!(Operators::default().permissions(&root).values().all(Option::is_none));
    }

    #[test]
    fn entries_must_say_whether_they_are_users_or_groups() {
        let p = Operators {
            unban: vec!["oncall".into(), "group:".into(), "user:al ice".into(), "group:ok".into()],
            ..Default::default()
        };
        assert_eq!(
            p.problems(),
            vec![
                ("unban", 0, "\"oncall\" must be \"user:NAME\" or \"group:NAME\"".to_string()),
                ("unban", 1, "\"group:\" does not name a group (letters, digits, _ - . only)".to_string()),
                ("unban", 2, "\"user:al ice\" does not name a user (letters, digits, _ - . only)".to_string()),
            ]
        );
        // A bad entry never lets anybody in.
        assert!(p.decide("unban", &member(5, "oncall", &["oncall"])).is_err());
    }
}
