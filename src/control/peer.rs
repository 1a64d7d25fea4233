//! Who is on the other end of the control socket, as the kernel says (`SO_PEERCRED`, `/proc`),
//! with what its environment claims kept apart as claims.

use std::collections::BTreeMap;

use super::policy::Member;
use crate::respond::operator::CLAIMED_VARIABLES;
use crate::respond::Operator;

/// The caller: its identity for the policy and the operator its actions are audited under.
#[derive(Debug, Clone)]
pub struct Caller {
    pub member: Member,
    pub operator: Operator,
    pub pid: Option<i32>,
}

/// Identifies the process with real uid `uid`, gid `gid` and pid `pid` (from `SO_PEERCRED`).
/// The policy decides on the uid and the groups the user database gives that user, never on
/// anything the caller can set; the pid only adds the login uid, the session and the SSH client
/// of that session, each checked against the uid.
pub fn identify(uid: u32, gid: u32, pid: Option<i32>) -> Caller {
    let user = user_name(uid);
    let member = Member { uid, user: user.clone(), groups: groups_of(uid, gid) };
    // Only a process that is still the caller is asked: a pid reused by another user's process
    // says nothing about this caller.
    let process = pid.filter(|&p| p > 0 && real_uid_of(p) == Some(uid));
    let login_uid = process.and_then(|p| read_number(&format!("/proc/{p}/loginuid")));
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    let mut ssh_client = None;
    if let Some(p) = process {
        let environ = read_environ(p);
        for name in CLAIMED_VARIABLES {
            if let Some(value) = environ.get(*name) {
                claimed.insert(name.to_string(), value.clone());
            }
        }
        match session_leader_ssh(p) {
            Some(SessionSsh::Vouched(client)) => ssh_client = Some(client),
            Some(SessionSsh::Claimed(leader, value)) => {
                claimed.insert(format!("SSH_CONNECTION of session leader {leader}"), value);
            }
            None => {}
        }
    }
    let mut operator = Operator::from_kernel(uid, login_uid, claimed, crate::host::name(), &user_name);
    operator.ssh_client = ssh_client;
    operator.evidence.pid = process.map(|p| p as u32);
    operator.evidence.session = process.and_then(audit_session);
    Caller { member, operator, pid: process }
}

/// The user name of `uid`, or `uid N` when the user database has none.
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}

/// The names of every group `uid` is in: `gid` and the user's supplementary groups.
fn groups_of(uid: u32, gid: u32) -> Vec<String> {
    let gid = nix::unistd::Gid::from_raw(gid);
    let mut gids = vec![gid];
    if let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        if let Ok(name) = std::ffi::CString::new(user.name) {
            gids.extend(nix::unistd::getgrouplist(&name, user.gid).unwrap_or_default());
        }
    }
    let mut names: Vec<String> =
        gids.into_iter().filter_map(|g| nix::unistd::Group::from_gid(g).ok().flatten().map(|g| g.name)).collect();
    names.sort();
    names.dedup();
    names
}

fn read_number(path: &str) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The real uid in `/proc/PID/status`.
fn real_uid_of(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()
}

/// The kernel's audit session of the process (`/proc/PID/sessionid`), unset for none.
fn audit_session(pid: i32) -> Option<u32> {
    read_number(&format!("/proc/{pid}/sessionid")).filter(|&s| s != u32::MAX)
}

/// A process's environment at its start, by name (bounded: a hostile caller can make it large).
fn read_environ(pid: i32) -> BTreeMap<String, String> {
    let Ok(bytes) = std::fs::read(format!("/proc/{pid}/environ")) else { return BTreeMap::new() };
    bytes
        .split(|b| *b == 0)
        .take(4096)
        .filter_map(|entry| {
            let text = String::from_utf8_lossy(entry);
            let (k, v) = text.split_once('=')?;
            Some((k.to_string(), v.chars().take(512).collect()))
        })
        .collect()
}

/// `pid (comm) state ppid pgrp session …` of `/proc/PID/stat`: (ppid, session). comm may hold
/// spaces and parentheses, so the fields are counted from the last `)`.
fn stat_of(pid: i32) -> Option<(i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let ppid = fields.nth(1)?.parse().ok()?;
    let session = fields.nth(1)?.parse().ok()?;
    Some((ppid, session))
}

enum SessionSsh {
    /// The session leader was started by sshd running as root: sshd set its `SSH_CONNECTION`.
    Vouched(String),
    /// Anything else: a leader the caller may have started itself with any environment.
    Claimed(i32, String),
}

/// The SSH client of the caller's session: the `SSH_CONNECTION` sshd gave the session's leader.
/// It is vouched for only when that leader's parent is sshd running as root.
fn session_leader_ssh(pid: i32) -> Option<SessionSsh> {
    let (_, session) = stat_of(pid)?;
    if session <= 0 {
        return None;
    }
    let value = read_environ(session).remove("SSH_CONNECTION")?;
    let client = value.split_whitespace().next().unwrap_or_default().to_string();
    let parent = stat_of(session).map(|(ppid, _)| ppid);
    let by_sshd = parent.is_some_and(|ppid| {
        let comm = std::fs::read_to_string(format!("/proc/{ppid}/comm")).unwrap_or_default();
        real_uid_of(ppid) == Some(0) && comm.trim().starts_with("sshd")
    });
    match (by_sshd, client.parse::<std::net::IpAddr>()) {
        (true, Ok(ip)) => Some(SessionSsh::Vouched(ip.to_string())),
        _ => Some(SessionSsh::Claimed(session, value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_identified_by_its_uid_and_its_groups() {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let caller = identify(uid, gid, Some(std::process::id() as i32));
        assert_eq!(caller.member.uid, uid);
        assert_eq!(caller.member.user, user_name(uid));
        let primary = nix::unistd::Group::from_gid(nix::unistd::getgid()).unwrap().unwrap().name;
        assert!(caller.member.groups.contains(&primary), "{:?}", caller.member.groups);
        assert_eq!(caller.operator.evidence.uid, Some(uid));
        assert_eq!(caller.pid, Some(std::process::id() as i32));
    }

    #[test]
    fn a_pid_of_another_user_adds_nothing() {
        // pid 1 is root's; a caller that says it is uid 4242 with pid 1 gets nothing from pid 1.
        let caller = identify(4242, 4242, Some(1));
        assert_eq!(caller.pid, None);
        assert_eq!(caller.operator.name, "uid 4242");
        assert!(caller.operator.evidence.claimed.is_empty());
        assert_eq!(caller.operator.evidence.login_uid, None);
    }
}
