//! `policy-cli bench` (being built; see the issue tracker).

use crate::ExitCode;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

pub fn run(_args: BenchArgs) -> ExitCode {
    eprintln!("policy-cli bench: not built yet");
    ExitCode::Usage
}
