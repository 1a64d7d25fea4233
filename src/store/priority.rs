//! Falco's priority scale, a domain type of its own: alerts carry it, filters compare by it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Falco's ordered priorities, most severe first; the rank is the order (0 = Emergency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    Emergency,
    Alert,
    Critical,
    Error,
    Warning,
    Notice,
    Informational,
    Debug,
}

impl Priority {
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Priority {
        Priority::ALL[rank.clamp(0, 7) as usize]
    }

    pub fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }

    /// Up to four letters, for narrow columns and the per-priority counts.
    pub fn short(self) -> &'static str {
        match self {
            Priority::Emergency => "EMER",
            Priority::Alert => "ALRT",
            Priority::Critical => "CRIT",
            Priority::Error => "ERR",
            Priority::Warning => "WARN",
            Priority::Notice => "NOTE",
            Priority::Informational => "INFO",
            Priority::Debug => "DEBG",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Priority {
    type Err = ();
    /// Case-insensitive; accepts Falco's `Info` and the short forms.
    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.to_ascii_lowercase();
        Priority::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(&s) || p.short().eq_ignore_ascii_case(&s))
            .or(match s.as_str() {
                "info" => Some(Priority::Informational),
                "emerg" => Some(Priority::Emergency),
                "crit" => Some(Priority::Critical),
                "warn" => Some(Priority::Warning),
                _ => None,
            })
            .ok_or(())
    }
}
