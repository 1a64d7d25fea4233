//! What host this is: the one name the audit, the publisher and the fleet reader all use for it.

/// This host's name as the kernel reports it (`unknown-host` when it cannot be read).
pub fn name() -> String {
    whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into())
}
