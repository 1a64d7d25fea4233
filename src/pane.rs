//! The views of the console and what each one lists.

use crate::store::window::Listing;
use crate::store::{access, alerts, audit, bans, filter::Fields, fleet, integrity, status, tenants};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Tenants,
    Alerts,
    Access,
    Bans,
    Integrity,
    Audit,
    Sources,
    /// Other hosts' published record (audit rows, bans, unbans, integrity runs), read-only.
    Fleet,
}

impl Pane {
    /// In focus order; the number keys 1–8 follow it.
    pub const ALL: [Pane; 8] = [
        Pane::Tenants,
        Pane::Alerts,
        Pane::Access,
        Pane::Bans,
        Pane::Integrity,
        Pane::Audit,
        Pane::Sources,
        Pane::Fleet,
    ];

    /// A view shown alone, outside the five-pane grid.
    pub fn is_view(self) -> bool {
        matches!(self, Pane::Audit | Pane::Sources | Pane::Fleet)
    }

    /// What the pane lists from the store.
    pub fn listing(self) -> Listing {
        match self {
            Pane::Tenants => Listing::Tenants,
            Pane::Alerts => Listing::Alerts,
            Pane::Access => Listing::Access,
            Pane::Bans => Listing::Bans,
            Pane::Integrity => Listing::Integrity,
            Pane::Audit => Listing::Audit,
            Pane::Sources => Listing::Sources,
            Pane::Fleet => Listing::Fleet,
        }
    }

    /// The pane that shows `listing`.
    pub fn showing(listing: Listing) -> Pane {
        Pane::ALL.into_iter().find(|p| p.listing() == listing).unwrap_or(Pane::Tenants)
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Tenants => "Tenants",
            Pane::Alerts => "Alerts",
            Pane::Access => "Access log",
            Pane::Bans => "Bans",
            Pane::Integrity => "Integrity",
            Pane::Audit => "Audit",
            Pane::Sources => "Sources",
            Pane::Fleet => "Fleet",
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
            Pane::Sources => &status::FIELDS,
            Pane::Fleet => &fleet::FIELDS,
        }
    }

    /// Live panes list a growing stream, newest first, and can follow it.
    pub fn is_stream(self) -> bool {
        matches!(self, Pane::Alerts | Pane::Access | Pane::Bans | Pane::Audit | Pane::Fleet)
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
            Pane::Sources => Tables::STATUS,
            Pane::Fleet => Tables::FLEET,
        }
    }
}
