//! `policy-cli import-tests`: getyourguide/istio-config-validator test files
//! (`testCases` with `request`, `route`, `wantMatch`, …; its
//! docs/test-cases.md) into meshpolicy test files, so a team's suite comes
//! along. Each request the validator would craft (every uri × authority ×
//! method, in its order) becomes one case; what the validator compares as
//! configuration becomes what the request must do on the `.wasm` behind
//! Envoy's router: the destination (host, subset, port), the Host sent
//! upstream, the headers set, the local response of a redirect or abort.

use std::collections::BTreeMap;

use meshpolicy_engine::resolve_host;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::diagnostic::Diagnostic;
use crate::source::{Document, FieldPath};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IcvFile {
    test_cases: Vec<IcvCase>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IcvCase {
    #[serde(default)]
    description: String,
    request: IcvRequest,
    #[serde(default)]
    route: Vec<IcvRouteDestination>,
    #[serde(default)]
    redirect: Option<IcvRedirect>,
    #[serde(default)]
    rewrite: Option<IcvRewrite>,
    #[serde(default)]
    fault: Option<Value>,
    #[serde(default)]
    headers: Option<IcvHeaders>,
    #[serde(default)]
    delegate: Option<Value>,
    #[serde(default)]
    want_match: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IcvRequest {
    authority: Vec<String>,
    method: Vec<String>,
    uri: Vec<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IcvRouteDestination {
    destination: IcvDestination,
    #[serde(default)]
    weight: Option<u32>,
    #[serde(default)]
    headers: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IcvDestination {
    host: String,
    #[serde(default)]
    subset: Option<String>,
    #[serde(default)]
    port: Option<IcvPort>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IcvPort {
    number: u16,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IcvRedirect {
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    authority: Option<String>,
    #[serde(default)]
    redirect_code: Option<u32>,
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    port: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IcvRewrite {
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    authority: Option<String>,
    #[serde(default)]
    uri_regex_rewrite: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IcvHeaders {
    #[serde(default)]
    request: Option<IcvHeaderOps>,
    #[serde(default)]
    response: Option<IcvHeaderOps>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IcvHeaderOps {
    #[serde(default)]
    set: BTreeMap<String, String>,
    #[serde(default)]
    add: BTreeMap<String, String>,
    #[serde(default)]
    remove: Vec<String>,
}

/// A converted file: the meshpolicy test file, and notes on what a
/// meshpolicy case checks differently.
#[derive(Debug)]
pub struct Converted {
    pub tests: TestsOut,
    pub notes: Vec<Diagnostic>,
}

/// The meshpolicy test file, fields in the order people read them.
#[derive(Debug, Serialize)]
pub struct TestsOut {
    /// The client proxy: its namespace is where short authorities resolve.
    pub node: Value,
    pub cases: Vec<CaseOut>,
}

#[derive(Debug, Serialize)]
pub struct CaseOut {
    pub name: String,
    pub request: Value,
    pub expect: Value,
}

/// Converts every document's `testCases`; short hosts resolve in `namespace`.
pub fn convert(docs: &[Document], namespace: &str) -> Result<Converted, Vec<Diagnostic>> {
    let mut cases = Vec::new();
    let mut notes = Vec::new();
    let mut errors: Vec<Diagnostic> = Vec::new();
    for doc in docs {
        let file: IcvFile = match doc.typed() {
            Ok(f) => f,
            Err(d) => {
                errors.push(d);
                continue;
            }
        };
        for (i, case) in file.test_cases.iter().enumerate() {
            let at = FieldPath::default().key("testCases").index(i);
            match expectation(case, namespace, doc, &at, &mut notes) {
                Ok(expect) => {
                    for req in unfold(&case.request) {
                        cases.push(one_case(case, &req, &expect));
                    }
                }
                Err(d) => errors.push(d),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if cases.is_empty() {
        return Err(vec![Diagnostic::error(
            "empty-tests",
            "the files hold no test cases (`testCases`)",
        )]);
    }
    Ok(Converted {
        tests: TestsOut {
            node: json!({ "namespace": namespace }),
            cases,
        },
        notes,
    })
}

/// (method, authority, uri) in the validator's order: uri, then authority,
/// then method.
fn unfold(req: &IcvRequest) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for uri in &req.uri {
        for authority in &req.authority {
            for method in &req.method {
                out.push((method.clone(), authority.clone(), uri.clone()));
            }
        }
    }
    out
}

fn one_case(
    case: &IcvCase,
    (method, authority, uri): &(String, String, String),
    expect: &Value,
) -> CaseOut {
    let mut request = Map::new();
    request.insert("method".into(), json!(method));
    request.insert("path".into(), json!(uri));
    request.insert("authority".into(), json!(authority));
    if !case.request.headers.is_empty() {
        request.insert("headers".into(), json!(case.request.headers));
    }
    let name = if case.description.is_empty() {
        format!("{method} {authority}{uri}")
    } else {
        format!("{}: {method} {authority}{uri}", case.description)
    };
    CaseOut {
        name,
        request: Value::Object(request),
        expect: expect.clone(),
    }
}

/// What the case expects, as a meshpolicy `expect` (or `not` for
/// `wantMatch: false`).
fn expectation(
    case: &IcvCase,
    namespace: &str,
    doc: &Document,
    at: &FieldPath,
    notes: &mut Vec<Diagnostic>,
) -> Result<Value, Diagnostic> {
    let refuse = |field: &str, why: &str| {
        doc.diag(
            Diagnostic::error("unsupported-test", why.to_owned()),
            &at.key(field),
        )
    };
    // a case that converts, but checks less than istio-config-validator did
    let weak = |field: &str, why: &str| {
        doc.diag(
            Diagnostic::note("weak-test", why.to_owned()),
            &at.key(field),
        )
    };
    if case.delegate.is_some() {
        return Err(refuse(
            "delegate",
            "delegate VirtualServices are not part of a meshpolicy policy: test the delegate's routes directly",
        ));
    }
    let mut expect = Map::new();
    if !case.route.is_empty() {
        let hosts: Vec<String> = case
            .route
            .iter()
            .map(|r| resolve_host(&r.destination.host, Some(namespace)))
            .collect();
        let Some(host) = hosts.first().filter(|h| hosts.iter().all(|o| o == *h)) else {
            return Err(refuse(
                "route",
                "a split across different hosts lands on one of them per request: a meshpolicy case names one destination",
            ));
        };
        let mut dest = Map::new();
        dest.insert("host".into(), json!(host));
        if let [only] = case.route.as_slice() {
            dest.insert("subset".into(), json!(only.destination.subset));
            if let Some(port) = &only.destination.port {
                dest.insert("port".into(), json!(port.number));
            }
        } else {
            let subsets: Option<Vec<&str>> = case
                .route
                .iter()
                .filter(|r| r.weight != Some(0))
                .map(|r| r.destination.subset.as_deref())
                .collect();
            match subsets {
                Some(list) => {
                    expect.insert("subset".into(), json!(list));
                }
                None => notes.push(weak(
                    "route",
                    "a weighted split of one host without subsets: only the host is checked",
                )),
            }
        }
        expect.insert("destination".into(), Value::Object(dest));
        if case.route.iter().any(|r| r.headers.is_some()) {
            notes.push(weak("route", "destination-level `headers` are not checked: add `expect.headers` for the values the upstream must see"));
        }
    }
    if let Some(rewrite) = &case.rewrite {
        if let Some(authority) = &rewrite.authority {
            expect.insert("authority".into(), json!(authority));
        }
        if rewrite.uri.is_some() || rewrite.uri_regex_rewrite.is_some() {
            notes.push(weak("rewrite", "istio-config-validator compares the rule's `rewrite` as configuration; a meshpolicy case checks the path the upstream sees: add `expect.path` per request"));
        }
    }
    if let Some(redirect) = &case.redirect {
        let mut local = Map::new();
        local.insert(
            "status".into(),
            json!(redirect.redirect_code.unwrap_or(301)),
        );
        expect.insert("localResponse".into(), Value::Object(local));
        if redirect.uri.is_some()
            || redirect.authority.is_some()
            || redirect.scheme.is_some()
            || redirect.port.is_some()
        {
            notes.push(weak("redirect", "the redirect's status is checked; add `expect.localResponse.headers.location` for its target"));
        }
    }
    if let Some(fault) = &case.fault {
        let abort = fault.get("abort");
        let status = abort
            .and_then(|a| a.get("httpStatus"))
            .and_then(Value::as_u64);
        let always = abort
            .and_then(|a| a.get("percentage"))
            .and_then(|p| p.get("value"))
            .and_then(Value::as_f64)
            .is_some_and(|v| v >= 100.0);
        match status {
            Some(status) if always => {
                expect.insert("localResponse".into(), json!({ "status": status }));
            }
            _ => notes.push(weak(
                "fault",
                "only an abort at 100% is checked (a delay or a partial abort varies per request)",
            )),
        }
    }
    if let Some(headers) = &case.headers {
        for (field, ops) in [
            ("headers", &headers.request),
            ("responseHeaders", &headers.response),
        ] {
            let Some(ops) = ops else { continue };
            let mut want = Map::new();
            for (k, v) in &ops.set {
                want.insert(k.to_ascii_lowercase(), json!(v));
            }
            for k in &ops.remove {
                want.insert(k.to_ascii_lowercase(), Value::Null);
            }
            if !ops.add.is_empty() {
                notes.push(weak(
                    "headers",
                    "`add` keeps values a client sent: only `set` and `remove` are checked",
                ));
            }
            if !want.is_empty() {
                expect.insert(field.into(), Value::Object(want));
            }
        }
    }
    if expect.is_empty() {
        return Err(refuse(
            "route",
            "nothing to check: give `route`, `redirect`, `headers` or an abort",
        ));
    }
    Ok(if case.want_match {
        Value::Object(expect)
    } else {
        json!({ "not": expect })
    })
}
