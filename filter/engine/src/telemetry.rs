//! The `spec.telemetry` section: Istio Telemetry `metrics` semantics applied
//! to meshpolicy's own metrics.

pub mod cel;
pub mod model;
