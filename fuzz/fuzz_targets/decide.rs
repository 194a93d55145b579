//! Arbitrary requests against a policy that uses every matcher and action:
//! deciding is total, the fast path agrees with the traced one, and a
//! rewritten `:path` is always valid.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshpolicy_engine::{Policy, Request, SourceInfo};

const POLICY: &str = r#"{
  "apiVersion": "meshpolicy.dev/v1alpha2", "kind": "TrafficPolicy", "metadata": {"name": "fuzz", "namespace": "prod"},
  "spec": {"virtualServices": [{"name": "fuzz", "hosts": ["*"], "http": [
    {"name": "p", "match": [{"uri": {"prefix": "/wpcatalog"}}, {"uri": {"prefix": "/consumercatalog"}}],
     "rewrite": {"uri": "/newcatalog"}, "route": [{"destination": {"host": "reviews", "subset": "v2"}}]},
    {"name": "e", "match": [{"uri": {"exact": "/Login"}, "ignoreUriCase": true}], "redirect": {"uri": "/signin"}},
    {"name": "r", "match": [{"uri": {"regex": "/items/([0-9]+)(/.*)?"}}],
     "rewrite": {"uriRegexRewrite": {"match": "/items/([0-9]+)", "rewrite": "/v2/\\1"}},
     "route": [{"destination": {"host": "items"}}]},
    {"name": "h", "match": [{"headers": {"x-a": {"regex": "a.*"}}, "queryParams": {"q": {"prefix": "1"}}}],
     "rewrite": {"uri": "/"}, "route": [{"destination": {"host": "h"}}]},
    {"name": "w", "match": [{"withoutHeaders": {"x-b": {}}, "method": {"exact": "POST"}}],
     "directResponse": {"status": 418, "body": {"string": "no"}}},
    {"name": "f", "match": [{"authority": {"prefix": "fault"}}],
     "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 50}}},
     "route": [{"destination": {"host": "f"}}]},
    {"name": "s", "route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 90},
                            {"destination": {"host": "reviews", "subset": "v2"}, "weight": 10}],
     "sticky": {"cookie": "user"}}
  ]}]}
}"#;

#[derive(Debug, Arbitrary)]
struct Input {
    headers: Vec<(String, String)>,
    path: String,
    method: String,
    authority: String,
    port: Option<u32>,
    random: u64,
}

fuzz_target!(|input: Input| {
    static COMPILED: OnceLock<Policy> = OnceLock::new();
    let policy = COMPILED.get_or_init(|| Policy::from_json(POLICY).expect("the fuzz policy compiles"));
    let mut headers = vec![
        (":path".to_string(), input.path),
        (":method".to_string(), input.method),
        (":authority".to_string(), input.authority),
    ];
    headers.extend(input.headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)));
    let source = SourceInfo::default();
    let request = Request { headers: &headers, source: &source, port: input.port, random: input.random, virtual_host: None };
    let fast = policy.decide(&request);
    let (traced, _trace) = policy.explain(&request);
    assert_eq!(fast, traced, "decide and explain disagree");
    if let Some(path) = &fast.path {
        assert!(path.starts_with('/'), "rewritten path {path:?} does not start with /");
        assert!(!path.bytes().any(|b| b.is_ascii_control()), "control character in {path:?}");
    }
});
