//! Who is acting: the Unix user (and the sudo caller), the SSH client and the host, for audit rows.

/// The person behind an action, as far as the process can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// `alice`, or `root (sudo by alice)`.
    pub name: String,
    /// The client address from `SSH_CONNECTION`, when logged in over SSH.
    pub ssh_client: Option<String>,
    pub host: String,
}

impl Operator {
    /// Reads the process's identity from the OS and the environment.
    pub fn current() -> Operator {
        let user = whoami::username();
        let name = match std::env::var("SUDO_USER") {
            Ok(sudo) if !sudo.is_empty() && sudo != user => format!("{user} (sudo by {sudo})"),
            _ => user,
        };
        let ssh_client = std::env::var("SSH_CONNECTION")
            .ok()
            .and_then(|v| v.split_whitespace().next().map(str::to_string))
            .filter(|s| !s.is_empty());
        let host = whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into());
        Operator { name, ssh_client, host }
    }
}
