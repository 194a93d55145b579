use super::*;
use crate::source::{SourceFile, parse_documents};

const CANARY: &str = "\
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews-destination}
spec:
  host: reviews
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
    - route:
        - {destination: {host: reviews, subset: v1}, weight: 90}
        - {destination: {host: reviews, subset: v2}, weight: 10}
";

const ROUTE: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-route}
spec:
  hosts: [reviews.prod.svc.cluster.local]
  http:
    - match:
        - uri: {prefix: /wpcatalog}
      rewrite: {uri: /newcatalog}
      route:
        - destination: {host: reviews.prod.svc.cluster.local, subset: v2}
";

/// VirtualService `r` in `prod` for host `r`, up to the rest of its `spec`.
const VS_R: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r, namespace: prod}
spec:
  hosts: [r]
";

fn docs(files: &[(&str, &str)]) -> Vec<Document> {
    files
        .iter()
        .flat_map(|(name, text)| parse_documents(&SourceFile::new(*name, *text)).unwrap())
        .collect()
}

/// The article's canary and route, merged.
fn canary_and_route() -> Merged {
    merge(
        docs(&[("canary.yaml", CANARY), ("route.yaml", ROUTE)]),
        None,
    )
    .unwrap()
}

#[test]
fn keeps_each_virtual_service_with_its_hosts_and_resolves_short_names() {
    let merged = canary_and_route();
    let spec = &merged.value["spec"];
    let vs = &spec["virtualServices"];
    assert_eq!(vs[0]["name"], "reviews");
    assert_eq!(vs[0]["hosts"][0], "reviews");
    assert_eq!(vs[1]["name"], "reviews-route");
    assert_eq!(vs[1]["hosts"][0], "reviews.prod.svc.cluster.local");
    // no namespace in the files: taken from the FQDN hosts, said in notes
    assert_eq!(vs[0]["namespace"], "prod");
    assert_eq!(merged.value["metadata"]["namespace"], "prod");
    assert!(
        merged.notes.iter().any(|n| n.code == "inferred-namespace"),
        "{:?}",
        merged.notes
    );
    // subsets keyed by FQDN
    assert_eq!(
        spec["subsets"]["reviews.prod.svc.cluster.local"]["v2"]["version"],
        "v2"
    );
    assert_eq!(merged.value["metadata"]["name"], "reviews");
    // a policy path maps back to the file the rule came from
    let origin = |path: &FieldPath| {
        let (doc, at) = merged.origin_of(path).unwrap();
        (doc, at.to_string())
    };
    let vs_path = FieldPath::fields(&["spec", "virtualServices"]);
    let route_path = vs_path.index(0).field("http").index(0).field("route");
    let (doc, at) = origin(&route_path.index(1).field("weight"));
    assert_eq!(doc.file.name, "canary.yaml");
    assert_eq!(at, "spec.http[0].route[1].weight");
    let (doc, at) = origin(&vs_path.index(1).field("hosts").index(0));
    assert_eq!(doc.file.name, "route.yaml");
    assert_eq!(at, "spec.hosts[0]");
    let (doc, at) = origin(
        &FieldPath::fields(&["spec", "subsets"])
            .key("reviews.prod.svc.cluster.local")
            .key("v1")
            .key("version"),
    );
    assert_eq!(doc.kind(), Some("DestinationRule"));
    assert_eq!(at, "spec.subsets[0].labels.version");
    // both name reviews.prod.svc.cluster.local: merged, catch-all last
    let (_, policy) = merged.check().unwrap();
    let warnings = policy.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].message.contains("`reviews-route`, `reviews`"),
        "{}",
        warnings[0].message
    );
}

#[test]
fn fields_meshpolicy_cannot_carry_are_errors_at_their_place() {
    let vs = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r}
spec:
  hosts: [r]
  gateways: [istio-system/ingress]
  http:
    - delegate: {name: d}
      timeout: 5s
";
    let found = |errors: &[Diagnostic]| -> Vec<_> {
        errors
            .iter()
            .map(|e| (e.code, e.path.clone().unwrap(), e.pos.unwrap().line))
            .collect()
    };
    // a gateway's VirtualService exists only in Istio: the import refuses it
    let errors = merge(docs(&[("vs.yaml", vs)]), None).unwrap_err();
    assert_eq!(
        found(&errors),
        [("unsupported-field", "spec.gateways[0]".to_owned(), 6)]
    );
    assert_eq!(
        errors[0].message,
        "meshpolicy cannot route for gateway \"istio-system/ingress\": the filter runs on sidecars"
    );
    // a rule field a policy cannot hold either: the engine's schema refuses
    // it, at its place in the VirtualService
    let vs = vs.replace("  gateways: [istio-system/ingress]\n", "");
    let merged = merge(docs(&[("vs.yaml", &vs)]), None).unwrap();
    let errors = merged.check().unwrap_err();
    assert_eq!(
        found(&errors),
        [("unsupported-field", "spec.http[0].delegate".to_owned(), 7)]
    );
}

