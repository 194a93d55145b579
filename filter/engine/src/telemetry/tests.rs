use test_kit::FakeAttributes;

use super::model::Metrics;
use super::*;

fn section(json: &str) -> Vec<Metrics> {
    serde_json::from_str(json).unwrap()
}

fn ok(json: &str) -> CompiledTelemetry {
    compile(&section(json), None).unwrap()
}

fn errs(json: &str) -> Vec<String> {
    compile(&section(json), None)
        .unwrap_err()
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect()
}

type Attrs = FakeAttributes;

fn node() -> NodeInfo {
    NodeInfo {
        workload: "productpage-v1".into(),
        namespace: "prod".into(),
        app: "productpage".into(),
        version: "v1".into(),
        canonical_service: "productpage".into(),
        canonical_revision: "v1".into(),
        cluster: "Kubernetes".into(),
    }
}

fn request(tenant: &str) -> Attrs {
    let mut a = Attrs::default();
    a.request_headers
        .insert(":authority".into(), "reviews:9080".into());
    a.request_headers.insert("x-tenant".into(), tenant.into());
    a.properties
        .insert("upstream_peer.app".into(), b"reviews".to_vec());
    a.properties
        .insert("upstream_peer.namespace".into(), b"prod".to_vec());
    a.properties
        .insert("response.code".into(), 200_i64.to_le_bytes().to_vec());
    a.properties.insert(
        "xds.cluster_name".into(),
        b"outbound|9080|v2|reviews.prod.svc.cluster.local".to_vec(),
    );
    a
}

fn label_map(
    t: &CompiledTelemetry,
    mode: Mode,
    metric: Metric,
    a: &Attrs,
    caps: &mut CapState,
) -> Option<Vec<(String, String)>> {
    let req = t.evaluate(mode, &node(), a, "reviews-canary", "reviews/v2");
    t.labels(mode, metric, &req, caps)
        .map(|l| l.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn get<'a>(labels: &'a [(String, String)], name: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn defaults_have_every_standard_label_in_both_modes() {
    let t = ok("[]");
    assert_eq!(t.prefix(), "meshpolicy_");
    for mode in [Mode::Client, Mode::Server] {
        for m in Metric::ALL {
            assert_eq!(t.label_names(mode, m).unwrap(), STANDARD_LABELS.to_vec());
        }
    }
    let l = label_map(
        &t,
        Mode::Client,
        Metric::RequestCount,
        &request("acme"),
        &mut CapState::default(),
    )
    .unwrap();
    assert_eq!(get(&l, "reporter"), Some("source"));
    assert_eq!(get(&l, "source_app"), Some("productpage"));
    assert_eq!(get(&l, "destination_app"), Some("reviews"));
    assert_eq!(
        get(&l, "destination_service"),
        Some("reviews.prod.svc.cluster.local")
    );
    assert_eq!(get(&l, "destination_service_name"), Some("reviews"));
    assert_eq!(get(&l, "destination_workload"), Some("unknown"));
    assert_eq!(get(&l, "destination_canonical_revision"), Some("latest"));
    assert_eq!(get(&l, "response_code"), Some("200"));
    assert_eq!(get(&l, "response_flags"), Some("-"));
    assert_eq!(get(&l, "request_protocol"), Some("http"));
    assert_eq!(get(&l, "grpc_response_status"), Some(""));
    assert_eq!(get(&l, "policy_rule"), Some("reviews-canary"));
    assert_eq!(get(&l, "policy_destination"), Some("reviews/v2"));
}

#[test]
fn article_example_removes_app_labels_from_every_metric() {
    let t = ok(
        r#"[{"providers":[{"name":"prometheus"}],"overrides":[{"match":{"metric":"ALL_METRICS"},
        "tagOverrides":{"source_app":{"operation":"REMOVE"},"destination_app":{"operation":"REMOVE"}}}]}]"#,
    );
    for mode in [Mode::Client, Mode::Server] {
        for m in Metric::ALL {
            let names = t.label_names(mode, m).unwrap();
            assert!(!names.contains(&"source_app") && !names.contains(&"destination_app"));
            assert_eq!(names.len(), STANDARD_LABELS.len() - 2);
        }
    }
}

