//! The `lms` binary: parses the command line and runs it (see `gateway::cli`).

use clap::Parser;

#[global_allocator]
static ALLOCATOR: gateway::Allocator = gateway::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = gateway::cli::Cli::parse();
    gateway::cli::init_tracing(cli.config.log_format);
    gateway::cli::run(cli).await
}
