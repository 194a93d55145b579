//! meshpolicy's playground (SPEC §6): the engine built with `wasm-bindgen`
//! for a static page. Every export takes and returns JSON text, so the page
//! needs no generated types and the same functions are unit-tested (and
//! benchmarked) natively.
//!
//! - [`engine_api`]: every call into the engine, in one place.
//! - `meshpolicy-import` (not this crate): the policy text as YAML documents
//!   with the CLI's parser and span map, Istio YAML imported and lint
//!   warnings given by the CLI's own code, so findings land on the
//!   line:column `policy-cli validate` shows.
//! - [`split_sim`]: the sticky-split simulator.

// A `Diagnostic` (message, path, place) is returned once per problem in the
// text, never on a hot path: boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod diagnostic;
pub mod engine_api;
pub mod split_sim;

use serde::Serialize;
use serde_json::{Value, json};
use wasm_bindgen::prelude::wasm_bindgen;

use diagnostic::{Diagnostic, shown};
use engine_api::{CompiledPolicy, RequestInput};

/// The engine version this build runs (share links carry it).
#[wasm_bindgen(js_name = engineVersion)]
pub fn engine_version() -> String {
    engine_api::engine_version()
}

/// Validate the policy text: `{"ok": bool, "diagnostics": [...],
/// "imported": "..."}`; `ok` when no diagnostic is an error (warnings and
/// notes come with a valid policy), `imported` the TrafficPolicy that Istio
/// YAML imported into (`null` for a TrafficPolicy alone).
#[wasm_bindgen]
pub fn validate(policy: &str) -> String {
    let checked = engine_api::check(policy);
    to_json(&json!({
        "ok": checked.policy.is_some(),
        "diagnostics": shown(&checked.diagnostics),
        "imported": checked.imported,
    }))
}

/// Validate the policy and explain one request (JSON `RequestInput`):
/// `{"ok": true, "decision": {...}, "trace": {...}, "metrics": [...],
/// "diagnostics": [...], "imported": ...}` (warnings and notes) or
/// `{"ok": false, "diagnostics": [...]}` (policy and request problems).
#[wasm_bindgen]
pub fn explain(policy: &str, request: &str) -> String {
    let checked = engine_api::check(policy);
    let (compiled, mut diagnostics, imported) =
        (checked.policy, checked.diagnostics, checked.imported);
    let input = match parse_request(request) {
        Ok(input) => Some(input),
        Err(d) => {
            diagnostics.extend(d);
            None
        }
    };
    match (compiled, input) {
        (Some(c), Some(input)) if !diagnostics.iter().any(Diagnostic::is_error) => {
            // Decision and trace stay JSON text, in the engine's field order.
            let outcome = c.explain(&input);
            format!(
                "{{\"ok\":true,\"decision\":{},\"trace\":{},\"metrics\":{},\"diagnostics\":{},\"imported\":{}}}",
                outcome.decision,
                outcome.trace,
                to_json(&outcome.metrics),
                to_json(&shown(&diagnostics)),
                to_json(&imported)
            )
        }
        _ => failure(&diagnostics),
    }
}

/// Run the sticky-split simulator (JSON `split_sim::SplitInput`).
#[wasm_bindgen(js_name = simulateSplit)]
pub fn simulate_split(input: &str) -> String {
    let parsed: Result<split_sim::SplitInput, _> = serde_json::from_str(input);
    match parsed {
        Err(e) => failure(&[Diagnostic::error(
            "bad-split",
            format!("invalid simulator input: {e}"),
        )]),
        Ok(input) => match split_sim::simulate(&input) {
            Ok(report) => to_json(&json!({ "ok": true, "report": report })),
            Err(d) => failure(&d),
        },
    }
}

/// A compiled policy kept across calls: what the differential test and the
/// benchmark use, so they measure deciding, not compiling.
#[wasm_bindgen]
pub struct Compiled {
    inner: CompiledPolicy,
}

#[wasm_bindgen]
impl Compiled {
    /// Compile `policy`; on failure the error is the diagnostics' JSON.
    #[wasm_bindgen(constructor)]
    pub fn new(policy: &str) -> Result<Compiled, String> {
        engine_api::compile(policy)
            .map(|inner| Compiled { inner })
            .map_err(|d| failure(&d))
    }

    /// The fast-path decision for one request, as JSON (`null` for a bad request).
    pub fn decide(&self, request: &str) -> String {
        match parse_request(request) {
            Ok(input) => self.inner.decide(&input),
            Err(d) => failure(&d),
        }
    }

    /// Decide the same request `n` times; the number of routed decisions.
    #[wasm_bindgen(js_name = decideRepeatedly)]
    pub fn decide_repeatedly(&self, request: &str, n: u32) -> u32 {
        match parse_request(request) {
            Ok(input) => self.inner.decide_repeatedly(&input, n),
            Err(_) => 0,
        }
    }
}

impl Compiled {
    /// The native side of the same API (tests, benchmarks).
    pub fn policy(&self) -> &CompiledPolicy {
        &self.inner
    }
}

/// Parses and checks a request; problems name their field.
pub fn parse_request(text: &str) -> Result<RequestInput, Vec<Diagnostic>> {
    let input: RequestInput = serde_json::from_str(text).map_err(|e| {
        let mut d = Diagnostic::error("bad-request", format!("invalid request: {e}"));
        d.path = Some("request".to_owned());
        vec![d]
    })?;
    let problems = input.check();
    if problems.is_empty() {
        Ok(input)
    } else {
        Err(problems)
    }
}

fn failure(diagnostics: &[Diagnostic]) -> String {
    to_json(&json!({ "ok": false, "diagnostics": shown(diagnostics) }))
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        to_json_fallback(&Value::String(format!("cannot encode the answer: {e}")))
    })
}

fn to_json_fallback(message: &Value) -> String {
    format!(
        "{{\"ok\":false,\"diagnostics\":[{{\"severity\":\"error\",\"code\":\"internal\",\"message\":{message}}}]}}"
    )
}

#[cfg(test)]
mod tests;
