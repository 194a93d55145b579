//! `policy-cli test POLICY TESTS…`: runs test files on the built `.wasm` in
//! the host and reports `ok` / `FAILED` per case, with a diff of expected and
//! actual for each failure; `--junit FILE` for CI. Exit code 1 on any failure.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::ExitCode;
use crate::diagnostic::Diagnostic;
use crate::input::{DiagArgs, emit, load, load_policy, usage_error};
use crate::junit::{self, Suite};
use crate::testfile;
use crate::testrun::Runner;
use crate::wasm::{Filter, wasm_path};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The policy under test (a TrafficPolicy, or Istio YAML that imports into one).
    #[arg(value_name = "POLICY")]
    pub policy: PathBuf,
    /// Test files (YAML, one document each).
    #[arg(required = true, value_name = "TESTS")]
    pub tests: Vec<PathBuf>,
    /// The filter to run (default `$MESHPOLICY_WASM`, else target/meshpolicy.wasm).
    #[arg(long, value_name = "PATH")]
    pub wasm: Option<PathBuf>,
    /// Also write the results as JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Print only failures and the summary.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub diag: DiagArgs,
}

pub fn run(args: TestArgs) -> ExitCode {
    let format = args.diag.error_format;
    let started = Instant::now();
    let wasm = match wasm_path(args.wasm.as_deref()) {
        Ok(p) => p,
        Err(d) => return usage_error(d, format),
    };
    let policy = match load_policy(&args.policy, format) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let loaded = load(&args.tests);
    if !loaded.diags.is_empty() {
        emit(&loaded.diags, format);
        return ExitCode::Usage;
    }
    let mut files = Vec::new();
    let mut errors = empty_test_files(&args.tests, &loaded.docs);
    for doc in &loaded.docs {
        match testfile::parse(doc) {
            Ok(file) => files.push((doc.file.name.clone(), file)),
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        emit(&errors, format);
        return ExitCode::Usage;
    }
    let filter = match Filter::load(&wasm) {
        Ok(f) => f,
        Err(d) => return usage_error(d, format),
    };
    let virtual_services =
        match crate::gitops::render::rendered_virtual_services(&policy.doc, &policy.policy) {
            Ok(v) => v,
            Err(e) => {
                return usage_error(
                    Diagnostic::error("render", format!("cannot render the policy's routes: {e}")),
                    format,
                );
            }
        };
    let mut runner = Runner::new(
        &filter,
        &policy.json,
        policy.policy.decision_header(),
        &virtual_services,
    );

    let total: usize = files.iter().map(|(_, f)| f.cases.len()).sum();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = writeln!(
        out,
        "running {total} case{} from {} file{} on {}",
        if total == 1 { "" } else { "s" },
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        wasm.display()
    );
    let mut suites = Vec::new();
    for (name, file) in &files {
        let mut suite = Suite {
            name: name.clone(),
            cases: Vec::with_capacity(file.cases.len()),
        };
        for case in &file.cases {
            let result = match runner.run(file, case) {
                Ok(r) => r,
                Err(d) => {
                    let _ = out.flush();
                    return usage_error(d, format);
                }
            };
            if !result.passed {
                let _ = writeln!(out, "FAILED  {name}: {}", result.name);
                for line in result.diff.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            } else if !args.quiet {
                let _ = writeln!(out, "ok      {name}: {}", result.name);
            }
            suite.cases.push(result);
        }
        suites.push(suite);
    }
    let failed = suites
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| !c.passed)
        .count();
    let _ = writeln!(
        out,
        "\ntest result: {}. {} passed; {failed} failed; finished in {:.2}s",
        if failed == 0 { "ok" } else { "FAILED" },
        total - failed,
        started.elapsed().as_secs_f64()
    );
    let _ = out.flush();
    drop(out);

    if let Some(path) = &args.junit {
        let written = junit::render(&suites).and_then(|xml| std::fs::write(path, xml));
        if let Err(e) = written {
            return usage_error(
                Diagnostic::error(
                    "unwritable-output",
                    format!("cannot write `{}`: {e}", path.display()),
                ),
                format,
            );
        }
    }
    if failed == 0 {
        ExitCode::Ok
    } else {
        ExitCode::Failure
    }
}

/// A test file with no YAML document (empty, or only comments) tests
/// nothing: an error, never a pass with 0 cases.
fn empty_test_files(paths: &[PathBuf], docs: &[crate::source::Document]) -> Vec<Diagnostic> {
    paths
        .iter()
        .filter(|p| !p.is_dir())
        .map(|p| match p.to_str() {
            Some("-") => "<stdin>".to_owned(),
            _ => p.display().to_string(),
        })
        .filter(|name| !docs.iter().any(|d| d.file.name == *name))
        .map(|name| {
            Diagnostic::error("empty-test-file", format!("`{name}` has no test cases"))
                .with_help("a test file is a YAML document with at least one case in `cases`")
        })
        .collect()
}
