//! A finding about the input, placed in its document: what the import, the
//! document helpers and `policy-cli` report. `policy-cli` renders it with
//! miette (file, snippet), the playground marks it in the editor.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::source::{Pos, SourceFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// One finding about the input.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable kebab-case name of the kind of finding (`unknown-kind`,
    /// `inferred-namespace`, `yaml-syntax`, `undefined-subset`).
    pub code: &'static str,
    /// One line, lowercase, user input in backticks.
    pub message: String,
    pub file: Option<Arc<SourceFile>>,
    /// 0-based index of the document among its file's non-empty documents.
    pub document: Option<usize>,
    pub pos: Option<Pos>,
    /// The logical field path, as the engine writes it.
    pub path: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            file: None,
            document: None,
            pos: None,
            path: None,
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn note(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(code, message)
        }
    }

    /// An engine error: its typed code, message and help (placing it at
    /// its path is the caller's: `Document::diag`, `Merged::diag_at`).
    pub fn from_engine(e: &meshpolicy_engine::PolicyError) -> Diagnostic {
        let d = Diagnostic::error(e.code(), e.message());
        match e.help() {
            Some(help) => d.with_help(help),
            None => d,
        }
    }

    /// An engine warning, with its typed code and help.
    pub fn from_engine_warning(w: &meshpolicy_engine::Warning) -> Diagnostic {
        Diagnostic::warning(w.code(), w.message.clone()).with_help(w.kind.help())
    }

    pub fn in_file(mut self, file: &Arc<SourceFile>, pos: Option<Pos>) -> Diagnostic {
        self.file = Some(Arc::clone(file));
        self.pos = pos;
        self
    }

    pub fn at_path(mut self, path: impl Into<String>) -> Diagnostic {
        let path = path.into();
        self.path = (!path.is_empty()).then_some(path);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col`, or as much of it as is known.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(match self.pos {
            Some(pos) => format!("{}:{}:{}", file.name, pos.line, pos.column),
            None => file.name.clone(),
        })
    }

    /// The source line the diagnostic points at, without its newline.
    pub fn snippet(&self) -> Option<&str> {
        let (file, pos) = (self.file.as_ref()?, self.pos?);
        file.text.lines().nth(pos.line.checked_sub(1)?)
    }

    /// Placed in `file`, document `document`, at `pos` and field `path`
    /// (`Document::diag`).
    pub(crate) fn placed(
        mut self,
        file: &Arc<SourceFile>,
        document: usize,
        pos: Option<Pos>,
        path: String,
    ) -> Diagnostic {
        self.document = Some(document);
        self.in_file(file, pos).at_path(path)
    }
}
