//! meshpolicy's policy engine. See docs/ARCHITECTURE.md.

pub mod telemetry;