#[test]
fn upsert_replaces_in_place_and_new_tags_are_appended_in_name_order() {
    let t = ok(r#"[{"overrides":[{"tagOverrides":{
        "zeta":{"value":"'z'"},
        "tenant":{"operation":"UPSERT","value":"request.headers['x-tenant']"},
        "destination_service":{"value":"request.host"}}}]}]"#);
    let names = t.label_names(Mode::Server, Metric::RequestCount).unwrap();
    assert_eq!(names.get(14), Some(&"destination_service"));
    assert_eq!(&names[names.len() - 2..], &["tenant", "zeta"]);
    let l = label_map(
        &t,
        Mode::Server,
        Metric::RequestCount,
        &request("acme"),
        &mut CapState::default(),
    )
    .unwrap();
    assert_eq!(get(&l, "tenant"), Some("acme"));
    // request.host is not set: the expression fails and the label is unknown, as in Istio.
    assert_eq!(get(&l, "destination_service"), Some("unknown"));
    assert_eq!(get(&l, "reporter"), Some("destination"));
}

#[test]
fn later_overrides_win_per_tag() {
    let t = ok(r#"[{"overrides":[
        {"tagOverrides":{"tenant":{"value":"'a'"},"source_app":{"operation":"REMOVE"}}},
        {"match":{"metric":"REQUEST_COUNT"},"tagOverrides":{"tenant":{"operation":"REMOVE"},"source_app":{"value":"'b'"}}}]}]"#);
    let count = t.label_names(Mode::Client, Metric::RequestCount).unwrap();
    assert!(!count.contains(&"tenant"));
    assert!(count.contains(&"source_app"));
    let bytes = t.label_names(Mode::Client, Metric::RequestSize).unwrap();
    assert!(bytes.contains(&"tenant"));
    assert!(!bytes.contains(&"source_app"));
}

#[test]
fn mode_selects_client_or_server() {
    let t = ok(
        r#"[{"overrides":[{"match":{"metric":"REQUEST_COUNT","mode":"CLIENT"},"disabled":true},
        {"match":{"mode":"SERVER"},"tagOverrides":{"tenant":{"value":"'x'"}}}]}]"#,
    );
    assert!(!t.enabled(Mode::Client, Metric::RequestCount));
    assert!(t.enabled(Mode::Server, Metric::RequestCount));
    assert!(t.enabled(Mode::Client, Metric::RequestDuration));
    assert!(
        t.label_names(Mode::Server, Metric::RequestSize)
            .unwrap()
            .contains(&"tenant")
    );
    assert!(
        !t.label_names(Mode::Client, Metric::RequestSize)
            .unwrap()
            .contains(&"tenant")
    );
}

