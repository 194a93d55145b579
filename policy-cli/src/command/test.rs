//! `policy-cli test` (being built; see the issue tracker).

use crate::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TestArgs {}

pub fn run(_args: TestArgs) -> ExitCode {
    eprintln!("policy-cli test: not built yet");
    ExitCode::Usage
}
