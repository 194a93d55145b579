//! The differential check on generated policies and requests (issue 15
//! item 8): for every (policy, request) pair the native engine and the
//! `.wasm` on the host take the same decision, and a policy one refuses
//! the other refuses. `MESHPOLICY_DIFFERENTIAL_PAIRS` sets how many pairs
//! (default 2,000 in `make test`; `make fuzz` runs 100,000).

use meshpolicy_engine::Policy;
use serde_json::{Value, json};

use super::differential::{native, on_host};
use super::support::{module, options, policy};

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SEGMENTS: &[&str] = &["a", "b", "api", "v1", "items", "42", "x.y", "%20", "A"];

fn path(g: &mut Gen) -> String {
    let mut p = String::new();
    for _ in 0..=g.below(3) {
        p.push('/');
        p.push_str(g.pick(SEGMENTS));
    }
    if g.below(4) == 0 {
        p.push_str("?q=");
        p.push_str(g.pick(SEGMENTS));
    }
    p
}

fn string_match(g: &mut Gen) -> Value {
    match g.below(4) {
        0 => json!({"exact": g.pick(SEGMENTS)}),
        1 => json!({"prefix": g.pick(SEGMENTS)}),
        2 => json!({"regex": format!("{}.*", g.pick(&["a", "b", "[0-9]+", "(api|v1)"]))}),
        _ => json!({}),
    }
}

fn rule(g: &mut Gen, i: usize) -> Value {
    let mut entry = serde_json::Map::new();
    match g.below(4) {
        0 => {
            entry.insert("uri".into(), json!({"prefix": path(g)}));
        }
        1 => {
            entry.insert("uri".into(), json!({"exact": path(g)}));
        }
        2 => {
            entry.insert(
                "uri".into(),
                json!({"regex": format!("/{}.*", g.pick(SEGMENTS))}),
            );
        }
        _ => {}
    }
    if g.below(3) == 0 {
        entry.insert("headers".into(), json!({"x-h": string_match(g)}));
    }
    if g.below(5) == 0 {
        entry.insert("method".into(), json!({"exact": g.pick(&["GET", "POST"])}));
    }
    let mut r = json!({"name": format!("r{i}")});
    if !entry.is_empty() {
        r["match"] = json!([Value::Object(entry)]);
    }
    match g.below(8) {
        0 => r["redirect"] = json!({"uri": path(g), "redirectCode": 302}),
        1 => r["directResponse"] = json!({"status": 403, "body": {"string": "no"}}),
        _ => {
            let subsets = g.below(3) + 1;
            let dests: Vec<Value> = (0..subsets)
                .map(|s| json!({"destination": {"host": "a", "subset": format!("v{s}")}, "weight": 1 + s}))
                .collect();
            r["route"] = Value::Array(dests);
            if subsets > 1 {
                // an unsticky split is random on each side by construction
                r["sticky"] = json!({"header": "x-user"});
            }
            match g.below(5) {
                0 => r["rewrite"] = json!({"uri": path(g)}),
                1 => {
                    r["rewrite"] = json!({"uriRegexRewrite": {"match": format!("/({})", g.pick(SEGMENTS)), "rewrite": "/r/\\1"}})
                }
                2 => r["rewrite"] = json!({"authority": "b.prod:8080"}),
                _ => {}
            }
            if g.below(3) == 0 {
                r["headers"] = json!({"request": {"set": {"x-set": g.pick(SEGMENTS)}, "remove": ["x-h"]},
                    "response": {"add": {"x-resp": "1"}}});
            }
        }
    }
    r
}

fn generated_policy(g: &mut Gen) -> Value {
    let rules: Vec<Value> = (0..g.below(8) + 1).map(|i| rule(g, i)).collect();
    policy(json!({"http": rules,
        "subsets": {"a.prod.svc.cluster.local": {"v0": {"version": "v0"}, "v1": {"version": "v1"}, "v2": {"version": "v2"}}}}))
}

fn request(g: &mut Gen) -> Vec<(String, String)> {
    let mut headers = vec![
        (":method".to_owned(), g.pick(&["GET", "POST"]).to_owned()),
        (":scheme".to_owned(), "http".to_owned()),
        (
            ":authority".to_owned(),
            g.pick(&["a", "a:80", "shop.example"]).to_owned(),
        ),
        (":path".to_owned(), path(g)),
    ];
    if g.below(2) == 0 {
        headers.push(("x-h".to_owned(), g.pick(SEGMENTS).to_owned()));
    }
    // always a sticky key: without one the split is random on each side
    headers.push(("x-user".to_owned(), g.below(100).to_string()));
    if g.below(6) == 0 {
        headers.push((
            "x-meshpolicy-route".to_owned(),
            "a.prod.svc.cluster.local/v2".to_owned(),
        ));
    }
    headers
}

#[test]
fn generated_policies_and_requests_decide_alike_natively_and_on_the_wasm() {
    let pairs: usize = std::env::var("MESHPOLICY_DIFFERENTIAL_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let per_policy = 100;
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut compared, mut refused) = (0, 0);
    while compared < pairs {
        let config = generated_policy(&mut g);
        let json = config.to_string();
        let native_policy = Policy::from_json(&json);
        let mut plugin = host_tests::Plugin::start(module(), options(&config)).expect("starts");
        assert!(!plugin.is_failed(), "{json}: {:?}", plugin.failure());
        let Ok(native_policy) = native_policy else {
            assert!(
                !plugin.configured(),
                "the engine refuses, the filter accepts: {json}"
            );
            refused += 1;
            continue;
        };
        assert!(
            plugin.configured(),
            "the filter refuses what the engine accepts: {json}"
        );
        for _ in 0..per_policy {
            let headers = request(&mut g);
            let want = native(&native_policy, &headers);
            let got = on_host(&mut plugin, &headers);
            assert_eq!(got, want, "policy {json}\nrequest {headers:?}");
            compared += 1;
        }
    }
    eprintln!(
        "{compared} (policy, request) pairs decided alike; {refused} generated policies refused by both"
    );
}
