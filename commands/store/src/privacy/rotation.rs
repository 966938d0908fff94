//! Rotating the master key: every data subject's key re-wrapped with a new master key, the old
//! one kept among the previous keys so that an interruption at any point leaves every data key
//! unwrappable.

use std::path::Path;

use super::{generate_master_key, master_key_file, previous_keys_file, write_key_file, Keyring};
use crate::Db;

/// Rotates to a new master key and answers how many data keys were re-wrapped. With a master
/// key given in configuration (`current`), the new one must be given too (`new_key`) and the
/// operator sets it on every server afterwards; with the key files of the data directory, a new
/// key is generated and the files are updated first.
pub async fn rotate(
    db: &Db,
    data_dir: &Path,
    current: Option<&str>,
    previous: &[String],
    new_key: Option<String>,
) -> Result<u64, String> {
    let (new_key, previous) = match current {
        Some(current) => {
            let new_key = new_key.ok_or_else(|| {
                "with CRM_MASTER_KEY set, give the new key in CRM_NEW_MASTER_KEY".to_string()
            })?;
            let mut previous = previous.to_vec();
            previous.push(current.to_string());
            (new_key, previous)
        }
        None => {
            // Files first: the old key joins the previous ones before anything is re-wrapped.
            let current_file = master_key_file(data_dir);
            let current = std::fs::read_to_string(&current_file)
                .map_err(|e| format!("cannot read {}: {e}", current_file.display()))?;
            let previous_file = previous_keys_file(data_dir);
            let mut kept = std::fs::read_to_string(&previous_file).unwrap_or_default();
            kept.push_str(current.trim());
            kept.push('\n');
            write_key_file(&previous_file, &kept).map_err(|e| e.to_string())?;
            let new_key = generate_master_key();
            write_key_file(&current_file, &new_key).map_err(|e| e.to_string())?;
            (new_key, previous.to_vec())
        }
    };
    let master = current.map(|_| new_key.as_str());
    let keyring = Keyring::load(db, data_dir, master, &previous)
        .await
        .map_err(|e| e.to_string())?;
    let keys = keyring
        .rewrap_all(&new_key)
        .await
        .map_err(|e| e.to_string())?;
    let secrets = keyring
        .seal_webhook_secrets()
        .await
        .map_err(|e| e.to_string())?;
    Ok(keys + secrets)
}
