//! meshpolicy's subset of CEL, the Common Expression Language that Istio
//! Telemetry `tagOverrides` values are written in.
//!
//! Why not the `cel` crate: it costs about 700 KB of wasm (measured in
//! BENCHMARKS.md), more than the whole filter's budget allows, and it
//! builds its evaluation context per request. This subset has CEL's syntax
//! and semantics for what it accepts and rejects the rest at configure time
//! with an error that names the unsupported construct. What it accepts
//! (docs/telemetry.md has the full list):
//!
//! * literals: int, uint (`1u`), double, string (`'a'`, `"a"`, `r'a'`), bool, null;
//! * Envoy attributes `root.field` ([`attributes::ATTRIBUTES`]), header maps
//!   indexed by key (`request.headers['x-tenant']`), peer label maps;
//! * operators `! - * / % + == != < <= > >= && || ?: in` with CEL precedence;
//! * `has(a.b)`, `string() int() uint() double() size()`, and the methods
//!   `startsWith endsWith contains size lowerAscii upperAscii`.
//!
//! Left out, with a clear error: list and map literals, comprehension macros
//! (`all exists exists_one map filter`), `matches`, timestamps and durations,
//! bytes, message construction.

pub mod attributes;
mod eval;
mod lexer;
mod parser;
mod resolve;

pub use attributes::{AttrType, Attributes, HeaderMap, Value};
pub use eval::EvalError;

/// The longest expression accepted, in bytes.
pub const MAX_EXPRESSION_LEN: usize = 1024;

/// A rejected expression: where (1-based column) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at column {column}: {message}")]
pub struct CelError {
    pub column: usize,
    pub kind: &'static str,
    pub message: String,
}

impl CelError {
    pub(crate) fn syntax(column: usize, message: impl Into<String>) -> Self {
        CelError {
            column,
            kind: "syntax error",
            message: message.into(),
        }
    }

    pub(crate) fn check(column: usize, message: impl Into<String>) -> Self {
        CelError {
            column,
            kind: "invalid expression",
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(column: usize, what: &str) -> Self {
        CelError {
            column,
            kind: "unsupported",
            message: format!("{what} are outside meshpolicy's CEL subset (see docs/telemetry.md)")
                .replace("the function `", "calls to the function `"),
        }
    }
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    source: String,
    expr: resolve::Expr,
}

impl Program {
    /// Parses and checks `source`.
    pub fn compile(source: &str) -> Result<Program, CelError> {
        if source.len() > MAX_EXPRESSION_LEN {
            return Err(CelError::syntax(
                1,
                format!("expression longer than {MAX_EXPRESSION_LEN} bytes"),
            ));
        }
        let tokens = lexer::lex(source)?;
        let syntax = parser::parse(&tokens, source.chars().count())?;
        let expr = resolve::resolve(&syntax)?;
        Ok(Program {
            source: source.to_string(),
            expr,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates against `attrs`.
    pub fn eval<'a>(&self, attrs: &'a dyn Attributes) -> Result<Value<'a>, EvalError> {
        eval::eval(&self.expr, attrs)
    }
}
