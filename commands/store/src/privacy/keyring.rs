use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::{Db, StoreError};
use crate::with_db;

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("the master key is invalid: {0}")]
    MasterKey(String),
    #[error("cannot read or write the master key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the data subject's key was destroyed; their data can no longer be written")]
    Shredded,
    #[error("a key or field could not be decrypted (wrong master key or altered data)")]
    Decrypt,
    #[error("not offered: {0}")]
    Unsupported(&'static str),
    /// An event type whose personal fields nobody listed (see `domain::personal`).
    #[error("the event type {0} is not in its aggregate's personal-field table")]
    Unclassified(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PrivacyError {
    fn from(e: sqlx::Error) -> Self {
        PrivacyError::Store(StoreError::Database(e))
    }
}

/// Unwrapped keys are cached briefly; a shred in this process evicts at once, one in another
/// process is seen within this time.
const CACHE_TTL: Duration = Duration::from_secs(30);

type Cached = (Instant, Option<Arc<Aes256Gcm>>);

/// The master key, the subjects' data keys and the blind-index key.
pub struct Keyring {
    db: Db,
    master: Master,
    previous: Vec<Master>,
    index_key: [u8; 32],
    pub(super) nonce_key: [u8; 32],
    cache: Mutex<HashMap<String, Cached>>,
    /// Subjects shredded by this process: never served from the cache again.
    shredded: Mutex<std::collections::HashSet<String>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring")
    }
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

fn master_from_hex(text: &str) -> Result<[u8; 32], PrivacyError> {
    let bytes = hex::decode(text.trim()).map_err(|e| PrivacyError::MasterKey(e.to_string()))?;
    bytes
        .try_into()
        .map_err(|_| PrivacyError::MasterKey("expected 32 bytes as 64 hex digits".into()))
}

/// A master key and its id (the first 8 hex digits of its SHA-256), which prefixes every data
/// key it wraps so that old and new masters can both be in use during a rotation.
struct Master {
    id: String,
    cipher: Aes256Gcm,
}

impl Master {
    fn new(bytes: &[u8; 32]) -> Self {
        use sha2::Digest;
        Self {
            id: hex::encode(&Sha256::digest(bytes)[..4]),
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)),
        }
    }
}

/// What the secret of the webhook subscription `id` is sealed for.
pub fn webhook_secret_label(id: &str) -> String {
    format!("webhook:{id}")
}

/// The subject id under which the keyring keeps its own secret (blind-index and nonce keys).
/// The subject whose key holds the blind-index and nonce secrets (made when a store is opened
/// first; a restore replaces it with the original's).
pub const SYSTEM_SUBJECT: &str = "crm:system";

/// Where the master key lives when it is not given in the environment.
pub fn master_key_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("master.key")
}

/// Former master keys kept for unwrapping until a rotation has re-wrapped everything.
pub fn previous_keys_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("master.key.previous")
}

/// Generates a new random master key, as 64 hex digits.
pub fn generate_master_key() -> String {
    let key: [u8; 32] = Aes256Gcm::generate_key(&mut OsRng).into();
    hex::encode(key)
}

