//! Drawing: pure functions from `&State` to a frame. Nothing here queries the store or changes state.

pub mod draw;
pub mod format;
pub mod histogram;
pub mod layout;
pub mod panes;
pub mod popups;
pub mod sanitize;

pub use draw::draw;
