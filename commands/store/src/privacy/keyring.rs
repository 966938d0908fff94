use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::{ERASED, SEALED_PREFIX, SEALED_V2};
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
    nonce_key: [u8; 32],
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

/// The subject id under which the keyring keeps its own secret (blind-index and nonce keys).
const SYSTEM_SUBJECT: &str = "crm:system";

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

    fn unwrap_raw(&self, subject: &str, wrapped: &str) -> Result<Vec<u8>, PrivacyError> {
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
        let raw = open_bytes(&master.cipher, subject, body)?;
        if raw.len() != 32 {
            return Err(PrivacyError::Decrypt);
        }
        Ok(raw)
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

    /// Seals the string values at `paths` of `payload` with the subject's key. A path is a
    /// JSON pointer whose `*` segments stand for every element of an array.
    pub async fn seal(
        &self,
        subject: &str,
        payload: &mut Value,
        paths: &[&str],
    ) -> Result<(), PrivacyError> {
        self.seal_with(subject, payload, paths, false).await
    }

    /// Like [`Keyring::seal`], with each nonce derived from the subject and the text, so that
    /// the same view seals to the same bytes (a read model rebuilt from zero is byte-for-byte
    /// the one kept up live). It reveals only that two sealed texts of one subject are equal.
    pub async fn seal_derived(
        &self,
        subject: &str,
        payload: &mut Value,
        paths: &[&str],
    ) -> Result<(), PrivacyError> {
        self.seal_with(subject, payload, paths, true).await
    }

    async fn seal_with(
        &self,
        subject: &str,
        payload: &mut Value,
        paths: &[&str],
        derived: bool,
    ) -> Result<(), PrivacyError> {
        let mut targets = Vec::new();
        for p in paths {
            collect(payload, p, &mut targets);
        }
        if !targets.iter().any(|v| v.is_string()) {
            return Ok(());
        }
        let key = self.writer_key(subject).await?;
        // Every string is sealed, even one that looks sealed: what comes in here is always
        // plaintext, and a person may well type the prefix.
        for p in paths {
            for_each_mut(payload, p, &mut |v| {
                if let Value::String(text) = v {
                    let nonce = derived.then(|| self.derived_nonce(subject, p, text));
                    *text = format!(
                        "{SEALED_V2}{}",
                        seal_bytes_with(&key, &field_aad(subject, p), text.as_bytes(), nonce)
                    );
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Opens the sealed values at `paths` of `payload` in place; with the key destroyed they
    /// read as [`ERASED`]. Values written before encryption (not sealed) are left as they are.
    pub async fn open(
        &self,
        subject: &str,
        payload: &mut Value,
        paths: &[&str],
    ) -> Result<(), PrivacyError> {
        let mut targets = Vec::new();
        for p in paths {
            collect(payload, p, &mut targets);
        }
        if !targets
            .iter()
            .any(|v| matches!(v, Value::String(s) if is_sealed(s)))
        {
            return Ok(());
        }
        let key = self.reader_key(subject).await?;
        for p in paths {
            for_each_mut(payload, p, &mut |v| {
                if let Value::String(text) = v {
                    // v2 binds the field too; v1 (older) only the subject.
                    let sealed = match (
                        text.strip_prefix(SEALED_V2),
                        text.strip_prefix(SEALED_PREFIX),
                    ) {
                        (Some(body), _) => Some((body, field_aad(subject, p))),
                        (None, Some(body)) => Some((body, subject.to_string())),
                        _ => None,
                    };
                    if let Some((body, aad)) = sealed {
                        *text = match &key {
                            Some(k) => String::from_utf8(open_bytes(k, &aad, body)?)
                                .map_err(|_| PrivacyError::Decrypt)?,
                            None => ERASED.to_string(),
                        };
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Seals one text for a read-model column (derived nonce, see [`Keyring::seal_derived`]).
    pub async fn seal_text(&self, subject: &str, text: &str) -> Result<String, PrivacyError> {
        let mut v = Value::String(text.to_string());
        self.seal_derived(subject, &mut v, &[""]).await?;
        Ok(match v {
            Value::String(s) => s,
            _ => unreachable!("a string stays a string"),
        })
    }

    /// The same (subject, field, text) gives the same nonce, and nothing else does: a nonce is
    /// never used with another field's associated data.
    fn derived_nonce(&self, subject: &str, field: &str, text: &str) -> [u8; 12] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.nonce_key).expect("any key length");
        mac.update(subject.as_bytes());
        mac.update(&[0]);
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(text.as_bytes());
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&mac.finalize().into_bytes()[..12]);
        nonce
    }

    /// Replaces the string values at `paths` with [`ERASED`] (a view of a shredded subject).
    pub fn erase(payload: &mut Value, paths: &[&str]) {
        Self::mask(payload, paths, ERASED);
    }

    /// Replaces every string at `paths` with `marker`.
    pub fn mask(payload: &mut Value, paths: &[&str], marker: &str) {
        for p in paths {
            let _ = for_each_mut(payload, p, &mut |v| {
                if v.is_string() {
                    *v = Value::String(marker.to_string());
                }
                Ok(())
            });
        }
    }

    /// Opens one text sealed by [`Keyring::seal_text`] ([`ERASED`] once the key is destroyed).
    pub async fn open_text(&self, subject: &str, text: &str) -> Result<String, PrivacyError> {
        let mut v = Value::String(text.to_string());
        self.open(subject, &mut v, &[""]).await?;
        Ok(match v {
            Value::String(s) => s,
            _ => unreachable!("a string stays a string"),
        })
    }

    /// Seals a file (a KYC document) with the subject's key, bound to the document's id.
    pub async fn seal_file(
        &self,
        subject: &str,
        document_id: &str,
        plain: &[u8],
    ) -> Result<Vec<u8>, PrivacyError> {
        let key = self.writer_key(subject).await?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = field_aad(subject, &format!("file:{document_id}"));
        let ct = key
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| PrivacyError::Decrypt)?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(out)
    }

    /// Opens a file sealed by [`Keyring::seal_file`]; `None` once the key is destroyed.
    pub async fn open_file(
        &self,
        subject: &str,
        document_id: &str,
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>, PrivacyError> {
        let Some(key) = self.reader_key(subject).await? else {
            return Ok(None);
        };
        if sealed.len() < 12 {
            return Err(PrivacyError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(12);
        let aad = field_aad(subject, &format!("file:{document_id}"));
        key.decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: aad.as_bytes(),
            },
        )
        .map(Some)
        .map_err(|_| PrivacyError::Decrypt)
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

    /// Whether the subject's key was destroyed.
    pub async fn is_shredded(&self, subject: &str) -> Result<bool, PrivacyError> {
        Ok(matches!(self.stored(subject).await?, Some((None,))))
    }
}

/// The associated data of a sealed field: its subject and where it sits (the path pattern), so
/// that ciphertext moved to another field or another person does not open.
fn field_aad(subject: &str, path: &str) -> String {
    format!("{subject}\n{path}")
}

fn is_sealed(s: &str) -> bool {
    s.starts_with(SEALED_V2) || s.starts_with(SEALED_PREFIX)
}

fn seal_bytes(key: &Aes256Gcm, subject: &str, plain: &[u8]) -> String {
    seal_bytes_with(key, subject, plain, None)
}

fn seal_bytes_with(
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

fn open_bytes(key: &Aes256Gcm, subject: &str, sealed: &str) -> Result<Vec<u8>, PrivacyError> {
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

/// The values `path` (a JSON pointer, `*` for every array element) names in `value`.
fn collect<'a>(value: &'a Value, path: &str, out: &mut Vec<&'a Value>) {
    match path.split_once("/*") {
        None => out.extend(value.pointer(path)),
        Some((head, rest)) => {
            if let Some(Value::Array(items)) = value.pointer(head) {
                for item in items {
                    collect(item, rest, out);
                }
            }
        }
    }
}

fn for_each_mut(
    value: &mut Value,
    path: &str,
    f: &mut dyn FnMut(&mut Value) -> Result<(), PrivacyError>,
) -> Result<(), PrivacyError> {
    match path.split_once("/*") {
        None => match value.pointer_mut(path) {
            Some(v) => f(v),
            None => Ok(()),
        },
        Some((head, rest)) => {
            if let Some(Value::Array(items)) = value.pointer_mut(head) {
                for item in items {
                    for_each_mut(item, rest, f)?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
