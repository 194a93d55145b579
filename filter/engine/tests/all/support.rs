//! Helpers: build policies from JSON or YAML, build requests, and decide
//! through both the indexed path and the traced linear path (they must agree).

use meshpolicy_engine::{Decision, Destination, Policy, PolicyErrors};
use serde_json::{Value, json};
pub use test_kit::Req;

/// A policy of one virtual service for every host (`*`), namespace `prod`.
pub fn rules(http: Value) -> Policy {
    policy(
        json!({"apiVersion": "meshpolicy.dev/v1alpha2", "kind": "TrafficPolicy",
        "metadata": {"name": "t", "namespace": "prod"},
        "spec": {"virtualServices": [{"name": "vs", "hosts": ["*"], "http": http}]}}),
    )
}

pub fn policy(doc: Value) -> Policy {
    Policy::from_value(doc).unwrap_or_else(|e| panic!("policy should compile:\n{e}"))
}

/// The errors of a document that must not compile.
pub fn errors(doc: Value) -> PolicyErrors {
    match Policy::from_value(doc) {
        Ok(_) => panic!("policy should not compile"),
        Err(e) => e,
    }
}

/// The errors of a `spec.http` list that must not compile.
pub fn rule_errors(http: Value) -> PolicyErrors {
    errors(json!({"metadata": {"namespace": "prod"},
        "spec": {"virtualServices": [{"name": "vs", "hosts": ["*"], "http": http}]}}))
}

pub fn yaml_value(yaml: &str) -> Value {
    serde_saphyr::from_str(yaml).unwrap()
}

pub fn testdata(name: &str) -> String {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The matched rule's index, if any.
pub fn rule_of(d: &Decision) -> Option<usize> {
    d.rule.as_ref().map(|r| r.index)
}

/// Where `GET path` is routed; it must be routed somewhere.
pub fn destination(p: &Policy, path: &str) -> Destination {
    Req::get(path)
        .decide(p)
        .destination
        .unwrap_or_else(|| panic!("`{path}` should be routed"))
}

/// The chosen subset, if any.
pub fn subset_of(d: &Decision) -> Option<String> {
    d.destination
        .as_ref()
        .and_then(|x| x.subset.as_deref().map(str::to_owned))
}

/// A deterministic stream of 64-bit values (splitmix64) for statistical tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
