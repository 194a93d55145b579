//! Bad policies: every error at once, each with its field path.

use std::collections::BTreeSet;

use meshpolicy_engine::{ErrorCode, Policy, WarningKind};
use serde_json::json;

use crate::support::{errors, rule_errors, testdata, yaml_value};

fn messages(e: &meshpolicy_engine::PolicyErrors) -> Vec<(String, String)> {
    e.errors
        .iter()
        .map(|e| (e.path.to_string(), e.message()))
        .collect()
}

#[test]
fn a_bad_policy_gives_one_error_per_problem_with_its_field_path() {
    let e = errors(yaml_value(&testdata("bad.yaml")));
    let got = messages(&e);
    assert_eq!(got.len(), 5, "{e}");
    let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "spec.virtualServices[0].http[0].match[0].foo",
            "spec.virtualServices[0].http[1].match[0].uri.regex",
            "spec.virtualServices[0].http[2].route",
            "spec.virtualServices[0].http[3].rewrite",
            "spec.virtualServices[0].http[4].redirect",
        ]
    );
    assert!(
        got[0]
            .1
            .starts_with("unknown field `foo`, expected one of `name`, `uri`"),
        "{}",
        got[0].1
    );
    assert!(got[1].1.starts_with("invalid regex"), "{}", got[1].1);
    assert_eq!(got[2].1, "total destination weight = 0");
    assert_eq!(
        got[3].1,
        "rewrite may only contain one of URI or UriRegexRewrite"
    );
    assert_eq!(
        got[4].1,
        "HTTP route cannot contain both route and redirect"
    );
    // The same document as JSON gives the same errors (one schema, two encodings).
    let json = serde_json::to_string(&yaml_value(&testdata("bad.yaml"))).unwrap();
    let from_json = meshpolicy_engine::Policy::from_json(&json).err().unwrap();
    assert_eq!(from_json, e);
    // Display: one line per error.
    assert_eq!(e.to_string().lines().count(), 5);
}

#[test]
fn exactly_one_of_route_redirect_direct_response_per_rule() {
    let e = rule_errors(json!([
        {"name": "none"},
        {"redirect": {"uri": "/x"}, "directResponse": {"status": 200}},
        {"directResponse": {"status": 200}, "route": [{"destination": {"host": "a"}}]},
        {"route": []}
    ]));
    assert_eq!(
        messages(&e),
        vec![
            (
                "spec.virtualServices[0].http[0]".into(),
                "HTTP route, redirect or direct_response is required".into()
            ),
            (
                "spec.virtualServices[0].http[1].redirect".into(),
                "HTTP route rule cannot contain both direct_response and redirect".into()
            ),
            (
                "spec.virtualServices[0].http[2].directResponse".into(),
                "HTTP route cannot contain both route and direct_response".into()
            ),
            (
                "spec.virtualServices[0].http[3]".into(),
                "HTTP route, redirect or direct_response is required".into()
            ),
        ]
    );
}

/// The message of the one error of a `spec.http` list, which must be at `path`.
fn only_error_at(http: serde_json::Value, path: &str) -> String {
    let e = rule_errors(http);
    assert_eq!(e.paths(), vec![path]);
    e.errors[0].message()
}

#[test]
fn a_match_entry_may_not_be_empty() {
    let message = only_error_at(
        json!([{"match": [{"uri": {"prefix": "/"}}, {}], "route": [{"destination": {"host": "a"}}]}]),
        "spec.virtualServices[0].http[0].match[1]",
    );
    assert!(
        message.starts_with("match entry may not be empty"),
        "{message}"
    );
}

#[test]
fn rewrite_needs_uri_regex_rewrite_or_authority() {
    let message = only_error_at(
        json!([{"rewrite": {}, "route": [{"destination": {"host": "a"}}]}]),
        "spec.virtualServices[0].http[0].rewrite",
    );
    assert!(
        message
            .starts_with("rewrite must specify at least one of URI, UriRegexRewrite, or authority"),
        "{message}"
    );
}

