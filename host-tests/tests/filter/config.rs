//! Configuration: a bad policy is refused with every error logged, and a bad
//! reconfigure keeps the last good policy.

use host_tests::{Level, Plugin};
use serde_json::json;

use super::support::{article_policy, module, options, plugin, policy, request};

fn bad_policy() -> serde_json::Value {
    policy(json!({"http": [
        {"match": [{"uri": {"regex": "(unclosed"}}], "route": [{"destination": {"host": "a"}}]},
        {"route": [{"destination": {"host": "a", "subset": "v1"}, "weight": 0},
                   {"destination": {"host": "a", "subset": "v2"}, "weight": 0}]},
        {"bogus": true, "route": [{"destination": {"host": "a"}}]}
    ]}))
}

fn error_logs(plugin: &Plugin) -> Vec<String> {
    plugin
        .logs()
        .iter()
        .filter(|log| log.level == Level::Error)
        .map(|log| log.message.clone())
        .collect()
}

#[test]
fn bad_configuration_is_refused_with_each_error_logged() {
    let plugin = Plugin::start(module(), options(&bad_policy())).unwrap();
    assert!(!plugin.configured(), "a bad policy must be refused");
    let errors = error_logs(&plugin);
    for path in [
        "spec.virtualServices[0].http[0].match[0].uri.regex",
        "spec.virtualServices[0].http[1].route",
        "spec.virtualServices[0].http[2].bogus",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(path)),
            "no error logged for {path}: {errors:#?}"
        );
    }
    assert!(!plugin.is_failed(), "refusing a policy is not a crash");
}

#[test]
fn configuration_that_is_not_json_is_refused() {
    let mut opts = options(&article_policy());
    opts.plugin_config = b"{not json".to_vec();
    let plugin = Plugin::start(module(), opts).unwrap();
    assert!(!plugin.configured());
    assert!(!error_logs(&plugin).is_empty());
}

#[test]
fn bad_reconfigure_keeps_the_last_good_policy() {
    let mut plugin = plugin(&article_policy());
    assert!(!plugin.reconfigure(serde_json::to_vec(&bad_policy()).unwrap()));
    let out = request(&mut plugin, "/wpcatalog/books?id=1", &[]);
    assert_eq!(
        out.path(),
        "/newcatalog/books?id=1",
        "the article's policy still applies"
    );
    assert!(!plugin.is_failed());

    // A good reconfigure replaces it.
    let other =
        policy(json!({"http": [{"route": [{"destination": {"host": "x", "subset": "blue"}}]}]}));
    assert!(plugin.reconfigure(serde_json::to_vec(&other).unwrap()));
    let out = request(&mut plugin, "/wpcatalog/books", &[]);
    assert_eq!(out.path(), "/wpcatalog/books");
    assert_eq!(out.subset(), Some("blue"));
}

#[test]
fn the_engines_warnings_are_logged_at_configure() {
    // a rule after a catch-all, and a route to a subset nothing defines:
    // valid, so the policy is active, and each warning is logged once
    let doc = policy(json!({"http": [
        {"name": "all", "route": [{"destination": {"host": "a", "subset": "v9"}}]},
        {"name": "late", "match": [{"uri": {"prefix": "/x"}}],
         "route": [{"destination": {"host": "a"}}]}
    ]}));
    let plugin = Plugin::start(module(), options(&doc)).unwrap();
    assert!(plugin.configured(), "a policy with warnings is active");
    let warnings: Vec<String> = plugin
        .logs()
        .iter()
        .filter(|log| log.level == Level::Warn)
        .map(|log| log.message.clone())
        .collect();
    assert_eq!(
        warnings,
        [
            "meshpolicy: spec.virtualServices[0].http[1]: rule `late` can never match: rule `all` before it matches every request",
            "meshpolicy: spec.virtualServices[0].http[0].route[0].destination.subset: subset `v9` of host `a` is not defined by any DestinationRule or `spec.subsets` entry",
        ]
    );
}
