//! The six views of the console and what each one lists.

use crate::store::{access, alerts, audit, bans, filter::Fields, integrity, tenants};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Tenants,
    Alerts,
    Access,
    Bans,
    Integrity,
    Audit,
}

impl Pane {
    /// In focus order; the number keys 1–6 follow it.
    pub const ALL: [Pane; 6] = [Pane::Tenants, Pane::Alerts, Pane::Access, Pane::Bans, Pane::Integrity, Pane::Audit];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Tenants => "Tenants",
            Pane::Alerts => "Alerts",
            Pane::Access => "Access log",
            Pane::Bans => "Bans",
            Pane::Integrity => "Integrity",
            Pane::Audit => "Audit",
        }
    }

    pub fn number(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0) + 1
    }

    pub fn index(self) -> usize {
        self.number() - 1
    }

    /// What the filter language can name in this pane.
    pub fn fields(self) -> &'static Fields {
        match self {
            Pane::Tenants => &tenants::FIELDS,
            Pane::Alerts => &alerts::FIELDS,
            Pane::Access => &access::FIELDS,
            Pane::Bans => &bans::FIELDS,
            Pane::Integrity => &integrity::FIELDS,
            Pane::Audit => &audit::FIELDS,
        }
    }

    /// Live panes list a growing stream, newest first, and can follow it.
    pub fn is_stream(self) -> bool {
        matches!(self, Pane::Alerts | Pane::Access | Pane::Bans | Pane::Audit)
    }

    /// What an empty pane says: what would fill it and how to enable that.
    /// What would fill the pane; `keymap` names the keys it mentions.
    pub fn empty_hint(self, keymap: &crate::config::Keymap) -> String {
        let text = match self {
            Pane::Tenants => {
                "No tenants yet. A tenant is the set of Docker containers labelled rampart.tenant=NAME. \
                 Try `rampart demo` to see a populated console."
            }
            Pane::Alerts => {
                "No alerts. Falco's JSON output arrives with `rampart ingest falco FILE` (or `-` for a pipe \
                 from falco)."
            }
            Pane::Access => {
                "No access events. Follow a log with [[access_log]] path and tenant in the config file, import \
                 one with `rampart ingest access FILE`, or write rows into the access_events table (README)."
            }
            Pane::Bans => {
                return match keymap.key_name(crate::app::action::Action::Ban) {
                    Some(key) => {
                        format!("No active bans. Bans come from Fail2Ban's database, or from `{key}` on any IP.")
                    }
                    None => "No active bans. Bans come from Fail2Ban's database.".to_string(),
                }
            }
            Pane::Integrity => {
                "No integrity targets. A target is a file tree whose SHA-256 manifest is signed with RSA: \
                 make one with `rampart integrity baseline NAME PATH --key PRIVATE.pem`, or declare \
                 [[integrity]] in the config file. Its verifications appear here; v runs one now."
            }
            Pane::Audit => "The audit log is empty: every action an operator takes is recorded here.",
        };
        text.to_string()
    }

    pub fn tables(self) -> crate::store::writer::Tables {
        use crate::store::writer::Tables;
        match self {
            Pane::Tenants => Tables::TENANTS | Tables::ALERTS | Tables::BANS | Tables::INTEGRITY,
            Pane::Alerts => Tables::ALERTS,
            Pane::Access => Tables::ACCESS,
            Pane::Bans => Tables::BANS,
            Pane::Integrity => Tables::INTEGRITY,
            Pane::Audit => Tables::AUDIT,
        }
    }
}
