//! What the commands share: reading the files named on the command line
//! (directories expand to their YAML files), loading one policy, and
//! printing diagnostics.

use std::io::Write;
use std::path::{Path, PathBuf};

use meshpolicy_engine::{Policy, TrafficPolicy};

use crate::ExitCode;
use crate::diagnostic::{self, Diagnostic, ErrorFormat};
use crate::import::{Merged, merge};
use crate::source::{Document, ReadSource, SourceFile, parse_documents};

/// `--error-format`, shared by every command that reports on its input.
#[derive(Debug, Clone, clap::Args)]
pub struct DiagArgs {
    /// How errors and warnings are written.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
}

/// Documents read from files, and what went wrong reading them.
#[derive(Debug, Default)]
pub struct Loaded {
    pub docs: Vec<Document>,
    pub files: usize,
    pub diags: Vec<Diagnostic>,
    /// A file could not be read at all (an input error, exit code 2).
    pub unreadable: bool,
}

/// Expands directories to the `.yaml` / `.yml` files directly inside them,
/// sorted by name, as `kubectl apply -f DIR` does.
fn expand(paths: &[PathBuf], diags: &mut Vec<Diagnostic>, unreadable: &mut bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    })
                    .collect();
                files.sort();
                if files.is_empty() {
                    diags.push(Diagnostic::error(
                        "unreadable-file",
                        format!("`{}` has no .yaml or .yml files", path.display()),
                    ));
                    *unreadable = true;
                }
                out.extend(files);
            }
            Err(e) => {
                diags.push(Diagnostic::error(
                    "unreadable-file",
                    format!("cannot read `{}`: {e}", path.display()),
                ));
                *unreadable = true;
            }
        }
    }
    out
}

/// Reads and parses every file; problems become diagnostics, never a stop.
pub fn load(paths: &[PathBuf]) -> Loaded {
    let mut loaded = Loaded::default();
    let files = expand(paths, &mut loaded.diags, &mut loaded.unreadable);
    for path in &files {
        loaded.files += 1;
        let file = match SourceFile::read(path) {
            Ok(file) => file,
            Err(d) => {
                loaded.diags.push(d);
                loaded.unreadable = true;
                continue;
            }
        };
        match parse_documents(&file) {
            Ok(docs) => loaded.docs.extend(docs),
            Err(d) => loaded.diags.push(d),
        }
    }
    loaded
}

/// The documents of `paths`, or, when a file is unreadable or not YAML or
/// none holds a document, the diagnostics printed (`empty` is the message
/// for no documents) and the exit code returned.
pub fn load_documents(
    paths: &[PathBuf],
    format: ErrorFormat,
    empty: String,
) -> Result<Vec<Document>, ExitCode> {
    let loaded = load(paths);
    if !loaded.diags.is_empty() {
        emit(&loaded.diags, format);
        return Err(if loaded.unreadable {
            ExitCode::Usage
        } else {
            ExitCode::Failure
        });
    }
    if loaded.docs.is_empty() {
        emit(&[Diagnostic::error("empty-input", empty)], format);
        return Err(ExitCode::Failure);
    }
    Ok(loaded.docs)
}

/// One policy ready to use: the file(s) merged, checked and compiled.
#[derive(Debug)]
pub struct LoadedPolicy {
    pub merged: Merged,
    pub doc: TrafficPolicy,
    pub policy: Policy,
    /// The policy as JSON, what the filter receives as `pluginConfig`.
    pub json: String,
}

/// Loads the policy a command works on (a TrafficPolicy, or Istio YAML that
/// imports into one). On failure the diagnostics are printed and the exit
/// code returned.
pub fn load_policy(path: &Path, format: ErrorFormat) -> Result<LoadedPolicy, ExitCode> {
    let docs = load_documents(
        &[path.to_path_buf()],
        format,
        format!("`{}` has no YAML documents", path.display()),
    )?;
    policy_of_documents(docs, format)
}

/// Loads a policy from text that is not a file (`diff --git`'s old side);
/// `name` is how diagnostics name it.
pub fn load_policy_text(
    name: &str,
    text: String,
    format: ErrorFormat,
) -> Result<LoadedPolicy, ExitCode> {
    let docs = parse_documents(&SourceFile::new(name, text)).map_err(|d| {
        emit(&[d], format);
        ExitCode::Failure
    })?;
    if docs.is_empty() {
        emit(
            &[Diagnostic::error(
                "empty-input",
                format!("`{name}` has no YAML documents"),
            )],
            format,
        );
        return Err(ExitCode::Failure);
    }
    policy_of_documents(docs, format)
}

fn policy_of_documents(docs: Vec<Document>, format: ErrorFormat) -> Result<LoadedPolicy, ExitCode> {
    let merged = merge(docs, None).map_err(|d| {
        emit(&d, format);
        ExitCode::Failure
    })?;
    let (doc, policy) = merged.check().map_err(|d| {
        emit(&d, format);
        ExitCode::Failure
    })?;
    let json = serde_json::to_string(&doc).map_err(|e| {
        emit(
            &[Diagnostic::error(
                "internal",
                format!("cannot encode the policy as JSON: {e}"),
            )],
            format,
        );
        ExitCode::Failure
    })?;
    Ok(LoadedPolicy {
        merged,
        doc,
        policy,
        json,
    })
}

/// Prints diagnostics on stderr (every format: stdout is for data).
pub fn emit(diags: &[Diagnostic], format: ErrorFormat) {
    if diags.is_empty() {
        return;
    }
    let text = diagnostic::render(diags, format, diagnostic::stderr_color());
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Prints a usage or input error (exit code 2) and returns the code.
pub fn usage_error(diag: Diagnostic, format: ErrorFormat) -> ExitCode {
    emit(&[diag], format);
    ExitCode::Usage
}

/// The policy as YAML, the way `import` writes it.
pub fn policy_yaml(doc: &TrafficPolicy) -> Result<String, Diagnostic> {
    let mut yaml = serde_saphyr::to_string(doc).map_err(|e| {
        Diagnostic::error("internal", format!("cannot write the policy as YAML: {e}"))
    })?;
    if !yaml.ends_with('\n') {
        yaml.push('\n');
    }
    Ok(yaml)
}

/// Writes a command's output to `path`, or to stdout without one; a write
/// that fails is an input error (exit code 2).
pub fn write_output(path: Option<&Path>, text: &str, format: ErrorFormat) -> ExitCode {
    let written = match path {
        Some(path) => std::fs::write(path, text).map_err(|e| (path.display().to_string(), e)),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| ("stdout".to_owned(), e)),
    };
    match written {
        Ok(()) => ExitCode::Ok,
        Err((to, e)) => usage_error(
            Diagnostic::error("unwritable-output", format!("cannot write `{to}`: {e}")),
            format,
        ),
    }
}
