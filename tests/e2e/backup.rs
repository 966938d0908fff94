//! Backups of the embedded store: taken while the server runs, checked, opened with the
//! master key kept apart, verified as a log; scheduled ones kept to their number. On
//! Postgres the command refuses and names the database's own tools.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::on_both_stores;
use crate::support::{asha, crm, App, Fresh, Store};

on_both_stores!(a_backup_taken_while_serving_opens_and_verifies);

/// `crm` with `args` on the app's settings, `CRM_DATA_DIR` as given: success and output.
async fn crm_on(app: &App, data_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    app.fresh.env(&mut cmd);
    cmd.env("CRM_DATA_DIR", data_dir);
    let out = cmd.output().await.expect("run crm");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn a_backup_taken_while_serving_opens_and_verifies(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.backup_interval_secs = 1;
        c.serve.backup_keep = 2;
    })
    .await;
    let (lead, _) = app.capture(asha()).await;
    app.caught_up().await;
    let into = app.fresh.data_dir.with_extension("restored");
    let file = into.join("crm.db");
    let (ok, text) = crm_on(
        &app,
        &app.fresh.data_dir,
        &["backup", "--to", file.to_str().unwrap()],
    )
    .await;
    if store == Store::Postgres {
        assert!(!ok && text.contains("pg_dump"), "{text}");
        assert!(!file.exists());
        app.stop().await;
        return;
    }
    assert!(ok && text.contains("checked"), "{text}");
    // Never over an existing file.
    let (ok, text) = crm_on(
        &app,
        &app.fresh.data_dir,
        &["backup", "--to", file.to_str().unwrap()],
    )
    .await;
    assert!(!ok && text.contains("exists"), "{text}");

    // With the master key (kept apart) beside it, the copy is a store: its log verifies and
    // the lead's history is there, personal data opened.
    std::fs::copy(
        app.fresh.data_dir.join("master.key"),
        into.join("master.key"),
    )
    .unwrap();
    let (ok, text) = crm_on(&app, &into, &["audit", "verify"]).await;
    assert!(ok, "{text}");
    let original = crm(&app, &["audit", "export"], &[]).await;
    let (ok, copied) = crm_on(&app, &into, &["audit", "export"]).await;
    assert!(ok, "{copied}");
    let events = |text: &str| {
        text.lines()
            .filter(|l| l.contains(&lead))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(!events(&original).is_empty(), "{original}");
    assert_eq!(events(&copied), events(&original));

    // Scheduled: one a second, the newest two kept.
    let dir = app.fresh.data_dir.join("backups");
    let count = || {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".db"))
                    .count()
            })
            .unwrap_or(0)
    };
    for _ in 0..100 {
        if count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(), 2);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(count(), 2, "the oldest go");
    app.stop().await;
    let _ = std::fs::remove_dir_all(&into);
}
