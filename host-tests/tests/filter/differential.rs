//! The strongest check we have: the native engine and the filter `.wasm` on
//! the host must take the same decision for the same policy and request.
//!
//! The policy uses every deterministic feature (no unsticky split, whose
//! randomness differs by construction); requests are every combination of a
//! set of paths, methods, authorities and headers chosen to hit each rule,
//! its near misses and the fall-through.

use meshpolicy_engine::{Policy, Request, SourceInfo};
use serde_json::json;

use super::support::{plugin, policy};

fn rich_policy() -> serde_json::Value {
    policy(json!({
        "http": [
            {"name": "exact-ci", "match": [{"uri": {"exact": "/Login"}, "ignoreUriCase": true}],
             "redirect": {"uri": "/signin", "redirectCode": 302}},
            {"name": "regex", "match": [{"uri": {"regex": "/items/[0-9]+"}}],
             "rewrite": {"uriRegexRewrite": {"match": "/items/([0-9]+)", "rewrite": "/v2/item/\\1"}},
             "route": [{"destination": {"host": "items", "subset": "v2"}}]},
            {"name": "header", "match": [{"headers": {"x-canary": {"exact": "yes"}}, "uri": {"prefix": "/api"}}],
             "rewrite": {"uri": "/canary", "authority": "canary.internal"},
             "route": [{"destination": {"host": "api", "subset": "canary"}}]},
            {"name": "method", "match": [{"method": {"exact": "POST"}, "uri": {"prefix": "/api"}}],
             "directResponse": {"status": 405, "body": {"string": "read only"}}},
            {"name": "query", "match": [{"queryParams": {"debug": {"exact": "1"}}}],
             "route": [{"destination": {"host": "api", "subset": "debug"}}]},
            {"name": "without", "match": [{"withoutHeaders": {"x-user-id": {}}, "uri": {"prefix": "/api"}}],
             "route": [{"destination": {"host": "api", "subset": "anonymous"}}]},
            {"name": "sticky", "match": [{"uri": {"prefix": "/api"}}],
             "route": [{"destination": {"host": "api", "subset": "v1"}, "weight": 70},
                       {"destination": {"host": "api", "subset": "v2"}, "weight": 20},
                       {"destination": {"host": "api", "subset": "v3"}, "weight": 10}],
             "sticky": {"header": "x-user-id"}},
            {"name": "authority", "match": [{"authority": {"prefix": "legacy."}}],
             "rewrite": {"uri": "/legacy"},
             "route": [{"destination": {"host": "legacy", "subset": "old"}}]}
        ]
    }))
}

/// What Envoy would do, reduced to what both sides can report.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Forward {
        path: String,
        authority: String,
        /// The decision header: the whole destination's key.
        key: Option<String>,
    },
    Local {
        status: u32,
        location: Option<String>,
    },
}

fn requests() -> Vec<Vec<(String, String)>> {
    let paths = [
        "/login",
        "/LOGIN",
        "/Login?x=1",
        "/items/42",
        "/items/42/x",
        "/items/abc",
        "/api",
        "/api/v1/users?debug=1",
        "/apix",
        "/other?debug=1",
        "/other",
        "/",
    ];
    let methods = ["GET", "POST"];
    let authorities = ["shop.example", "legacy.shop.example:8080"];
    let extras: [&[(&str, &str)]; 4] = [
        &[],
        &[("x-canary", "yes")],
        &[("x-user-id", "alice")],
        &[("x-user-id", "bob"), ("x-canary", "no")],
    ];
    let mut out = Vec::new();
    for path in paths {
        for method in methods {
            for authority in authorities {
                for extra in extras {
                    let mut headers = vec![
                        (":method".to_string(), method.to_string()),
                        (":scheme".to_string(), "http".to_string()),
                        (":authority".to_string(), authority.to_string()),
                        (":path".to_string(), path.to_string()),
                    ];
                    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                    out.push(headers);
                }
            }
        }
    }
    out
}

fn native(policy: &Policy, headers: &[(String, String)]) -> Outcome {
    // the filter's node metadata (support::options): a client in `prod`
    let source = SourceInfo {
        namespace: Some("prod".into()),
        ..SourceInfo::default()
    };
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let request = Request {
        headers,
        source: &source,
        port: None,
        random: 0,
        virtual_host: None,
    };
    let decision = policy.decide(&request);
    if let Some(local) = decision.local_response {
        let location = local
            .headers
            .iter()
            .find(|(k, _)| k == "location")
            .map(|(_, v)| v.clone());
        return Outcome::Local {
            status: local.status,
            location,
        };
    }
    Outcome::Forward {
        path: decision.path.unwrap_or_else(|| get(":path").unwrap()),
        // the filter never writes `:authority` (the key's route rewrites it)
        authority: get(":authority").unwrap(),
        key: decision.destination.map(|d| d.key.to_string()),
    }
}

fn on_host(plugin: &mut host_tests::Plugin, headers: &[(String, String)]) -> Outcome {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut stream = plugin.new_stream();
    stream.request_headers(&pairs, true);
    let outcome = if let Some(local) = stream.local_response() {
        let location = local
            .headers
            .iter()
            .find(|(k, _)| k == "location")
            .map(|(_, v)| v.clone());
        Outcome::Local {
            status: local.status,
            location,
        }
    } else {
        let upstream = stream.request_headers_seen_upstream().expect("forwarded");
        let get = |name: &str| {
            upstream
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        Outcome::Forward {
            path: get(":path").unwrap(),
            authority: get(":authority").unwrap(),
            key: get("x-meshpolicy-route"),
        }
    };
    stream.complete();
    outcome
}

#[test]
fn native_engine_and_wasm_filter_decide_alike() {
    let config = rich_policy();
    let native_policy =
        Policy::from_json(&config.to_string()).expect("the policy compiles natively");
    let mut plugin = plugin(&config);
    let requests = requests();
    let mut kinds = std::collections::BTreeSet::new();
    for headers in &requests {
        let want = native(&native_policy, headers);
        let got = on_host(&mut plugin, headers);
        assert_eq!(got, want, "request {headers:?}");
        kinds.insert(match &want {
            Outcome::Forward { key, .. } => format!("forward {key:?}"),
            Outcome::Local { status, .. } => format!("local {status}"),
        });
    }
    // The request set must exercise the policy, not only the fall-through.
    assert!(kinds.len() >= 9, "too few distinct outcomes: {kinds:?}");
}
