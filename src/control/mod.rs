//! The collector's control socket: consoles of users other than root ask the collector to act,
//! and the collector decides by the kernel's word on who is asking.

pub mod client;
pub mod peer;
pub mod policy;
pub mod protocol;
pub mod server;
pub mod share;

use std::path::{Path, PathBuf};

/// Where the collector of the store at `db` listens: `[control] socket`, else beside the store
/// (`rampart.db.sock`).
pub fn socket_path(config: &crate::config::ControlConfig, db: &Path) -> PathBuf {
    config.socket.clone().unwrap_or_else(|| {
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(".sock");
        db.with_file_name(name)
    })
}
