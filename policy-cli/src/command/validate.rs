//! `policy-cli validate FILE…`: TrafficPolicy documents and Istio YAML.
//!
//! Each TrafficPolicy document is checked on its own; the Istio resources of
//! all files are checked together, as `import` would merge them (so a
//! VirtualService's subsets are looked up in the DestinationRules passed
//! beside it).

use std::io::Write;
use std::path::PathBuf;

use crate::ExitCode;
use crate::diagnostic::{self, Diagnostic, ErrorFormat, Severity};
use crate::import::merge;
use crate::input::{DiagArgs, load};
use crate::resource::{Kind, classify};
use crate::source::Document;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// YAML files (or directories of them): TrafficPolicy documents and Istio resources.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Fail (exit code 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    #[command(flatten)]
    pub diag: DiagArgs,
}

pub fn run(args: ValidateArgs) -> ExitCode {
    let loaded = load(&args.files);
    let mut diags = loaded.diags;
    let documents = loaded.docs.len();
    if documents == 0 && diags.is_empty() {
        diags.push(Diagnostic::error(
            "empty-input",
            "the files hold no YAML documents: nothing to validate",
        ));
    }

    let (policies, istio): (Vec<Document>, Vec<Document>) = loaded
        .docs
        .into_iter()
        .partition(|d| classify(d).ok() == Some(Kind::TrafficPolicy));
    let mut groups: Vec<Vec<Document>> = policies.into_iter().map(|d| vec![d]).collect();
    if !istio.is_empty() {
        groups.push(istio);
    }
    // the hosts each TrafficPolicy owns (it renders their VirtualServices)
    let mut owned: Vec<(String, String)> = Vec::new();
    let istio_vs: Vec<Document> = groups
        .last()
        .into_iter()
        .flatten()
        .filter(|d| classify(d).ok() == Some(Kind::VirtualService))
        .cloned()
        .collect();
    for group in groups {
        match merge(group, None) {
            Err(errors) => diags.extend(errors),
            Ok(merged) => {
                diags.extend(merged.notes.iter().cloned());
                match merged.check() {
                    Err(errors) => diags.extend(errors),
                    Ok((policy, compiled)) => {
                        diags.extend(merged.warnings(&compiled));
                        if merged
                            .docs
                            .iter()
                            .any(|d| classify(d).ok() == Some(Kind::TrafficPolicy))
                        {
                            owned.extend(
                                compiled
                                    .host_plans()
                                    .into_iter()
                                    .map(|p| (p.host, policy.metadata.name.clone())),
                            );
                        }
                    }
                }
            }
        }
    }
    diags.extend(conflicting_virtual_services(&istio_vs, &owned));

    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    report(&diags, args.diag.error_format, loaded.files, documents);
    if loaded.unreadable {
        ExitCode::Usage
    } else if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitCode::Failure
    } else {
        ExitCode::Ok
    }
}

/// JSON goes to stdout (it is the command's output); the other formats to
/// stderr, with a summary line for people.
fn report(diags: &[Diagnostic], format: ErrorFormat, files: usize, documents: usize) {
    if format == ErrorFormat::Json {
        let _ = std::io::stdout().write_all(diagnostic::render(diags, format, false).as_bytes());
        return;
    }
    let mut text = diagnostic::render(diags, format, diagnostic::stderr_color());
    if format == ErrorFormat::Human {
        let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
        let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let what = format!(
            "{} in {}",
            plural(documents, "document"),
            plural(files, "file")
        );
        text.push_str(&if errors == 0 && warnings == 0 {
            format!("ok: {what}, no problems\n")
        } else {
            format!(
                "{}: {what}: {}, {}\n",
                if errors > 0 { "failed" } else { "ok" },
                plural(errors, "error"),
                plural(warnings, "warning")
            )
        });
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// A user VirtualService for a host a policy owns: Istio's sidecars keep
/// only the oldest VirtualService of a host, so one of the two is ignored.
fn conflicting_virtual_services(docs: &[Document], owned: &[(String, String)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for doc in docs {
        let namespace = doc
            .value
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(serde_json::Value::as_str);
        let hosts = doc
            .value
            .get("spec")
            .and_then(|s| s.get("hosts"))
            .and_then(serde_json::Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (h, host) in hosts.iter().enumerate() {
            let Some(host) = host.as_str() else { continue };
            let fqdn = meshpolicy_engine::resolve_host(host, namespace);
            if let Some((_, policy)) = owned.iter().find(|(o, _)| *o == fqdn) {
                out.push(doc.diag(
                    Diagnostic::warning(
                        "conflicting-virtual-service",
                        format!(
                            "VirtualService `{}` names host `{fqdn}`, which policy `{policy}` owns: Istio's sidecars use only the oldest VirtualService of a host, so one of them is ignored",
                            doc.name()
                        ),
                    )
                    .with_help("move its rules into the policy's virtual services (`policy-cli import`) and apply only the rendered VirtualService"),
                    &crate::source::FieldPath::default().key("spec").key("hosts").index(h),
                ));
            }
        }
    }
    out
}
