//! Server secrets given in the environment or kept in a file in the data directory.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{name} is not set and {path} does not exist; set it (a generated one is kept only for the embedded SQLite store)")]
    Missing { name: &'static str, path: String },
    #[error("{0} must be at least 32 characters")]
    TooShort(&'static str),
    #[error("cannot read or write {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

/// The secret from `given` (an environment variable called `name`), else from `file`, which is
/// generated (random, mode 0600) when missing if `generate`.
pub fn load(
    name: &'static str,
    given: Option<&str>,
    file: &Path,
    generate: bool,
) -> Result<String, SecretError> {
    let text = match given {
        Some(s) => s.trim().to_string(),
        None => match std::fs::read_to_string(file) {
            Ok(t) => t.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && generate => {
                let fresh = crate::privacy::generate_master_key();
                crate::privacy::write_key_file(file, &fresh).map_err(|source| {
                    SecretError::File {
                        path: file.display().to_string(),
                        source,
                    }
                })?;
                fresh
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SecretError::Missing {
                    name,
                    path: file.display().to_string(),
                })
            }
            Err(source) => {
                return Err(SecretError::File {
                    path: file.display().to_string(),
                    source,
                })
            }
        },
    };
    if text.len() < 32 {
        return Err(SecretError::TooShort(name));
    }
    Ok(text)
}
