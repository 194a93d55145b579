use super::*;

#[test]
fn durations_read_as_go_durations() {
    assert_eq!(parse_duration("2s"), Ok(2_000_000_000));
    assert_eq!(parse_duration("500ms"), Ok(500_000_000));
    assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
    assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
    assert_eq!(parse_duration("1h"), Ok(3_600_000_000_000));
    assert_eq!(parse_duration("0"), Ok(0));
    for bad in ["", "2", "s", "2 s", "2sec", "-1s", "1..5s", "."] {
        assert!(parse_duration(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn durations_must_be_whole_milliseconds_of_at_least_one() {
    assert_eq!(check_duration("1ms"), Ok(1_000_000));
    assert_eq!(
        check_duration("0"),
        Err(DurationError::BelowOneMillisecond("0".to_owned()))
    );
    assert_eq!(
        check_duration("1500us").unwrap_err().to_string(),
        "duration `1500us`: only durations to ms precision are supported"
    );
    assert_eq!(
        parse_duration("-1s"),
        Err(DurationError::Negative("-1s".to_owned()))
    );
    assert_eq!(
        parse_duration("2sec").unwrap_err().to_string(),
        "invalid duration `2sec`: write a number and a unit, e.g. `2s`, `500ms`, `1m30s`"
    );
}

#[test]
fn status_codes_are_the_ones_go_names() {
    assert!(is_known_status(503));
    assert!(is_known_status(429));
    assert!(!is_known_status(599));
    assert!(!is_known_status(306));
}

#[test]
fn the_canonical_form_is_the_rules_own_json() {
    let rule: HttpRule = serde_json::from_value(serde_json::json!({
        "timeout": "2s", "retries": {"attempts": 1}, "mirror": {"host": "m"},
        "mirrors": [{"destination": {"host": "n"}}], "mirrorPercentage": {"value": 5.0},
        "mirrorPercent": 5, "corsPolicy": {"maxAge": "1s"},
        "fault": {"delay": {"fixedDelay": "1s"}}}))
    .unwrap();
    let options = RouterOptions::of(&rule).unwrap();
    assert_eq!(
        options.canonical,
        serde_json::to_string(&options.fields).unwrap()
    );
}

#[test]
fn a_rule_has_router_options_exactly_when_it_sets_a_router_field() {
    let bare: HttpRule = serde_json::from_value(serde_json::json!({
        "name": "r", "match": [{"uri": {"prefix": "/"}}],
        "route": [{"destination": {"host": "h"}}], "rewrite": {"uri": "/x"},
        "headers": {"request": {"set": {"a": "b"}}},
        "fault": {"abort": {"httpStatus": 503}}}))
    .unwrap();
    let mut rules = vec![bare.clone()];
    for (field, value) in [
        ("timeout", serde_json::json!("2s")),
        ("retries", serde_json::json!({"attempts": 1})),
        ("mirror", serde_json::json!({"host": "m"})),
        ("mirrors", serde_json::json!([])),
        ("mirrorPercentage", serde_json::json!({"value": 5.0})),
        ("mirrorPercent", serde_json::json!(5)),
        ("corsPolicy", serde_json::json!({})),
        ("fault", serde_json::json!({"delay": {"fixedDelay": "1s"}})),
    ] {
        let mut v = serde_json::to_value(&bare).unwrap();
        v[field] = value;
        rules.push(serde_json::from_value(v).unwrap());
    }
    for (i, rule) in rules.iter().enumerate() {
        assert_eq!(
            compile::has_router_fields(rule),
            i > 0,
            "rule {i}: {rule:?}"
        );
        assert_eq!(
            compile::has_router_fields(rule),
            RouterOptions::of(rule).is_some(),
            "rule {i}: {rule:?}"
        );
    }
}
