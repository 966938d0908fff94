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
    Serve(Box<ServeArgs>),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Rebuild read models from the start of the log into fresh tables and swap them in.
    Rebuild {
        /// One projection to rebuild (default: every one but the audit ledger); an unknown
        /// name answers with the known ones.
        projection: Option<String>,
    },
    /// Measure command throughput and latency, projection catch-up and a raw insert baseline.
    Bench(BenchArgs),
    /// Master key management.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// KYC housekeeping.
    Kyc {
        #[command(subcommand)]
        action: KycAction,
    },
    /// Reports kept as files.
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Bulk imports.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Client account housekeeping.
    Clients {
        #[command(subcommand)]
        action: ClientsAction,
    },
    /// Data retention.
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Create the documented demo users (see the README), three demo leads and a demo client
    /// with KYC documents; what exists is left alone.
    Seed {
        /// Also replay a year of a small broker: four branches, twenty staff, leads worked
        /// across twelve months, clients with KYC in every state and NSE portfolios.
        #[arg(long)]
        demo: bool,
        /// How many leads the demo year captures.
        #[arg(long, default_value_t = 2000, requires = "demo")]
        demo_leads: usize,
    },
    /// Copy the embedded SQLite store to a new file while it serves (the log, the sealed keys,
    /// the documents and the read models), checked; the master key is not in it. On Postgres:
    /// pg_dump or pg_basebackup, and `crm audit export`.
    Backup {
        /// The file to write (it must not exist).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// The tamper-evident audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// What the log refers to but does not hold (subject keys wrapped by the master key, sealed
    /// document files, sealed webhook secrets, blind-index reservations, sign-in names,
    /// prices, the notification outbox): exported beside `crm audit export` for `crm restore`.
    Vault {
        #[command(subcommand)]
        action: VaultAction,
    },
    /// Restore an empty store from `crm audit export` and `crm vault export` (taken in that
    /// order): both are verified whole before anything is written (the export against this
    /// store's audit signing key, the vault's keys against its master key: use the original
    /// ones), the log is loaded with its positions, ledger and signed checkpoints, and every
    /// read model is rebuilt.
    Restore {
        /// The audit export (JSON lines).
        #[arg(long = "from")]
        from: std::path::PathBuf,
        /// The vault export (JSON lines).
        #[arg(long)]
        vault: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum VaultAction {
    /// Write the vault's rows as JSON lines to standard output, read in one snapshot: keys
    /// wrapped, files and webhook secrets sealed, PANs and lead contacts as keyed hashes; staff
    /// sign-in e-mail addresses and webhook URLs are in the clear (keep the file as a secret).
    Export,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a user (the first admin, for instance). Asks for the password, or reads it from
    /// standard input with `--password-stdin`. Works while a server is running.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, branch_manager, relationship_manager, compliance_officer or auditor.
        #[arg(long)]
        role: String,
        /// Required for branch and relationship managers.
        #[arg(long)]
        branch: Option<String>,
        /// Read the password from standard input (one line) instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Write the event log, with its hash chains, ledger and signed checkpoints, as JSON
    /// lines to standard output.
    Export {
        /// Only events recorded at or after this time (RFC 3339).
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// Only events recorded before this time (RFC 3339).
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        /// Only one aggregate type, or one aggregate: `lead` or `lead/<id>`.
        #[arg(long)]
        aggregate: Option<String>,
    },
    /// Check every event's hash, every aggregate's chain, the ledger and the checkpoint
    /// signatures, on the live database or on an export file. Exits 1 naming the first broken
    /// event (position, aggregate, sequence).
    Verify {
        /// An export file to check instead of the live database.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The checkpoint public key to trust (hex). Default: for the live store, this
        /// server's key; for a file, the key each checkpoint names (pin it!).
        #[arg(long)]
        public_key: Option<String>,
        /// The file was exported with filters (`--from`, `--to`, `--aggregate`): check what it
        /// holds rather than demand the whole log.
        #[arg(long)]
        partial: bool,
    },
    /// Print the public key that checkpoints are signed with (for auditors to pin).
    PublicKey,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Replace the master key and re-wrap every data key with the new one; events and read
    /// models are untouched. With the key file (the default), the new key is written to
    /// `master.key` and the old one kept in `master.key.previous`. With `CRM_MASTER_KEY`, give
    /// the new key in `CRM_NEW_MASTER_KEY`, then configure it as `CRM_MASTER_KEY` (keep the old
    /// one in `CRM_PREVIOUS_MASTER_KEYS` until every server has restarted). Run it with the
    /// servers stopped: a running server knows only the master keys it started with.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum KycAction {
    /// Raise the alerts due (documents expiring, re-KYC falling due within the window; none
    /// twice) and move KYC that is due to `rekyc_due`; print what was done. The server does
    /// this at start and then every `CRM_KYC_ALERT_INTERVAL`.
    Alerts {
        /// How many days ahead to warn.
        #[arg(long, env = "CRM_KYC_ALERT_WINDOW_DAYS", default_value_t = 30)]
        within_days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// Generate a month's compliance pack (a PDF with the KYC states, the sales funnel and
    /// the reads of personal data, and the CSVs of the sales, client and compliance reports)
    /// under `<data dir>/reports/<month>/`, recorded as an event; print its files.
    Compliance {
        /// The month, `YYYY-MM` (default: last month).
        #[arg(long)]
        month: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// Import leads from a CSV file (header row: `name`, `email` and/or `phone`, optionally
    /// `source`, `source_detail`, `product_interest` (`;`-separated),
    /// `preferred_contact_method`, `preferred_contact_time`, `notes`, `investment_capacity`).
    /// Every row is checked; a
    /// bad row never stops the good ones; repeats within the file and people already on file
    /// are set aside, so importing the file again imports nothing twice. Prints a summary and
    /// every row not imported (`row,field,problem` as CSV); works while a server runs.
    Leads {
        /// The CSV file.
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientsAction {
    /// Mark inactive (dormant) every active account without an interaction or trade for
    /// `CRM_DORMANT_AFTER`, once each; print what was done. The server does this a minute
    /// after start and then every `CRM_DORMANCY_INTERVAL`.
    Dormancy,
    /// Review every open client's segment against `CRM_SEGMENT_THRESHOLDS` (declared net
    /// worth and assets under management at today's prices); print what was done. The server
    /// does this two minutes after start and then every `CRM_SEGMENT_INTERVAL`. Prices come
    /// as the server's do (`CRM_PRICE_URL`, `CRM_PRICE_FIXTURES`, …).
    Segments {
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetentionAction {
    /// Carry out the erasures that are due and print what was done.
    Run,
}

/// The write side for a housekeeping command, with the read models brought up to the end of the
/// log first (what is due is decided from them).
async fn current_write_side(store: StoreArgs) -> Result<commands::WriteSide, String> {
    let mut config = Config::ephemeral(store.data_dir.clone(), store.database_url.clone());
    config.store = store;
    let (write, signer) = server::open_write_side(&config)
        .await
        .map_err(|e| e.to_string())?;
    projections::runner::catch_up(
        &write.db,
        &projections::all(
            &write.keyring,
            &signer,
            config.store.holding_periods(),
            config.store.score_weights,
        ),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(write)
}

pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(serve) => {
            let running = server::start(Config {
                store: cli.store,
                serve: *serve,
            })
            .await
            .map_err(|e| e.to_string())?;
            running.wait().await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let mut config = Config::ephemeral(cli.store.data_dir, cli.store.database_url);
            config.store.master_key = cli.store.master_key;
            config.store.previous_master_keys = cli.store.previous_master_keys;
            // The portfolio read model is built for the holding periods configured.
            config.store.long_term_months_equity = cli.store.long_term_months_equity;
            config.store.long_term_months_other = cli.store.long_term_months_other;
            let (db, _, _) = server::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(store = db.kind(), "schema is up to date");
            db.close().await;
            Ok(())
        }
        Command::Rebuild { projection } => {
            let mut config =
                Config::ephemeral(cli.store.data_dir.clone(), cli.store.database_url.clone());
            config.store = cli.store;
            let (db, keyring, signer) = server::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            let all = projections::all(
                &keyring,
                &signer,
                config.store.holding_periods(),
                config.store.score_weights,
            );
            let chosen = projections::rebuild::select(all, projection.as_deref())?;
            let names: Vec<&str> = chosen.iter().map(|p| p.name()).collect();
            let names = names.join(", ");
            let total = store::log::head(&db).await.map_err(|e| e.to_string())?;
            let started = Instant::now();
            let bar = events_bar(total.max(0) as u64, &names);
            let mut last_logged = 0u64;
            let group: Vec<&dyn projections::Projection> =
                chosen.iter().map(|p| p.as_ref()).collect();
            let done = projections::rebuild::rebuild_all(&db, &group, |n| match &bar {
                Some(b) => b.set_position(n),
                None => {
                    if n - last_logged >= 50_000 {
                        last_logged = n;
                        tracing::info!(events = n, "rebuilding");
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
                projections = names,
                events = done.events,
                position = done.checkpoint.position,
                seconds = format!("{secs:.2}"),
                "rebuilt and swapped in"
            );
            db.close().await;
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(cli.store, args).await,
        Command::User {
            action:
                UserAction::Create {
                    email,
                    name,
                    role,
                    branch,
                    password_stdin,
                },
        } => {
            let role = domain::user::Role::parse(&role).ok_or_else(|| {
                format!("unknown role {role:?}: admin, branch_manager, relationship_manager, compliance_officer or auditor")
            })?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| e.to_string())?;
                line.trim_end_matches(['\n', '\r']).to_string()
            } else {
                let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
                let again =
                    rpassword::prompt_password("Password again: ").map_err(|e| e.to_string())?;
                if first != again {
                    return Err("the passwords differ".into());
                }
                first
            };
            let tools = crate::tools::Tools::open(cli.store).await?;
            let (id, _) = tools
                .register(&email, &name, role, branch.as_deref(), &password)
                .await?;
            println!("created user {id} ({})", role.as_str());
            tools.close().await;
            Ok(())
        }
        Command::Seed { demo, demo_leads } => {
            if cli
                .store
                .database_url
                .as_deref()
                .is_some_and(|u| u.starts_with("postgres"))
            {
                return Err(
                    "demo users have published passwords: crm seed only runs on the embedded \
                     SQLite store; create real users with crm user create"
                        .into(),
                );
            }
            let tools = crate::tools::Tools::open(cli.store.clone()).await?;
            for line in commands::seed::demo(&tools.write).await? {
                println!("{line}");
            }
            if demo {
                if commands::seed::year::seeded(&tools.write).await? {
                    println!("kept    the demo year (exists)");
                } else {
                    let now = chrono::Utc::now();
                    let (clock, time) = domain::Clock::manual(now);
                    let write = tools.write_side_at(clock);
                    let bar = std::io::stderr().is_terminal().then(|| {
                        let bar = ProgressBar::new(365);
                        bar.set_style(
                            ProgressStyle::with_template("demo year [{bar:40}] {pos}/{len} days")
                                .expect("valid template"),
                        );
                        bar
                    });
                    let lines = commands::seed::year::replay(
                        &write,
                        &time,
                        now,
                        demo_leads,
                        |done, days| match &bar {
                            Some(b) => {
                                b.set_length(days);
                                b.set_position(done);
                            }
                            None if done % 30 == 0 || done == days => {
                                eprintln!("demo year: {done} of {days} days replayed")
                            }
                            None => {}
                        },
                    )
                    .await?;
                    if let Some(b) = bar {
                        b.finish_and_clear();
                    }
                    for line in lines {
                        println!("{line}");
                    }
                }
            }
            tools.close().await;
            Ok(())
        }
        Command::Audit { action } => crate::tools::audit(cli.store, action).await,
        Command::Backup { to } => backup(cli.store, &to).await,
        Command::Vault {
            action: VaultAction::Export,
        } => crate::tools::export_vault(cli.store).await,
        Command::Restore { from, vault } => crate::tools::restore(cli.store, &from, &vault).await,
        Command::Keys {
            action: KeysAction::Rotate,
        } => rotate(cli.store).await,
        Command::Report {
            action: ReportAction::Compliance { month },
        } => compliance_pack(cli.store, month).await,
        Command::Kyc {
            action: KycAction::Alerts { within_days },
        } => {
            let write = current_write_side(cli.store).await?;
            let today = domain::kyc::india_today(chrono::Utc::now());
            let run = commands::kyc::alerts::run(&write, today, within_days)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "checked {} client(s): {} alert(s) raised, {} KYC(s) now due, {} failed",
                run.checked, run.raised, run.due, run.failed
            );
            write.db.close().await;
            if run.failed > 0 {
                return Err(format!("{} client(s) failed (see the log)", run.failed));
            }
            Ok(())
        }
        Command::Clients {
            action: ClientsAction::Dormancy,
        } => {
            let after = cli.store.dormant_after;
            let write = current_write_side(cli.store).await?;
            let today = domain::kyc::india_today(chrono::Utc::now());
            let run = commands::clients::dormancy::run(&write, today, after)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "checked {} account(s) without recent activity: {} marked inactive, {} failed",
                run.checked, run.marked, run.failed
            );
            write.db.close().await;
            if run.failed > 0 {
                return Err(format!("{} account(s) failed (see the log)", run.failed));
            }
            Ok(())
        }
        Command::Clients {
            action: ClientsAction::Segments { serve },
        } => {
            let thresholds = cli.store.segment_thresholds;
            let mut config =
                Config::ephemeral(cli.store.data_dir.clone(), cli.store.database_url.clone());
            config.store = cli.store.clone();
            config.serve = *serve;
            let write = current_write_side(cli.store).await?;
            let prices = server::price_book(&config, &write.db)
                .await
                .map_err(|e| e.to_string())?;
            let run = crate::clients::segments::run(&write, &prices, thresholds).await?;
            println!(
                "reviewed {} open client(s): {} moved to another segment, {} failed",
                run.checked, run.moved, run.failed
            );
            write.db.close().await;
            if run.failed > 0 {
                return Err(format!("{} client(s) failed (see the log)", run.failed));
            }
            Ok(())
        }
        Command::Import {
            what: ImportWhat::Leads { file },
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let write = current_write_side(cli.store).await?;
            let bar = events_bar(0, "importing");
            if let Some(b) = &bar {
                b.set_style(
                    ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows ({per_sec})")
                        .expect("valid template"),
                );
            }
            let meta = store::EventMetadata::system(None);
            // The file is the operator's: checked against every lead, as an admin's would be.
            let actor = domain::access::Actor {
                user_id: uuid::Uuid::nil(),
                role: domain::user::Role::Admin,
                branch: None,
            };
            let report = crate::leads::import::run(
                &write,
                &actor,
                &text,
                &meta,
                &|| {
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                },
                &|n| {
                    if let Some(b) = &bar {
                        b.set_length(n as u64);
                    }
                },
            )
            .await
            .map_err(|crate::leads::import::FileProblem(why)| why)?;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            write.db.close().await;
            println!(
                "{} row(s): {} imported, {} already on file, {} repeated in the file, {} invalid, {} failed",
                report.rows,
                report.imported,
                report.already_on_file,
                report.repeated_in_file,
                report.invalid,
                report.failed
            );
            let mut out = csv::Writer::from_writer(std::io::stdout());
            let _ = out.write_record(["row", "field", "problem"]);
            for p in &report.problems {
                let _ = out.write_record([p.row.to_string(), p.field.clone(), p.message.clone()]);
            }
            let _ = out.flush();
            if report.failed > 0 {
                return Err(format!(
                    "{} row(s) failed (see the log); import the file again",
                    report.failed
                ));
            }
            Ok(())
        }
        Command::Retention {
            action: RetentionAction::Run,
        } => {
            let write = current_write_side(cli.store).await?;
            let report = commands::retention::run(&write)
                .await
                .map_err(|e| e.to_string())?;
            for id in &report.erased {
                println!("erased {id}");
            }
            for (id, n) in &report.documents_purged {
                println!("purged {n} document(s) of {id}");
            }
            for (id, why) in &report.blocked {
                println!("kept {id}: {why}");
            }
            for id in &report.failed {
                println!("failed {id} (see the log; tried again next run)");
            }
            println!(
                "retention run: {} erased, {} kept, {} document(s) purged",
                report.erased.len(),
                report.blocked.len(),
                report
                    .documents_purged
                    .iter()
                    .map(|(_, n)| n)
                    .sum::<usize>()
            );
            write.db.close().await;
            Ok(())
        }
    }
}

async fn backup(store: StoreArgs, to: &std::path::Path) -> Result<(), String> {
    let db = store::Db::connect(store.database_url.as_deref(), &store.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let bytes = store::backup::backup(&db, to)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "backed up to {} ({bytes} bytes, checked); keep the master key apart from it",
        to.display()
    );
    db.close().await;
    Ok(())
}

async fn rotate(store: StoreArgs) -> Result<(), String> {
    let db = store::Db::connect(store.database_url.as_deref(), &store.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let new_key = std::env::var("CRM_NEW_MASTER_KEY").ok();
    let n = store::privacy::rotation::rotate(
        &db,
        &store.data_dir,
        store.master_key.as_deref(),
        &store.previous_master_keys,
        new_key,
    )
    .await?;
    println!("re-wrapped {n} data keys and server secrets with the new master key");
    if store.master_key.is_some() {
        println!("now set CRM_MASTER_KEY to the new key on every server");
    }
    db.close().await;
    Ok(())
}

/// A progress bar over `total` log events named `what`, on a terminal only.
pub(crate) fn events_bar(total: u64, what: &str) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec})")
                .expect("valid template"),
        );
        bar.set_message(what.to_string());
        bar
    })
}

/// `crm report compliance`: the server's state in this process (read models caught up first),
/// then the pack.
async fn compliance_pack(store: StoreArgs, month: Option<String>) -> Result<(), String> {
    let today = domain::kyc::india_today(chrono::Utc::now());
    let month = match month {
        Some(m) => domain::report_pack::PackMonth::parse(&m, today)
            .map_err(|e| format!("--month: {}", e.message))?,
        None => crate::reports::pack::last_month(today),
    };
    let mut config =
        crate::config::Config::ephemeral(store.data_dir.clone(), store.database_url.clone());
    config.store = store;
    // Nobody signs in to this in-process server (it listens on a free local port while the
    // read models catch up): a throwaway token secret, and no schedule of its own.
    config.serve.jwt_secret = Some(store::privacy::generate_master_key());
    config.serve.compliance_pack_interval = 0;
    let running = crate::server::start(config)
        .await
        .map_err(|e| e.to_string())?;
    let state = running.state.clone();
    let head = store::log::head(&state.db)
        .await
        .map_err(|e| e.to_string())?;
    for p in &state.projections {
        state
            .progress
            .wait_for(p.name(), head, std::time::Duration::from_secs(600))
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut meta = store::EventMetadata::system(None);
    meta.user_agent = Some("crm report compliance".into());
    let pack = crate::reports::pack::generate(&state, &state.packs_dir.clone(), month, &meta)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let dir = state.packs_dir.join(month.to_string());
    for f in &pack.files {
        println!("{:<28} {:>9} bytes  sha256 {}", f.name, f.bytes, f.sha256);
    }
    println!("compliance pack {month} written to {}", dir.display());
    running.stop().await;
    Ok(())
}