#[test]
fn all_metrics_disabled_until_re_enabled_for_that_mode() {
    let t = ok(r#"[{"overrides":[{"match":{"metric":"ALL_METRICS"},"disabled":true}]}]"#);
    for mode in [Mode::Client, Mode::Server] {
        for m in Metric::ALL {
            assert!(!t.enabled(mode, m));
        }
    }
    let t = ok(
        r#"[{"overrides":[{"disabled":true},{"match":{"metric":"REQUEST_SIZE","mode":"SERVER"},"tagOverrides":{"a":{"value":"'1'"}}}]}]"#,
    );
    assert!(t.enabled(Mode::Server, Metric::RequestCount));
    assert!(!t.enabled(Mode::Client, Metric::RequestCount));
    let t = ok(
        r#"[{"overrides":[{"match":{"metric":"RESPONSE_SIZE"},"disabled":true},{"match":{"metric":"RESPONSE_SIZE"},"disabled":false}]}]"#,
    );
    assert!(t.enabled(Mode::Client, Metric::ResponseSize));
}

#[test]
fn max_values_caps_to_other_and_reports_once() {
    let t = ok(
        r#"[{"overrides":[{"tagOverrides":{"tenant":{"value":"request.headers['x-tenant']","maxValues":2}}}]}]"#,
    );
    let mut caps = CapState::default();
    let mut tenant = |v: &str, m: Metric| {
        let l = label_map(&t, Mode::Client, m, &request(v), &mut caps).unwrap();
        get(&l, "tenant").unwrap().to_string()
    };
    assert_eq!(tenant("a", Metric::RequestCount), "a");
    assert_eq!(tenant("b", Metric::RequestCount), "b");
    assert_eq!(tenant("c", Metric::RequestCount), "other");
    assert_eq!(tenant("c", Metric::RequestSize), "other");
    assert_eq!(tenant("a", Metric::RequestSize), "a");
    assert_eq!(caps.take_newly_capped(), vec!["tenant".to_string()]);
    let l = label_map(
        &t,
        Mode::Client,
        Metric::RequestCount,
        &request("d"),
        &mut caps,
    )
    .unwrap();
    assert_eq!(get(&l, "tenant"), Some("other"));
    assert!(caps.take_newly_capped().is_empty());
}

#[test]
fn invalid_sections_are_rejected_with_paths_and_istio_wording() {
    assert_eq!(
        errs(
            r#"[{"overrides":[{},{"tagOverrides":{"source_app":{"operation":"REMOVE","value":"'x'"}}}]}]"#
        ),
        vec![
            "spec.telemetry[0].overrides[1].tagOverrides.source_app.value: value must not be set when operation is REMOVE"
        ]
    );
    assert_eq!(
        errs(r#"[{"overrides":[{"tagOverrides":{"tenant":{"operation":"UPSERT"}}}]}]"#),
        vec![
            "spec.telemetry[0].overrides[0].tagOverrides.tenant.value: value must be set when operation is UPSERT"
        ]
    );
    assert_eq!(
        errs(
            r#"[{"overrides":[{"tagOverrides":{"tenant":{"value":"request.headers['x-tenant'"}}}]}]"#
        ),
        vec![
            "spec.telemetry[0].overrides[0].tagOverrides.tenant.value: invalid CEL expression `request.headers['x-tenant'`: syntax error at column 27: expected `]`, found end of expression"
        ]
    );
    let all = errs(
        r#"[{"providers":[{"name":""}],"overrides":[{"match":{"metric":"REQUESTS","mode":"BOTH"},
        "tagOverrides":{"x-y":{"value":"'a'"},"t":{"operation":"DROP"},"u":{"value":"'a'","maxValues":0},
        "v":{"operation":"REMOVE","maxValues":3}}}]}]"#,
    );
    assert_eq!(
        all,
        vec![
            "spec.telemetry[0].providers[0].name: providers.name may not be empty",
            "spec.telemetry[0].overrides[0].match.metric: unknown metric `REQUESTS`; expected one of ALL_METRICS, REQUEST_COUNT, REQUEST_DURATION, REQUEST_SIZE, RESPONSE_SIZE, TCP_OPENED_CONNECTIONS, TCP_CLOSED_CONNECTIONS, TCP_SENT_BYTES, TCP_RECEIVED_BYTES, GRPC_REQUEST_MESSAGES, GRPC_RESPONSE_MESSAGES",
            "spec.telemetry[0].overrides[0].match.mode: unknown mode `BOTH`; expected one of CLIENT_AND_SERVER, CLIENT, SERVER",
            "spec.telemetry[0].overrides[0].tagOverrides.t.operation: unknown operation `DROP`; expected UPSERT or REMOVE",
            "spec.telemetry[0].overrides[0].tagOverrides.u.maxValues: maxValues must be at least 1",
            "spec.telemetry[0].overrides[0].tagOverrides.v.maxValues: maxValues may only be set when operation is UPSERT",
            "spec.telemetry[0].overrides[0].tagOverrides.x-y: tag name `x-y` is not a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`)",
        ]
    );
    assert_eq!(
        compile(&[], Some("9bad")).unwrap_err().errors[0].to_string(),
        "spec.settings.metricPrefix: metric prefix `9bad` must match `[a-zA-Z_][a-zA-Z0-9_]*`"
    );
}

