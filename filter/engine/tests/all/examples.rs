//! The article's examples (shared/examples/istio) as policies in testdata/.

use meshpolicy_engine::Policy;

use crate::support::{Req, Rng, policy, subset_of, testdata, yaml_value};

fn reviews_route() -> Policy {
    policy(yaml_value(&testdata("reviews-route.yaml")))
}

#[test]
fn wpcatalog_books_is_rewritten_to_newcatalog_and_routed_to_reviews_v2() {
    let d = Req::get("/wpcatalog/books?id=1").decide(&reviews_route());
    assert_eq!(d.path.as_deref(), Some("/newcatalog/books?id=1"));
    let dest = d.destination.unwrap();
    assert_eq!(&*dest.host, "reviews.prod.svc.cluster.local");
    assert_eq!(dest.subset.as_deref(), Some("v2"));
}

#[test]
fn consumercatalog_becomes_newcatalog() {
    let d = Req::get("/consumercatalog").decide(&reviews_route());
    assert_eq!(d.path.as_deref(), Some("/newcatalog"));
}

#[test]
fn wpcatalogue_becomes_newcatalogue_with_envoy_prefix_semantics() {
    let d = Req::get("/wpcatalogue").decide(&reviews_route());
    assert_eq!(d.path.as_deref(), Some("/newcatalogue"));
}

#[test]
fn uppercase_wpcatalog_does_not_match() {
    let d = Req::get("/WPCATALOG").decide(&reviews_route());
    assert_eq!(d.rule, None);
    assert_eq!(d.path, None);
    assert_eq!(d.destination, None);
}

#[test]
fn canary_split_of_100k_requests_lands_within_one_point_of_90_10() {
    let p = Policy::from_json(&testdata("reviews-canary.json")).unwrap();
    let mut rng = Rng(2024);
    let n = 100_000;
    let v1 = (0..n)
        .filter(|_| {
            subset_of(&Req::get("/reviews/1").random(rng.next_u64()).decide(&p)).as_deref()
                == Some("v1")
        })
        .count();
    let share = v1 as f64 * 100.0 / n as f64;
    assert!((89.0..=91.0).contains(&share), "v1 got {share}%");
}

#[test]
fn the_article_policy_compiles_from_yaml_and_from_json_alike() {
    let from_yaml = meshpolicy_engine::from_value(test_kit::article_policy()).unwrap();
    let json = serde_json::to_string(&from_yaml).unwrap();
    let from_json = meshpolicy_engine::from_json(&json).unwrap();
    assert_eq!(from_yaml, from_json);
    let p = Policy::compile(&from_json).unwrap();
    assert_eq!(p.rule_count(), 2);
    let d = Req::get("/wpcatalog/x").decide(&p);
    assert_eq!(d.rule.unwrap().name.as_ref(), "legacy-catalog");
    let d = Req::get("/reviews/1").header("x-user-id", "42").decide(&p);
    assert_eq!(d.rule.unwrap().name.as_ref(), "reviews-canary");
}

#[test]
fn the_canary_example_is_the_same_policy_in_yaml_and_json() {
    let json = meshpolicy_engine::from_json(&testdata("reviews-canary.json")).unwrap();
    assert_eq!(json.spec.virtual_services[0].http.len(), 1);
    let yaml = serde_saphyr::to_string(&json).unwrap();
    let back = meshpolicy_engine::from_value(yaml_value(&yaml)).unwrap();
    assert_eq!(json, back);
}
