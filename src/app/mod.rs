//! The console as The Elm Architecture: state, the actions keys map to, update, and effects.

pub mod effects;
pub mod msg;
pub mod state;
pub mod update;