#[test]
fn other_providers_do_not_apply() {
    let t = ok(r#"[{"providers":[{"name":"stackdriver"}],"overrides":[{"disabled":true}]}]"#);
    assert!(t.enabled(Mode::Client, Metric::RequestCount));
}

#[test]
fn custom_metric_names_select_our_metrics() {
    let t = ok(r#"[{"overrides":[{"match":{"customMetric":"request_bytes"},"disabled":true}]}]"#);
    assert!(!t.enabled(Mode::Client, Metric::RequestSize));
    assert!(t.enabled(Mode::Client, Metric::RequestCount));
}

#[test]
fn stat_names_use_istio_tag_form_with_suffix_safe_order() {
    let t = compile(&[], Some("mp_")).unwrap();
    let labels = vec![
        ("source_app", "productpage".to_string()),
        ("app", "x".to_string()),
        ("reporter", "source".to_string()),
    ];
    assert_eq!(
        t.encode_stat_name(Metric::RequestCount, &labels),
        "app=.=x;.;reporter=.=source;.;source_app=.=productpage;.;mp_requests_total"
    );
    assert_eq!(sanitize("a;b=c \"d\"\n"), "a_b_c__d__");
    assert_eq!(
        sanitize("reviews.prod.svc:9080/v1"),
        "reviews.prod.svc:9080/v1"
    );
    assert_eq!(sanitize(&"x".repeat(500)).len(), MAX_LABEL_VALUE_LEN);
}

#[test]
fn response_flags_print_like_envoy() {
    assert_eq!(response_flags(0), "-");
    assert_eq!(response_flags(0x2), "UH");
    assert_eq!(response_flags(0x20 | 0x8000), "UF,URX");
    assert_eq!(response_flags(0x4000000), "DF");
    assert_eq!(response_flags(0x8000000), "-");
}

#[test]
fn server_mode_reads_the_downstream_peer_and_mtls() {
    let t = ok("[]");
    let mut a = Attrs::default();
    a.properties.insert(
        "xds.listener_direction".into(),
        1_i64.to_le_bytes().to_vec(),
    );
    a.properties
        .insert("downstream_peer.app".into(), b"productpage".to_vec());
    a.properties.insert(
        "connection.uri_san_peer_certificate".into(),
        b"spiffe://cluster.local/ns/front/sa/pp".to_vec(),
    );
    a.properties.insert(
        "connection.uri_san_local_certificate".into(),
        b"spiffe://cluster.local/ns/prod/sa/rv".to_vec(),
    );
    let mode = reporter_mode(&a);
    assert_eq!(mode, Mode::Server);
    let l = label_map(&t, mode, Metric::RequestCount, &a, &mut CapState::default()).unwrap();
    assert_eq!(get(&l, "source_app"), Some("productpage"));
    assert_eq!(get(&l, "source_workload_namespace"), Some("front"));
    assert_eq!(
        get(&l, "source_principal"),
        Some("spiffe://cluster.local/ns/front/sa/pp")
    );
    assert_eq!(get(&l, "destination_app"), Some("productpage"));
    assert_eq!(get(&l, "connection_security_policy"), Some("mutual_tls"));
    assert_eq!(get(&l, "destination_service"), Some("productpage"));
}

#[test]
fn stat_name_of_a_request_matches_its_labels() {
    let t = ok(r#"[{"overrides":[{"tagOverrides":{"app":{"value":"'x y'"}}}]}]"#);
    let req = t.evaluate(Mode::Client, &node(), &request("acme"), "r", "d");
    let mut caps = CapState::default();
    let labels = t
        .labels(Mode::Client, Metric::RequestSize, &req, &mut caps)
        .unwrap();
    let name = t
        .stat_name(Mode::Client, Metric::RequestSize, &req, &mut caps)
        .unwrap();
    assert_eq!(name, t.encode_stat_name(Metric::RequestSize, &labels));
    assert!(name.starts_with("app=.=x_y;.;"), "{name}");
    assert!(name.ends_with(";.;meshpolicy_request_bytes"));
}

#[test]
fn stat_names_share_the_label_part_and_match_stat_name() {
    let t = ok(
        r#"[{"overrides":[{"match":{"metric":"REQUEST_SIZE"},"disabled":true},
        {"match":{"metric":"RESPONSE_SIZE"},"tagOverrides":{"tenant":{"value":"request.headers['x-tenant']","maxValues":1}}}]}]"#,
    );
    let mut caps = CapState::default();
    let req = t.evaluate(Mode::Client, &node(), &request("acme"), "r", "d");
    let names = t.stat_names(Mode::Client, &req, &mut caps);
    let mut caps2 = CapState::default();
    for (metric, name) in Metric::ALL.into_iter().zip(&names) {
        assert_eq!(
            name,
            &t.stat_name(Mode::Client, metric, &req, &mut caps2),
            "{metric:?}"
        );
    }
    assert!(names[2].is_none());
    assert!(names[3].as_ref().unwrap().contains("tenant=.=acme;.;"));
    // The cap still applies through the shared path.
    let req = t.evaluate(Mode::Client, &node(), &request("other-co"), "r", "d");
    let names = t.stat_names(Mode::Client, &req, &mut caps);
    assert!(names[3].as_ref().unwrap().contains("tenant=.=other;.;"));
}

