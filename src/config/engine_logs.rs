//! `[engine_logs]`: which label marks a container whose standard output is its access log, and the
//! JSON field names of those that log JSON.

use serde::Deserialize;

/// `[engine_logs]` in the config file; containers are found by label, so nothing needs listing.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EngineLogsConfig {
    /// Follow containers at all.
    pub enabled: bool,
    /// The container label whose value (`combined` or `json`) says that the container writes its
    /// access log to standard output, and in which format.
    pub label: String,
    /// JSON field names, for containers labelled `json`.
    pub fields: crate::parse::jsonlines::FieldNames,
}

impl Default for EngineLogsConfig {
    fn default() -> EngineLogsConfig {
        EngineLogsConfig { enabled: true, label: "rampart.access".into(), fields: Default::default() }
    }
}
