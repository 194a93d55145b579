//! Renders a plugin's metrics the way Envoy's admin endpoint
//! `/stats/prometheus` shows them, so tests assert on the lines Prometheus
//! would scrape (`meshpolicy_requests_total{reporter="source",...} 3`).
//!
//! What Envoy does, and this module repeats:
//!
//! * a metric a wasm module defines is stored as `wasmcustom.<name>`
//!   (envoy `source/extensions/common/wasm/context.cc`, `defineMetric`);
//! * the stats matcher, when it has an inclusion list, keeps only the
//!   stats whose full name one pattern matches (envoy
//!   `source/common/stats/stats_matcher_impl.cc`);
//! * every tag extractor's regex runs on the full name: the first capture
//!   group is cut out of the name, the second is the tag value; all cuts are
//!   made on the original name (envoy `source/common/stats/tag_extractor_impl.cc`,
//!   `tag_producer_impl.cc`);
//! * the name loses its registered custom namespace (`wasmcustom.`) or gets
//!   `envoy_` in front, and every character outside `[a-zA-Z0-9_]` becomes
//!   `_`; tag values are printed as they are; counters, then gauges, then
//!   histograms, each group under a `# TYPE` line, sorted by name (envoy
//!   `source/server/admin/prometheus_stats.cc`);
//! * histograms use Envoy's default buckets, and their bucket counts and
//!   sum are circllhist's approximations: a sample counts in bucket `le` only
//!   when its whole bin (two significant digits) lies at or below `le`, and
//!   the sum adds bin midpoints (envoy `source/common/stats/histogram_impl.cc`;
//!   openhistogram/libcircllhist `hist_approx_count_below`, `hist_approx_sum`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use regex::Regex;

use crate::types::{Metric, MetricKind, MetricValue};

/// Envoy's default histogram buckets (`HistogramSettingsImpl::defaultBuckets`).
pub const DEFAULT_BUCKETS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];

/// The custom stat namespace of wasm metrics (envoy `stats_handler.h`).
pub const WASM_NAMESPACE: &str = "wasmcustom";

/// The proxy's stats settings that decide what `/stats/prometheus` shows.
#[derive(Debug, Clone)]
pub struct StatsConfig {
    extractors: Vec<(String, Regex)>,
    inclusion: Option<Vec<Regex>>,
}

/// A pattern of the stats configuration that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid stats regex `{pattern}`: {source}")]
pub struct StatsConfigError {
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

fn compile(pattern: &str) -> Result<Regex, StatsConfigError> {
    Regex::new(pattern).map_err(|source| StatsConfigError {
        pattern: pattern.to_string(),
        source,
    })
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig::new()
    }
}

impl StatsConfig {
    /// No tag extraction, every stat included.
    pub fn new() -> Self {
        StatsConfig {
            extractors: Vec::new(),
            inclusion: None,
        }
    }

    /// Adds a `stats_tags` entry (`tag_name`, `regex`).
    pub fn with_tag(mut self, name: &str, regex: &str) -> Result<Self, StatsConfigError> {
        self.extractors.push((name.to_string(), compile(regex)?));
        Ok(self)
    }

    /// Adds the extractors Istio generates for `extraStatTags`
    /// (istio/istio `tools/packaging/common/envoy_bootstrap.json`:
    /// `(<tag>=\.=(.*?);\.;)`), in order.
    pub fn with_istio_extra_stat_tags(mut self, tags: &[&str]) -> Result<Self, StatsConfigError> {
        for tag in tags {
            self = self.with_tag(tag, &format!("({}=\\.=(.*?);\\.;)", regex::escape(tag)))?;
        }
        Ok(self)
    }

    /// Adds an inclusion pattern (`proxyStatsMatcher.inclusionRegexps`, a
    /// `safe_regex` that must match the whole stat name). With at least one
    /// inclusion pattern, a stat no pattern matches is never created.
    pub fn with_inclusion_regex(mut self, regex: &str) -> Result<Self, StatsConfigError> {
        let re = compile(&format!("^(?:{regex})$"))?;
        self.inclusion.get_or_insert_with(Vec::new).push(re);
        Ok(self)
    }

    fn included(&self, full_name: &str) -> bool {
        match &self.inclusion {
            None => true,
            Some(list) => list.iter().any(|re| re.is_match(full_name)),
        }
    }

