//! The console's two vocabularies: `Msg`, everything that can happen to it, and `Effect`, the slow
//! work `update` asks for. A leaf: `update`, `state` and the effect runners all use it.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::config::Theme;
use crate::pane::Pane;
use crate::respond::{Outcome, Request};
use crate::store::histogram::{Histogram, Query as HistogramQuery};
use crate::store::overview::Overview;
use crate::store::related::Related;
use crate::store::window::{Page, Query};
use crate::store::writer::Tables;

/// Everything that can happen to the console.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The clock moved (ms since the epoch).
    Tick(i64),
    StoreChanged(Tables),
    Loaded {
        pane: Pane,
        generation: u64,
        result: Result<Page, String>,
    },
    Overview(Result<Box<(Overview, Vec<String>)>, String>),
    Responded(Outcome),
    /// Where the incident report was written, or why it was not.
    ReportWritten(Result<std::path::PathBuf, String>),
    /// What the store knows of an IP, for the open detail popup.
    Related {
        ip: String,
        rows: Result<Vec<Related>, String>,
    },
    ThemeLoaded(Result<Box<Theme>, String>),
    /// A source's kept unparsed lines, for the open detail popup.
    Unparsed {
        source: String,
        result: Result<Vec<crate::store::unparsed::Line>, String>,
    },
    /// A pane's histogram, for the interval and filter it was counted with.
    Histogram {
        pane: Pane,
        bucket_ms: i64,
        filter: Option<String>,
        result: Result<Box<Histogram>, String>,
    },
    /// The changed entries of integrity run `run`, for the open changes popup.
    Changes {
        run: i64,
        result: Result<Vec<crate::store::integrity::Change>, String>,
    },
    /// The terminal is ours again after a suspend (Ctrl-Z, then `fg`).
    Resumed,
    /// The collector this viewer deferred to is gone, and this console took over collecting.
    TookOverCollecting {
        previous: String,
    },
    /// A read-only console saw the store's collector come or go (`None`: nobody collects now).
    CollectorChanged {
        holder: Option<String>,
        /// This console reads the store as it stood when it opened (see `store::is_snapshot`),
        /// so it does not see what the collector writes until it is started again.
        snapshot: bool,
    },
    /// SIGTERM, SIGHUP or the like.
    Quit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Load {
        generation: u64,
        query: Query,
    },
    LoadOverview,
    /// The histogram above a pane (Access log, Alerts).
    LoadHistogram {
        pane: Pane,
        query: HistogramQuery,
    },
    /// Recent access events and alerts of an IP (and, for an alert, the events it was raised for).
    LoadRelated {
        ip: String,
        alert: Option<i64>,
    },
    /// The changed entries of an integrity run, for the open changes popup.
    LoadChanges {
        run: i64,
    },
    /// A source's kept unparsed lines, for the open detail popup.
    LoadUnparsed {
        source: String,
    },
    Respond(Request),
    /// `:report TENANT [SINCE]`: the incident report written to a file in the working folder.
    WriteReport {
        tenant: String,
        since: String,
    },
    /// `:drill TENANT [SCENARIO]`: a fire drill against the tenant, told as an outcome whose details
    /// are its checklist.
    Drill {
        tenant: String,
        scenario: String,
    },
    LoadTheme(String),
    /// Ctrl-Z: give the terminal back and stop until the shell continues rampart. The event loop
    /// carries it out itself (it owns the terminal), then sends `Msg::Resumed`.
    Suspend,
    Quit,
}
