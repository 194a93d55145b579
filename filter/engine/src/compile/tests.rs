use serde_json::json;

use super::*;

/// A policy of one virtual service for `reviews` with these rules.
fn policy(http: serde_json::Value) -> Policy {
    let doc = json!({
        "apiVersion": "meshpolicy.dev/v1alpha2",
        "kind": "TrafficPolicy",
        "metadata": {"name": "p", "namespace": "prod"},
        "spec": {"virtualServices": [{"name": "vs", "hosts": ["reviews"], "http": http}]}
    });
    Policy::from_json(&doc.to_string()).unwrap()
}

fn first_key(rule: &CompiledRule) -> Arc<str> {
    match &rule.action {
        Action::Route(route) => route.dests[0].dest.key.clone(),
        other => panic!("not a route: {other:?}"),
    }
}

/// An 8-hex hash cannot be made to collide in a test, so the later rules
/// are given the first rule's key: only the rule whose router options
/// differ from the first's is refused, naming the first.
#[test]
fn a_decision_key_shared_by_other_router_options_is_refused() {
    let mut p = policy(json!([
        {"match": [{"uri": {"prefix": "/a"}}], "route": [{"destination": {"host": "reviews"}}]},
        {"match": [{"uri": {"prefix": "/b"}}], "timeout": "2s",
         "route": [{"destination": {"host": "reviews"}}]},
        {"route": [{"destination": {"host": "reviews"}}]}
    ]));
    let key = first_key(&p.rules[0]);
    assert_ne!(first_key(&p.rules[1]), key, "the timeout makes another key");
    for rule in &mut p.rules[1..] {
        let Action::Route(route) = &mut rule.action else {
            panic!("not a route")
        };
        route.dests[0].dest.key = key.clone();
    }
    let mut errors = Errors::default();
    check_key_collisions(&p.rules, &mut errors);
    let got: Vec<(String, String)> = errors
        .list
        .iter()
        .map(|e| (e.path.to_string(), e.message()))
        .collect();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].0, "spec.virtualServices[0].http[1]");
    assert!(
        matches!(
            &errors.list[0].kind,
            PolicyErrorKind::DecisionKeyCollision { key: k, also }
                if **k == *key && also.to_string() == "spec.virtualServices[0].http[0]"
        ),
        "{got:#?}"
    );
}
