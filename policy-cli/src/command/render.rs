//! `policy-cli render POLICY --image REF [--sha256 DIGEST]`: the WasmPlugin,
//! companion VirtualServices and DestinationRules of a policy, byte-for-byte
//! deterministic. `-o DIR` writes them; `--check DIR` compares them with the
//! committed files and shows the difference. `--release ENV` takes the image
//! and pin from an overlay's release.env; `--wasm FILE` then fails when that
//! pin is not the digest of `policy-cli package FILE` (unless the release is
//! published).

use std::path::{Path, PathBuf};

use meshpolicy_engine::Policy;

use crate::ExitCode;
use crate::diagnostic::{self, Diagnostic, ErrorFormat};
use crate::gitops::release::Release;
use crate::gitops::render::{
    Image, PluginKind, PluginOptions, RenderInput, RenderedFile, parse_selector, render,
};
use crate::source::{ReadSource, SourceFile, parse_documents};

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The TrafficPolicy YAML file.
    pub policy: PathBuf,
    /// The filter image: `registry/repo:tag` or an `oci://`, `https://`,
    /// `http://` or `file://` url.
    #[arg(long, required_unless_present = "release", conflicts_with = "release")]
    pub image: Option<String>,
    /// The pin (64 hex): for `oci://` the manifest digest `policy-cli package`
    /// prints. Optional when the image names `@sha256:<hex>`.
    #[arg(long, conflicts_with = "release")]
    pub sha256: Option<String>,
    /// Take image and pin from an overlay's release.env (`REPOSITORY`,
    /// `SHA256`, `PUBLISHED`): the url is `REPOSITORY@sha256:SHA256`.
    #[arg(long, value_name = "ENV")]
    pub release: Option<PathBuf>,
    /// The built filter (`target/meshpolicy.wasm`): fail unless the pin is the
    /// digest `policy-cli package` gives for it (a release with
    /// `PUBLISHED=true` is not checked).
    #[arg(long, requires = "release", value_name = "FILE")]
    pub wasm: Option<PathBuf>,
    /// The Istio kind that runs the filter: `TrafficExtension` needs Istio 1.30+.
    #[arg(long, value_enum, default_value_t = PluginKind::WasmPlugin)]
    pub kind: PluginKind,
    /// A docker config Secret in the policy's namespace with the registry's
    /// credentials, for a private image.
    #[arg(long, value_name = "SECRET")]
    pub image_pull_secret: Option<String>,
    /// `key=value` label the WasmPlugin's workloads carry (repeatable); none
    /// selects every workload in the namespace.
    #[arg(long)]
    pub selector: Vec<String>,
    /// Write the files into this directory instead of printing them.
    #[arg(short, long, conflicts_with = "check")]
    pub output: Option<PathBuf>,
    /// Compare a fresh render with the files in this directory; exit 1 and
    /// show the difference when they drift.
    #[arg(long)]
    pub check: Option<PathBuf>,
}

pub fn run(args: RenderArgs) -> ExitCode {
    let files = match render_files(&args) {
        Ok(files) => files,
        Err((code, message)) => {
            eprintln!("{message}");
            return code;
        }
    };
    if let Some(dir) = &args.check {
        return check(dir, &files);
    }
    if let Some(dir) = &args.output {
        return write(dir, &files);
    }
    let all = files
        .iter()
        .map(|file| file.text.as_str())
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("---\n");
    print!("{all}");
    ExitCode::Ok
}

