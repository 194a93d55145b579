//! Diagnostics: what went wrong, where (file:line:column, field path) and why,
//! rendered for people (miette, with a snippet), for editors (one plain line
//! each) or for tools (JSON).

use std::fmt;
use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};
use serde::Serialize;

/// How diagnostics are written (`--error-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ErrorFormat {
    /// Snippets with the offending line marked (colour only on a terminal).
    #[default]
    Human,
    /// One line per diagnostic: `file:line:col: severity: path: message`.
    Plain,
    /// One JSON document with every diagnostic.
    Json,
}

/// One finding about the input: the import crate's type, which the CLI
/// reports too, so findings keep their code, severity and place across the
/// two.
pub use meshpolicy_import::{Diagnostic, Severity};

/// `file:line:col: severity: path: message` on one line.
pub fn plain(diag: &Diagnostic) -> String {
    let mut out = String::new();
    if let Some(loc) = diag.location() {
        out.push_str(&loc);
        out.push_str(": ");
    }
    out.push_str(&diag.severity.to_string());
    out.push_str(": ");
    if let Some(path) = &diag.path {
        out.push_str(path);
        out.push_str(": ");
    }
    out.push_str(&diag.message);
    terminal_safe(&out).into_owned()
}

/// Longest source line shown in a snippet: past it (minified JSON, a line
/// of 65,536 columns and more) the human format gives `at file:line:col`
/// without the snippet.
const MAX_SNIPPET_LINE_BYTES: usize = 1_000;

/// Escapes control characters (an ESC sequence in a rule name must not
/// reach the terminal raw); newlines and tabs stay.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The snippet around `offset` (its line and one either side) is short
/// enough and free of control characters to be shown.
fn snippet_fits(text: &str, offset: usize) -> bool {
    let (Some(before), Some(after)) = (text.get(..offset), text.get(offset..)) else {
        return false;
    };
    let start = before.rmatch_indices('\n').nth(1).map_or(0, |(i, _)| i + 1);
    let end = after
        .match_indices('\n')
        .nth(1)
        .map_or(text.len(), |(i, _)| offset + i);
    text.get(start..end).is_some_and(|around| {
        around
            .split('\n')
            .all(|line| line.len() <= MAX_SNIPPET_LINE_BYTES)
            && !around
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    })
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    code: &'a str,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    path: Option<&'a str>,
    snippet: Option<&'a str>,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// Renders every diagnostic in the chosen format, ready to print on stderr
/// (human, plain) or stdout (json).
pub fn render(diags: &[Diagnostic], format: ErrorFormat, color: bool) -> String {
    match format {
        ErrorFormat::Plain => diags.iter().map(|d| plain(d) + "\n").collect(),
        ErrorFormat::Json => render_json(diags),
        ErrorFormat::Human => diags.iter().map(|d| render_human(d, color)).collect(),
    }
}

fn render_json(diags: &[Diagnostic]) -> String {
    let report = JsonReport {
        errors: diags.iter().filter(|d| d.is_error()).count(),
        warnings: diags
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count(),
        diagnostics: diags
            .iter()
            .map(|d| JsonDiagnostic {
                severity: d.severity,
                code: d.code,
                message: &d.message,
                file: d.file.as_deref().map(|f| f.name.as_str()),
                line: d.pos.map(|p| p.line),
                column: d.pos.map(|p| p.column),
                path: d.path.as_deref(),
                snippet: d.snippet(),
                help: d.help.as_deref(),
            })
            .collect(),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}

/// Whether stderr gets colour: only on a terminal, and never with `NO_COLOR`.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn render_human(diag: &Diagnostic, color: bool) -> String {
    // a note is information, not a problem: one line and where, no snippet
    if diag.severity == Severity::Note {
        let at = diag
            .location()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        return terminal_safe(&format!("note: {}{at}\n", diag.message)).into_owned();
    }
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
        .with_context_lines(1);
    let view = MietteView::new(diag);
    let mut out = String::new();
    if handler.render_report(&mut out, &view).is_err() {
        return plain(diag) + "\n";
    }
    // miette marks the place but not the file position when there is no
    // snippet; the plain line keeps file:line:col visible in every case.
    if view.source.is_none()
        && let Some(loc) = diag.location()
    {
        out.push_str(&format!("  at {}\n", terminal_safe(&loc)));
    }
    out
}

// === impl MietteView ===

/// A diagnostic as miette sees it: message, severity, a label at the place
/// (its text is the field path) and the file as source code.
#[derive(Debug)]
struct MietteView<'a> {
    diag: &'a Diagnostic,
    source: Option<NamedSource<String>>,
}

impl<'a> MietteView<'a> {
    fn new(diag: &'a Diagnostic) -> MietteView<'a> {
        let source = match (&diag.file, diag.pos) {
            (Some(file), Some(pos)) if snippet_fits(&file.text, pos.offset) => Some(
                NamedSource::new(terminal_safe(&file.name), file.text.clone())
                    .with_language("yaml"),
            ),
            _ => None,
        };
        MietteView { diag, source }
    }
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&terminal_safe(&self.diag.message))
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diag.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(terminal_safe(h).into_owned()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let pos = self.diag.pos?;
        let label = self
            .diag
            .path
            .as_deref()
            .map_or_else(|| "here".to_owned(), |p| terminal_safe(p).into_owned());
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some(label), (pos.offset, pos.len)),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Pos, SourceFile};

    fn at(text: &str, offset: usize, message: &str) -> Diagnostic {
        let line = text
            .get(..offset)
            .map_or(1, |b| b.matches('\n').count() + 1);
        let column = offset
            - text
                .get(..offset)
                .and_then(|b| b.rfind('\n'))
                .map_or(0, |i| i + 1)
            + 1;
        Diagnostic {
            file: Some(SourceFile::new("p.json", text)),
            pos: Some(Pos {
                line,
                column,
                offset,
                len: 1,
            }),
            path: Some("spec.http[0]".to_owned()),
            ..Diagnostic::error("schema", message)
        }
    }

    #[test]
    fn an_error_past_column_65535_renders_without_a_panic() {
        // Minified JSON: one line of 100,000 bytes, the error at 70,000.
        let text = format!("{{\"a\": \"{}\"}}", "x".repeat(100_000));
        let diag = at(&text, 70_000, "bad value");
        let out = render(&[diag], ErrorFormat::Human, false);
        assert!(out.contains("bad value"), "{out}");
        assert!(out.contains("at p.json:1:70001"), "{out}");
        assert!(out.len() < 2_000, "no 100 KB snippet: {} bytes", out.len());
    }

    #[test]
    fn short_lines_keep_their_snippet() {
        let text = "a: 1\nb: 2\nc: 3\n";
        let out = render(&[at(text, 5, "bad b")], ErrorFormat::Human, false);
        assert!(out.contains("b: 2"), "{out}");
    }

    #[test]
    fn control_characters_never_reach_the_terminal_raw() {
        let diag = at("a: 1\n", 0, "rule `\u{1b}[31mred\u{7}` is bad");
        for format in [ErrorFormat::Human, ErrorFormat::Plain] {
            let out = render(std::slice::from_ref(&diag), format, false);
            assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
            assert!(out.contains("\\u{1b}[31mred"), "{out}");
        }
    }

    #[test]
    fn snippets_are_checked_at_any_offset() {
        // Offsets inside a multi-byte character or past the end never panic.
        let text = "a: \u{e9}\u{e9}\u{e9}\n";
        for offset in 0..text.len() + 3 {
            let _ = snippet_fits(text, offset);
        }
        assert!(!snippet_fits(text, 4));
        assert!(snippet_fits(text, 3));
    }
}
