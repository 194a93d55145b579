//! meshpolicy's policy engine: the single source of truth for policy
//! semantics (SPEC §2). Parse (`from_json`, `from_value`), validate and
//! compile (`Policy::compile`), decide per request (`Policy::decide`,
//! `Policy::explain`). No proxy-wasm, files or clocks; builds for the host
//! and for wasm32. See docs/ARCHITECTURE.md.

mod compile;
mod decision;
mod error;
mod index;
pub mod limits;
mod matcher;
pub mod model;
mod policy;
mod regex;
mod request;
mod rewrite;
mod schema;
mod split;
pub mod telemetry;
mod trace;

pub use compile::{API_VERSION, DEFAULT_DECISION_HEADER, DEFAULT_METRIC_PREFIX, KIND};
pub use decision::{Decision, DecisionLabels, Destination, HeaderOp, LocalResponse, MatchedRule};
pub use error::{PolicyError, PolicyErrors};
pub use model::TrafficPolicy;
pub use policy::Policy;
pub use regex::{Anchoring, compile_regex};
pub use request::{Request, SourceInfo};
pub use trace::{RuleTrace, Trace};

use error::Errors;

/// Parse a policy from JSON (what the filter receives as `pluginConfig`).
/// Syntax errors, unknown fields and type errors come back as `PolicyErrors`
/// with field paths, all at once.
pub fn from_json(json: &str) -> Result<TrafficPolicy, PolicyErrors> {
    if json.len() > limits::MAX_POLICY_BYTES {
        return Err(PolicyErrors::one(
            "document",
            format!(
                "policy is {} bytes, the limit is {}",
                json.len(),
                limits::MAX_POLICY_BYTES
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        PolicyErrors::one(
            "document",
            format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    from_value(value)
}

/// Check a document already parsed into a `serde_json::Value` (the CLI
/// parses YAML into a `Value` with serde-saphyr and calls this) and convert
/// it to the typed model. Reports every unknown field and type error.
pub fn from_value(value: serde_json::Value) -> Result<TrafficPolicy, PolicyErrors> {
    let mut errors = Errors::default();
    schema::check(&value, &mut errors);
    errors.into_result()?;
    // The schema walk accepted the shape, so this only fails if the walk and
    // the model disagree; report it with serde's path all the same.
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        PolicyErrors::one(
            if path == "." {
                "document".to_owned()
            } else {
                path
            },
            e.inner().to_string(),
        )
    })
}

impl Policy {
    /// Validate and compile a policy: every error at once, each with its path.
    pub fn compile(doc: &TrafficPolicy) -> Result<Policy, PolicyErrors> {
        compile::compile(doc)
    }

    /// Parse JSON, validate and compile: what the filter calls in `on_configure`.
    pub fn from_json(json: &str) -> Result<Policy, PolicyErrors> {
        Policy::compile(&from_json(json)?)
    }
}
