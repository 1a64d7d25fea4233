//! Log formats turned into rows, one parser per format, shared by file tails, imports, Falco over HTTP and CloudWatch.

pub mod address;
pub mod cloudwatch;
pub mod combined;
pub mod decode;
pub mod falco;
pub mod jsonlines;
pub mod tenant;

pub use tenant::TenantRule;
