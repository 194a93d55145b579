use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = policy_cli::Cli::parse();
    std::process::ExitCode::from(policy_cli::run(cli) as u8)
}
