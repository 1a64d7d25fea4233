//! rampart's hot half, a crate of its own (`rampart-core`, see core/Cargo.toml): the store, the
//! parsers, detection, ingest and integrity. It uses nothing of the rest of rampart, which reaches
//! these modules through `rampart::store` and the like as before.
// The one exception, binding text in place for bulk inserts, is `store::access::raw`.
#![deny(unsafe_code)]

pub mod detect;
pub mod ingest;
pub mod integrity;
pub mod parse;
pub mod store;
pub mod text;