    /// The tag-extracted name and the tags of a full stat name.
    pub fn extract(&self, full_name: &str) -> (String, Vec<(String, String)>) {
        let mut remove = vec![false; full_name.len()];
        let mut tags = Vec::new();
        for (name, re) in &self.extractors {
            let Some(caps) = re.captures(full_name) else {
                continue;
            };
            let Some(cut) = caps.get(1) else {
                continue;
            };
            let value = caps.get(2).unwrap_or(cut).as_str().to_string();
            for flag in remove.get_mut(cut.start()..cut.end()).into_iter().flatten() {
                *flag = true;
            }
            tags.push((name.clone(), value));
        }
        let name: String = full_name
            .char_indices()
            .filter(|(i, _)| !remove.get(*i).copied().unwrap_or(false))
            .map(|(_, c)| c)
            .collect();
        (name, tags)
    }
}

/// `[^a-zA-Z0-9_]` -> `_` (prometheus_stats.cc `sanitizeName`).
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The exported metric name of a tag-extracted name, `None` when Envoy
/// drops it (a custom-namespace name that would start with a digit).
fn metric_name(extracted: &str) -> Option<String> {
    match extracted
        .strip_prefix(WASM_NAMESPACE)
        .and_then(|r| r.strip_prefix('.'))
    {
        Some(rest) => {
            let s = sanitize(rest);
            (!s.is_empty() && !s.starts_with(|c: char| c.is_ascii_digit())).then_some(s)
        }
        None => Some(format!("envoy_{}", sanitize(extracted))),
    }
}

fn format_tags(tags: &[(String, String)]) -> String {
    tags.iter()
        .map(|(k, v)| format!("{}=\"{}\"", sanitize(k), v))
        .collect::<Vec<_>>()
        .join(",")
}

/// circllhist's bin of an integer sample: (lower bound, width).
fn bin(v: u64) -> (f64, f64) {
    if v == 0 {
        return (0.0, 0.0);
    }
    let exp = v.ilog10() as i32;
    // Two significant digits: 10..=99.
    let val = if exp == 0 {
        v * 10
    } else {
        v / 10_u64.pow((exp - 1) as u32)
    };
    let p = 10f64.powi(exp);
    ((val as f64 / 10.0) * p, p / 10.0)
}

fn histogram_lines(out: &mut String, name: &str, tags: &[(String, String)], samples: &[u64]) {
    let t = format_tags(tags);
    let bt = if tags.is_empty() {
        String::new()
    } else {
        format!("{t},")
    };
    for b in DEFAULT_BUCKETS {
        let count = samples
            .iter()
            .filter(|v| {
                let (lower, width) = bin(**v);
                lower + width <= b
            })
            .count();
        let _ = writeln!(out, "{name}_bucket{{{bt}le=\"{b}\"}} {count}");
    }
    let sum: f64 = samples
        .iter()
        .map(|v| {
            let (lower, width) = bin(*v);
            lower + width / 2.0
        })
        .sum();
    let _ = writeln!(out, "{name}_bucket{{{bt}le=\"+Inf\"}} {}", samples.len());
    let _ = writeln!(out, "{name}_sum{{{t}}} {sum}");
    let _ = writeln!(out, "{name}_count{{{t}}} {}", samples.len());
}

/// One stat of a group: full name, tags, value.
type Member<'a> = (String, Vec<(String, String)>, &'a MetricValue);

/// The `/stats/prometheus` text of `metrics` (as [`crate::Plugin::metrics`]
/// returns them) under `config`.
pub fn render(metrics: &[Metric], config: &StatsConfig) -> String {
    // (kind order, exported name) -> [(full name, tags, value)]
    let mut groups: BTreeMap<(u8, String), Vec<Member<'_>>> = BTreeMap::new();
    for m in metrics {
        let full = format!("{WASM_NAMESPACE}.{}", m.name);
        if !config.included(&full) {
            continue;
        }
        let (extracted, tags) = config.extract(&full);
        let Some(name) = metric_name(&extracted) else {
            continue;
        };
        let order = match m.kind {
            MetricKind::Counter => 0,
            MetricKind::Gauge => 1,
            MetricKind::Histogram => 2,
        };
        groups
            .entry((order, name))
            .or_default()
            .push((full, tags, &m.value));
    }
    let mut out = String::new();
    for ((order, name), mut members) in groups {
        let kind = ["counter", "gauge", "histogram"]
            .get(order as usize)
            .copied()
            .unwrap_or("untyped");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        members.sort_by(|a, b| a.0.split('.').cmp(b.0.split('.')));
        for (_, tags, value) in members {
            match value {
                MetricValue::Counter(v) | MetricValue::Gauge(v) => {
                    let _ = writeln!(out, "{name}{{{}}} {v}", format_tags(&tags));
                }
                MetricValue::Histogram(samples) => histogram_lines(&mut out, &name, &tags, samples),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
