//! `policy-cli package` (being built; see the issue tracker).

use crate::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PackageArgs {}

pub fn run(_args: PackageArgs) -> ExitCode {
    eprintln!("policy-cli package: not built yet");
    ExitCode::Usage
}
