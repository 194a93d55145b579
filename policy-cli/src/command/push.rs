//! `policy-cli push` (being built; see the issue tracker).

use crate::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PushArgs {}

pub fn run(_args: PushArgs) -> ExitCode {
    eprintln!("policy-cli push: not built yet");
    ExitCode::Usage
}
