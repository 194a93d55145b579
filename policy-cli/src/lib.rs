//! policy-cli as a library; `main.rs` is a thin shell over it.
//!
//! One file per verb in `command/`, each with `<Verb>Args` and `fn run`.

// `Diagnostic` is large (file, place, path, help) and is returned once per
// input problem, never on a hot path: boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod canary;
pub mod command;
pub mod coverage;
pub mod diagnostic;
pub mod diff;
pub mod gitops;
pub mod import_tests;
/// The merge of policy documents and Istio YAML, and the lint warnings,
/// live in `meshpolicy-import`
/// (shared with the playground); re-exported under the paths it had here.
pub use meshpolicy_import::{import, resource};
pub mod input;
pub mod junit;
pub mod request;
pub mod routes;
pub mod source;
pub mod testfile;
pub mod testrun;
pub mod wasm;

use clap::{Parser, Subcommand};

/// Exit codes of every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything passed.
    Ok = 0,
    /// Validation or test failures.
    Failure = 1,
    /// Usage or input error.
    Usage = 2,
}

#[derive(Debug, Parser)]
#[command(
    name = "policy-cli",
    version,
    about = "meshpolicy: Istio traffic policy as a proxy-wasm filter"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate TrafficPolicy documents and Istio YAML.
    Validate(command::validate::ValidateArgs),
    /// Import VirtualService, DestinationRule and Telemetry into one TrafficPolicy.
    Import(command::import::ImportArgs),
    /// Convert istio-config-validator test files into a meshpolicy test file.
    ImportTests(command::import_tests::ImportTestsArgs),
    /// Run test files on the built filter `.wasm` in the host.
    Test(command::test::TestArgs),
    /// Trace how the policy decides one request.
    Explain(command::explain::ExplainArgs),
    /// What a policy change does to traffic: changed request classes, moved sticky keys, replay.
    Diff(command::diff::DiffArgs),
    /// Render the WasmPlugin, companion VirtualService and DestinationRule.
    Render(command::render::RenderArgs),
    /// Package the filter `.wasm` as an OCI image layout.
    Package(command::package::PackageArgs),
    /// Push an OCI image layout to a registry.
    Push(command::push::PushArgs),
    /// Measure the per-request cost of the real `.wasm` on the host.
    Bench(command::bench::BenchArgs),
    /// Serve the playground (the engine in the browser) on 127.0.0.1.
    Playground(command::playground::PlaygroundArgs),
}

/// Runs one parsed command line and returns its exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Validate(args) => command::validate::run(args),
        Command::Import(args) => command::import::run(args),
        Command::ImportTests(args) => command::import_tests::run(args),
        Command::Test(args) => command::test::run(args),
        Command::Explain(args) => command::explain::run(args),
        Command::Diff(args) => command::diff::run(args),
        Command::Render(args) => command::render::run(args),
        Command::Package(args) => command::package::run(args),
        Command::Push(args) => command::push::run(args),
        Command::Bench(args) => command::bench::run(args),
        Command::Playground(args) => command::playground::run(args),
    }
}
