//! Sources: tasks of the collector that read the real components and write what they see.

pub mod docker;
pub mod fail2ban;