#[test]
fn an_unsupported_field_reads_the_same_from_istio_yaml_and_from_a_policy() {
    let istio = VS_R.to_owned()
        + "  http:
    - match:
        - uri: {prefix: /a}
          statPrefix: a
      route:
        - destination: {host: r}
";
    let policy = "\
apiVersion: meshpolicy.dev/v1alpha2
kind: TrafficPolicy
metadata: {name: r, namespace: prod}
spec:
  virtualServices:
    - name: r
      hosts: [r]
      http:
        - match:
            - uri: {prefix: /a}
              statPrefix: a
          route:
            - destination: {host: r}
";
    let refusal = |name: &str, text: &str| {
        // as `validate` reports it: the import's errors, else the engine's
        let errors = match merge(docs(&[(name, text)]), None) {
            Err(errors) => errors,
            Ok(merged) => merged.check().unwrap_err(),
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        (
            e.code,
            e.message.clone(),
            e.help.clone(),
            e.pos.unwrap().line,
        )
    };
    let (code, message, help, line) = refusal("vs.yaml", &istio);
    assert_eq!(code, "unsupported-field");
    assert_eq!(
        message,
        "field `statPrefix` is not supported by meshpolicy: meshpolicy emits its own metrics"
    );
    assert_eq!(line, 9);
    let (code2, message2, help2, line2) = refusal("policy.yaml", policy);
    assert_eq!((code2, &message2, &help2), (code, &message, &help));
    assert_eq!(line2, 11);
}

#[test]
fn security_resources_are_skipped_with_a_note_and_unknown_kinds_fail() {
    let pa = "apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {name: default}\nspec: {mtls: {mode: STRICT}}\n";
    let merged = merge(docs(&[("pa.yaml", pa), ("route.yaml", ROUTE)]), None).unwrap();
    assert_eq!(merged.notes[0].code, "skipped-resource");
    let gw = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\n";
    let errors = merge(docs(&[("gw.yaml", gw)]), None).unwrap_err();
    assert_eq!(errors[0].code, "unknown-kind");
    assert_eq!(
        errors[0].message,
        "unknown kind `Gateway` (apiVersion `networking.istio.io/v1`)"
    );
    assert_eq!(errors[0].pos.unwrap().line, 2);
}

#[test]
fn engine_errors_point_into_the_istio_file() {
    let vs = ROUTE.replace("prefix: /wpcatalog", "regex: \"(\"");
    let merged = merge(docs(&[("route.yaml", &vs)]), None).unwrap();
    let errors = merged.check().unwrap_err();
    assert_eq!(
        errors[0].path.as_deref(),
        Some("spec.http[0].match[0].uri.regex")
    );
    assert_eq!(errors[0].pos.unwrap().line, 8);
    assert_eq!(errors[0].file.as_ref().unwrap().name, "route.yaml");
}

#[test]
fn a_policy_imports_as_itself() {
    let merged = canary_and_route();
    let (policy, _) = merged.check().unwrap();
    let yaml = serde_saphyr::to_string(&policy).unwrap();
    let again = merge(docs(&[("policy.yaml", &yaml)]), None).unwrap();
    let (policy2, _) = again.check().unwrap();
    assert_eq!(policy, policy2);
    assert_eq!(serde_saphyr::to_string(&policy2).unwrap(), yaml);
}

#[test]
fn router_fields_and_carried_sections_keep_their_place_in_the_istio_file() {
    let vs = VS_R.to_owned()
        + "  exportTo: [\"*\", \".\"]
  http:
    - timeout: 2 seconds
      route:
        - destination: {host: r}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r, namespace: prod}
spec:
  host: r
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets:
    - name: v1
      labels: {version: v1}
      trafficPolicy: [not, a, map]
";
    let found = |text: &str| -> Vec<(String, u32)> {
        let merged = merge(docs(&[("r.yaml", text)]), None).unwrap();
        merged
            .check()
            .unwrap_err()
            .iter()
            .map(|e| {
                (
                    e.path.clone().unwrap(),
                    u32::try_from(e.pos.unwrap().line).unwrap(),
                )
            })
            .collect()
    };
    // the schema first (a subset's trafficPolicy must be a map) ...
    assert_eq!(
        found(&vs),
        [("spec.subsets[0].trafficPolicy".to_owned(), 21)]
    );
    // ... then the values, each at its line in the VirtualService
    let fixed = vs.replace("[not, a, map]", "{}");
    assert_eq!(
        found(&fixed),
        [
            ("spec.exportTo".to_owned(), 6),
            ("spec.http[0].timeout".to_owned(), 8),
        ]
    );
}

