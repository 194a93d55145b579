//! Validate a rule's router-enforced fields (`crate::router`) as Istio does
//! (pkg/config/validation/validation.go, cited per check) and build its
//! `RouterOptions`; plus the resource-level fields carried to the rendered
//! resources (`exportTo`, a DestinationRule's settings).

use std::collections::BTreeMap;

use super::{CORS_METHODS, RETRY_ON, RouterOptions, check_duration, is_known_status};
use crate::error::lazy::{field, item, key};
use crate::error::{Errors, FieldPath, LazyPath, PolicyErrorKind};
use crate::hosts::resolve;
use crate::model::{CorsPolicy, DestinationRuleOptions, HttpRule, Percent};
use crate::regex::{Anchoring, compile_regex};
use crate::warning::{Warning, WarningKind};

use crate::compile::{check_header_name, is_dns1123_label};
use crate::route::action::route::check_destination;

/// Checks the router fields of `rule` at `path` and returns its options,
/// with mirror hosts resolved in `namespace` as Istio does.
pub(crate) fn options(
    rule: &HttpRule,
    path: &LazyPath<'_>,
    namespace: Option<&str>,
    errors: &mut Errors,
    warnings: &mut Vec<Warning>,
) -> Option<RouterOptions> {
    let duration = |text: &str, at: &LazyPath<'_>, errors: &mut Errors| -> Option<u128> {
        check_duration(text)
            .map_err(|e| errors.push(at, PolicyErrorKind::InvalidDuration { error: e }))
            .ok()
    };
    let timeout = rule
        .timeout
        .as_deref()
        .and_then(|t| duration(t, &field(path, "timeout"), errors));
    if let Some(r) = &rule.retries {
        // validateHTTPRetry
        let rp = field(path, "retries");
        let attempts = r.attempts.unwrap_or(0);
        if attempts == 0
            && (r.per_try_timeout.is_some()
                || r.retry_on.is_some()
                || r.retry_remote_localities.is_some())
        {
            errors.push(&field(&rp, "attempts"), PolicyErrorKind::RetriesDisabled);
        }
        let per_try = r
            .per_try_timeout
            .as_deref()
            .and_then(|t| duration(t, &field(&rp, "perTryTimeout"), errors));
        if let Some(b) = &r.backoff {
            duration(b, &field(&rp, "backoff"), errors);
        }
        if let Some(on) = &r.retry_on {
            for policy in on.split(',') {
                let status = policy.parse::<u32>().ok().filter(|c| is_known_status(*c));
                if status.is_none() && !RETRY_ON.contains(&policy) {
                    errors.push(
                        &field(&rp, "retryOn"),
                        PolicyErrorKind::InvalidRetryOn {
                            policy: policy.to_owned(),
                        },
                    );
                }
            }
        }
        if let (Some(per_try), Some(timeout)) = (per_try, timeout)
            && timeout > 0
            && per_try > timeout
        {
            warnings.push(Warning::new(
                WarningKind::PerTryTimeoutExceedsTimeout,
                field(&rp, "perTryTimeout").to_path(),
                format!(
                    "retries.perTryTimeout `{}` is longer than timeout `{}`: Envoy's route timeout ends the request first",
                    r.per_try_timeout.as_deref().unwrap_or_default(),
                    rule.timeout.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
    // validateHTTPRouteConflict, validateHTTPMirrors, validatePercentage
    if rule.mirror.is_some() && rule.mirrors.as_ref().is_some_and(|m| !m.is_empty()) {
        errors.push(
            &field(path, "mirrors"),
            PolicyErrorKind::ConflictingFields {
                subject: "HTTP route",
                first: "mirror",
                second: "mirrors",
            },
        );
    }
    if let Some(m) = &rule.mirror {
        check_destination(m, &field(path, "mirror"), errors);
    }
    if let Some(p) = &rule.mirror_percentage {
        percentage(p, &field(path, "mirrorPercentage"), errors);
    }
    if let Some(p) = rule.mirror_percent {
        deprecated_percent(
            p,
            &field(path, "mirrorPercent"),
            "`mirrorPercent` is deprecated: use `mirrorPercentage: {value: …}`",
            errors,
            warnings,
        );
    }
    if rule.mirror.is_none() && (rule.mirror_percentage.is_some() || rule.mirror_percent.is_some())
    {
        let name = if rule.mirror_percentage.is_some() {
            "mirrorPercentage"
        } else {
            "mirrorPercent"
        };
        warnings.push(Warning::new(
            WarningKind::IneffectiveField,
            field(path, name).to_path(),
            format!("`{name}` applies to `mirror`, which this rule does not set"),
        ));
    }
    let mirrors = field(path, "mirrors");
    for (i, m) in rule.mirrors.iter().flatten().enumerate() {
        let mp = item(&mirrors, i);
        match &m.destination {
            Some(d) => check_destination(d, &field(&mp, "destination"), errors),
            None => errors.push(&mp, PolicyErrorKind::MirrorWithoutDestination),
        }
        if let Some(p) = &m.percentage {
            let percentage = field(&mp, "percentage");
            let at = field(&percentage, "value");
            if p.value > 100.0 {
                errors.push(
                    &at,
                    PolicyErrorKind::MirrorPercentTooHigh {
                        value: p.value.to_string(),
                    },
                );
            }
            if p.value < 0.0 {
                errors.push(
                    &at,
                    PolicyErrorKind::MirrorPercentNegative {
                        value: p.value.to_string(),
                    },
                );
            }
        }
    }
    if let Some(c) = &rule.cors_policy {
        cors(c, &field(path, "corsPolicy"), errors, warnings);
    }
    if let Some(d) = rule.fault.as_ref().and_then(|f| f.delay.as_ref()) {
        // validateHTTPFaultInjectionDelay
        let fault = field(path, "fault");
        let dp = field(&fault, "delay");
        match &d.fixed_delay {
            Some(t) => {
                duration(t, &field(&dp, "fixedDelay"), errors);
            }
            None => errors.push(&dp, PolicyErrorKind::DelayWithoutFixedDelay),
        }
        if let Some(p) = &d.percentage {
            percentage(p, &field(&dp, "percentage"), errors);
        }
        if let Some(p) = d.percent {
            deprecated_percent(
                p,
                &field(&dp, "percent"),
                "`fault.delay.percent` is deprecated: use `percentage: {value: …}`",
                errors,
                warnings,
            );
        }
    }
    if rule.fault.is_some() && (rule.timeout.is_some() || rule.retries.is_some()) {
        warnings.push(Warning::new(
            WarningKind::FaultDisablesTimeoutAndRetries,
            field(path, "fault").to_path(),
            "this rule injects faults and sets `timeout` or `retries`: Istio does not enable timeouts or retries when faults are enabled on the client side",
        ));
    }
    if !has_router_fields(rule) {
        // what `RouterOptions::of` would say, without cloning the rule
        return None;
    }
    // only the router fields are copied (a clone of the whole rule would
    // bring the model's every `Clone` into the filter)
    let mut fields = RouterOptions::fields_of(rule);
    let fqdn = |host: &mut String| {
        if let Some(f) = resolve(host, namespace) {
            *host = f;
        }
    };
    if let Some(m) = fields.mirror.as_mut() {
        fqdn(&mut m.host);
    }
    for m in fields.mirrors.iter_mut().flatten() {
        if let Some(d) = m.destination.as_mut() {
            fqdn(&mut d.host);
        }
    }
    RouterOptions::from_fields(fields)
}

/// Whether `rule` sets a field `RouterOptions` holds (else it has none).
pub(super) fn has_router_fields(rule: &HttpRule) -> bool {
    rule.timeout.is_some()
        || rule.retries.is_some()
        || rule.mirror.is_some()
        || rule.mirrors.is_some()
        || rule.mirror_percentage.is_some()
        || rule.mirror_percent.is_some()
        || rule.cors_policy.is_some()
        || rule.fault.as_ref().is_some_and(|f| f.delay.is_some())
}

/// A deprecated integer percent (`mirrorPercent`, `fault.delay.percent`):
/// refused past 100, and a deprecation warning with `message` either way.
fn deprecated_percent(
    p: u32,
    at: &LazyPath<'_>,
    message: &'static str,
    errors: &mut Errors,
    warnings: &mut Vec<Warning>,
) {
    if p > 100 {
        errors.push(
            at,
            PolicyErrorKind::PercentOutOfRange {
                value: p.to_string(),
            },
        );
    }
    warnings.push(Warning::new(
        WarningKind::DeprecatedField,
        at.to_path(),
        message,
    ));
}

/// validation.go `validatePercentage`.
fn percentage(p: &Percent, path: &LazyPath<'_>, errors: &mut Errors) {
    let v = p.value;
    if !(0.0..=100.0).contains(&v) || (v > 0.0 && v < 0.0001) {
        errors.push(
            &field(path, "value"),
            PolicyErrorKind::InvalidPercentage {
                value: v.to_string(),
            },
        );
    }
}

/// validation.go `validateCORSPolicy`.
fn cors(c: &CorsPolicy, path: &LazyPath<'_>, errors: &mut Errors, warnings: &mut Vec<Warning>) {
    let origins = field(path, "allowOrigins");
    for (i, origin) in c.allow_origins.iter().flatten().enumerate() {
        let op = item(&origins, i);
        let set: Vec<(&str, &String)> = [
            ("exact", &origin.exact),
            ("prefix", &origin.prefix),
            ("regex", &origin.regex),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        match set.as_slice() {
            [(kind, value)] if !value.is_empty() => {
                if *kind == "regex"
                    && let Err(e) = compile_regex(value, Anchoring::Full)
                {
                    errors.push(
                        &field(&op, "regex"),
                        PolicyErrorKind::InvalidRegex {
                            pattern: value.to_string(),
                            reason: e,
                        },
                    );
                }
            }
            [_] | [] => errors.push(&op, PolicyErrorKind::EmptyCorsOrigin),
            _ => errors.push(&op, PolicyErrorKind::SeveralCorsOriginMatches),
        }
    }
    if c.allow_origin.is_some() {
        warnings.push(Warning::new(
            WarningKind::DeprecatedField,
            field(path, "allowOrigin").to_path(),
            "`corsPolicy.allowOrigin` is deprecated: use `allowOrigins: [{exact: …}]`",
        ));
    }
    for (i, m) in c.allow_methods.iter().flatten().enumerate() {
        if !CORS_METHODS.contains(&m.as_str()) {
            errors.push(
                &item(&field(path, "allowMethods"), i),
                PolicyErrorKind::UnsupportedCorsMethod { method: m.clone() },
            );
        }
    }
    for list in ["allowHeaders", "exposeHeaders"] {
        let names = if list == "allowHeaders" {
            &c.allow_headers
        } else {
            &c.expose_headers
        };
        for (i, name) in names.iter().flatten().enumerate() {
            check_header_name(name, &item(&field(path, list), i), errors);
        }
    }
    if let Some(age) = &c.max_age {
        let at = field(path, "maxAge");
        if let Ok(ns) = check_duration(age)
            .map_err(|e| errors.push(&at, PolicyErrorKind::InvalidDuration { error: e }))
            && ns % 1_000_000_000 != 0
        {
            errors.push(&at, PolicyErrorKind::MaxAgePrecision);
        }
    }
    if let Some(u) = &c.unmatched_preflights
        && !["UNSPECIFIED", "FORWARD", "IGNORE"].contains(&u.as_str())
    {
        errors.push(
            &field(path, "unmatchedPreflights"),
            PolicyErrorKind::InvalidUnmatchedPreflights { value: u.clone() },
        );
    }
}

/// validation.go `validateExportTo` for a VirtualService or
/// DestinationRule: `.`, `*` or namespaces, no duplicates, `*` alone.
pub(crate) fn export_to(list: &[String], path: &LazyPath<'_>, errors: &mut Errors) {
    // entry -> where it first is (the map type the compile walk's other
    // name checks use: one copy of its code in the filter)
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, e) in list.iter().enumerate() {
        let at = item(path, i);
        if seen.insert(e.as_str(), i).is_some() {
            errors.push(&at, PolicyErrorKind::DuplicateExportTo { entry: e.clone() });
        } else if e != "." && e != "*" && !is_dns1123_label(e) {
            errors.push(&at, PolicyErrorKind::InvalidExportTo { entry: e.clone() });
        }
    }
    if seen.contains_key("*") && list.len() > 1 {
        errors.push(path, PolicyErrorKind::MixedExportTo);
    }
}

/// `spec.destinationRules`: FQDN keys, subsets that `spec.subsets` defines,
/// `exportTo` as Istio's, and a `workloadSelector` only with an `exportTo`
/// of the own namespace (`validateExportTo`, isDestinationRuleWithSelector).
pub(crate) fn destination_rules(
    rules: &BTreeMap<String, DestinationRuleOptions>,
    subsets: &BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    errors: &mut Errors,
) {
    let root = FieldPath::fields(&["spec", "destinationRules"]);
    let root = LazyPath::from(&root);
    for (host, dr) in rules {
        let hp = key(&root, host);
        if !host.contains('.') {
            errors.push(
                &hp,
                PolicyErrorKind::DestinationRuleHostNotFqdn { host: host.clone() },
            );
        }
        if let Some(list) = &dr.export_to {
            let ep = field(&hp, "exportTo");
            export_to(list, &ep, errors);
            if dr.workload_selector.is_some() && list.iter().any(|e| e != ".") {
                errors.push(&ep, PolicyErrorKind::WorkloadSelectorExportTo);
            }
        }
        for name in dr.subsets.keys() {
            let defined = subsets.get(host).is_some_and(|s| s.contains_key(name));
            if !defined {
                errors.push(
                    &key(&field(&hp, "subsets"), name),
                    PolicyErrorKind::UndefinedDestinationRuleSubset {
                        name: name.clone(),
                        host: host.clone(),
                    },
                );
            }
        }
    }
}
