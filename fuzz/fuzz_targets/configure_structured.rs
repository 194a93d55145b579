//! Structured policies (issue 15 item 8): `arbitrary` builds documents that
//! get past JSON syntax and mostly past the schema, so the fuzzer reaches
//! validation, compilation and decisions. The engine returns a policy or
//! errors, never panics; a policy it accepts decides requests without
//! panicking and never emits a `:path` Envoy would refuse. The configure
//! fast path answers what the full path answers.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshpolicy_engine::{Policy, Request, SourceInfo};
use serde_json::{Value, json};

#[path = "common/full_path.rs"]
mod full_path;

/// Short strings from an alphabet that mixes path, regex and hostile bytes.
#[derive(Debug, Arbitrary)]
struct Text(Vec<u8>);

impl Text {
    fn get(&self) -> String {
        const ALPHABET: &[u8] = b"/ab.*+?()[]{}|^$\\1 #%:@\t\x01\x7f-_";
        self.0
            .iter()
            .take(24)
            .map(|&b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
            .collect()
    }
}

#[derive(Debug, Arbitrary)]
enum Pattern {
    Exact(Text),
    Prefix(Text),
    Regex(Text),
}

impl Pattern {
    fn json(&self) -> Value {
        match self {
            Pattern::Exact(t) => json!({"exact": t.get()}),
            Pattern::Prefix(t) => json!({"prefix": t.get()}),
            Pattern::Regex(t) => json!({"regex": t.get()}),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Rule {
    uri: Option<Pattern>,
    header: Option<(Text, Pattern)>,
    rewrite_uri: Option<Text>,
    regex_rewrite: Option<(Text, Text)>,
    authority: Option<Text>,
    set_header: Option<(Text, Text)>,
    redirect: Option<Text>,
    weights: Vec<u8>,
}

impl Rule {
    fn json(&self) -> Value {
        let mut m = serde_json::Map::new();
        if let Some(u) = &self.uri {
            m.insert("uri".into(), u.json());
        }
        if let Some((n, p)) = &self.header {
            m.insert("headers".into(), json!({ format!("x-{}", n.get()): p.json() }));
        }
        let mut rule = json!({});
        if !m.is_empty() {
            rule["match"] = json!([Value::Object(m)]);
        }
        let mut rewrite = serde_json::Map::new();
        if let Some(u) = &self.rewrite_uri {
            rewrite.insert("uri".into(), json!(u.get()));
        }
        if let Some((a, b)) = &self.regex_rewrite {
            rewrite.insert("uriRegexRewrite".into(), json!({"match": a.get(), "rewrite": b.get()}));
        }
        if let Some(a) = &self.authority {
            rewrite.insert("authority".into(), json!(a.get()));
        }
        if !rewrite.is_empty() {
            rule["rewrite"] = Value::Object(rewrite);
        }
        if let Some((n, v)) = &self.set_header {
            rule["headers"] = json!({"request": {"set": { format!("x-{}", n.get()): v.get() }}});
        }
        if let Some(r) = &self.redirect {
            rule["redirect"] = json!({"uri": r.get()});
        } else {
            let dests: Vec<Value> = self
                .weights
                .iter()
                .take(4)
                .enumerate()
                .map(|(i, w)| json!({"destination": {"host": "a", "subset": format!("v{i}")}, "weight": w}))
                .collect();
            rule["route"] = if dests.is_empty() {
                json!([{"destination": {"host": "a"}}])
            } else {
                Value::Array(dests)
            };
        }
        rule
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    rules: Vec<Rule>,
    paths: Vec<Text>,
    random: u64,
}

fuzz_target!(|input: Input| {
    let http: Vec<Value> = input.rules.iter().take(16).map(Rule::json).collect();
    let doc = json!({"apiVersion": "meshpolicy.dev/v1alpha2", "kind": "TrafficPolicy",
        "metadata": {"name": "f", "namespace": "prod"},
        "spec": {"virtualServices": [{"name": "vs", "hosts": ["*"], "http": http}]}});
    let text = doc.to_string();
    full_path::assert_same_as_full_path(&text);
    let policy = match Policy::from_json(&text) {
        Ok(p) => p,
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "an error result lists its errors");
            return;
        }
    };
    let source = SourceInfo::default();
    for path in input.paths.iter().take(4) {
        let path = format!("/{}", path.get());
        let headers = vec![
            (":method".to_owned(), "GET".to_owned()),
            (":authority".to_owned(), "a".to_owned()),
            (":path".to_owned(), path),
        ];
        let d = policy.decide(&Request {
            headers: &headers,
            source: &source,
            port: None,
            random: input.random,
            virtual_host: None,
        });
        if let Some(p) = &d.path {
            assert!(p.starts_with('/'), "rewritten path {p:?}");
            assert!(
                p.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'#'),
                "rewritten path {p:?} is not one Envoy accepts"
            );
        }
    }
});
