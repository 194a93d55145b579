//! One module per verb.

pub mod bench;
pub mod explain;
pub mod import;
pub mod package;
pub mod push;
pub mod render;
pub mod test;
pub mod validate;
