//! Drawing: pure functions from `&State` to a frame. Nothing here queries the store or changes state.

pub mod draw;
pub mod histogram;
pub mod panes;
pub mod popups;

pub use draw::draw;
