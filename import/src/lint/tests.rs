use super::*;
use crate::import::merge;
use crate::source::{SourceFile, parse_documents};

fn warnings(yaml: &str) -> Vec<Diagnostic> {
    // the rules go into one virtual service for host `a` (three lines later)
    let yaml = yaml.replace(
        "\n  http:\n",
        "\n  virtualServices:\n  - name: t\n    hosts: [a]\n    http:\n",
    );
    let docs = parse_documents(&SourceFile::new("p.yaml", &yaml)).unwrap();
    let merged = merge(docs, None).unwrap();
    let (policy, _) = merged.check().unwrap();
    lint(&policy, &merged)
}

const HEAD: &str = "apiVersion: meshpolicy.dev/v1alpha2\nkind: TrafficPolicy\nmetadata: {name: t, namespace: prod}\nspec:\n";

#[test]
fn rule_after_a_catch_all_is_unreachable() {
    let w = warnings(&format!(
        "{HEAD}  http:\n    - name: all\n      route: [{{destination: {{host: a}}}}]\n    - name: late\n      match: [{{uri: {{prefix: /x}}}}]\n      route: [{{destination: {{host: b}}}}]\n"
    ));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].code, "unreachable-rule");
    assert_eq!(
        w[0].path.as_deref(),
        Some("spec.virtualServices[0].http[1]")
    );
    assert_eq!(w[0].pos.unwrap().line, 11);
}

#[test]
fn prefix_slash_is_a_catch_all_and_duplicate_matches_are_ineffective() {
    let w = warnings(&format!(
        "{HEAD}  http:\n    - name: a\n      match: [{{uri: {{prefix: /x}}}}]\n      route: [{{destination: {{host: a}}}}]\n    - name: b\n      match: [{{uri: {{prefix: /x}}}}, {{uri: {{prefix: /}}}}]\n      route: [{{destination: {{host: b}}}}]\n    - name: c\n      route: [{{destination: {{host: c}}}}]\n"
    ));
    let codes: Vec<_> = w
        .iter()
        .map(|d| (d.code, d.path.clone().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (
                "ineffective-match",
                "spec.virtualServices[0].http[1].match[0]".to_owned()
            ),
            (
                "unreachable-rule",
                "spec.virtualServices[0].http[2]".to_owned()
            ),
        ]
    );
}

#[test]
fn undefined_subsets_resolve_short_host_names_in_the_namespace() {
    let w = warnings(&format!(
        "{HEAD}  subsets:\n    reviews.prod.svc.cluster.local: {{v1: {{version: v1}}}}\n  http:\n    - route:\n        - {{destination: {{host: reviews.prod.svc.cluster.local, subset: v1}}, weight: 50}}\n        - {{destination: {{host: reviews, subset: v3}}, weight: 50}}\n"
    ));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].code, "undefined-subset");
    assert_eq!(
        w[0].path.as_deref(),
        Some("spec.virtualServices[0].http[0].route[1].destination.subset")
    );
    assert_eq!(w[0].pos.unwrap().line, 13);
}

#[test]
fn lone_zero_weight_and_invisible_headers_warn() {
    let w = warnings(&format!(
        "{HEAD}  http:\n    - match:\n        - headers: {{host: {{exact: a}}, \":status\": {{exact: \"200\"}}, x-ok: {{}}}}\n      route:\n        - {{destination: {{host: a}}, weight: 0}}\n"
    ));
    let codes: Vec<_> = w
        .iter()
        .map(|d| (d.code, d.path.clone().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (
                "zero-weight",
                "spec.virtualServices[0].http[0].route[0].weight".to_owned()
            ),
            (
                "invisible-header",
                "spec.virtualServices[0].http[0].match[0].headers[\":status\"]".to_owned()
            ),
            (
                "invisible-header",
                "spec.virtualServices[0].http[0].match[0].headers.host".to_owned()
            ),
        ]
    );
    assert_eq!(w[1].pos.unwrap().line, 10);
}

#[test]
fn the_article_policy_is_clean() {
    let w = warnings(&format!(
        "{HEAD}  http:\n    - name: legacy\n      match: [{{uri: {{prefix: /wpcatalog}}}}]\n      route: [{{destination: {{host: reviews, subset: v2}}}}]\n    - name: canary\n      route:\n        - {{destination: {{host: reviews, subset: v1}}, weight: 90}}\n        - {{destination: {{host: reviews, subset: v2}}, weight: 10}}\n  subsets:\n    reviews.prod.svc.cluster.local: {{v1: {{version: v1}}, v2: {{version: v2}}}}\n"
    ));
    assert!(w.is_empty(), "{w:?}");
}
