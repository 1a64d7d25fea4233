//! Throw-away Unix users and groups for the tests of privilege (the tests run as root), removed
//! when dropped, and the real binary run as one of them.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Users and groups made for one test.
#[derive(Default)]
pub struct Accounts {
    users: Vec<String>,
    groups: Vec<String>,
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Accounts {
    /// A name no other test uses: `rt` + pid + counter + `what` (at most 32 characters).
    fn fresh(what: &str) -> String {
        format!("rt{}x{}{what}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// Makes a group; returns its name.
    pub fn group(&mut self, what: &str) -> String {
        let name = Self::fresh(what);
        run("groupadd", &[&name]);
        self.groups.push(name.clone());
        name
    }

    /// Makes a user with its own group, member of `groups`, no home, no login shell.
    pub fn user(&mut self, what: &str, groups: &[&str]) -> String {
        let name = Self::fresh(what);
        let mut args = vec!["--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"];
        let list = groups.join(",");
        if !groups.is_empty() {
            args.extend(["--groups", &list]);
        }
        args.push(&name);
        run("useradd", &args);
        self.users.push(name.clone());
        name
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for user in &self.users {
            // userdel refuses (exit 8) while a process of the user still runs: one the test
            // started and is ending (a console after `q`) is waited for, within a deadline.
            let start = std::time::Instant::now();
            while Command::new("userdel").arg(user).status().is_ok_and(|s| s.code() == Some(8))
                && start.elapsed() < std::time::Duration::from_secs(30)
            {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        for group in &self.groups {
            let _ = Command::new("groupdel").arg(group).output();
        }
    }
}

/// The real binary run as `user` (its uid, its group and its supplementary groups, as a login
/// gives them), with an environment that lies about who is acting.
pub fn rampart_as(user: &str, db: &Path, config: &Path) -> Command {
    let mut c = as_user(user);
    c.args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()]);
    c
}

/// The real binary run as `user`, with no arguments yet.
pub fn as_user(user: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid", user, "--regid", user, "--init-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_rampart"))
        .env("SUDO_USER", "root")
        .env("SSH_CONNECTION", "203.0.113.250 50000 10.0.0.1 22")
        .env("HOME", "/nonexistent")
        .env_remove("RUST_BACKTRACE");
    c
}

/// What a command said: (exit code, stdout, stderr).
pub fn said(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// Opens `dir` to everyone (a temp dir is the test's own otherwise) so the other users reach
/// what is in it as its own modes say.
pub fn open_dir(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}