#[test]
fn uri_regex_rewrite_errors_name_their_field() {
    let e = rule_errors(json!([
        {"rewrite": {"uriRegexRewrite": {"match": "/a", "rewrite": ""}}, "route": [{"destination": {"host": "a"}}]},
        {"rewrite": {"uriRegexRewrite": {"match": "/(a)", "rewrite": "/\\2"}}, "route": [{"destination": {"host": "a"}}]},
        {"rewrite": {"uriRegexRewrite": {"match": "/a", "rewrite": "/\\q"}}, "route": [{"destination": {"host": "a"}}]}
    ]));
    assert_eq!(
        e.paths(),
        vec![
            "spec.virtualServices[0].http[0].rewrite.uriRegexRewrite",
            "spec.virtualServices[0].http[1].rewrite.uriRegexRewrite.rewrite",
            "spec.virtualServices[0].http[2].rewrite.uriRegexRewrite.rewrite",
        ]
    );
    assert_eq!(
        e.errors[0].message(),
        "UriRegexRewrite requires both Rewrite and Match fields to be specified"
    );
    assert_eq!(
        e.errors[1].message(),
        "rewrite uses group \\2 but the regex has 1 group(s)"
    );
}

#[test]
fn istio_conflicts_and_ranges_use_istio_wording() {
    let e = rule_errors(json!([
        {"redirect": {}},
        {"redirect": {"uri": "/x", "redirectCode": 200, "scheme": "ftp"}, "rewrite": {"uri": "/y"}},
        {"directResponse": {"status": 700}},
        {"fault": {"abort": {"httpStatus": 503, "percentage": {"value": 150}}}, "route": [{"destination": {"host": "a"}}]},
        {"fault": {}, "route": [{"destination": {"host": "a"}}]},
        {"route": [{"destination": {"host": "a", "subset": "V_1", "port": {"number": 70000}}}]},
        {"match": [{"port": 0, "sourceNamespace": "Bad_NS"}], "route": [{"destination": {"host": "a"}}]}
    ]));
    let got = messages(&e);
    let want: Vec<(&str, &str)> = vec![
        (
            "spec.virtualServices[0].http[0].redirect",
            "redirect must specify URI, authority, scheme, or port",
        ),
        (
            "spec.virtualServices[0].http[1].redirect",
            "HTTP route rule cannot contain both rewrite and redirect",
        ),
        (
            "spec.virtualServices[0].http[1].redirect.redirectCode",
            "200 is not a valid redirect code, must be one of 301, 302, 303, 307, 308",
        ),
        (
            "spec.virtualServices[0].http[1].redirect.scheme",
            "invalid redirect scheme, must be \"http\" or \"https\"",
        ),
        (
            "spec.virtualServices[0].http[2].directResponse.status",
            "HTTP status 700 is not in range 200-599",
        ),
        (
            "spec.virtualServices[0].http[3].fault.abort.percentage.value",
            "percentage 150 is not in range 0..100",
        ),
        (
            "spec.virtualServices[0].http[4].fault",
            "HTTP fault injection must have an abort and/or a delay",
        ),
        (
            "spec.virtualServices[0].http[5].route[0].destination.subset",
            "subset name is invalid: `V_1`",
        ),
        (
            "spec.virtualServices[0].http[5].route[0].destination.port.number",
            "port number 70000 must be in the range 1..65535",
        ),
        (
            "spec.virtualServices[0].http[6].match[0].port",
            "port number 0 must be in the range 1..65535",
        ),
        (
            "spec.virtualServices[0].http[6].match[0].sourceNamespace",
            "sourceNamespace match `Bad_NS` is invalid",
        ),
    ];
    let want: Vec<(String, String)> = want
        .into_iter()
        .map(|(a, b)| (a.into(), b.into()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn duplicate_rule_names_are_rejected() {
    let e = rule_errors(json!([
        {"name": "a", "route": [{"destination": {"host": "a"}}]},
        {"name": "a", "route": [{"destination": {"host": "b"}}]}
    ]));
    assert_eq!(
        messages(&e),
        vec![(
            "spec.virtualServices[0].http[1].name".into(),
            "duplicate route name `a`, also used by spec.virtualServices[0].http[0]".into()
        )]
    );
}

#[test]
fn type_errors_and_unsupported_istio_fields_are_reported_with_paths_at_once() {
    let e = rule_errors(json!([
        {"route": [{"destination": {"host": 7}, "weight": "ninety"}], "delegate": {"name": "d"}},
        {"match": [{"headers": {"x.y": {"exact": 1}}}], "route": [{"destination": {"host": "a"}}]}
    ]));
    assert_eq!(
        messages(&e),
        vec![
            ("spec.virtualServices[0].http[0].delegate".into(), "field `delegate` is not supported by meshpolicy: delegation is resolved by Istio, not in a filter".into()),
            ("spec.virtualServices[0].http[0].route[0].destination.host".into(), "invalid type: number `7`, expected a string".into()),
            ("spec.virtualServices[0].http[0].route[0].weight".into(), "invalid type: string `ninety`, expected an unsigned 32-bit integer".into()),
            ("spec.virtualServices[0].http[1].match[0].headers[\"x.y\"].exact".into(), "invalid type: number `1`, expected a string".into()),
        ]
    );
}

#[test]
fn header_operations_cannot_touch_pseudo_headers_or_the_decision_header() {
    let e = rule_errors(
        json!([{"headers": {"request": {"set": {":path": "/x", "x-meshpolicy-route": "v9", "bad header": "1", "x-ok": "a\nb"}}},
        "route": [{"destination": {"host": "a"}}]}]),
    );
    let paths = e.paths();
    assert_eq!(
        paths,
        vec![
            "spec.virtualServices[0].http[0].headers.request.set[\":path\"]",
            "spec.virtualServices[0].http[0].headers.request.set[\"bad header\"]",
            "spec.virtualServices[0].http[0].headers.request.set.x-meshpolicy-route",
            "spec.virtualServices[0].http[0].headers.request.set.x-ok",
        ]
    );
}

#[test]
fn regexes_have_a_size_limit() {
    let message = only_error_at(
        json!([{"match": [{"uri": {"regex": "(a{100}){100}"}}], "route": [{"destination": {"host": "a"}}]}]),
        "spec.virtualServices[0].http[0].match[0].uri.regex",
    );
    assert!(message.contains("too big"), "{message}");
}

#[test]
fn the_regex_function_is_unicode_free_and_anchors_full_matches() {
    use meshpolicy_engine::{Anchoring, compile_regex};
    let full = compile_regex("a+", Anchoring::Full).unwrap();
    assert!(full.is_match(b"aaa") && !full.is_match(b"baaa"));
    let search = compile_regex("a+", Anchoring::Search).unwrap();
    assert!(search.is_match(b"baaa"));
    // `\w` is ASCII-only without Unicode: the filter and the CLI agree on it.
    let w = compile_regex("\\w+", Anchoring::Full).unwrap();
    assert!(!w.is_match("é".as_bytes()));
    assert!(
        compile_regex("(", Anchoring::Full)
            .unwrap_err()
            .starts_with("invalid regex")
    );
    let deep = "(".repeat(100) + &")".repeat(100);
    assert!(compile_regex(&deep, Anchoring::Full).is_err(), "nest limit");
}

#[test]
fn wrong_api_version_kind_and_bad_json_are_errors() {
    let e = errors(json!({"apiVersion": "v1", "kind": "VirtualService", "spec": {}}));
    assert_eq!(e.paths(), vec!["apiVersion", "kind"]);
    let e = meshpolicy_engine::Policy::from_json("{\"spec\": ")
        .err()
        .unwrap();
    assert_eq!(e.paths(), vec!["document"]);
    assert!(e.errors[0].message().starts_with("invalid JSON at line 1"));
}

#[test]
fn too_many_rules_is_an_error() {
    let many: Vec<_> = (0..=meshpolicy_engine::limits::MAX_RULES)
        .map(|i| json!({"match": [{"uri": {"exact": format!("/{i}")}}], "route": [{"destination": {"host": "a"}}]}))
        .collect();
    let e = rule_errors(json!(many));
    assert_eq!(e.paths(), vec!["spec.virtualServices"]);
}

/// A policy of one virtual service for `r.prod.svc.cluster.local` with `http`.
fn with_rules(http: serde_json::Value) -> String {
    json!({"apiVersion": "meshpolicy.dev/v1alpha2", "kind": "TrafficPolicy",
        "metadata": {"name": "t", "namespace": "prod"},
        "spec": {"virtualServices": [{"name": "vs", "hosts": ["r"], "http": http}]}})
    .to_string()
}

fn route() -> serde_json::Value {
    json!([{"destination": {"host": "r"}}])
}

/// For each error code, a minimal policy (the filter's JSON) that produces it.
fn error_inputs() -> Vec<(ErrorCode, String)> {
    use ErrorCode as C;
    vec![
        (C::UnknownField, json!({"spec": {"colour": 1}}).to_string()),
        (
            C::UnsupportedField,
            with_rules(json!([{"delegate": {"name": "d"}, "route": route()}])),
        ),
        (
            C::WrongType,
            json!({"spec": {"virtualServices": 1}}).to_string(),
        ),
        (C::InvalidJson, "{\"spec\": ".to_owned()),
        (
            C::UnknownKind,
            json!({"kind": "VirtualService"}).to_string(),
        ),
        (
            C::InvalidRegex,
            with_rules(json!([{"match": [{"uri": {"regex": "("}}], "route": route()}])),
        ),
        (
            C::InvalidWeights,
            with_rules(json!([{"route": [
                {"destination": {"host": "r", "subset": "a"}, "weight": 0},
                {"destination": {"host": "r", "subset": "b"}, "weight": 0}]}])),
        ),
        (
            C::Duplicate,
            with_rules(
                json!([{"name": "a", "match": [{"uri": {"prefix": "/a"}}], "route": route()},
                {"name": "a", "route": route()}]),
            ),
        ),
        (
            C::LimitExceeded,
            with_rules(json!([{"route": route(),
                "headers": {"request": {"set": {"x-big": "v".repeat(9000)}}}}])),
        ),
        (
            C::InvalidCel,
            json!({"spec": {"telemetry": [{"overrides": [{"tagOverrides":
                {"x": {"operation": "UPSERT", "value": "(("}}}]}]}})
            .to_string(),
        ),
        (C::InvalidPolicy, with_rules(json!([{"name": "no-action"}]))),
    ]
}

/// For each warning code, a minimal policy that compiles with it.
fn warning_inputs() -> Vec<(WarningKind, String)> {
    use WarningKind as W;
    let two_services = json!({"metadata": {"namespace": "prod"}, "spec": {"virtualServices": [
        {"name": "a", "hosts": ["r"], "http": [{"match": [{"uri": {"prefix": "/a"}}], "route": route()}]},
        {"name": "b", "hosts": ["r"], "http": [{"route": route()}]}]}});
    vec![
        (
            W::UnreachableRule,
            with_rules(
                json!([{"route": route()}, {"match": [{"uri": {"prefix": "/a"}}], "route": route()}]),
            ),
        ),
        (
            W::IneffectiveMatch,
            with_rules(
                json!([{"match": [{"uri": {"prefix": "/a"}}], "route": route()},
                {"match": [{"uri": {"prefix": "/a"}}], "route": route()}]),
            ),
        ),
        (
            W::UndefinedSubset,
            with_rules(json!([{"route": [{"destination": {"host": "r", "subset": "v9"}}]}])),
        ),
        (W::MergedVirtualServices, two_services.to_string()),
        (
            W::ZeroWeight,
            with_rules(json!([{"route": [{"destination": {"host": "r"}, "weight": 0}]}])),
        ),
        (
            W::InvisibleHeader,
            with_rules(
                json!([{"match": [{"headers": {":status": {"exact": "200"}}}], "route": route()}]),
            ),
        ),
        (
            W::PerTryTimeoutExceedsTimeout,
            with_rules(
                json!([{"timeout": "1s", "retries": {"attempts": 2, "perTryTimeout": "2s"},
                "route": route()}]),
            ),
        ),
        (
            W::FaultDisablesTimeoutAndRetries,
            with_rules(json!([{"timeout": "1s", "route": route(),
                "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 1.0}}}}])),
        ),
        (
            W::DeprecatedField,
            with_rules(json!([{"route": route(), "mirror": {"host": "m"}, "mirrorPercent": 5}])),
        ),
        (
            W::IneffectiveField,
            with_rules(json!([{"route": route(), "mirrorPercentage": {"value": 5.0}}])),
        ),
    ]
}

/// The codes in the first column of the table under `### {title}` in
/// docs/cli.md's `## Codes`.
fn documented_codes(title: &str) -> BTreeSet<String> {
    let path = format!("{}/../../docs/cli.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let codes = doc
        .split("\n## Codes\n")
        .nth(1)
        .unwrap_or_else(|| panic!("docs/cli.md has no `## Codes` section"));
    let table = codes
        .split(&format!("\n### {title}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/cli.md `## Codes` has no `### {title}` table"));
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next().map(str::to_owned))
        .collect()
}

#[test]
fn docs_list_exactly_the_codes_the_engine_defines() {
    let errors: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| c.to_string()).collect();
    assert_eq!(documented_codes("Errors"), errors);
    let warnings: BTreeSet<String> = WarningKind::ALL
        .iter()
        .map(|k| k.code().to_owned())
        .collect();
    assert_eq!(
        warnings.len(),
        WarningKind::ALL.len(),
        "a warning code twice"
    );
    assert_eq!(documented_codes("Warnings"), warnings);
}

/// `inputs` has one input for each of `all`, in order, and each input
/// produces its own: `produced` gives what an input produces, with a text
/// to show when the wanted one is missing.
fn assert_each_produced<K: Copy + PartialEq + std::fmt::Debug>(
    inputs: Vec<(K, String)>,
    all: &[K],
    produced: impl Fn(&str) -> (Vec<K>, String),
) {
    let covered: Vec<K> = inputs.iter().map(|(k, _)| *k).collect();
    assert_eq!(covered, all, "one input per code, in order");
    for (want, input) in inputs {
        let (got, detail) = produced(&input);
        assert!(got.contains(&want), "{want:?}: got {got:?}\n{detail}");
    }
}

#[test]
fn every_error_code_is_produced_by_some_input() {
    assert_each_produced(error_inputs(), ErrorCode::ALL, |input| {
        let e = Policy::from_json(input)
            .err()
            .unwrap_or_else(|| panic!("the input compiled: {input}"));
        for err in &e.errors {
            assert_eq!(err.code(), err.kind.code().as_str());
        }
        (
            e.errors.iter().map(|e| e.kind.code()).collect(),
            e.to_string(),
        )
    });
}

#[test]
fn every_warning_code_is_produced_by_some_input() {
    assert_each_produced(warning_inputs(), WarningKind::ALL, |input| {
        let policy = Policy::from_json(input)
            .unwrap_or_else(|e| panic!("the input must compile: {input}\n{e}"));
        (
            policy.warnings().iter().map(|w| w.kind).collect(),
            input.to_owned(),
        )
    });
}

#[test]
fn the_two_codes_guessed_wrong_from_words_are_right() {
    // "…URI or UriRegexRewrite" was reported as invalid-regex, "maxValues
    // must be at least 1" as wrong-type, when codes came from the words
    let e = rule_errors(
        json!([{"rewrite": {"uri": "/a", "uriRegexRewrite": {"match": "a", "rewrite": "/b"}},
        "route": route()}]),
    );
    assert_eq!(
        e.errors[0].message(),
        "rewrite may only contain one of URI or UriRegexRewrite"
    );
    assert_eq!(e.errors[0].code(), "invalid-policy");
    let e = errors(
        json!({"spec": {"telemetry": [{"overrides": [{"tagOverrides":
        {"x": {"operation": "UPSERT", "value": "request.host", "maxValues": 0}}}]}]}}),
    );
    assert_eq!(e.errors[0].message(), "maxValues must be at least 1");
    assert_eq!(e.errors[0].code(), "invalid-policy");
    assert_eq!(
        e.paths(),
        ["spec.telemetry[0].overrides[0].tagOverrides.x.maxValues"]
    );
}
