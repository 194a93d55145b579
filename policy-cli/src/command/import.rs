//! `policy-cli import` (being built; see the issue tracker).

use crate::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {}

pub fn run(_args: ImportArgs) -> ExitCode {
    eprintln!("policy-cli import: not built yet");
    ExitCode::Usage
}
