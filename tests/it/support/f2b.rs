//! A private Fail2Ban server for tests: its own config, socket, pid file and database in a temp
//! dir, two jails over temp log files (one with a finite bantime, one permanent) and the shipped
//! `dummy` action. Stopped when dropped.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use rampart::config::Fail2banConfig;

pub const FINITE: &str = "web-login";
pub const PERMANENT: &str = "ssh-perm";
pub const BANTIME: i64 = 600;
/// A jail over a combined-format access log, whose lines carry their time (Fail2Ban stores such
/// a matched line split around the time it found in it).
pub const DATED: &str = "web-access";

pub struct Fail2ban {
    pub dir: tempfile::TempDir,
    pub config: Fail2banConfig,
}

impl Fail2ban {
    /// Starts the server; fails (never skips) if Fail2Ban is not installed.
    pub fn start() -> Fail2ban {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        std::fs::create_dir_all(dir.path().join("filter.d")).unwrap();
        std::fs::create_dir_all(dir.path().join("action.d")).unwrap();
        std::fs::copy("/etc/fail2ban/action.d/dummy.conf", dir.path().join("action.d/dummy.conf"))
            .expect("Fail2Ban's dummy action: install fail2ban (tests/run does)");
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "fail2ban.conf",
            format!(
                "[Definition]\nloglevel = INFO\nlogtarget = {d}/fail2ban.log\nsocket = {d}/f2b.sock\n\
                 pidfile = {d}/f2b.pid\ndbfile = {d}/f2b.sqlite3\ndbpurgeage = 1d\n"
            ),
        );
        write(
            "filter.d/rampart-test.conf",
            "[Definition]\nfailregex = ^auth failure for \\S+ from <HOST>$\ndatepattern = {NONE}\n".into(),
        );
        write(
            "filter.d/rampart-access.conf",
            "[Definition]\nfailregex = ^<HOST> \\S+ \\S+ \\[\\] \"POST /login[^\"]*\" 401\n".into(),
        );
        write(
            "jail.conf",
            format!(
                "[DEFAULT]\nbackend = polling\nbanaction = dummy[target={d}/dummy.bans]\naction = %(banaction)s\n\
                 maxretry = 3\nfindtime = 600\n\n[{FINITE}]\nenabled = true\nfilter = rampart-test\nlogpath = {d}/web.log\n\
                 bantime = {BANTIME}\n\n[{PERMANENT}]\nenabled = true\nfilter = rampart-test\nlogpath = {d}/ssh.log\nbantime = -1\n\n\
                 [{DATED}]\nenabled = true\nfilter = rampart-access\nlogpath = {d}/access.log\nbantime = {BANTIME}\n\
                 datepattern = ^[^\\[]*\\[({{DATE}})\n"
            ),
        );
        write("web.log", String::new());
        write("ssh.log", String::new());
        write("access.log", String::new());
        let status = Command::new("fail2ban-server")
            .args(["-c", &d, "-b", "-x"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("fail2ban-server must be installed (tests/run installs it)");
        assert!(status.success(), "fail2ban-server did not start");
        let config = Fail2banConfig {
            database: dir.path().join("f2b.sqlite3"),
            socket: dir.path().join("f2b.sock"),
            client: "fail2ban-client".into(),
        };
        let f = Fail2ban { dir, config };
        f.wait("the server answers", || f.client(&["ping"]).is_some_and(|o| o.contains("pong")));
        f
    }

    pub fn client(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("fail2ban-client").arg("-s").arg(&self.config.socket).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Appends `n` failed logins from `ip` to the log of `jail`.
    pub fn fail(&self, jail: &str, ip: &str, n: usize) {
        let log = self.dir.path().join(if jail == FINITE { "web.log" } else { "ssh.log" });
        let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
        for _ in 0..n {
            writeln!(f, "auth failure for mallory from {ip}").unwrap();
        }
    }

    /// Appends `n` failed logins from `ip`, timed now, to the combined-format log of the `DATED`
    /// jail; returns the lines as written.
    pub fn fail_dated(&self, ip: &str, n: usize) -> Vec<String> {
        let mut f = std::fs::OpenOptions::new().append(true).open(self.dir.path().join("access.log")).unwrap();
        let now = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S +0000");
        let lines: Vec<String> = (0..n)
            .map(|i| format!("{ip} - mallory [{now}] \"POST /login?try={i} HTTP/1.1\" 401 312 \"-\" \"curl/8.5.0\""))
            .collect();
        for line in &lines {
            writeln!(f, "{line}").unwrap();
        }
        lines
    }

    /// What Fail2Ban itself says is banned in `jail`.
    pub fn banned(&self, jail: &str) -> Vec<String> {
        self.client(&["get", jail, "banip"]).unwrap_or_default().split_whitespace().map(str::to_string).collect()
    }

    pub fn wait(&self, what: &str, done: impl FnMut() -> bool) {
        super::wait_for(what, done, |held| *held);
    }

    pub fn wait_banned(&self, jail: &str, ip: &str) {
        self.wait(&format!("{ip} banned in {jail}"), || self.banned(jail).iter().any(|b| b == ip));
    }

    /// Fail2Ban's own log, to check it never complained.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("fail2ban.log")).unwrap_or_default()
    }

    pub fn stop(&self) {
        let _ = self.client(&["stop"]);
        let pid: PathBuf = self.dir.path().join("f2b.pid");
        self.wait("the server stops", || !pid.exists());
    }
}

impl Drop for Fail2ban {
    fn drop(&mut self) {
        let _ = self.client(&["stop"]);
    }
}
