//! What Envoy's router and the filters after meshpolicy enforce for a rule
//! (SPEC §2.4): `timeout`, `retries`, `mirror`/`mirrors`/`mirrorPercentage`/
//! `mirrorPercent`, `corsPolicy`, `fault.delay`. The filter never reads them
//! when deciding; they are validated as Istio validates them, kept on the
//! compiled rule (`Policy::router_options`), and make the decision key of
//! the rule's destinations differ from a rule with other options, so that
//! `render` can put each set of options on its own route.
//!
//! Validation follows istio `pkg/config/validation/validation.go`
//! (`validateHTTPRetry`, `validateHTTPMirrors`, `validateCORSPolicy`,
//! `validateHTTPFaultInjectionDelay`, `validatePercentage`) and
//! `pkg/config/validation/agent` `ValidateDuration`.

use serde::Serialize;

use crate::model::{CorsPolicy, Destination, Fault, HttpRule, MirrorPolicy, Percent, Retries};
use crate::route::action::split::fnv1a64;

/// A rule's router-enforced fields, in Istio's shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterOptions {
    /// Only the router-enforced fields are set (`fault` holds only
    /// `delay`); mirror hosts are FQDNs. Serialised, these are the fields of
    /// an Istio `HTTPRoute`, ready to put on a route.
    #[serde(flatten)]
    pub fields: HttpRule,
    /// 8 lowercase hex digits of FNV-1a 64 over `canonical` (its upper 32
    /// bits): the decision key's `#` suffix.
    pub hash: String,
    /// `fields` as compact JSON in the model's field order (maps sorted):
    /// what the hash covers.
    #[serde(skip)]
    pub canonical: String,
}

impl RouterOptions {
    /// The router-enforced fields of `rule` (mirror hosts already resolved
    /// by the caller); `None` when it has none. The compile walk resolves
    /// the hosts between the two steps (`router::compile`).
    #[cfg(test)]
    pub(crate) fn of(rule: &HttpRule) -> Option<RouterOptions> {
        RouterOptions::from_fields(RouterOptions::fields_of(rule))
    }

    /// `rule`'s router-enforced fields alone (`fault` holds only `delay`),
    /// copied without the rest of the rule.
    pub(crate) fn fields_of(rule: &HttpRule) -> HttpRule {
        HttpRule {
            timeout: rule.timeout.clone(),
            retries: rule.retries.clone(),
            mirror: rule.mirror.clone(),
            mirrors: rule.mirrors.clone(),
            mirror_percentage: rule.mirror_percentage.clone(),
            mirror_percent: rule.mirror_percent,
            cors_policy: rule.cors_policy.clone(),
            fault: rule
                .fault
                .as_ref()
                .and_then(|f| f.delay.clone())
                .map(|delay| Fault {
                    delay: Some(delay),
                    abort: None,
                }),
            ..HttpRule::default()
        }
    }

    /// The options of `fields` (from [`RouterOptions::fields_of`], mirror
    /// hosts resolved); `None` when none is set.
    pub(crate) fn from_fields(fields: HttpRule) -> Option<RouterOptions> {
        if fields == HttpRule::default() {
            return None;
        }
        let canonical = serde_json::to_string(&Canonical::of(&fields)).unwrap_or_default();
        let hash = format!("{:08x}", fnv1a64(canonical.as_bytes()) >> 32);
        Some(RouterOptions {
            fields,
            hash,
            canonical,
        })
    }

    /// One line per option, for people (`timeout 2s`, `retries 3 …`).
    pub fn describe(&self) -> Vec<String> {
        let f = &self.fields;
        let mut out = Vec::new();
        if let Some(t) = &f.timeout {
            out.push(format!("timeout {t}"));
        }
        if let Some(r) = &f.retries {
            let mut s = format!("retries {}", r.attempts.unwrap_or(0));
            if let Some(t) = &r.per_try_timeout {
                s.push_str(&format!(", perTryTimeout {t}"));
            }
            if let Some(on) = &r.retry_on {
                s.push_str(&format!(", retryOn {on}"));
            }
            out.push(s);
        }
        let percent = |p: Option<f64>| p.map_or(String::new(), |v| format!(" ({v}%)"));
        if let Some(m) = &f.mirror {
            let p = f
                .mirror_percentage
                .as_ref()
                .map(|p| p.value)
                .or(f.mirror_percent.map(f64::from));
            out.push(format!("mirror {}{}", destination(m), percent(p)));
        }
        for m in f.mirrors.iter().flatten() {
            if let Some(d) = &m.destination {
                out.push(format!(
                    "mirror {}{}",
                    destination(d),
                    percent(m.percentage.as_ref().map(|p| p.value))
                ));
            }
        }
        if let Some(c) = &f.cors_policy {
            let origins: Vec<String> = c
                .allow_origins
                .iter()
                .flatten()
                .map(|o| {
                    o.exact
                        .as_deref()
                        .map(str::to_owned)
                        .or_else(|| o.prefix.as_ref().map(|p| format!("{p}*")))
                        .or_else(|| o.regex.as_ref().map(|r| format!("~{r}")))
                        .unwrap_or_default()
                })
                .chain(c.allow_origin.iter().flatten().cloned())
                .collect();
            out.push(format!("corsPolicy (origins {})", origins.join(" ")));
        }
        if let Some(d) = f.fault.as_ref().and_then(|f| f.delay.as_ref()) {
            let p = d
                .percentage
                .as_ref()
                .map(|p| p.value)
                .or(d.percent.map(f64::from));
            out.push(format!(
                "fault.delay {}{}",
                d.fixed_delay.as_deref().unwrap_or("?"),
                percent(p)
            ));
        }
        out
    }
}

