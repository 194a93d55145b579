//! `policy-cli explain` (being built; see the issue tracker).

use crate::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {}

pub fn run(_args: ExplainArgs) -> ExitCode {
    eprintln!("policy-cli explain: not built yet");
    ExitCode::Usage
}
