//! Who is acting, as the kernel says (real uid, login uid) and, apart, what the environment claims.

use std::collections::BTreeMap;

/// The login uid the kernel reports for a process outside any login session.
const LOGIN_UID_UNSET: u32 = u32::MAX;

/// The environment variables kept as claims: anyone who starts a process can set them to anything.
pub const CLAIMED_VARIABLES: &[&str] = &["SUDO_USER", "SSH_CONNECTION", "USER", "LOGNAME"];

/// The person behind an action, as far as the process can tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Operator {
    /// From the kernel: `alice`, or `root (login alice)` for a session alice logged in to and then
    /// became root in (sudo keeps the login uid, and no user can change it).
    pub name: String,
    /// The SSH client only where something the caller cannot forge vouches for it; what the
    /// environment says of it is in `evidence.claimed`.
    pub ssh_client: Option<String>,
    pub host: String,
    pub evidence: Evidence,
}

/// What the name was made from: the kernel's facts and the environment's claims, for the audit
/// row's `detail_json`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evidence {
    /// The process's real uid.
    pub uid: Option<u32>,
    /// The login uid of the session (`/proc/self/loginuid`); `None` when unset or unreadable.
    pub login_uid: Option<u32>,
    /// What the environment says (`SUDO_USER`, `SSH_CONNECTION`, …, and the session leader's
    /// `SSH_CONNECTION`), by name; never used to decide who acted.
    pub claimed: BTreeMap<String, String>,
    /// For a caller of the collector's control socket: its pid and audit session, as the kernel
    /// gave them (`SO_PEERCRED`, `/proc/PID/sessionid`).
    pub pid: Option<u32>,
    pub session: Option<u32>,
}

impl Operator {
    /// Reads the process's identity from the kernel, and the environment's claims beside it.
    pub fn current() -> Operator {
        let uid = nix::unistd::getuid().as_raw();
        let login_uid = std::fs::read_to_string("/proc/self/loginuid").ok().and_then(|t| t.trim().parse().ok());
        let mut claimed: BTreeMap<String, String> = CLAIMED_VARIABLES
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|value| (name.to_string(), value)))
            .collect();
        if let Some((leader, value)) = session_leader_ssh() {
            claimed.insert(format!("SSH_CONNECTION of session leader {leader}"), value);
        }
        let host = crate::host::name();
        Operator::from_kernel(uid, login_uid, claimed, host, &user_name)
    }

    /// The operator of a process whose real uid is `uid` and login uid `login_uid`, names
    /// resolved by `name_of`; `claimed` is kept as said and changes nothing else.
    pub fn from_kernel(
        uid: u32,
        login_uid: Option<u32>,
        claimed: BTreeMap<String, String>,
        host: String,
        name_of: &dyn Fn(u32) -> String,
    ) -> Operator {
        let login_uid = login_uid.filter(|&l| l != LOGIN_UID_UNSET);
        let user = name_of(uid);
        let name = match login_uid {
            Some(login) if login != uid => format!("{user} (login {})", name_of(login)),
            _ => user,
        };
        let claimed = claimed.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        Operator {
            name,
            ssh_client: None,
            host,
            evidence: Evidence { uid: Some(uid), login_uid, claimed, ..Evidence::default() },
        }
    }

    /// The identity and the claims as the audit row's detail keeps them: `uid`, `login_uid` and
    /// `claimed` (present only when something was claimed).
    pub fn detail(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        if let Some(uid) = self.evidence.uid {
            map.insert("uid".into(), uid.into());
            map.insert("login_uid".into(), self.evidence.login_uid.map_or(serde_json::Value::Null, Into::into));
        }
        for (key, value) in [("pid", self.evidence.pid), ("session", self.evidence.session)] {
            if let Some(value) = value {
                map.insert(key.into(), value.into());
            }
        }
        if !self.evidence.claimed.is_empty() {
            let claimed = self.evidence.claimed.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
            map.insert("claimed".into(), serde_json::Value::Object(claimed));
        }
        map
    }
}

/// The user name of `uid` (through the system's user database), or `uid N` when it has none.
fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}

/// The `SSH_CONNECTION` that sshd gave the session's leader (the login shell), when this process
/// may read that process's environment: `(pid, value)`.
fn session_leader_ssh() -> Option<(u32, String)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // `pid (comm) state ppid pgrp session …`: comm may hold spaces and parentheses, so count
    // from the last `)`.
    let session: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(3)?.parse().ok()?;
    if session == 0 || session == std::process::id() {
        return None;
    }
    let environ = std::fs::read(format!("/proc/{session}/environ")).ok()?;
    environ.split(|b| *b == 0).find_map(|entry| {
        let value = entry.strip_prefix(b"SSH_CONNECTION=")?;
        Some((session, String::from_utf8_lossy(value).into_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(uid: u32) -> String {
        match uid {
            0 => "root".into(),
            1000 => "alice".into(),
            1001 => "bob".into(),
            n => format!("uid {n}"),
        }
    }

    fn claims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_name_is_the_kernels_and_the_environment_only_a_claim() {
        let lies = claims(&[("SUDO_USER", "alice"), ("SSH_CONNECTION", "203.0.113.99 5555 10.0.0.1 22")]);
        // bob logged in and became root; his environment says alice from 203.0.113.99.
        let op = Operator::from_kernel(0, Some(1001), lies.clone(), "h".into(), &names);
        assert_eq!(op.name, "root (login bob)");
        assert_eq!(op.ssh_client, None);
        assert_eq!(op.evidence.claimed, lies);
        let detail = serde_json::Value::Object(op.detail());
        assert_eq!(detail["uid"], 0);
        assert_eq!(detail["login_uid"], 1001);
        assert_eq!(detail["claimed"]["SUDO_USER"], "alice");
        // No login session (a service): the real uid alone.
        let op = Operator::from_kernel(1000, Some(LOGIN_UID_UNSET), BTreeMap::new(), "h".into(), &names);
        assert_eq!(op.name, "alice");
        assert!(serde_json::Value::Object(op.detail())["login_uid"].is_null());
        assert!(!op.detail().contains_key("claimed"));
        // Logged in as themselves.
        assert_eq!(Operator::from_kernel(1000, Some(1000), BTreeMap::new(), "h".into(), &names).name, "alice");
    }

    #[test]
    fn the_current_process_is_named_by_its_real_uid() {
        let op = Operator::current();
        assert_eq!(op.evidence.uid, Some(nix::unistd::getuid().as_raw()));
        assert!(op.name.starts_with(&user_name(nix::unistd::getuid().as_raw())), "{}", op.name);
    }
}
