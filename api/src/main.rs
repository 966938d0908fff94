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
    let filter = EnvFilter::try_from_env("CRM_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // One JSON object a line for a log collector (the request's span, with its id and route,
    // in each); text otherwise.
    if std::env::var("CRM_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        log.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        log.with_ansi(std::io::stderr().is_terminal()).init();
    }
    if let Err(e) = api::cli::run(cli).await {
        tracing::error!(error = %e, "failed");
        std::process::exit(1);
    }
}
