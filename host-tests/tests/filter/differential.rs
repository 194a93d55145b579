//! The strongest check we have: the native engine and the filter `.wasm` on
//! the host must take the same decision for the same policy and request,
//! compared on everything the filter changes: the whole request header list
//! the upstream sees, the whole response header list the client sees, or
//! the whole local response (the engine's `Decision::apply` and
//! `apply_response` give the native side with Envoy's header-map semantics;
//! the filter applies the same decision through host calls). Requests span three hosts: an
//! exact one, a wildcard one and one no virtual service covers.
//!
//! The policy uses every deterministic feature (no unsticky split, whose
//! randomness differs by construction); requests are every combination of a
//! set of paths, methods, authorities and headers chosen to hit each rule,
//! its near misses and the fall-through.

use meshpolicy_engine::{HeaderList, Policy, Request, SourceInfo};
use serde_json::json;

use super::support::{plugin, policy};

fn rich_policy() -> serde_json::Value {
    policy(json!({
        "virtualServices": [{"name": "shop", "hosts": ["shop.example"], "http": [
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
        ]}, {"name": "legacy", "hosts": ["*.shop.example"], "http": [
            {"name": "legacy-api", "match": [{"uri": {"prefix": "/api"}}],
             "headers": {"request": {"set": {"x-legacy": "1"}, "remove": ["x-canary"]},
                         "response": {"add": {"x-served-by": "legacy"}}},
             "route": [{"destination": {"host": "legacy", "subset": "old"},
                        "headers": {"request": {"add": {"x-dest": "old"}}, "response": {"set": {"server": "legacy"}}}}]},
            {"name": "legacy-rest", "route": [{"destination": {"host": "legacy.other.svc.cluster.local"}}]}
        ]}]
    }))
}

/// What Envoy would do: every request header the upstream sees and every
/// response header the client sees, or the local response.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Forward {
        request: Vec<(String, String)>,
        response: Vec<(String, String)>,
    },
    Local {
        status: u32,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
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
    let authorities = ["shop.example", "legacy.shop.example:8080", "other.example"];
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

/// What the upstream answers every forwarded request with.
fn upstream_response() -> Vec<(String, String)> {
    vec![
        (":status".to_owned(), "200".to_owned()),
        ("server".to_owned(), "upstream".to_owned()),
    ]
}

pub fn native(policy: &Policy, headers: &[(String, String)]) -> Outcome {
    // the filter's node metadata (support::options): a client in `prod`
    let source = SourceInfo {
        namespace: Some("prod".into()),
        ..SourceInfo::default()
    };
    let request = Request {
        headers,
        source: &source,
        port: None,
        random: 0,
        virtual_host: None,
    };
    let decision = policy.decide(&request);
    let mut request = HeaderList(headers.to_vec());
    if let Some(local) = decision.apply(&mut request) {
        return Outcome::Local {
            status: local.status,
            headers: local.headers.clone(),
            body: local.body.clone().into_bytes(),
        };
    }
    let mut response = HeaderList(upstream_response());
    decision.apply_response(&mut response);
    Outcome::Forward {
        request: request.0,
        response: response.0,
    }
}

pub fn on_host(plugin: &mut host_tests::Plugin, headers: &[(String, String)]) -> Outcome {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut stream = plugin.new_stream();
    stream.request_headers(&pairs, true);
    let outcome = if let Some(local) = stream.local_response() {
        Outcome::Local {
            status: local.status,
            headers: local.headers,
            body: local.body,
        }
    } else {
        let request = stream.request_headers_seen_upstream().expect("forwarded");
        let response: Vec<(String, String)> = upstream_response();
        let pairs: Vec<(&str, &str)> = response
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        stream.response_headers(&pairs, true);
        Outcome::Forward {
            request,
            response: stream.response_headers_seen_downstream().expect("answered"),
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
            Outcome::Forward { request, .. } => format!(
                "forward {:?}",
                request.iter().find(|(k, _)| k == "x-meshpolicy-route")
            ),
            Outcome::Local { status, .. } => format!("local {status}"),
        });
    }
    // The request set must exercise the policy, not only the fall-through.
    assert!(kinds.len() >= 9, "too few distinct outcomes: {kinds:?}");
}
