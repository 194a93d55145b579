//! `policy-cli test --coverage`: per virtual service, the rules, match
//! entries and destinations no case reached. The rule and its match entry
//! come from the engine deciding the request the case sent (the filter
//! decides the same, which the differential tests prove); the destination
//! is the decision key the filter actually sent upstream, so a random split
//! counts what the `.wasm` drew.

use std::fmt::Write as _;

use meshpolicy_engine::{Policy, Request, TrafficPolicy};
use serde::Serialize;

use crate::testrun::Sent;

#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub virtual_services: Vec<ServiceCoverage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceCoverage {
    pub name: String,
    pub rules: Vec<RuleCoverage>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCoverage {
    /// The rule's name, or `<virtual service>.http[i]`.
    pub name: String,
    pub index: usize,
    pub reached: bool,
    /// Per `match` entry: reached by some case (empty without `match`).
    pub match_entries: Vec<bool>,
    /// Per `route` entry: its decision key and whether a case went there.
    pub destinations: Vec<DestinationCoverage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DestinationCoverage {
    pub key: String,
    pub reached: bool,
}

/// Covered and total items of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub covered: usize,
    pub total: usize,
}

impl Count {
    fn add(&mut self, reached: bool) {
        self.total += 1;
        self.covered += usize::from(reached);
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub rules: Count,
    pub match_entries: Count,
    pub destinations: Count,
}

impl Totals {
    pub fn all(&self) -> Count {
        Count {
            covered: self.rules.covered + self.match_entries.covered + self.destinations.covered,
            total: self.rules.total + self.match_entries.total + self.destinations.total,
        }
    }

    /// Covered items in percent (100 for a policy with nothing to cover).
    pub fn percent(&self) -> f64 {
        let all = self.all();
        if all.total == 0 {
            100.0
        } else {
            all.covered as f64 * 100.0 / all.total as f64
        }
    }
}

impl Coverage {
    pub fn new(doc: &TrafficPolicy, policy: &Policy) -> Coverage {
        let virtual_services = doc
            .spec
            .virtual_services
            .iter()
            .enumerate()
            .map(|(v, vs)| ServiceCoverage {
                name: vs.name.clone(),
                rules: vs
                    .http
                    .iter()
                    .enumerate()
                    .map(|(i, rule)| RuleCoverage {
                        name: rule
                            .name
                            .clone()
                            .unwrap_or_else(|| format!("{}.http[{i}]", vs.name)),
                        index: i,
                        reached: false,
                        match_entries: vec![false; rule.match_.as_ref().map_or(0, Vec::len)],
                        destinations: policy
                            .route_keys(v, i)
                            .into_iter()
                            .map(|key| DestinationCoverage {
                                key: key.to_string(),
                                reached: false,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        Coverage { virtual_services }
    }

    /// Records what one case reached.
    pub fn record(&mut self, policy: &Policy, sent: &Sent) {
        let request = Request {
            headers: &sent.headers,
            source: &sent.source,
            port: Some(u32::from(sent.port)),
            random: 0,
            virtual_host: sent.virtual_host.as_deref(),
        };
        let decision = policy.decide(&request);
        let Some(rule) = &decision.rule else {
            return;
        };
        let (v, i) = (rule.virtual_service_index, rule.index);
        let Some(cov) = self
            .virtual_services
            .get_mut(v)
            .and_then(|s| s.rules.get_mut(i))
        else {
            return;
        };
        cov.reached = true;
        if let Some(entry) = policy
            .matched_entry(&request, v, i)
            .and_then(|j| cov.match_entries.get_mut(j))
        {
            *entry = true;
        }
        if let Some(key) = &sent.key {
            for d in cov.destinations.iter_mut().filter(|d| d.key == *key) {
                d.reached = true;
            }
        }
    }

    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for rule in self.virtual_services.iter().flat_map(|s| &s.rules) {
            t.rules.add(rule.reached);
            for &e in &rule.match_entries {
                t.match_entries.add(e);
            }
            for d in &rule.destinations {
                t.destinations.add(d.reached);
            }
        }
        t
    }

    /// The report: totals, then per virtual service what no case reached.
    pub fn text(&self) -> String {
        let t = self.totals();
        let all = t.all();
        let mut out = format!(
            "coverage: {:.1}% ({} of {}): rules {}/{}, match entries {}/{}, destinations {}/{}\n",
            t.percent(),
            all.covered,
            all.total,
            t.rules.covered,
            t.rules.total,
            t.match_entries.covered,
            t.match_entries.total,
            t.destinations.covered,
            t.destinations.total
        );
        for vs in &self.virtual_services {
            let mut missed = Vec::new();
            for r in &vs.rules {
                if !r.reached {
                    missed.push(format!("rule http[{}] {}", r.index, r.name));
                    continue;
                }
                for (j, _) in r.match_entries.iter().enumerate().filter(|(_, e)| !**e) {
                    missed.push(format!(
                        "match entry http[{}] {} match[{j}]",
                        r.index, r.name
                    ));
                }
                for (d, dest) in r
                    .destinations
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| !d.reached)
                {
                    missed.push(format!(
                        "destination http[{}] {} route[{d}] {}",
                        r.index, r.name, dest.key
                    ));
                }
            }
            if !missed.is_empty() {
                let _ = writeln!(out, "  {}: not reached by any case:", vs.name);
                for m in missed {
                    let _ = writeln!(out, "    {m}");
                }
            }
        }
        out
    }

    /// The figures as JUnit properties.
    pub fn properties(&self) -> Vec<(String, String)> {
        let t = self.totals();
        let mut props = vec![("coverage.percent".to_owned(), format!("{:.1}", t.percent()))];
        for (name, c) in [
            ("rules", t.rules),
            ("matchEntries", t.match_entries),
            ("destinations", t.destinations),
        ] {
            props.push((format!("coverage.{name}.covered"), c.covered.to_string()));
            props.push((format!("coverage.{name}.total"), c.total.to_string()));
        }
        props
    }
}
