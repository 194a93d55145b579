//! policy-cli's own commands run as a user runs them: validate, import,
//! test, explain, bench. Output is snapshotted (insta, no colour) into
//! `testdata/snapshots`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bench;
mod diff;
mod errors;
mod explain;
mod front_door;
mod import;
mod import_tests;
mod limits;
mod test_cmd;
mod validate;

use std::path::Path;

use assert_cmd::Command;

/// The crate directory: tests run there so that paths in output are short.
pub fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The article's Istio YAML, as the project references it.
pub const ISTIO: &str = "../../shared/examples/istio";
pub const POLICY: &str = "../manifests/policy/reviews.policy.yaml";
pub const TESTS: &str = "../examples/reviews.tests.yaml";

/// The built filter; tests that need it fail with how to build it.
pub use test_kit::filter_wasm_path as wasm;

/// What one run printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Exit code, stdout and stderr in one text for a snapshot.
    pub fn snapshot(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn cli() -> Command {
    let mut cmd = Command::cargo_bin("policy-cli").unwrap();
    cmd.current_dir(crate_dir())
        .env("NO_COLOR", "1")
        .env_remove("MESHPOLICY_WASM");
    cmd
}

/// Runs policy-cli; whatever happens it must never print a Rust panic.
pub fn run(args: &[&str]) -> Run {
    run_with(cli(), args)
}

pub fn run_with(mut cmd: Command, args: &[&str]) -> Run {
    let out = cmd.args(args).output().unwrap();
    let run = Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains("panicked"), "policy-cli panicked:\n{text}");
        assert!(
            !text.contains("RUST_BACKTRACE"),
            "policy-cli panicked:\n{text}"
        );
    }
    run
}

/// insta with our snapshot directory.
#[macro_export]
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/snapshots"),
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}
