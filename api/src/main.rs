use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let cli = api::cli::Cli::parse();
    // The bench's own server would otherwise log every one of its requests, and measure that.
    let default = match cli.command {
        api::cli::Command::Bench(_) => "warn,api::bench=info",
        _ => "info,sqlx=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("CRM_LOG").unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = api::cli::run(cli).await {
        tracing::error!(error = %e, "failed");
        std::process::exit(1);
    }
}
