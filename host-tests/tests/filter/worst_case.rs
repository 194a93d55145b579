//! Bounded per-request work (issue 15, item 1): the worst request a default
//! Envoy lets reach the filter (60 KiB of request headers, at most 100 of
//! them: larger ones get Envoy's 431 first, see the host's `codec.rs`)
//! through regex rules that scan it completes on the `.wasm` within a
//! stated instruction budget, a small fraction of the fuel a callback has.

use host_tests::{Limits, Plugin};
use serde_json::{Value, json};

use test_kit::{bearer_rules, bearer_token};

use super::support::{module, options};

/// The stated budget of the worst request: 10% of the host's default fuel
/// per event (2e9), so a worker thread spends at most this on one request.
pub const WORST_CASE_FUEL: u64 = meshpolicy_engine::limits::REQUEST_FUEL;

/// Sends the request and returns the fuel its request headers cost.
fn fuel_of(plugin: &mut Plugin, headers: &[(&str, &str)]) -> u64 {
    let mut stream = plugin.new_stream();
    stream.request_headers(headers, true);
    let upstream = stream.request_headers_seen_upstream();
    let spent = stream.plugin().fuel_spent();
    assert!(
        !stream.plugin().is_failed(),
        "the filter failed: {:?}",
        stream.plugin().failure()
    );
    let upstream = upstream.expect("forwarded");
    assert!(
        upstream
            .iter()
            .any(|(k, v)| k == "x-meshpolicy-route" && v == "a.prod.svc.cluster.local/v2"),
        "every bearer rule must be scanned and miss, so the catch-all decides: {:?}",
        upstream
            .iter()
            .filter(|(k, _)| k.starts_with("x-"))
            .collect::<Vec<_>>()
    );
    spent
}

fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "reviews:9080"),
        (":path", "/"),
    ]
}

/// The fuel of an ordinary request ([`base`]) and of `worst` through
/// `plugin`, logged with `what`.
fn ordinary_and_worst(plugin: &mut Plugin, worst: &[(&str, &str)], what: &str) -> (u64, u64) {
    let ordinary = fuel_of(plugin, &base());
    let worst = fuel_of(plugin, worst);
    eprintln!(
        "{what}: ordinary {ordinary} fuel, worst {worst} fuel ({}x)",
        worst / ordinary.max(1)
    );
    (ordinary, worst)
}

#[track_caller]
fn assert_within_budget(worst: u64) {
    assert!(
        worst <= WORST_CASE_FUEL,
        "the worst request cost {worst} fuel, over the budget of {WORST_CASE_FUEL}"
    );
}

fn measure(rules: usize, token_len: usize) -> (u64, u64) {
    let mut opts = options(&bearer_rules(rules));
    opts.limits = Limits::default();
    let mut plugin = Plugin::start(module(), opts).expect("plugin starts");
    assert!(plugin.configured(), "refused: {:?}", plugin.logs());
    let long = bearer_token(token_len);
    let mut worst = base();
    worst.push(("authorization", long.as_str()));
    let what = format!("{rules} regex rules, {token_len}-byte token");
    ordinary_and_worst(&mut plugin, &worst, &what)
}

#[test]
fn a_16_kb_authorization_header_through_100_regex_rules_stays_within_budget() {
    // The probe: it ran on_request_headers out of fuel (2e9).
    let (_, worst) = measure(100, 16 * 1024);
    assert_within_budget(worst);
}

#[test]
fn the_largest_request_envoy_passes_through_the_most_regexes_stays_within_budget() {
    // 60 KiB of request headers in all (Envoy's default limit), through
    // as many regexes as a policy may have.
    let len = 60 * 1024 - 200;
    let (_, worst) = measure(meshpolicy_engine::limits::MAX_REGEXES, len);
    assert_within_budget(worst);
}

#[test]
fn one_regex_past_the_limit_is_refused_at_configure() {
    let limit = meshpolicy_engine::limits::MAX_REGEXES;
    let plugin = Plugin::start(module(), options(&bearer_rules(limit + 1))).expect("starts");
    assert!(
        !plugin.configured(),
        "a policy past the regex limit is refused"
    );
    assert!(!plugin.is_failed(), "refusing is not a trap");
    assert!(
        plugin
            .logs()
            .iter()
            .any(|l| l.message.contains(&format!("the limit is {limit}"))),
        "{:?}",
        plugin.logs()
    );
    let at_limit = Plugin::start(module(), options(&bearer_rules(limit))).expect("starts");
    assert!(at_limit.configured(), "{:?}", at_limit.logs());
}

/// A started plugin of `test_kit::rules_then_catch_all` with `rules`
/// rules, rule `i` with the one match entry `entry(i)`.
fn rules_then_catch_all(rules: usize, entry: impl Fn(usize) -> Value) -> Plugin {
    let config = test_kit::rules_then_catch_all(rules, |i| json!({"match": [entry(i)]}));
    let plugin = Plugin::start(module(), options(&config)).expect("plugin starts");
    assert!(plugin.configured(), "refused: {:?}", plugin.logs());
    plugin
}

/// A policy at `MAX_RULES` whose rules each match `x-a` exactly (never),
/// then a catch-all; `values` values of `x-a` fill Envoy's 60 KiB.
fn repeated_header_fuel(rules: usize, values: usize) -> (u64, u64) {
    let mut plugin = rules_then_catch_all(
        rules,
        |i| json!({"headers": {"x-a": {"exact": format!("v{i}")}}}),
    );
    let value = "x".repeat((60 * 1024 - 200) / values - 4);
    let mut worst = base();
    worst.extend((0..values).map(|_| ("x-a", value.as_str())));
    let what = format!("{rules} header rules, {values} values of x-a");
    ordinary_and_worst(&mut plugin, &worst, &what)
}

/// Envoy's matcher joins a header's values with `,`: a request that sends
/// one header 95 times (60 KiB in all) makes every header rule look at all
/// of it. Through `MAX_RULES` such rules it stays within the budget.
#[test]
fn one_header_sent_95_times_through_max_rules_header_matchers_stays_within_budget() {
    let (_, worst) = repeated_header_fuel(meshpolicy_engine::limits::MAX_RULES - 1, 95);
    assert_within_budget(worst);
}

/// The query string is scanned for a parameter by every rule that matches
/// one: a 60 KiB query of parameters no rule names, through `MAX_RULES`
/// query rules, stays within the budget.
#[test]
fn a_60_kib_query_string_through_max_rules_query_matchers_stays_within_budget() {
    let rules = meshpolicy_engine::limits::MAX_RULES - 1;
    let mut plugin = rules_then_catch_all(
        rules,
        |i| json!({"queryParams": {"q": {"exact": format!("v{i}")}}}),
    );
    let path = format!("/?{}", "a=b&".repeat((60 * 1024 - 200) / 4));
    let mut worst = base();
    worst.retain(|(k, _)| *k != ":path");
    worst.push((":path", path.as_str()));
    let what = format!("{rules} query rules, 60 KiB query");
    let (_, worst) = ordinary_and_worst(&mut plugin, &worst, &what);
    assert_within_budget(worst);
}