fn render_files(args: &RenderArgs) -> Result<Vec<RenderedFile>, (ExitCode, String)> {
    let usage = |message: String| (ExitCode::Usage, format!("error: {message}"));
    let display = args.policy.display();
    // The front door every other command uses: the size limit holds for
    // stdin and devices, the YAML parser runs within its budget, and what
    // goes wrong reads as a sentence at its line (no parser structs).
    let shown = |d: Diagnostic| {
        let text = diagnostic::render(&[d], ErrorFormat::Human, diagnostic::stderr_color());
        text.trim_end().to_owned()
    };
    let file = SourceFile::read(&args.policy).map_err(|d| (ExitCode::Usage, shown(d)))?;
    let mut documents = parse_documents(&file).map_err(|d| (ExitCode::Usage, shown(d)))?;
    let count = documents.len();
    let value = match documents.pop() {
        Some(document) if count == 1 => document.value,
        _ => {
            return Err(usage(format!(
                "`{display}` has {count} YAML documents; render takes one TrafficPolicy"
            )));
        }
    };
    let invalid = |errors: meshpolicy_engine::PolicyErrors| {
        let lines = errors
            .errors
            .iter()
            .map(|e| format!("  {e}"))
            .collect::<Vec<_>>()
            .join("\n");
        (
            ExitCode::Failure,
            format!(
                "error: `{display}` is not a valid policy, nothing rendered:\n{lines}\n  (`policy-cli validate {display}` shows each at its line and column)"
            ),
        )
    };
    let doc = meshpolicy_engine::from_value(value).map_err(invalid)?;
    let policy = Policy::compile(&doc).map_err(invalid)?;
    let image = image(args)?;
    let selector = parse_selector(&args.selector).map_err(|e| usage(e.to_string()))?;
    // The file name, not the path as typed: the header comment must not
    // depend on the directory `render` runs from.
    let source = args.policy.file_name().map_or_else(
        || display.to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    render(&RenderInput {
        doc: &doc,
        policy: &policy,
        image: &image,
        selector,
        source: &source,
        plugin: PluginOptions {
            kind: args.kind,
            image_pull_secret: args.image_pull_secret.clone(),
        },
    })
    .map_err(|e| (ExitCode::Failure, format!("error: {e}")))
}

/// The image and pin from `--image`/`--sha256` or `--release`, checked
/// against `--wasm` when given.
fn image(args: &RenderArgs) -> Result<Image, (ExitCode, String)> {
    let usage = |message: String| (ExitCode::Usage, format!("error: {message}"));
    let Some(path) = &args.release else {
        let url = args.image.as_deref().unwrap_or_default();
        return Image::new(url, args.sha256.as_deref()).map_err(|e| usage(e.to_string()));
    };
    let release = Release::read(path).map_err(|e| usage(e.to_string()))?;
    if let Some(wasm) = &args.wasm {
        release
            .check_build(&path.display().to_string(), wasm)
            .map_err(|e| (ExitCode::Failure, format!("error: {e}")))?;
    }
    Image::new(&release.url(), Some(&release.sha256)).map_err(|e| usage(e.to_string()))
}

fn write(dir: &Path, files: &[RenderedFile]) -> ExitCode {
    if let Err(err) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create `{}`: {err}", dir.display());
        return ExitCode::Usage;
    }
    for file in files {
        let path = dir.join(file.name);
        if let Err(err) = std::fs::write(&path, &file.text) {
            eprintln!("error: cannot write `{}`: {err}", path.display());
            return ExitCode::Usage;
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::Ok
}

fn check(dir: &Path, files: &[RenderedFile]) -> ExitCode {
    let mut drifted = 0;
    for file in files {
        let path = dir.join(file.name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == file.text {
            continue;
        }
        drifted += 1;
        let old = path.display().to_string();
        let new = format!("{} (fresh render)", file.name);
        print!(
            "{}",
            similar::TextDiff::from_lines(&committed, &file.text)
                .unified_diff()
                .context_radius(3)
                .header(&old, &new)
        );
    }
    if drifted == 0 {
        eprintln!("{} matches a fresh render", dir.display());
        ExitCode::Ok
    } else {
        eprintln!(
            "error: {drifted} file(s) in `{}` differ from a fresh render: run `make manifests` and commit",
            dir.display()
        );
        ExitCode::Failure
    }
}
