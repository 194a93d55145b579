//! `policy-cli test POLICY TESTS…`: runs test files on the built `.wasm` in
//! the host and reports `ok` / `FAILED` per case, with a diff of expected and
//! actual for each failure; `--junit FILE` for CI. Exit code 1 on any failure.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::ExitCode;
use crate::coverage::Coverage;
use crate::diagnostic::{Diagnostic, ErrorFormat};
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
    /// Report the rules, match entries and destinations no case reached.
    #[arg(long)]
    pub coverage: bool,
    /// Also write the coverage as JSON (implies `--coverage`).
    #[arg(long, value_name = "FILE")]
    pub coverage_json: Option<PathBuf>,
    /// Exit 1 when coverage is below PERCENT (implies `--coverage`).
    #[arg(long, value_name = "PERCENT")]
    pub fail_under: Option<f64>,
    /// Print only failures and the summary.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub diag: DiagArgs,
}

pub fn run(args: TestArgs) -> ExitCode {
    let format = args.diag.error_format;
    if let Some(p) = args.fail_under
        && !(0.0..=100.0).contains(&p)
    {
        return usage_error(
            Diagnostic::error(
                "bad-flag",
                format!("--fail-under {p} is not a percentage from 0 to 100"),
            ),
            format,
        );
    }
    let coverage_on = args.coverage || args.coverage_json.is_some() || args.fail_under.is_some();
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
    let mut coverage = coverage_on.then(|| Coverage::new(&policy.doc, &policy.policy));
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
            if let (Some(cov), Some(sent)) = (&mut coverage, runner.last_sent()) {
                cov.record(&policy.policy, sent);
            }
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
    let mut below = false;
    if let Some(cov) = &coverage {
        let _ = write!(out, "{}", cov.text());
        if let Some(min) = args.fail_under {
            let got = cov.totals().percent();
            below = got < min;
            if below {
                let _ = writeln!(out, "coverage {got:.1}% is below --fail-under {min}%");
            }
        }
    }
    let _ = out.flush();
    drop(out);

    if let (Some(cov), Some(path)) = (&coverage, &args.coverage_json) {
        let written = serde_json::to_string_pretty(&serde_json::json!({
            "totals": cov.totals(),
            "percent": cov.totals().percent(),
            "virtualServices": cov.virtual_services,
        }))
        .map_err(std::io::Error::other)
        .and_then(|json| std::fs::write(path, json + "\n"));
        if let Err(e) = written {
            return unwritable(path, &e, format);
        }
    }
    if let Some(path) = &args.junit {
        let properties = coverage
            .as_ref()
            .map(Coverage::properties)
            .unwrap_or_default();
        let written =
            junit::render_with(&suites, &properties).and_then(|xml| std::fs::write(path, xml));
        if let Err(e) = written {
            return unwritable(path, &e, format);
        }
    }
    if failed == 0 && !below {
        ExitCode::Ok
    } else {
        ExitCode::Failure
    }
}

fn unwritable(path: &std::path::Path, e: &std::io::Error, format: ErrorFormat) -> ExitCode {
    usage_error(
        Diagnostic::error(
            "unwritable-output",
            format!("cannot write `{}`: {e}", path.display()),
        ),
        format,
    )
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
