//! Command-line tools that work on the store directly, beside or without a running server:
//! `crm user create`, `crm seed` and `crm audit`.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use domain::user::Role;
use indicatif::{ProgressBar, ProgressStyle};
use store::audit::AuditSigner;
use store::privacy::Keyring;
use store::Db;
use uuid::Uuid;

use crate::cli::AuditAction;
use crate::config::{Config, StoreArgs};
use crate::server;
use projections::audit::{ExportFilter, Line, Report};

pub struct Tools {
    pub write: commands::WriteSide,
    db: Db,
    signer: Arc<AuditSigner>,
    config: Config,
}

impl Tools {
    pub async fn open(store: StoreArgs) -> Result<Self, String> {
        let mut config = Config::ephemeral(store.data_dir.clone(), store.database_url.clone());
        config.store = store;
        let (write, signer) = server::open_write_side(&config)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            db: write.db.clone(),
            write,
            signer,
            config,
        })
    }

    /// Another write side on the same store whose aggregates read `clock`.
    pub fn write_side_at(&self, clock: domain::Clock) -> commands::WriteSide {
        server::write_side_with_clock(
            &self.config,
            &self.db,
            &self.write.keyring,
            store::LogSignal::default(),
            clock,
        )
    }

    /// Registers a user whose password the operator chose (no change forced).
    pub async fn register(
        &self,
        email: &str,
        name: &str,
        role: Role,
        branch: Option<&str>,
        password: &str,
    ) -> Result<(Uuid, i64), String> {
        commands::users::register_operator(&self.write, email, name, role, branch, password).await
    }

    pub async fn close(self) {
        self.db.close().await;
    }
}

fn print_report(report: &Report) -> Result<(), String> {
    for line in report.lines() {
        println!("{line}");
    }
    report.verdict()
}

pub async fn audit(store: StoreArgs, action: AuditAction) -> Result<(), String> {
    match action {
        AuditAction::Verify {
            file: Some(path),
            public_key,
            partial,
        } => {
            let f = std::fs::File::open(&path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            if public_key.is_none() {
                println!(
                    "note: checkpoints are checked against the key each one names; pin the \
                     server's key (crm audit public-key) with --public-key"
                );
            }
            let report =
                projections::audit::verify_lines(std::io::BufReader::new(f), public_key, partial)?;
            print_report(&report)
        }
        AuditAction::Verify {
            file: None,
            public_key,
            partial: _,
        } => {
            let tools = Tools::open(store).await?;
            catch_up_ledger(&tools).await?;
            let key = public_key.unwrap_or_else(|| tools.signer.public_key_hex());
            let report = projections::audit::verify_live(&tools.db, Some(key)).await;
            tools.close().await;
            print_report(&report?)
        }
        AuditAction::PublicKey => {
            let tools = Tools::open(store).await?;
            println!("{}", tools.signer.public_key_hex());
            tools.close().await;
            Ok(())
        }
        AuditAction::Export {
            from,
            to,
            aggregate,
        } => {
            let (aggregate_type, aggregate_id) = match aggregate.as_deref() {
                None => (None, None),
                Some(a) => match a.split_once('/') {
                    Some((t, i)) => (Some(t.to_string()), Some(i.to_string())),
                    None => (Some(a.to_string()), None),
                },
            };
            let filter = ExportFilter {
                from,
                to,
                aggregate_type,
                aggregate_id,
            };
            let tools = Tools::open(store).await?;
            catch_up_ledger(&tools).await?;
            let total = store::log::head(&tools.db)
                .await
                .map_err(|e| e.to_string())?;
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = ProgressBar::new(total.max(0) as u64);
                bar.set_style(
                    ProgressStyle::with_template("export [{bar:40}] {pos}/{len} events")
                        .expect("valid template"),
                );
                bar
            });
            let (tx, mut rx) = tokio::sync::mpsc::channel(projections::audit::EXPORT_QUEUE);
            let db = tools.db.clone();
            let walk =
                tokio::spawn(async move { projections::audit::export(&db, &filter, tx).await });
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut written = 0u64;
            while let Some(lines) = rx.recv().await {
                for line in &lines {
                    serde_json::to_writer(&mut out, line).map_err(|e| e.to_string())?;
                    out.write_all(b"\n").map_err(|e| e.to_string())?;
                    if matches!(line, Line::Event { .. }) {
                        written += 1;
                    }
                }
                if let Some(b) = &bar {
                    b.set_position(written);
                }
            }
            out.flush().map_err(|e| e.to_string())?;
            drop(out);
            walk.await.map_err(|e| e.to_string())??;
            if let Some(b) = bar {
                b.finish();
            }
            eprintln!("exported {written} events");
            tools.close().await;
            Ok(())
        }
    }
}

