//! A private tmux server running bash, for tests that drive the real binary in a real terminal.
#![allow(dead_code)]

use std::process::Command;

/// A private tmux server (its own socket) running one bash.
pub struct Tmux {
    socket: String,
    pub dir: tempfile::TempDir,
}

impl Tmux {
    pub fn start(name: &str) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = format!("rampart-test-{name}-{}", std::process::id());
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "120", "-y", "40"])
            .args(["env", "-i", &format!("PATH={}", std::env::var("PATH").unwrap_or_default()), "HOME=/tmp"])
            .args(["TERM=tmux-256color", "PS1=shell> ", "bash", "--norc", "--noprofile"])
            .current_dir(dir.path())
            .status()
            .expect("tmux must be installed (the test command installs it)");
        assert!(status.success(), "tmux did not start");
        let t = Tmux { socket, dir };
        t.wait_for("shell>");
        t
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").args(["-L", &self.socket]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types literal text (no key names) and waits until it shows (echoed by the shell, or in the
    /// console's input field).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
        self.wait_until("typed text", |screen| screen.contains(text), Self::screen_joined);
    }

    /// Presses one named key (Enter, Escape, Tab, ...). It does not wait: the caller waits for
    /// what the key does. (A key sent right after Escape may reach the console in the same read
    /// and be taken for Alt+key, so wait for Escape's effect before the next key.)
    pub fn key(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "t", key]);
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// The screen with wrapped lines joined, as typed (a long command wraps at the window's edge).
    fn screen_joined(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-t", "t"])
    }

    /// Waits until `needle` is on screen (a readiness wait, not a speed check: generous on purpose).
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_for_all(&[needle])
    }

    /// Waits until every one of `needles` is on screen: a frame arrives in pieces, and its first
    /// line can show before its last is drawn.
    pub fn wait_for_all(&self, needles: &[&str]) -> String {
        self.wait_until(&format!("{needles:?}"), |screen| needles.iter().all(|n| screen.contains(n)), Self::screen)
    }

    fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool, capture: impl Fn(&Self) -> String) -> String {
        super::wait_for(&format!("{what} on screen"), || Screen(capture(self)), |screen| done(&screen.0)).0
    }

    pub fn wait_until_gone(&self, needle: &str) -> String {
        super::wait_for(
            &format!("'{needle}' to go away"),
            || Screen(self.screen()),
            |screen| !screen.0.contains(needle),
        )
        .0
    }

    pub fn alternate_screen_on(&self) -> bool {
        self.tmux(&["display-message", "-p", "-t", "t", "#{alternate_on}"]).trim() == "1"
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}

/// A captured screen, shown whole (line by line) when a wait for it fails.
struct Screen(String);

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "screen:\n{}", self.0)
    }
}