/// The router fields of an `HttpRule` in its field order: serialises to
/// the same JSON as the rule would, without the code to serialise every
/// other field of a rule (the filter's `.wasm` carries only this).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Canonical<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<&'a Fault>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retries: Option<&'a Retries>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror: Option<&'a Destination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirrors: Option<&'a Vec<MirrorPolicy>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror_percentage: Option<&'a Percent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cors_policy: Option<&'a CorsPolicy>,
}

impl<'a> Canonical<'a> {
    fn of(r: &'a HttpRule) -> Self {
        Canonical {
            fault: r.fault.as_ref(),
            timeout: r.timeout.as_deref(),
            retries: r.retries.as_ref(),
            mirror: r.mirror.as_ref(),
            mirrors: r.mirrors.as_ref(),
            mirror_percentage: r.mirror_percentage.as_ref(),
            mirror_percent: r.mirror_percent,
            cors_policy: r.cors_policy.as_ref(),
        }
    }
}

fn destination(d: &crate::model::Destination) -> String {
    let mut s = d.host.clone();
    if let Some(subset) = &d.subset {
        s.push('/');
        s.push_str(subset);
    }
    if let Some(p) = &d.port {
        s.push_str(&format!(":{}", p.number));
    }
    s
}

/// Why a duration is refused; each names the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration `{0}`: write a number and a unit, e.g. `2s`, `500ms`, `1m30s`")]
    Syntax(String),
    #[error("duration `{0}` must not be negative")]
    Negative(String),
    #[error("duration `{0}` must be at least 1ms")]
    BelowOneMillisecond(String),
    #[error("duration `{0}`: only durations to ms precision are supported")]
    SubMillisecond(String),
}

/// A Go duration as Kubernetes' CEL `duration()` reads it (the CRDs check
/// `duration(self) >= duration('1ms')`): decimal numbers with units `ns`,
/// `us`/`µs`, `ms`, `s`, `m`, `h`, e.g. `1.5s`, `1h30m`, `0`. Nanoseconds.
pub fn parse_duration(text: &str) -> Result<u128, DurationError> {
    let bad = || DurationError::Syntax(text.to_owned());
    let s = text.strip_prefix('+').unwrap_or(text);
    if s == "0" {
        return Ok(0);
    }
    if s.starts_with('-') {
        return Err(DurationError::Negative(text.to_owned()));
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(bad());
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let mut part = whole.checked_mul(scale).ok_or_else(bad)?;
        let mut unit_scale = scale;
        for digit in frac.bytes().take(18) {
            unit_scale /= 10;
            part = part.saturating_add(u128::from(digit.saturating_sub(b'0')) * unit_scale);
        }
        total = total.checked_add(part).ok_or_else(bad)?;
        rest = next;
    }
    Ok(total)
}

/// `agent.ValidateDuration`: at least 1ms, whole milliseconds.
pub(crate) fn check_duration(text: &str) -> Result<u128, DurationError> {
    let ns = parse_duration(text)?;
    if ns < 1_000_000 {
        return Err(DurationError::BelowOneMillisecond(text.to_owned()));
    }
    if ns % 1_000_000 != 0 {
        return Err(DurationError::SubMillisecond(text.to_owned()));
    }
    Ok(ns)
}

/// Envoy's retry-on policies Istio accepts (validation.go
/// `supportedRetryOnPolicies`: `x-envoy-retry-on` and
/// `x-envoy-retry-grpc-on`).
pub(crate) const RETRY_ON: &[&str] = &[
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

/// Whether Go's `http.StatusText(code)` names `code` (how Istio accepts a
/// status code in `retryOn`).
pub(crate) fn is_known_status(code: u32) -> bool {
    matches!(
        code,
        100..=103
            | 200..=208
            | 226
            | 300..=305
            | 307
            | 308
            | 400..=418
            | 421..=426
            | 428
            | 429
            | 431
            | 451
            | 500..=508
            | 510
            | 511
    )
}

/// CORS methods Istio accepts (validation.go `supportedCORSMethods`).
pub(crate) const CORS_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE",
];

pub(crate) mod compile;

#[cfg(test)]
mod tests;
