//! What the end-to-end CLI benchmarks share: the median wall time of
//! `policy-cli` runs, each run's output checked. Each bench uses part of
//! it: the rest is dead code there.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Runs per measurement; the median is reported.
pub const RUNS: usize = 5;

/// The `policy-cli` binary this bench was built with.
pub fn policy_cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_policy-cli"))
}

/// The median of `runs`.
pub fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// The median wall time of [`RUNS`] runs of `cmd`; `check` sees each run's
/// output (outside the timing).
pub fn median_wall(cmd: &mut Command, mut check: impl FnMut(&Output)) -> Duration {
    let runs = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let out = cmd.output().unwrap();
            let took = start.elapsed();
            check(&out);
            took
        })
        .collect();
    median(runs)
}

/// Asserts that a run succeeded; a failure shows what it printed.
pub fn succeeded(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
