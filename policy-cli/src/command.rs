//! One module per verb.

pub mod bench;
pub mod diff;
pub mod explain;
pub mod import;
pub mod import_tests;
pub mod package;
pub mod playground;
pub mod push;
pub mod render;
pub mod test;
pub mod validate;