/// Writes a key file readable by its owner only.
pub fn write_key_file(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    // The rename must reach the disk too: a lost master key file loses every data key.
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl Keyring {
    /// The master key comes from `master_hex` (`CRM_MASTER_KEY`), else from `master.key` in the
    /// data directory, which is generated (mode 0600) when missing. Former master keys come
    /// from `previous_hex` (`CRM_PREVIOUS_MASTER_KEYS`) and `master.key.previous`.
    pub async fn load(
        db: &Db,
        data_dir: &Path,
        master_hex: Option<&str>,
        previous_hex: &[String],
    ) -> Result<Self, PrivacyError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| PrivacyError::KeyFile { path, source }
        };
        let master = match master_hex {
            Some(text) => master_from_hex(text)?,
            None => {
                let path = master_key_file(data_dir);
                match std::fs::read_to_string(&path) {
                    Ok(text) => master_from_hex(&text)?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::create_dir_all(data_dir).map_err(io(&path))?;
                        let key = generate_master_key();
                        write_private(&path, &key).map_err(io(&path))?;
                        if matches!(db, Db::Postgres(_)) {
                            tracing::warn!("generated a master key file; on Postgres set CRM_MASTER_KEY from a secret store");
                        }
                        master_from_hex(&key)?
                    }
                    Err(e) => return Err(io(&path)(e)),
                }
            }
        };
        let mut previous = Vec::new();
        for text in previous_hex {
            previous.push(Master::new(&master_from_hex(text)?));
        }
        match std::fs::read_to_string(previous_keys_file(data_dir)) {
            Ok(text) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    previous.push(Master::new(&master_from_hex(line)?));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&previous_keys_file(data_dir))(e)),
        }
        let mut keyring = Self {
            db: db.clone(),
            master: Master::new(&master),
            previous,
            index_key: [0; 32],
            nonce_key: [0; 32],
            cache: Mutex::new(HashMap::new()),
            shredded: Mutex::new(Default::default()),
        };
        // The blind-index and nonce keys derive from a secret kept wrapped in the store, so
        // that they survive a rotation of the master key (search keeps working).
        let secret = keyring
            .raw_key(SYSTEM_SUBJECT, true)
            .await?
            .ok_or(PrivacyError::Shredded)?;
        keyring.index_key = derive(&secret, b"crm blind index v1");
        keyring.nonce_key = derive(&secret, b"crm derived nonce v1");
        Ok(keyring)
    }

    /// Re-wraps every live data key with `new_master` (64 hex digits). Events and read models
    /// are untouched: only the wrapping changes. Returns how many keys were re-wrapped.
    pub async fn rewrap_all(&self, new_master: &str) -> Result<u64, PrivacyError> {
        let target = Master::new(&master_from_hex(new_master)?);
        let rows: Vec<(String, String)> = with_db!(&self.db, pool => {
            sqlx::query_as("SELECT subject_id, wrapped_key FROM subject_keys WHERE wrapped_key IS NOT NULL")
                .fetch_all(pool)
                .await?
        });
        let mut done = 0;
        for (subject, wrapped) in rows {
            if wrapped.starts_with(&format!("{}$", target.id)) {
                continue;
            }
            let raw = self.unwrap_raw(&subject, &wrapped)?;
            let rewrapped = format!(
                "{}${}",
                target.id,
                seal_bytes(&target.cipher, &subject, &raw)
            );
            with_db!(&self.db, pool => {
                sqlx::query("UPDATE subject_keys SET wrapped_key = $1 WHERE subject_id = $2 AND wrapped_key = $3")
                    .bind(&rewrapped)
                    .bind(&subject)
                    .bind(&wrapped)
                    .execute(pool)
                    .await?;
            });
            done += 1;
        }
        Ok(done)
    }

    /// Seals with the current master key every webhook subscription secret that is not: one
    /// kept plain before secrets were sealed, or sealed by a former master key. Returns how
    /// many were sealed again.
    pub async fn seal_webhook_secrets(&self) -> Result<u64, PrivacyError> {
        let rows: Vec<(String, String)> = with_db!(&self.db, pool => {
            sqlx::query_as("SELECT id, secret FROM webhook_subscriptions")
                .fetch_all(pool)
                .await?
        });
        let mut done = 0;
        for (id, secret) in rows {
            let label = webhook_secret_label(&id);
            let sealed = if secret.starts_with("whsec_") {
                self.seal_secret(&label, &secret)
            } else {
                match self.reseal_secret(&label, &secret) {
                    Ok(Some(s)) => s,
                    Ok(None) => continue,
                    // One that does not open (sealed by a master key no longer configured)
                    // stops no other: its deliveries fail and say so.
                    Err(e) => {
                        tracing::warn!(subscription = %id, error = %e, "a webhook secret does not open");
                        continue;
                    }
                }
            };
            let _turn = self.db.write_turn().await;
            with_db!(&self.db, pool => {
                sqlx::query("UPDATE webhook_subscriptions SET secret = $1 WHERE id = $2 AND secret = $3")
                    .bind(&sealed)
                    .bind(&id)
                    .bind(&secret)
                    .execute(pool)
                    .await?;
            });
            done += 1;
        }
        Ok(done)
    }

    /// A keyed blind index of `value` for equality lookups (`kind` separates e-mail from phone).
    pub fn blind_index(&self, kind: &str, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("any key length");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    fn cached(&self, subject: &str) -> Option<Option<Arc<Aes256Gcm>>> {
        if self.shredded.lock().expect("shred list").contains(subject) {
            return Some(None);
        }
        let cache = self.cache.lock().expect("key cache");
        cache
            .get(subject)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, k)| k.clone())
    }

    fn remember(&self, subject: &str, key: Option<Arc<Aes256Gcm>>) {
        // A key read just before a shred in this process must not come back after it.
        if key.is_some() && self.shredded.lock().expect("shred list").contains(subject) {
            return;
        }
        let mut cache = self.cache.lock().expect("key cache");
        if cache.len() > 100_000 {
            cache.clear();
        }
        cache.insert(subject.to_string(), (Instant::now(), key));
    }

    async fn stored(&self, subject: &str) -> Result<Option<(Option<String>,)>, PrivacyError> {
        Ok(with_db!(&self.db, pool => {
            sqlx::query_as("SELECT wrapped_key FROM subject_keys WHERE subject_id = $1")
                .bind(subject)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// `plain` sealed with the master key for `label` (what it is and whose, e.g.
    /// `webhook:<id>`): for the server's own secrets that must be read back, such as the keys
    /// webhooks are signed with. Prefixed by the master key's id, like a data key.
    pub fn seal_secret(&self, label: &str, plain: &str) -> String {
        self.wrap(label, plain.as_bytes())
    }

    /// What [`Keyring::seal_secret`] sealed for `label`, by the current or a former master key.
    pub fn open_secret(&self, label: &str, sealed: &str) -> Result<String, PrivacyError> {
        let raw = self.unwrap_with_master(label, sealed)?;
        String::from_utf8(raw).map_err(|_| PrivacyError::Decrypt)
    }

    /// `sealed` (by [`Keyring::seal_secret`] for `label`) sealed again with the current master
    /// key; `None` when it already is.
    pub fn reseal_secret(&self, label: &str, sealed: &str) -> Result<Option<String>, PrivacyError> {
        if sealed.starts_with(&format!("{}$", self.master.id)) {
            return Ok(None);
        }
        Ok(Some(
            self.seal_secret(label, &self.open_secret(label, sealed)?),
        ))
    }

    /// Whether `wrapped` (as `subject_keys` holds it) opens with this keyring's master keys:
    /// what a restore checks before it writes anything.
    pub fn opens(&self, subject: &str, wrapped: &str) -> bool {
        self.unwrap_raw(subject, wrapped).is_ok()
    }

    fn unwrap_raw(&self, subject: &str, wrapped: &str) -> Result<Vec<u8>, PrivacyError> {
        let raw = self.unwrap_with_master(subject, wrapped)?;
        if raw.len() != 32 {
            return Err(PrivacyError::Decrypt);
        }
        Ok(raw)
    }

    fn unwrap_with_master(&self, subject: &str, wrapped: &str) -> Result<Vec<u8>, PrivacyError> {
        let (master, body) = match wrapped.split_once('$') {
            Some((id, body)) => {
                let m = std::iter::once(&self.master)
                    .chain(&self.previous)
                    .find(|m| m.id == id)
                    .ok_or_else(|| {
                        PrivacyError::MasterKey(format!("no master key with id {id} is configured"))
                    })?;
                (m, body)
            }
            None => (&self.master, wrapped),
        };
        open_bytes(&master.cipher, subject, body)
    }

    fn wrap(&self, subject: &str, raw: &[u8]) -> String {
        format!(
            "{}${}",
            self.master.id,
            seal_bytes(&self.master.cipher, subject, raw)
        )
    }

    fn unwrap_key(&self, subject: &str, wrapped: &str) -> Result<Arc<Aes256Gcm>, PrivacyError> {
        let raw = self.unwrap_raw(subject, wrapped)?;
        Ok(Arc::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw))))
    }

    /// The raw bytes of the subject's key, made when missing if `create`; `None` if destroyed.
    async fn raw_key(&self, subject: &str, create: bool) -> Result<Option<Vec<u8>>, PrivacyError> {
        if let Some((wrapped,)) = self.stored(subject).await? {
            return wrapped.map(|w| self.unwrap_raw(subject, &w)).transpose();
        }
        if !create {
            return Ok(None);
        }
        let fresh = Aes256Gcm::generate_key(&mut OsRng);
        let wrapped = self.wrap(subject, fresh.as_slice());
        let stored: Option<String> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "INSERT INTO subject_keys (subject_id, wrapped_key, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (subject_id) DO UPDATE SET subject_id = excluded.subject_id
                 RETURNING wrapped_key",
            )
            .bind(subject)
            .bind(&wrapped)
            .bind(Utc::now())
            .fetch_one(pool)
            .await?
        });
        stored.map(|w| self.unwrap_raw(subject, &w)).transpose()
    }

    /// The subject's key for reading; `None` when it was destroyed or never made.
    pub async fn reader_key(&self, subject: &str) -> Result<Option<Arc<Aes256Gcm>>, PrivacyError> {
        if let Some(k) = self.cached(subject) {
            return Ok(k);
        }
        let key = match self.stored(subject).await? {
            Some((Some(wrapped),)) => Some(self.unwrap_key(subject, &wrapped)?),
            _ => None,
        };
        self.remember(subject, key.clone());
        Ok(key)
    }

    /// The subject's key for writing, made on first use; refused once destroyed.
    pub async fn writer_key(&self, subject: &str) -> Result<Arc<Aes256Gcm>, PrivacyError> {
        match self.cached(subject) {
            Some(Some(k)) => return Ok(k),
            Some(None) => return Err(PrivacyError::Shredded),
            None => {}
        }
        // Reads first and writes only when the subject has no key yet, which keeps readers
        // holding a transaction open (projections) from racing a write.
        let key = self
            .raw_key(subject, true)
            .await?
            .map(|raw| Arc::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw))));
        self.remember(subject, key.clone());
        key.ok_or(PrivacyError::Shredded)
    }

    /// The subject's key for an append: the one stored, or a fresh one (with its wrapped form
    /// for the append to store in its own transaction). With `assume_new`, the subject is
    /// taken to have no key yet without asking the store; the append finds out otherwise.
    pub async fn append_key(
        &self,
        subject: &str,
        assume_new: bool,
    ) -> Result<(Arc<Aes256Gcm>, Option<crate::append::NewKey>), PrivacyError> {
        match self.cached(subject) {
            Some(Some(k)) => return Ok((k, None)),
            Some(None) => return Err(PrivacyError::Shredded),
            None => {}
        }
        if !assume_new {
            match self.stored(subject).await? {
                Some((Some(wrapped),)) => {
                    let key = self.unwrap_key(subject, &wrapped)?;
                    self.remember(subject, Some(key.clone()));
                    return Ok((key, None));
                }
                Some((None,)) => {
                    self.remember(subject, None);
                    return Err(PrivacyError::Shredded);
                }
                None => {}
            }
        }
        let fresh = Aes256Gcm::generate_key(&mut OsRng);
        let wrapped = self.wrap(subject, fresh.as_slice());
        let key = Arc::new(Aes256Gcm::new(&fresh));
        Ok((
            key,
            Some(crate::append::NewKey {
                subject: subject.to_string(),
                wrapped,
            }),
        ))
    }

    /// Remembers a key an append stored (only once it is committed).
    pub fn key_stored(&self, subject: &str, key: Arc<Aes256Gcm>) {
        self.remember(subject, Some(key));
    }

    /// Forgets what this process knows of the subject's key (after losing a race to store it).
    pub fn forget(&self, subject: &str) {
        self.cache.lock().expect("key cache").remove(subject);
    }

    /// Destroys the subject's key (crypto-shredding). Idempotent.
    pub async fn shred(&self, subject: &str) -> Result<(), PrivacyError> {
        self.shredded
            .lock()
            .expect("shred list")
            .insert(subject.to_string());
        with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO subject_keys (subject_id, wrapped_key, created_at, shredded_at)
                 VALUES ($1, NULL, $2, $2)
                 ON CONFLICT (subject_id) DO UPDATE SET wrapped_key = NULL,
                     shredded_at = COALESCE(subject_keys.shredded_at, excluded.shredded_at)",
            )
            .bind(subject)
            .bind(Utc::now())
            .execute(pool)
            .await?;
        });
        self.remember(subject, None);
        Ok(())
    }

    /// Treats the subject as shredded in this process from now on: the log says their data
    /// is erased (another process, such as `crm retention run`, destroyed the key), so a key
    /// cached here must not open it any more.
    pub fn note_erased(&self, subject: &str) {
        self.shredded
            .lock()
            .expect("shred list")
            .insert(subject.to_string());
        self.cache.lock().expect("key cache").remove(subject);
    }

    /// Whether this process shredded the subject's key or saw their erasure in the log.
    pub fn shredded_here(&self, subject: &str) -> bool {
        self.shredded.lock().expect("shred list").contains(subject)
    }

    /// Whether the subject's key was destroyed.
    pub async fn is_shredded(&self, subject: &str) -> Result<bool, PrivacyError> {
        Ok(matches!(self.stored(subject).await?, Some((None,))))
    }
}

