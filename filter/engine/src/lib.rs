//! meshpolicy's policy engine: the single source of truth for policy
//! semantics (SPEC §2). Parse (`from_json`, `from_value`), validate and
//! compile (`Policy::compile`), decide per request (`Policy::decide`,
//! `Policy::explain`). No proxy-wasm, files or clocks; builds for the host
//! and for wasm32. See docs/ARCHITECTURE.md.

mod apply;
mod compile;
mod cost;
mod coverage;
mod decide;
mod decision;
pub mod encoding;
mod error;
mod hosts;
mod http_syntax;
mod index;
pub mod limits;
mod lint;
mod load;
pub mod model;
pub mod node;
mod plan;
mod policy;
pub mod port;
pub mod random;
mod regex;
mod request;
mod route;
pub mod router;
mod schema;
pub mod telemetry;
#[cfg(test)]
mod test_support;
mod trace;
mod warning;

pub use apply::{HeaderList, HeaderSink};
pub use compile::{
    API_VERSION, API_VERSION_V1, DEFAULT_DECISION_HEADER, DEFAULT_METRIC_PREFIX, KIND,
};
pub use decision::{
    Decision, DecisionLabels, Destination, HeaderOp, LocalResponse, MatchedRule, SelectedHost,
};
pub use error::{ErrorCode, FieldPath, PathSegment, PolicyError, PolicyErrorKind, PolicyErrors};
pub use http_syntax::SyntaxError;
pub use model::TrafficPolicy;
pub use plan::{HostPlan, KeyRoute, resolve_host};
pub use policy::Policy;
pub use regex::{Anchoring, compile_regex};
pub use request::{Request, SourceInfo};
pub use route::action::rewrite::ReplacementError;
pub use router::RouterOptions;
pub use trace::{RuleTrace, Trace};
pub use warning::{Warning, WarningKind};

use error::Errors;

/// Parse a policy from JSON (what the filter receives as `pluginConfig`).
/// Syntax errors, unknown fields and type errors come back as `PolicyErrors`
/// with field paths, all at once.
pub fn from_json(json: &str) -> Result<TrafficPolicy, PolicyErrors> {
    check_json_len(json)?;
    match load::clean(json) {
        Some(doc) => Ok(doc),
        None => from_value(parse_json(json)?),
    }
}

/// Check a document already parsed into a `serde_json::Value` (the CLI
/// parses YAML into a `Value` with serde-saphyr) and convert it to the typed
/// model. Reports every unknown field and type error; use
/// [`Policy::from_value`] to get the semantic errors in the same list.
pub fn from_value(value: serde_json::Value) -> Result<TrafficPolicy, PolicyErrors> {
    let mut errors = Errors::default();
    let doc = typed(value, &mut errors);
    errors.into_result()?;
    doc.ok_or_else(|| PolicyErrors::one(FieldPath::root(), PolicyErrorKind::Unreadable))
}

/// Schema walk (which strips the unknown fields it reports, as the model
/// refuses them), then typed deserialisation, so a document with only
/// unknown-field errors still yields a model that can be checked further.
fn typed(mut value: serde_json::Value, errors: &mut Errors) -> Option<TrafficPolicy> {
    if !limits::check_policy_bytes(&value, errors) {
        return None;
    }
    schema::check(&mut value, errors);
    // Plain serde_json, not serde_path_to_error: the walk above already
    // reports type errors with their paths, and serde_path_to_error's
    // generic tracking costs about 100 KB of the filter's wasm budget.
    // Read from text, as the fast path reads: one copy of the model's
    // deserialiser in the filter (a second, over `Value`, costs ~120 KB).
    match serde_json::from_str(&value.to_string()) {
        Ok(doc) => Some(doc),
        Err(e) => {
            // Only fires if the walk and the model disagree.
            if errors.list.is_empty() {
                errors.push(
                    &FieldPath::root(),
                    PolicyErrorKind::Model {
                        reason: e.to_string(),
                    },
                );
            }
            None
        }
    }
}

impl Policy {
    /// Validate and compile a policy: every error at once, each with its path.
    pub fn compile(doc: &TrafficPolicy) -> Result<Policy, PolicyErrors> {
        compile::compile(doc)
    }

    /// Check, validate and compile a parsed document: unknown fields, type
    /// errors and semantic errors, all in one list.
    pub fn from_value(value: serde_json::Value) -> Result<Policy, PolicyErrors> {
        let mut errors = Errors::default();
        let doc = typed(value, &mut errors);
        let compiled = doc.map(|d| Policy::compile(&d));
        match compiled {
            Some(Ok(policy)) if errors.list.is_empty() => Ok(policy),
            Some(Err(more)) => {
                errors.list.extend(more.errors);
                Err(PolicyErrors {
                    errors: errors.list,
                })
            }
            _ => Err(PolicyErrors {
                errors: errors.list,
            }),
        }
    }

    /// Parse JSON, validate and compile: what the filter calls in
    /// `on_configure`. Every error at once.
    pub fn from_json(json: &str) -> Result<Policy, PolicyErrors> {
        check_json_len(json)?;
        match load::clean(json) {
            Some(doc) => Policy::compile(&doc),
            None => Policy::from_value(parse_json(json)?),
        }
    }
}

/// The text the filter receives is at most [`limits::MAX_POLICY_BYTES`].
fn check_json_len(json: &str) -> Result<(), PolicyErrors> {
    if json.len() > limits::MAX_POLICY_BYTES {
        return Err(PolicyErrors {
            errors: vec![limits::policy_too_large(json.len())],
        });
    }
    Ok(())
}

fn parse_json(json: &str) -> Result<serde_json::Value, PolicyErrors> {
    check_json_len(json)?;
    serde_json::from_str(json).map_err(|e| {
        PolicyErrors::one(
            FieldPath::root(),
            PolicyErrorKind::InvalidJson {
                line: e.line(),
                column: e.column(),
                reason: e.to_string(),
            },
        )
    })
}
