//! Policy documents and Istio YAML into one TrafficPolicy: YAML documents
//! with their field paths mapped to line:column ([`source`]), which resource
//! a document is ([`resource`]), and the merge with the Istio mapping
//! ([`import`]), with the engine's errors and warnings placed in the files
//! the user wrote ([`Merged::check`], [`Merged::warnings`]). Pure Rust over the engine and `yaml-spans`, so `policy-cli`
//! and the playground (built for `wasm32-unknown-unknown`, where the CLI
//! cannot go: it pulls wasmtime) import with the same code; both report this
//! crate's [`Diagnostic`], each in its own rendering.

// `Diagnostic` is large (file, place, path, help) and is returned once per
// input problem, never on a hot path: boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod diagnostic;
pub mod import;
pub mod resource;
pub mod source;

pub use diagnostic::{Diagnostic, Severity};
pub use import::{Merged, Origin, merge};
pub use source::{Document, SourceFile, parse_documents};