pub(super) fn seal_bytes(key: &Aes256Gcm, subject: &str, plain: &[u8]) -> String {
    seal_bytes_with(key, subject, plain, None)
}

pub(super) fn seal_bytes_with(
    key: &Aes256Gcm,
    subject: &str,
    plain: &[u8],
    nonce: Option<[u8; 12]>,
) -> String {
    let nonce = match nonce {
        Some(n) => *Nonce::from_slice(&n),
        None => Aes256Gcm::generate_nonce(&mut OsRng),
    };
    let ct = key
        .encrypt(
            &nonce,
            Payload {
                msg: plain,
                aad: subject.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer");
    let mut out = nonce.to_vec();
    out.extend(ct);
    hex::encode(out)
}

pub(super) fn open_bytes(
    key: &Aes256Gcm,
    subject: &str,
    sealed: &str,
) -> Result<Vec<u8>, PrivacyError> {
    let raw = hex::decode(sealed).map_err(|_| PrivacyError::Decrypt)?;
    if raw.len() < 12 {
        return Err(PrivacyError::Decrypt);
    }
    let (nonce, ct) = raw.split_at(12);
    key.decrypt(
        Nonce::from_slice(nonce),
        Payload {
            msg: ct,
            aad: subject.as_bytes(),
        },
    )
    .map_err(|_| PrivacyError::Decrypt)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::super::sealing::{collect, field_aad};
    use super::*;
    use serde_json::Value;

    #[test]
    fn wildcard_paths_reach_every_array_element() {
        let v = serde_json::json!({"a": [{"b": "x"}, {"b": "y"}, {"c": 1}], "d": "z"});
        let mut out = Vec::new();
        collect(&v, "/a/*/b", &mut out);
        collect(&v, "/d", &mut out);
        collect(&v, "/missing/*/b", &mut out);
        assert_eq!(
            out,
            vec![&Value::from("x"), &Value::from("y"), &Value::from("z")]
        );
    }

    #[test]
    fn a_sealed_field_opens_only_where_it_was_sealed() {
        let key = Aes256Gcm::new(&Aes256Gcm::generate_key(&mut OsRng));
        let sealed = seal_bytes_with(&key, &field_aad("lead-1", "/name"), b"Asha", None);
        assert_eq!(
            open_bytes(&key, &field_aad("lead-1", "/name"), &sealed).unwrap(),
            b"Asha"
        );
        assert!(open_bytes(&key, &field_aad("lead-1", "/notes"), &sealed).is_err());
        assert!(open_bytes(&key, &field_aad("lead-2", "/name"), &sealed).is_err());
        assert!(open_bytes(&key, "lead-1", &sealed).is_err());
    }

    #[test]
    fn sealed_bytes_open_only_for_their_subject() {
        let key = Aes256Gcm::new(&Aes256Gcm::generate_key(&mut OsRng));
        let sealed = seal_bytes(&key, "lead-1", b"Asha Rao");
        assert_eq!(open_bytes(&key, "lead-1", &sealed).unwrap(), b"Asha Rao");
        assert!(
            open_bytes(&key, "lead-2", &sealed).is_err(),
            "bound to the subject"
        );
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert!(open_bytes(&key, "lead-1", &String::from_utf8(tampered).unwrap()).is_err());
    }
}