fn engine_warnings(yaml: &str) -> Vec<Diagnostic> {
    // the rules go into one virtual service for host `a` (three lines later)
    let yaml = yaml.replace(
        "\n  http:\n",
        "\n  virtualServices:\n  - name: t\n    hosts: [a]\n    http:\n",
    );
    let docs = parse_documents(&SourceFile::new("p.yaml", &yaml)).unwrap();
    let merged = merge(docs, None).unwrap();
    let (_, policy) = merged.check().unwrap();
    merged.warnings(&policy)
}

/// (code, field path, line) of a diagnostic placed in a file.
type Placed = (&'static str, String, usize);

/// Each engine warning, placed in the file.
fn placed_warnings(yaml: &str) -> Vec<Placed> {
    engine_warnings(yaml)
        .iter()
        .map(|d| (d.code, d.path.clone().unwrap(), d.pos.unwrap().line))
        .collect()
}

const HEAD: &str = "apiVersion: meshpolicy.dev/v1alpha2\nkind: TrafficPolicy\nmetadata: {name: t, namespace: prod}\nspec:\n";

#[test]
fn the_engines_warnings_point_into_the_file() {
    let vs = "spec.virtualServices[0]";
    let cases: [(String, Vec<Placed>); 4] = [
        // a rule after a catch-all is unreachable
        (
            format!(
                "{HEAD}  http:\n    - name: all\n      route: [{{destination: {{host: a}}}}]\n    - name: late\n      match: [{{uri: {{prefix: /x}}}}]\n      route: [{{destination: {{host: b}}}}]\n"
            ),
            vec![("unreachable-rule", format!("{vs}.http[1]"), 11)],
        ),
        // `prefix: /` is a catch-all, and a repeated match entry is ineffective
        (
            format!(
                "{HEAD}  http:\n    - name: a\n      match: [{{uri: {{prefix: /x}}}}]\n      route: [{{destination: {{host: a}}}}]\n    - name: b\n      match: [{{uri: {{prefix: /x}}}}, {{uri: {{prefix: /}}}}]\n      route: [{{destination: {{host: b}}}}]\n    - name: c\n      route: [{{destination: {{host: c}}}}]\n"
            ),
            vec![
                ("ineffective-match", format!("{vs}.http[1].match[0]"), 13),
                ("unreachable-rule", format!("{vs}.http[2]"), 15),
            ],
        ),
        // a short destination host resolves in the namespace
        (
            format!(
                "{HEAD}  subsets:\n    reviews.prod.svc.cluster.local: {{v1: {{version: v1}}}}\n  http:\n    - route:\n        - {{destination: {{host: reviews.prod.svc.cluster.local, subset: v1}}, weight: 50}}\n        - {{destination: {{host: reviews, subset: v3}}, weight: 50}}\n"
            ),
            vec![(
                "undefined-subset",
                format!("{vs}.http[0].route[1].destination.subset"),
                13,
            )],
        ),
        // weight 0 on the only destination; `host` and `:status` never reach the filter
        (
            format!(
                "{HEAD}  http:\n    - match:\n        - headers: {{host: {{exact: a}}, \":status\": {{exact: \"200\"}}, x-ok: {{}}}}\n      route:\n        - {{destination: {{host: a}}, weight: 0}}\n"
            ),
            vec![
                ("zero-weight", format!("{vs}.http[0].route[0].weight"), 12),
                (
                    "invisible-header",
                    format!("{vs}.http[0].match[0].headers[\":status\"]"),
                    10,
                ),
                (
                    "invisible-header",
                    format!("{vs}.http[0].match[0].headers.host"),
                    10,
                ),
            ],
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(placed_warnings(&yaml), want, "{yaml}");
    }
}

#[test]
fn the_article_policy_is_clean() {
    let w = engine_warnings(&format!(
        "{HEAD}  http:\n    - name: legacy\n      match: [{{uri: {{prefix: /wpcatalog}}}}]\n      route: [{{destination: {{host: reviews, subset: v2}}}}]\n    - name: canary\n      route:\n        - {{destination: {{host: reviews, subset: v1}}, weight: 90}}\n        - {{destination: {{host: reviews, subset: v2}}, weight: 10}}\n  subsets:\n    reviews.prod.svc.cluster.local: {{v1: {{version: v1}}, v2: {{version: v2}}}}\n"
    ));
    assert!(w.is_empty(), "{w:?}");
}