/// `crm vault export`: the vault's rows as JSON lines on standard output.
pub async fn export_vault(store: StoreArgs) -> Result<(), String> {
    let tools = Tools::open(store).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let n = store::vault::export(&tools.db, |row| {
        serde_json::to_writer(&mut out, &row).map_err(|e| e.to_string())?;
        out.write_all(b"\n").map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    eprintln!("exported {n} vault rows");
    tools.close().await;
    Ok(())
}

/// `crm restore`: an empty store from an audit export and a vault export, with progress.
pub async fn restore(
    store: StoreArgs,
    from: &std::path::Path,
    vault: &std::path::Path,
) -> Result<(), String> {
    use projections::restore::Stage;
    let mut config = Config::ephemeral(store.data_dir.clone(), store.database_url.clone());
    config.store = store;
    let (db, keyring, signer) = server::open_store(&config)
        .await
        .map_err(|e| e.to_string())?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}: {pos} ({per_sec})")
                .expect("valid template"),
        );
        bar
    });
    let mut stage = None;
    let started = std::time::Instant::now();
    let mut progress = |s, n| {
        if stage != Some(s) {
            stage = Some(s);
            let what = match s {
                Stage::Verifying => "verifying the export (events)",
                Stage::CheckingVault => "checking the vault (rows)",
                Stage::LoadingVault => "loading the vault (rows)",
                Stage::Loading => "loading the log, verified again (events)",
                Stage::Rebuilding => "rebuilding the read models (events)",
            };
            match &bar {
                Some(b) => {
                    b.reset();
                    b.set_message(what);
                }
                None => tracing::info!(stage = what, "restoring"),
            }
        }
        if let Some(b) = &bar {
            b.set_position(n);
        }
    };
    let loaded = projections::restore::load(
        &db,
        &keyring,
        &signer.public_key_hex(),
        from,
        vault,
        &mut progress,
    )
    .await;
    let done = match loaded {
        Ok(done) => {
            // The keyring again: the vault brought the original's blind-index secret.
            let rebuilt = match Keyring::load(
                &db,
                &config.store.data_dir,
                config.store.master_key.as_deref(),
                &config.store.previous_master_keys,
            )
            .await
            {
                Ok(keyring) => {
                    let all = projections::all(
                        &Arc::new(keyring),
                        &signer,
                        config.store.holding_periods(),
                        config.store.score_weights,
                    );
                    projections::restore::rebuild(&db, &all, |n| progress(Stage::Rebuilding, n))
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            rebuilt.map(|_| done)
        }
        Err(e) => Err(e.to_string()),
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    db.close().await;
    let done = done?;
    println!(
        "restored {} events (head {}), {} ledger entries and {} signed checkpoints, {} vault \
         rows ({} subject keys, {} shredded stay shredded; {} left out, made after the export); \
         read models rebuilt in {:.1} s",
        done.events,
        done.head,
        done.ledgered,
        done.checkpoints,
        done.vault_rows,
        done.subject_keys,
        done.shredded,
        done.left_out,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Brings the ledger up to the end of the log (a server does this continuously; the command
/// line may run without one).
async fn catch_up_ledger(tools: &Tools) -> Result<(), String> {
    let ledger: Vec<Arc<dyn projections::Projection>> = vec![Arc::new(
        projections::ledger::LedgerProjection::new(tools.signer.clone()),
    )];
    match projections::runner::catch_up(&tools.db, &ledger).await {
        // A running server's ledger worker moved it meanwhile: it is keeping up.
        Ok(_) | Err(projections::ProjectionError::CheckpointMoved) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
