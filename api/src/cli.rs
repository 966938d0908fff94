//! The `crm` command line.

use std::io::IsTerminal;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::bench::BenchArgs;
use crate::config::{Config, ServeArgs, StoreArgs};
use crate::server;

#[derive(Debug, Parser)]
#[command(
    name = "crm",
    version,
    about = "The broker CRM: leads, clients, KYC and holdings as an event-sourced system of record"
)]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (applies migrations and starts the projection runner).
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Rebuild read models from the start of the log into fresh tables and swap them in.
    Rebuild {
        /// One projection to rebuild (default: all). Known: leads.
        projection: Option<String>,
    },
    /// Measure command throughput and latency, projection catch-up and a raw insert baseline.
    Bench(BenchArgs),
    /// Data retention.
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetentionAction {
    /// Carry out the erasures that are due and print what was done.
    Run,
}

pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(serve) => {
            let running = server::start(Config {
                store: cli.store,
                serve,
            })
            .await
            .map_err(|e| e.to_string())?;
            running.wait().await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let mut config = Config::ephemeral(cli.store.data_dir, cli.store.database_url);
            config.store.master_key = cli.store.master_key;
            let (db, _) = server::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(store = db.kind(), "schema is up to date");
            db.close().await;
            Ok(())
        }
        Command::Rebuild { projection } => {
            let mut config = Config::ephemeral(cli.store.data_dir, cli.store.database_url);
            config.store.master_key = cli.store.master_key;
            let (db, keyring) = server::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            let all = projections::all(&keyring);
            let chosen: Vec<_> = match &projection {
                None => all,
                Some(name) => {
                    let found: Vec<_> = all.into_iter().filter(|p| p.name() == name).collect();
                    if found.is_empty() {
                        return Err(format!("unknown projection {name:?} (known: leads)"));
                    }
                    found
                }
            };
            for p in chosen {
                let total = projections::log::head(&db)
                    .await
                    .map_err(|e| e.to_string())?;
                let started = Instant::now();
                let bar = std::io::stderr().is_terminal().then(|| {
                    let bar = ProgressBar::new(total.max(0) as u64);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{msg} [{bar:40}] {pos}/{len} events ({per_sec})",
                        )
                        .expect("valid template"),
                    );
                    bar.set_message(p.name());
                    bar
                });
                let mut last_logged = 0u64;
                let done = projections::rebuild::rebuild(&db, p.as_ref(), |n| match &bar {
                    Some(b) => b.set_position(n),
                    None => {
                        if n - last_logged >= 50_000 {
                            last_logged = n;
                            tracing::info!(projection = p.name(), events = n, "rebuilding");
                        }
                    }
                })
                .await
                .map_err(|e| e.to_string())?;
                if let Some(b) = bar {
                    b.finish();
                }
                let secs = started.elapsed().as_secs_f64();
                tracing::info!(
                    projection = p.name(),
                    events = done.events,
                    position = done.checkpoint.position,
                    seconds = format!("{secs:.2}"),
                    "rebuilt and swapped in"
                );
            }
            db.close().await;
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(cli.store, args).await,
        Command::Retention {
            action: RetentionAction::Run,
        } => {
            let mut config = Config::ephemeral(cli.store.data_dir, cli.store.database_url);
            config.store.master_key = cli.store.master_key;
            let (db, keyring) = server::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            // The read model must be current to know what is due.
            projections::runner::catch_up(&db, &projections::all(&keyring))
                .await
                .map_err(|e| e.to_string())?;
            let leads = commands::Executor::new(
                &db,
                domain::lead::LeadServices {
                    clock: domain::Clock::system(),
                },
                commands::LogSignal::default(),
                keyring.clone(),
                domain::lead::upcasters(),
            );
            let report = crate::retention::run(&db, &leads, &keyring).await?;
            for id in &report.erased {
                println!("erased {id}");
            }
            for (id, why) in &report.blocked {
                println!("kept {id}: {why}");
            }
            println!(
                "retention run: {} erased, {} kept",
                report.erased.len(),
                report.blocked.len()
            );
            db.close().await;
            Ok(())
        }
    }
}
