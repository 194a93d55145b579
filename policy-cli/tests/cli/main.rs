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

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

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

    /// Asserts the exit code; a failure shows both streams.
    #[track_caller]
    pub fn exits(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that `stream` contains `text`.
    #[track_caller]
    pub fn has(&self, stream: Stream, text: &str) -> &Self {
        self.expect_text(stream, text, true)
    }

    /// Asserts that `stream` does not contain `text`.
    #[track_caller]
    pub fn lacks(&self, stream: Stream, text: &str) -> &Self {
        self.expect_text(stream, text, false)
    }

    #[track_caller]
    fn expect_text(&self, stream: Stream, text: &str, present: bool) -> &Self {
        let (name, out) = match stream {
            Stream::Stdout => ("stdout", &self.stdout),
            Stream::Stderr => ("stderr", &self.stderr),
        };
        let what = if present { "no" } else { "an unwanted" };
        assert_eq!(
            out.contains(text),
            present,
            "{what} {text:?} in {name}:\n{out}"
        );
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}{}", self.stdout, self.stderr))
    }
}

/// One of a run's output streams.
#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A file `name` holding `text` in a fresh temporary directory, which lives
/// as long as the returned guard.
pub fn scratch_file(name: &str, text: impl AsRef<[u8]>) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// `validate --error-format plain` on one file.
pub fn validate_plain(path: &Path) -> Run {
    run(&["validate", "--error-format", "plain", arg(path)])
}

pub fn cli() -> Command {
    let mut cmd = Command::cargo_bin("policy-cli").unwrap();
    cmd.current_dir(crate_dir())
        .env("NO_COLOR", "1")
        .env_remove("MESHPOLICY_WASM");
    cmd
}

/// [`cli`] with `$MESHPOLICY_WASM` naming the built filter.
pub fn with_wasm() -> Command {
    let mut cmd = cli();
    cmd.env("MESHPOLICY_WASM", wasm());
    cmd
}

/// Runs policy-cli with the built filter in `$MESHPOLICY_WASM`.
pub fn run_wasm(args: &[&str]) -> Run {
    run_with(with_wasm(), args)
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