#[test]
fn plan_groups_gather_metrics_with_the_same_labels() {
    let t = ok("[]");
    assert_eq!(t.plan_groups(Mode::Client), &[0b1111]);
    let t = ok(
        r#"[{"overrides":[{"match":{"metric":"REQUEST_SIZE"},"disabled":true},
        {"match":{"metric":"RESPONSE_SIZE"},"tagOverrides":{"tenant":{"value":"request.headers['x-tenant']"}}}]}]"#,
    );
    assert_eq!(t.plan_groups(Mode::Server), &[0b0011, 0b1000]);
    let off = ok(r#"[{"overrides":[{"disabled":true}]}]"#);
    assert!(off.plan_groups(Mode::Client).is_empty());
    assert_ne!(t.id(), off.id());
}

#[test]
fn label_keys_tell_label_sets_apart_and_keep_the_caps() {
    let t = ok(
        r#"[{"overrides":[{"tagOverrides":{"tenant":{"value":"request.headers['x-tenant']","maxValues":1}}}]}]"#,
    );
    let mut caps = CapState::default();
    let key = |tenant: &str, caps: &mut CapState| {
        let req = t.evaluate(Mode::Client, &node(), &request(tenant), "r", "d");
        let mut key = Vec::new();
        t.write_label_key(Mode::Client, Metric::RequestCount, &req, caps, &mut key);
        let name = t
            .stat_name(Mode::Client, Metric::RequestCount, &req, caps)
            .unwrap();
        (String::from_utf8(key).unwrap(), name)
    };
    let (acme, acme_name) = key("acme", &mut caps);
    assert_eq!(key("acme", &mut caps).0, acme);
    assert!(acme.contains("acme;"), "{acme}");
    assert!(acme.len() < acme_name.len() / 2, "{acme} vs {acme_name}");
    // Past maxValues the value is `other`, in the key as in the name.
    let (other, other_name) = key("other-co", &mut caps);
    assert_ne!(other, acme);
    assert!(other.contains("other;") && other_name.contains("tenant=.=other;.;"));
    // Labels no plan carries are not computed.
    let removed =
        ok(r#"[{"overrides":[{"tagOverrides":{"destination_app":{"operation":"REMOVE"}}}]}]"#);
    let req = removed.evaluate(Mode::Client, &node(), &request("acme"), "r", "d");
    let all = t.evaluate(Mode::Client, &node(), &request("acme"), "r", "d");
    let idx = STANDARD_LABELS
        .iter()
        .position(|l| *l == "destination_app")
        .unwrap();
    assert_eq!(req.standard[idx], "");
    assert_ne!(all.standard[idx], "");
}

/// `request_protocol` from the request headers as the filter leaves them
/// (Istio's stats filter decides it in `decodeHeaders`): the `content-type`
/// read, then the decision's edits of it; with a known answer the standard
/// labels do not read `content-type` at log time.
#[test]
fn grpc_comes_from_the_request_headers_as_the_filter_leaves_them() {
    use crate::{Policy, Request, SourceInfo};
    let policy = |ops: serde_json::Value| {
        let doc = test_kit::policy(serde_json::json!({"http": [{
            "route": [{"destination": {"host": "a"}}],
            "headers": {"request": ops},
        }]}));
        Policy::from_value(doc).unwrap()
    };
    let grpc = |ops: serde_json::Value, content_type: Option<&str>| {
        let mut headers: Vec<(String, String)> = vec![
            (":method".into(), "GET".into()),
            (":path".into(), "/x".into()),
            (":authority".into(), "reviews:9080".into()),
        ];
        if let Some(ct) = content_type {
            headers.push(("content-type".into(), ct.into()));
        }
        let decision = policy(ops).decide(&Request {
            headers: &headers,
            source: &SourceInfo::default(),
            port: None,
            random: 0,
            virtual_host: None,
        });
        request_is_grpc(read_grpc(&headers), &decision)
    };
    let none = serde_json::json!({});
    assert!(grpc(none.clone(), Some("application/grpc")));
    assert!(grpc(none.clone(), Some("application/grpc+proto")));
    assert!(!grpc(none.clone(), Some("application/json")));
    assert!(!grpc(none.clone(), None));
    let set = serde_json::json!({"set": {"content-type": "application/grpc"}});
    assert!(grpc(set.clone(), Some("text/plain")));
    assert!(grpc(set, None));
    let add = serde_json::json!({"add": {"content-type": "application/grpc"}});
    assert!(grpc(add.clone(), None));
    assert!(
        !grpc(add, Some("text/plain")),
        "an add keeps the first value"
    );
    let remove = serde_json::json!({"remove": ["content-type"]});
    assert!(!grpc(remove, Some("application/grpc")));
    assert_eq!(
        read_grpc(&[("content-type".into(), "application/grpc".into())]),
        Some(true)
    );
    assert_eq!(read_grpc(&[]), None);

    // Known, it wins over what the attributes say.
    let t = ok(r#"[{"overrides":[{"tagOverrides":{"source_app":{"operation":"REMOVE"}}}]}]"#);
    let protocol = STANDARD_LABELS
        .iter()
        .position(|l| *l == "request_protocol")
        .unwrap();
    let mut attrs = request("acme");
    attrs
        .request_headers
        .insert("content-type".into(), "application/grpc".into());
    let decided = |grpc| Decided {
        policy_rule: "r",
        policy_destination: "d",
        grpc,
    };
    for (known, want) in [(None, "grpc"), (Some(false), "http"), (Some(true), "grpc")] {
        let mut req = RequestLabels::default();
        t.evaluate_unsanitized(Mode::Client, &node(), &attrs, decided(known), &mut req);
        assert_eq!(req.standard[protocol], want, "{known:?}");
    }
}
