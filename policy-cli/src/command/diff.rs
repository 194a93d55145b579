//! `policy-cli diff OLD NEW` (or `--git REV FILE`): what a policy change
//! does to traffic: the request classes whose decision changes, the sticky
//! keys a weight change moves, and with `--requests` recorded traffic
//! replayed through both (SPEC §4).

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::ExitCode;
use crate::diagnostic::Diagnostic;
use crate::diff::{self, DiffReport, Format, Side};
use crate::input::{DiagArgs, LoadedPolicy, load_policy, load_policy_text, usage_error};

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// `OLD NEW`: two policies (TrafficPolicy or Istio YAML); with `--git`,
    /// one file, compared with itself at that revision.
    #[arg(value_name = "FILE", num_args = 1..=2, required = true)]
    pub files: Vec<PathBuf>,
    /// Compare FILE in the working tree with FILE at this git revision.
    #[arg(long, value_name = "REV")]
    pub git: Option<String>,
    /// Replay recorded requests (Envoy's JSON access log, or JSON lines).
    #[arg(long, value_name = "FILE")]
    pub requests: Option<PathBuf>,
    /// The namespace of the proxy that recorded `--requests` (where a bare
    /// short name like `reviews:9080` resolves), for lines without
    /// `sourceNamespace`.
    #[arg(long, value_name = "NS")]
    pub source_namespace: Option<String>,
    /// Keys per sticky split to check for moves.
    #[arg(long, default_value_t = 10_000)]
    pub keys: usize,
    /// Exit 1 when anything changes.
    #[arg(long)]
    pub fail_on_change: bool,
    /// `human`, `json` or `markdown` (a pull-request comment).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub output: Format,
    #[command(flatten)]
    pub diag: DiagArgs,
}

/// More keys than this is a typo, not a check (each key decides twice).
const MAX_KEYS: usize = 1_000_000;

pub fn run(args: DiffArgs) -> ExitCode {
    let format = args.diag.error_format;
    if args.keys > MAX_KEYS {
        return usage_error(
            Diagnostic::error(
                "bad-flag",
                format!("--keys {} is more than {MAX_KEYS}", args.keys),
            ),
            format,
        );
    }
    let (old, old_name, new, new_name) = match (&args.git, args.files.as_slice()) {
        (Some(rev), [file]) => {
            let text = match git_show(rev, file) {
                Ok(text) => text,
                Err(d) => return usage_error(d, format),
            };
            let name = format!("{}@{rev}", file.display());
            let old = match load_policy_text(&name, text, format) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let new = match load_policy(file, format) {
                Ok(p) => p,
                Err(code) => return code,
            };
            (old, name, new, file.display().to_string())
        }
        (None, [old, new]) => {
            let (a, b) = match (load_policy(old, format), load_policy(new, format)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(code), _) | (_, Err(code)) => return code,
            };
            (a, old.display().to_string(), b, new.display().to_string())
        }
        (Some(_), _) => {
            return usage_error(
                Diagnostic::error("bad-flag", "--git REV takes one FILE (the new side)"),
                format,
            );
        }
        (None, _) => {
            return usage_error(
                Diagnostic::error("bad-flag", "diff takes OLD NEW, or --git REV FILE"),
                format,
            );
        }
    };
    let (old, new) = (side(old), side(new));
    let (classes, changes) = diff::classes(&old, &new);
    let replay = match &args.requests {
        None => None,
        Some(path) => match replay_file(&old, &new, path, args.source_namespace.as_deref()) {
            Ok(r) => Some(r),
            Err(d) => return usage_error(d, format),
        },
    };
    let report = DiffReport {
        old: old_name,
        new: new_name,
        classes,
        changed: changes.iter().map(|c| c.requests.len()).sum(),
        changes,
        sticky: diff::sticky_moves(&old, &new, args.keys),
        replay,
    };
    let text = diff::render(&report, args.output);
    let _ = std::io::stdout().write_all(text.as_bytes());
    if args.fail_on_change && report.has_changes() {
        ExitCode::Failure
    } else {
        ExitCode::Ok
    }
}

fn side(loaded: LoadedPolicy) -> Side {
    Side {
        doc: loaded.doc,
        policy: loaded.policy,
    }
}

/// `git show REV:./FILE`, run in the file's directory.
fn git_show(rev: &str, file: &Path) -> Result<String, Diagnostic> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let Some(name) = name else {
        return Err(Diagnostic::error(
            "bad-flag",
            format!("`{}` is not a file name", file.display()),
        ));
    };
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .arg("show")
        .arg(format!("{rev}:./{name}"))
        .output()
        .map_err(|e| Diagnostic::error("git", format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Diagnostic::error(
            "git",
            format!(
                "git cannot show `{}` at `{rev}`: {}",
                file.display(),
                err.trim()
            ),
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| {
        Diagnostic::error(
            "git",
            format!("`{}` at `{rev}` is not UTF-8 text", file.display()),
        )
    })
}

fn replay_file(
    old: &Side,
    new: &Side,
    path: &Path,
    namespace: Option<&str>,
) -> Result<diff::Replay, Diagnostic> {
    let unreadable = |e: std::io::Error| {
        Diagnostic::error(
            "unreadable-file",
            format!("cannot read `{}`: {e}", path.display()),
        )
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    // Drawn only when stderr is a terminal (indicatif hides it otherwise).
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("replaying {bar:40} {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style);
    }
    let result = diff::replay(old, new, BufReader::new(file), namespace, |n| bar.inc(n));
    bar.finish_and_clear();
    result.map_err(unreadable)
}
