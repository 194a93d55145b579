//! `policy-cli diff`: what a policy change does to traffic (SPEC §4). Both
//! policies decide the same requests with the engine, never a copy of its
//! semantics: one request per distinguishable class of either side's match
//! predicates (`classes`), every key of a sticky split (`sticky`), or
//! recorded requests (`replay`). What differs is reported (`report`).

mod classes;
mod outcome;
mod regex_sample;
mod replay;
mod report;
mod sticky;

pub use classes::{Probe, probes};
pub use outcome::{Outcome, Side, Verdict};
pub use replay::{Replay, ReplayLine, parse_line, random_of, replay};
pub use report::{Change, ChangedRequest, DiffReport, Format, render};
pub use sticky::{StickyReport, sticky_moves};

/// Compares the two sides on every generated request class; changes are
/// grouped by (before, after), each with the requests that show it.
pub fn classes(old: &Side, new: &Side) -> (usize, Vec<Change>) {
    let probes = probes(&[&old.doc, &new.doc]);
    let mut changes: Vec<Change> = Vec::new();
    for probe in &probes {
        let before = old.verdict(probe);
        let after = new.verdict(probe);
        if before == after {
            continue;
        }
        let changed = ChangedRequest {
            request: probe.clone(),
            before_path: before.path().map(str::to_owned),
            after_path: after.path().map(str::to_owned),
        };
        let (before, after) = (before.shape(), after.shape());
        match changes
            .iter_mut()
            .find(|c| c.before == before && c.after == after)
        {
            Some(change) => change.requests.push(changed),
            None => changes.push(Change {
                before,
                after,
                requests: vec![changed],
            }),
        }
    }
    (probes.len(), changes)
}
