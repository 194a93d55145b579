//! The playground's engine (the wasm-bindgen build, run in Chromium) and the
//! native engine give identical decisions on the same requests.

use std::collections::BTreeMap;

use meshpolicy_engine::{Policy, Request, SourceInfo};
use policy_cli::request::RequestSpec;
use policy_cli::source::{SourceFile, parse_documents};
use serde_json::{Value, json};

use crate::open;

const DIFFERENTIAL: &str = include_str!("../../testdata/playground/differential.policy.yaml");

/// One request as the page's form sends it, and as the CLI describes it.
struct Case {
    page: Value,
    spec: RequestSpec,
    source: SourceInfo,
    random: u64,
}

fn cases() -> Vec<Case> {
    let paths = [
        "/old/x?q=1",
        "/old",
        "/tea",
        "/chaos/a",
        "/v2/items/7",
        "/v10/",
        "/admin/panel?x",
        "/Shop/cart?beta=1",
        "/SHOP?beta=1&beta=2",
        "/shop/x",
        "/reviews/1?user=5",
        "/",
        "/wpcatalog/books?id=1",
        "/consumercatalog",
    ];
    let header_sets: [&[(&str, &str)]; 4] = [
        &[],
        &[("x-brew", "green")],
        &[("x-canary", "1"), ("cookie", "a=b; session=abc")],
        &[("x-user-id", "7"), ("x-debug", "1"), ("x-route", "forged")],
    ];
    let sources = [
        SourceInfo::default(),
        SourceInfo {
            labels: BTreeMap::new(),
            namespace: Some("prod".to_owned()),
        },
        SourceInfo {
            labels: BTreeMap::from([("app".to_owned(), "ops".to_owned())]),
            namespace: None,
        },
        SourceInfo {
            labels: BTreeMap::new(),
            namespace: Some("ops".to_owned()),
        },
    ];
    let mut out = Vec::new();
    for path in paths {
        for method in ["GET", "POST"] {
            for authority in ["reviews:9080", "shop", "reviews.prod.svc.cluster.local"] {
                for headers in header_sets {
                    for source in &sources {
                        for random in [0, 123_456_789, u64::MAX / 3] {
                            let headers: Vec<(String, String)> = headers
                                .iter()
                                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                                .collect();
                            let mut page = json!({
                                "method": method, "authority": authority, "path": path,
                                "headers": headers, "sourceLabels": source.labels,
                                "random": random,
                            });
                            if let Some(ns) = &source.namespace {
                                page["sourceNamespace"] = json!(ns);
                            }
                            let spec = RequestSpec {
                                method: method.to_owned(),
                                path: path.to_owned(),
                                authority: Some(authority.to_owned()),
                                scheme: "http".to_owned(),
                                headers,
                                ..RequestSpec::parse_line("/").unwrap()
                            };
                            out.push(Case {
                                page,
                                spec,
                                source: source.clone(),
                                random,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// The native engine's decisions, as JSON.
fn native(policy_text: &str, cases: &[Case]) -> Vec<Value> {
    let docs = parse_documents(&SourceFile::new("policy.yaml", policy_text)).unwrap();
    let policy = Policy::from_value(docs[0].value.clone()).unwrap();
    cases
        .iter()
        .map(|c| {
            let headers = c.spec.wire_headers();
            let port = c
                .spec
                .authority()
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse().ok());
            let decision = policy.decide(&Request {
                headers: &headers,
                source: &c.source,
                port,
                random: c.random,
                virtual_host: None,
            });
            serde_json::to_value(decision).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn the_browser_build_decides_as_the_native_engine() {
    let cases = cases();
    let requests: Vec<String> = cases.iter().map(|c| c.page.to_string()).collect();
    let article = test_kit::article_policy_yaml();
    let (_server, b) = open().await;
    for (name, policy) in [
        ("the article's policy", article.as_str()),
        ("differential.policy.yaml", DIFFERENTIAL),
    ] {
        let got = b
            .client
            .execute(
                "const c = new window.playgroundEngine.Compiled(arguments[0]);
                 try { return arguments[1].map(r => JSON.parse(c.decide(r))); } finally { c.free(); }",
                vec![json!(policy), json!(requests)],
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: the page's engine failed: {e}"));
        let got = got.as_array().unwrap();
        let want = native(policy, &cases);
        assert_eq!(got.len(), want.len());
        let mut kinds = BTreeMap::<String, usize>::new();
        for ((g, w), c) in got.iter().zip(&want).zip(&cases) {
            assert_eq!(g, w, "{name}: request {}", c.page);
            let kind = if w["local_response"].is_object() {
                "local response"
            } else if w["destination"].is_object() {
                "routed"
            } else {
                "passed through"
            };
            *kinds.entry(kind.to_owned()).or_default() += 1;
        }
        // The requests reach every kind of decision.
        if policy == DIFFERENTIAL {
            assert!(
                kinds.contains_key("local response") && kinds.contains_key("routed"),
                "{kinds:?}"
            );
        }
    }
    b.close().await;
}
