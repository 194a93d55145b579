//! `policy-cli import-tests FILE… [--namespace NS] [-o OUT]`:
//! istio-config-validator test files into one meshpolicy test file.

use std::path::PathBuf;

use crate::ExitCode;
use crate::diagnostic::Diagnostic;
use crate::import_tests::convert;
use crate::input::{DiagArgs, emit, load_documents, usage_error, write_output};

#[derive(Debug, clap::Args)]
pub struct ImportTestsArgs {
    /// istio-config-validator test files (`testCases`), or directories of them.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where short destination hosts (`reviews`) resolve, as in the
    /// VirtualServices the tests were written for.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Write the test file here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub diag: DiagArgs,
}

pub fn run(args: ImportTestsArgs) -> ExitCode {
    let format = args.diag.error_format;
    let docs = match load_documents(
        &args.files,
        format,
        "the files hold no YAML documents: no tests to import".to_owned(),
    ) {
        Ok(docs) => docs,
        Err(code) => return code,
    };
    let converted = match convert(&docs, &args.namespace) {
        Ok(c) => c,
        Err(errors) => {
            emit(&errors, format);
            return ExitCode::Failure;
        }
    };
    emit(&converted.notes, format);
    let names: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    let mut yaml = format!(
        "# Converted by `policy-cli import-tests` from istio-config-validator tests:\n# {}\n",
        names.join(", ")
    );
    match serde_saphyr::to_string(&converted.tests) {
        Ok(body) => yaml.push_str(&body),
        Err(e) => {
            return usage_error(
                Diagnostic::error("internal", format!("cannot write the tests as YAML: {e}")),
                format,
            );
        }
    }
    if !yaml.ends_with('\n') {
        yaml.push('\n');
    }
    write_output(args.output.as_deref(), &yaml, format)
}
