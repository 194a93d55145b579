//! The sticky-split simulator: weights and a number of keys -> the share of
//! keys per destination, and, when the weights change, which keys move from
//! where to where. Every key is placed by the engine's own sticky split
//! (`engine_api::sticky_assignments`).

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::engine_api::{SplitDestination, sticky_assignments};

/// Most keys one simulation places (bounds the work of one call).
pub const MAX_KEYS: u32 = 100_000;
/// Example keys listed per move.
const EXAMPLES: usize = 5;

/// The simulator's input: the destinations before and after a weight change
/// (same hosts and subsets, in the same order), and how many keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SplitInput {
    pub destinations: Vec<SplitDestination>,
    /// The weights after the change, one per destination.
    #[serde(default)]
    pub new_weights: Option<Vec<u32>>,
    pub keys: u32,
}

/// Keys per destination.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    pub destination: String,
    pub weight: u32,
    /// `weight / Σweight`.
    pub expected: f64,
    pub keys: u32,
    /// `keys / total keys`.
    pub share: f64,
}

/// Keys that moved from one destination to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Move {
    pub from: String,
    pub to: String,
    pub keys: u32,
    /// The first few keys that moved.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SplitReport {
    pub before: Vec<Share>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Vec<Share>>,
    pub moves: Vec<Move>,
    pub moved: u32,
    /// Keys that left a destination whose weight was raised: with one weight
    /// raised and the others unchanged or lowered, always 0.
    pub left_raised: u32,
}

/// The key names: user ids `1..=n`, as a sticky `x-user-id` would carry.
fn key_names(n: u32) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

fn label(d: &SplitDestination) -> String {
    match d.subset.as_deref().filter(|s| !s.is_empty()) {
        Some(subset) => format!("{}/{subset}", d.host),
        None => d.host.clone(),
    }
}

fn shares(dests: &[SplitDestination], placed: &[Option<usize>]) -> Vec<Share> {
    let total_weight: u64 = dests.iter().map(|d| u64::from(d.weight)).sum();
    let total_keys = placed.len().max(1) as f64;
    dests
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let keys = placed.iter().filter(|p| **p == Some(i)).count();
            Share {
                destination: label(d),
                weight: d.weight,
                expected: if total_weight == 0 {
                    0.0
                } else {
                    f64::from(d.weight) / total_weight as f64
                },
                keys: u32::try_from(keys).unwrap_or(u32::MAX),
                share: keys as f64 / total_keys,
            }
        })
        .collect()
}

/// Runs the simulation.
pub fn simulate(input: &SplitInput) -> Result<SplitReport, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut bad = |path: &str, message: String| {
        let mut d = Diagnostic::error("bad-split", message);
        d.path = Some(path.to_owned());
        errors.push(d);
    };
    if input.keys == 0 || input.keys > MAX_KEYS {
        bad(
            "keys",
            format!("keys must be 1 to {MAX_KEYS}, not {}", input.keys),
        );
    }
    if input.destinations.is_empty() {
        bad("destinations", "add at least one destination".to_owned());
    }
    if let Some(w) = &input.new_weights
        && w.len() != input.destinations.len()
    {
        bad(
            "newWeights",
            format!(
                "{} new weights for {} destinations",
                w.len(),
                input.destinations.len()
            ),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let keys = key_names(input.keys);
    let placed = sticky_assignments(&input.destinations, &keys)?;
    let before = shares(&input.destinations, &placed);
    let Some(new_weights) = &input.new_weights else {
        return Ok(SplitReport {
            before,
            after: None,
            moves: Vec::new(),
            moved: 0,
            left_raised: 0,
        });
    };
    let changed: Vec<SplitDestination> = input
        .destinations
        .iter()
        .zip(new_weights)
        .map(|(d, &weight)| SplitDestination {
            weight,
            ..d.clone()
        })
        .collect();
    let placed_after = sticky_assignments(&changed, &keys).map_err(|errs| {
        errs.into_iter()
            .map(|mut d| {
                d.path = d.path.map(|p| p.replace("destinations", "newWeights"));
                d
            })
            .collect::<Vec<_>>()
    })?;
    let after = shares(&changed, &placed_after);
    let raised: Vec<bool> = input
        .destinations
        .iter()
        .zip(new_weights)
        .map(|(d, &w)| w > d.weight)
        .collect();
    let mut moves: Vec<Move> = Vec::new();
    let (mut moved, mut left_raised) = (0u32, 0u32);
    for ((key, was), now) in keys.iter().zip(&placed).zip(&placed_after) {
        if was == now {
            continue;
        }
        moved = moved.saturating_add(1);
        if was.is_some_and(|i| raised.get(i).copied().unwrap_or(false)) {
            left_raised = left_raised.saturating_add(1);
        }
        let name = |p: &Option<usize>| {
            p.and_then(|i| input.destinations.get(i))
                .map_or_else(|| "(none)".to_owned(), label)
        };
        let (from, to) = (name(was), name(now));
        match moves.iter_mut().find(|m| m.from == from && m.to == to) {
            Some(m) => {
                m.keys = m.keys.saturating_add(1);
                if m.examples.len() < EXAMPLES {
                    m.examples.push(key.clone());
                }
            }
            None => moves.push(Move {
                from,
                to,
                keys: 1,
                examples: vec![key.clone()],
            }),
        }
    }
    Ok(SplitReport {
        before,
        after: Some(after),
        moves,
        moved,
        left_raised,
    })
}
