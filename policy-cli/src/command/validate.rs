//! `policy-cli validate` (being built; see the issue tracker).

use crate::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {}

pub fn run(_args: ValidateArgs) -> ExitCode {
    eprintln!("policy-cli validate: not built yet");
    ExitCode::Usage
}
