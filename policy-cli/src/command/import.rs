//! `policy-cli import FILE…`: VirtualService, DestinationRule and Telemetry
//! resources (and TrafficPolicies) into one TrafficPolicy.
//!
//! Importing the output again gives the same bytes: a TrafficPolicy imports
//! as itself.

use std::path::PathBuf;

use crate::ExitCode;
use crate::import::merge;
use crate::input::{DiagArgs, emit, load_documents, policy_yaml, usage_error, write_output};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Istio YAML files (or directories of them); PeerAuthentication and other
    /// security resources are skipped with a note.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write the policy here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// `metadata.name` of the policy (default: the first VirtualService's name).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub diag: DiagArgs,
}

pub fn run(args: ImportArgs) -> ExitCode {
    let format = args.diag.error_format;
    let docs = match load_documents(
        &args.files,
        format,
        "the files hold no YAML documents: nothing to import".to_owned(),
    ) {
        Ok(docs) => docs,
        Err(code) => return code,
    };
    let merged = match merge(docs, args.name.as_deref()) {
        Ok(merged) => merged,
        Err(errors) => {
            emit(&errors, format);
            return ExitCode::Failure;
        }
    };
    let (policy, compiled) = match merged.check() {
        Ok(checked) => checked,
        Err(errors) => {
            emit(&merged.notes, format);
            emit(&errors, format);
            return ExitCode::Failure;
        }
    };
    let mut notes = merged.notes.clone();
    notes.extend(merged.warnings(&compiled));
    emit(&notes, format);
    let yaml = match policy_yaml(&policy) {
        Ok(yaml) => yaml,
        Err(d) => return usage_error(d, format),
    };
    write_output(args.output.as_deref(), &yaml, format)
}
