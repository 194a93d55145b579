//! `policy-cli render` (being built; see the issue tracker).

use crate::ExitCode;

#[derive(Debug, clap::Args)]
pub struct RenderArgs {}

pub fn run(_args: RenderArgs) -> ExitCode {
    eprintln!("policy-cli render: not built yet");
    ExitCode::Usage
}
