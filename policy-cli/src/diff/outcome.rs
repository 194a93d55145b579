//! What a decision means for traffic, comparable across two policies: the
//! host, the rule, the rewrite, where it goes or what answers it.

use std::collections::BTreeMap;
use std::fmt;

use meshpolicy_engine::{Decision, Policy, Request, SourceInfo, TrafficPolicy};
use serde::Serialize;

use super::classes::Probe;

/// One policy, compiled, with its document (for a rule's weights).
#[derive(Debug)]
pub struct Side {
    pub doc: TrafficPolicy,
    pub policy: Policy,
}

/// Where one decision sends a request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Outcome {
    /// The policy host that covers the request; `None`: not governed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `<virtual service>/<rule>`; `None` with a host: Envoy's 404 `NR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The rewritten `:path` (cleared in a change's shape, see `rewritten`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whether the path is rewritten.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rewritten: bool,
    /// The Host sent upstream, when rewritten.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The destination's decision key (`fqdn[/subset][:port][@authority]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// A local response: status and `location` when it redirects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
}

impl Outcome {
    pub fn of(decision: &Decision) -> Outcome {
        Outcome {
            host: decision.host.as_ref().map(|h| h.host.to_string()),
            rule: decision
                .rule
                .as_ref()
                .map(|r| format!("{}/{}", r.virtual_service, r.name)),
            path: decision.path.clone(),
            rewritten: decision.path.is_some(),
            authority: decision.authority.as_deref().map(str::to_owned),
            destination: decision.destination.as_ref().map(|d| d.key.to_string()),
            local: decision.local_response.as_ref().map(|l| {
                match l
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("location"))
                {
                    Some((_, to)) => format!("{} {to}", l.status),
                    None => l.status.to_string(),
                }
            }),
        }
    }

    /// Where the request goes, in a few words: the destination key, the
    /// local response, Envoy's 404, or untouched.
    pub fn target(&self) -> String {
        if let Some(local) = &self.local {
            return format!("local {local}");
        }
        if let Some(dest) = &self.destination {
            return dest.clone();
        }
        match &self.host {
            Some(_) => "404 NR (no rule matched)".to_owned(),
            None => "untouched (no virtual service)".to_owned(),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.target())?;
        if let Some(rule) = &self.rule {
            write!(f, " by {rule}")?;
        }
        match &self.path {
            Some(path) => write!(f, ", path {path}")?,
            None if self.rewritten => f.write_str(", path rewritten")?,
            None => {}
        }
        if let Some(authority) = &self.authority {
            write!(f, ", host {authority}")?;
        }
        Ok(())
    }
}

/// What a policy does with a request class: one outcome, or, where the rule
/// splits at random or injects a fault at a percentage, each outcome with
/// its share in per mille.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Verdict {
    pub outcomes: Vec<(Outcome, u32)>,
}

/// JSON: a list of outcomes, each with its `share` (0..1).
impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Share<'a> {
            share: f64,
            #[serde(flatten)]
            outcome: &'a Outcome,
        }
        s.collect_seq(self.outcomes.iter().map(|(outcome, per_mille)| Share {
            share: f64::from(*per_mille) / 1_000.0,
            outcome,
        }))
    }
}

impl Verdict {
    /// The verdict without request-specific rewritten paths: classes that
    /// change the same way share it.
    pub fn shape(&self) -> Verdict {
        Verdict {
            outcomes: self
                .outcomes
                .iter()
                .map(|(o, share)| {
                    (
                        Outcome {
                            path: None,
                            ..o.clone()
                        },
                        *share,
                    )
                })
                .collect(),
        }
    }

    /// The rewritten path of a verdict with one outcome.
    pub fn path(&self) -> Option<&str> {
        match self.outcomes.as_slice() {
            [(only, _)] => only.path.as_deref(),
            _ => None,
        }
    }
}

/// Random draws per class for a random split: `random % Σw` is exact for
/// every Σw dividing it (10, 100, 1,000, 4, 8, 25, …).
const SWEEP: u64 = 1_000;

impl Side {
    /// The engine's decision for a request.
    pub fn decide(&self, probe: &Probe, random: u64) -> Decision {
        let headers = probe.wire_headers();
        let source = SourceInfo {
            labels: probe.source_labels.clone(),
            namespace: probe.source_namespace.clone(),
        };
        let request = Request {
            headers: &headers,
            source: &source,
            port: probe.port(),
            random,
            virtual_host: None,
        };
        self.policy.decide(&request)
    }

    /// The outcome(s) of a request class.
    pub fn verdict(&self, probe: &Probe) -> Verdict {
        let first = self.decide(probe, 0);
        if !self.draws(&first) {
            return Verdict {
                outcomes: vec![(Outcome::of(&first), 1_000)],
            };
        }
        let mut counts: BTreeMap<Outcome, u32> = BTreeMap::new();
        for random in 0..SWEEP {
            *counts
                .entry(Outcome::of(&self.decide(probe, random)))
                .or_default() += 1;
        }
        Verdict {
            outcomes: counts.into_iter().collect(),
        }
    }

    /// Whether the rule that decided draws randomness (several destinations,
    /// or a fault): then the outcome is a distribution.
    fn draws(&self, decision: &Decision) -> bool {
        let Some(rule) = &decision.rule else {
            return false;
        };
        self.doc
            .spec
            .virtual_services
            .get(rule.virtual_service_index)
            .and_then(|vs| vs.http.get(rule.index))
            .is_some_and(|r| r.fault.is_some() || r.route.as_ref().is_some_and(|d| d.len() > 1))
    }

    /// The share (0..1) of the weight of route entry `index` in the rule
    /// that made `decision`.
    pub fn weight_share(&self, decision: &Decision) -> Option<f64> {
        let rule = decision.rule.as_ref()?;
        let dest = decision.destination.as_ref()?;
        let route = self
            .doc
            .spec
            .virtual_services
            .get(rule.virtual_service_index)?
            .http
            .get(rule.index)?
            .route
            .as_ref()?;
        if route.len() == 1 {
            return Some(1.0);
        }
        let total: u64 = route.iter().map(|d| u64::from(d.weight.unwrap_or(0))).sum();
        let own = u64::from(route.get(dest.index)?.weight.unwrap_or(0));
        (total > 0).then(|| own as f64 / total as f64)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.outcomes.as_slice() {
            [(only, _)] => write!(f, "{only}"),
            many => {
                let parts: Vec<String> = many
                    .iter()
                    .map(|(o, share)| format!("{:.1}% {o}", f64::from(*share) / 10.0))
                    .collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}
