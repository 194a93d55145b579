//! Router-enforced fields (timeout, retries, mirrors, CORS, fault delay):
//! accepted and validated as Istio does, ignored by `decide`, part of the
//! decision key; non-HTTP sections and DestinationRule settings carried.

use meshpolicy_engine::{Policy, WarningKind};
use serde_json::{Value, json};

use crate::support::{Req, errors, rule_errors, rules};

fn key_of(p: &Policy, path: &str) -> String {
    Req::get(path)
        .decide(p)
        .destination
        .map(|d| d.key.to_string())
        .unwrap_or_default()
}

fn messages(http: Value) -> Vec<(String, String)> {
    rule_errors(http)
        .errors
        .into_iter()
        .map(|e| (e.path.to_string(), e.message()))
        .collect()
}

#[test]
fn rules_without_router_options_keep_their_keys() {
    let p = rules(json!([{"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}]));
    assert_eq!(key_of(&p, "/"), "reviews.prod.svc.cluster.local/v1");
}

#[test]
fn two_rules_to_one_destination_with_different_timeouts_get_two_keys() {
    let p = rules(json!([
        {"match": [{"uri": {"prefix": "/slow"}}], "timeout": "10s",
         "route": [{"destination": {"host": "reviews", "subset": "v1"}}]},
        {"match": [{"uri": {"prefix": "/fast"}}], "timeout": "2s",
         "route": [{"destination": {"host": "reviews", "subset": "v1"}}]},
        {"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}
    ]));
    let (slow, fast, plain) = (key_of(&p, "/slow"), key_of(&p, "/fast"), key_of(&p, "/"));
    let base = "reviews.prod.svc.cluster.local/v1";
    assert_eq!(plain, base);
    for k in [&slow, &fast] {
        let (head, hash) = k.split_once('#').unwrap();
        assert_eq!(head, base);
        assert_eq!(hash.len(), 8);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
    assert_ne!(slow, fast);
    let plans = p.host_plans();
    let keys: Vec<(&str, Option<&str>)> = plans[0]
        .keys
        .iter()
        .map(|k| {
            (
                k.key.as_str(),
                k.options.as_ref().and_then(|o| o.fields.timeout.as_deref()),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (slow.as_str(), Some("10s")),
            (fast.as_str(), Some("2s")),
            (base, None)
        ]
    );
}

#[test]
fn keys_are_a_pure_function_of_destination_and_options() {
    let slow = json!({"match": [{"uri": {"prefix": "/slow"}}], "timeout": "10s",
        "retries": {"attempts": 3, "perTryTimeout": "2s"},
        "route": [{"destination": {"host": "reviews", "subset": "v1"}}]});
    let other = json!({"match": [{"uri": {"prefix": "/a"}}], "route": [{"destination": {"host": "ratings"}}]});
    // same options on a rule elsewhere, in another order, with another name and match
    let renamed = json!({"name": "x", "match": [{"uri": {"prefix": "/slow"}}],
        "retries": {"perTryTimeout": "2s", "attempts": 3}, "timeout": "10s",
        "route": [{"destination": {"host": "reviews", "subset": "v1"}}]});
    let a = key_of(&rules(json!([slow, other.clone()])), "/slow");
    let b = key_of(&rules(json!([other, renamed])), "/slow");
    assert_eq!(a, b);
    // pinned, computed independently (Python): FNV-1a 64 of
    // `{"timeout":"10s","retries":{"attempts":3,"perTryTimeout":"2s"}}`, upper 32 bits
    assert_eq!(a, "reviews.prod.svc.cluster.local/v1#4c837f5f");
}

#[test]
fn decide_ignores_router_options() {
    let with = rules(
        json!([{"timeout": "1ms", "fault": {"delay": {"fixedDelay": "5s", "percentage": {"value": 100.0}}},
        "corsPolicy": {"allowOrigins": [{"exact": "https://a.example"}]},
        "route": [{"destination": {"host": "reviews"}}]}]),
    );
    let without = rules(json!([{"route": [{"destination": {"host": "reviews"}}]}]));
    let (a, b) = (
        Req::get("/x").decide(&with),
        Req::get("/x").decide(&without),
    );
    assert_eq!(a.local_response, None);
    assert_eq!(a.path, b.path);
    assert_eq!(a.rule, b.rule);
    let options = with.router_options(0, 0).unwrap();
    assert_eq!(options.fields.timeout.as_deref(), Some("1ms"));
    assert!(options.fields.fault.as_ref().unwrap().abort.is_none());
    assert!(without.router_options(0, 0).is_none());
}

#[test]
fn mirror_hosts_resolve_in_the_virtual_service_namespace() {
    let p = rules(
        json!([{"mirror": {"host": "shadow"}, "route": [{"destination": {"host": "reviews"}}]}]),
    );
    let o = p.router_options(0, 0).unwrap();
    assert_eq!(
        o.fields.mirror.as_ref().unwrap().host,
        "shadow.prod.svc.cluster.local"
    );
}

#[test]
fn router_fields_are_validated_as_istio_does() {
    let got = messages(json!([{
        "timeout": "2 seconds",
        "retries": {"attempts": 0, "perTryTimeout": "0.5ms", "retryOn": "5xx,gateway-eror,599", "backoff": "1h"},
        "mirror": {"host": "a"}, "mirrors": [{"destination": {"host": "b", "subset": "V1"}, "percentage": {"value": 101.0}}, {}],
        "mirrorPercentage": {"value": -1.0},
        "corsPolicy": {"allowOrigins": [{"exact": ""}, {"regex": "("}], "allowMethods": ["GET", "FETCH"],
            "allowHeaders": ["bad header"], "maxAge": "1500ms", "unmatchedPreflights": "DROP"},
        "fault": {"delay": {"percentage": {"value": 200.0}}},
        "route": [{"destination": {"host": "reviews"}}]}]));
    let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    let r = "spec.virtualServices[0].http[0]";
    let want = [
        "timeout",
        "retries.attempts",
        "retries.perTryTimeout",
        "retries.retryOn",
        "retries.retryOn",
        "mirrors",
        "mirrorPercentage.value",
        "mirrors[0].destination.subset",
        "mirrors[0].percentage.value",
        "mirrors[1]",
        "corsPolicy.allowOrigins[0]",
        "corsPolicy.allowOrigins[1].regex",
        "corsPolicy.allowMethods[1]",
        "corsPolicy.allowHeaders[0]",
        "corsPolicy.maxAge",
        "corsPolicy.unmatchedPreflights",
        "fault.delay",
        "fault.delay.percentage.value",
    ]
    .map(|p| format!("{r}.{p}"));
    assert_eq!(
        paths,
        want.iter().map(String::as_str).collect::<Vec<_>>(),
        "{got:#?}"
    );
    let text = |p: &str| {
        got.iter()
            .find(|(path, _)| path == &format!("{r}.{p}"))
            .map(|(_, m)| m.as_str())
            .unwrap()
    };
    assert!(text("timeout").starts_with("invalid duration `2 seconds`"));
    assert_eq!(
        text("retries.attempts"),
        "http retry policy configured when attempts are set to 0 (disabled)"
    );
    assert!(text("retries.perTryTimeout").contains("at least 1ms"));
    assert!(text("retries.retryOn").starts_with("`gateway-eror` is not a valid retryOn policy"));
    assert_eq!(
        text("mirrors"),
        "HTTP route cannot contain both mirror and mirrors"
    );
    assert_eq!(
        text("corsPolicy.maxAge"),
        "max_age duration is accurate only to seconds precision"
    );
    assert_eq!(text("fault.delay"), "delay requires `fixedDelay`");
}

#[test]
fn unsupported_router_variants_say_what_to_write() {
    let got = messages(
        json!([{"mirror_percent": 5, "fault": {"delay": {"exponentialDelay": "1s"}},
        "route": [{"destination": {"host": "reviews"}}]}]),
    );
    assert_eq!(
        got,
        [
            (
                "spec.virtualServices[0].http[0].fault.delay.exponentialDelay".to_owned(),
                "field `exponentialDelay` is not supported by meshpolicy: Istio does not support it yet: use `fixedDelay`".to_owned()
            ),
            (
                "spec.virtualServices[0].http[0].mirror_percent".to_owned(),
                "field `mirror_percent` is not supported by meshpolicy: write `mirrorPercentage` (or the deprecated `mirrorPercent`)".to_owned()
            ),
            (
                "spec.virtualServices[0].http[0].fault.delay".to_owned(),
                "delay requires `fixedDelay`".to_owned()
            ),
        ]
    );
}

#[test]
fn warnings_are_typed_like_istio_analyze() {
    let p = rules(json!([
        {"match": [{"uri": {"prefix": "/a"}}], "timeout": "2s", "retries": {"attempts": 3, "perTryTimeout": "3s"},
         "route": [{"destination": {"host": "reviews"}}]},
        {"match": [{"uri": {"prefix": "/b"}}], "mirrorPercent": 5, "route": [{"destination": {"host": "reviews"}}]},
        {"timeout": "1s", "fault": {"delay": {"fixedDelay": "1s", "percentage": {"value": 5.0}}},
         "route": [{"destination": {"host": "reviews"}}]}
    ]));
    let paths: Vec<(WarningKind, String)> = p
        .warnings()
        .iter()
        .map(|w| (w.kind, w.path.to_string()))
        .collect();
    let got: Vec<(WarningKind, &str)> = paths.iter().map(|(k, p)| (*k, p.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                WarningKind::PerTryTimeoutExceedsTimeout,
                "spec.virtualServices[0].http[0].retries.perTryTimeout"
            ),
            (
                WarningKind::DeprecatedField,
                "spec.virtualServices[0].http[1].mirrorPercent"
            ),
            (
                WarningKind::IneffectiveField,
                "spec.virtualServices[0].http[1].mirrorPercent"
            ),
            (
                WarningKind::FaultDisablesTimeoutAndRetries,
                "spec.virtualServices[0].http[2].fault"
            ),
        ]
    );
    assert_eq!(
        WarningKind::PerTryTimeoutExceedsTimeout.code(),
        "per-try-timeout-exceeds-timeout"
    );
    assert_eq!(
        p.warnings()[0].message,
        "retries.perTryTimeout `3s` is longer than timeout `2s`: Envoy's route timeout ends the request first"
    );
}

#[test]
fn non_http_sections_and_destination_rule_settings_are_kept_and_checked() {
    let doc = json!({"metadata": {"namespace": "prod"}, "spec": {
        "virtualServices": [{"name": "vs", "hosts": ["reviews"], "exportTo": [".", "*"],
            "tcp": [{"route": [{"destination": {"host": "reviews"}}]}], "tls": ["not a map"],
            "http": [{"route": [{"destination": {"host": "reviews"}}]}]}],
        "subsets": {"reviews.prod.svc.cluster.local": {"v1": {"version": "v1"}}},
        "destinationRules": {
            "reviews.prod.svc.cluster.local": {"trafficPolicy": [], "exportTo": ["prod"],
                "workloadSelector": {"matchLabels": {"app": "r"}}, "subsets": {"v2": {}}},
            "ratings": {}}}});
    let got: Vec<(String, String)> = errors(doc)
        .errors
        .into_iter()
        .map(|e| (e.path.to_string(), e.message()))
        .collect();
    let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.destinationRules[\"reviews.prod.svc.cluster.local\"].trafficPolicy",
            "spec.virtualServices[0].tls[0]",
            "spec.destinationRules.ratings",
            "spec.destinationRules[\"reviews.prod.svc.cluster.local\"].exportTo",
            "spec.destinationRules[\"reviews.prod.svc.cluster.local\"].subsets.v2",
            "spec.virtualServices[0].exportTo",
        ],
        "{got:#?}"
    );
}

#[test]
fn merged_virtual_services_must_export_alike() {
    let e = errors(
        json!({"metadata": {"namespace": "prod"}, "spec": {"virtualServices": [
        {"name": "a", "hosts": ["reviews"], "exportTo": ["."], "http": [{"match": [{"uri": {"prefix": "/a"}}], "route": [{"destination": {"host": "reviews"}}]}]},
        {"name": "b", "hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]}]}}),
    );
    assert_eq!(e.paths(), ["spec.virtualServices[1].exportTo"]);
}

#[test]
fn export_to_refuses_a_repeated_entry_and_star_with_others() {
    let e = errors(
        json!({"metadata": {"namespace": "prod"}, "spec": {"virtualServices": [
        {"name": "vs", "hosts": ["reviews"], "exportTo": ["prod", "*", "prod", "Bad", "*"],
         "http": [{"route": [{"destination": {"host": "reviews"}}]}]}]}}),
    );
    let got: Vec<(String, &str, String)> = e
        .errors
        .iter()
        .map(|e| (e.path.to_string(), e.code(), e.message()))
        .collect();
    let at = |i: usize| format!("spec.virtualServices[0].exportTo[{i}]");
    assert_eq!(
        got,
        [
            (
                at(2),
                "duplicate",
                "duplicate entries in exportTo for entry prod".to_owned()
            ),
            (
                at(3),
                "invalid-policy",
                "`Bad` is not `.`, `*` or a namespace name (a DNS-1123 label)".to_owned()
            ),
            (
                at(4),
                "duplicate",
                "duplicate entries in exportTo for entry *".to_owned()
            ),
            (
                "spec.virtualServices[0].exportTo".to_owned(),
                "invalid-policy",
                "cannot have both public (*) and non-public exportTo values for a resource"
                    .to_owned(),
            ),
        ],
        "{got:#?}"
    );
}
