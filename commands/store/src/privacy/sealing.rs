//! Sealing with a subject's key: personal fields of event payloads (field by field, bound to
//! their subject and path), texts, and document files; and opening them again (an erased
//! subject's data reads as erased).

use aes_gcm::aead::{Aead, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::keyring::{open_bytes, seal_bytes_with};
use super::{Keyring, PrivacyError, ERASED, SEALED_PREFIX, SEALED_V2};

impl Keyring {
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
        if !Self::has_personal(payload, paths) {
            return Ok(());
        }
        let key = self.writer_key(subject).await?;
        self.seal_in_place(&key, subject, payload, paths, derived)
    }

    /// Whether `payload` has a value to seal at one of `paths`.
    pub fn has_personal(payload: &Value, paths: &[&str]) -> bool {
        let mut targets = Vec::new();
        for p in paths {
            collect(payload, p, &mut targets);
        }
        targets.iter().any(|v| v.is_string())
    }

    /// Seals the values at `paths` of `payload` with `key` (random nonces).
    pub fn seal_with_key(
        &self,
        key: &Aes256Gcm,
        subject: &str,
        payload: &mut Value,
        paths: &[&str],
    ) -> Result<(), PrivacyError> {
        self.seal_in_place(key, subject, payload, paths, false)
    }

    fn seal_in_place(
        &self,
        key: &Aes256Gcm,
        subject: &str,
        payload: &mut Value,
        paths: &[&str],
        derived: bool,
    ) -> Result<(), PrivacyError> {
        // Every string is sealed, even one that looks sealed: what comes in here is always
        // plaintext, and a person may well type the prefix.
        for p in paths {
            for_each_mut(payload, p, &mut |v| {
                if let Value::String(text) = v {
                    let nonce = derived.then(|| self.derived_nonce(subject, p, text));
                    *text = format!(
                        "{SEALED_V2}{}",
                        seal_bytes_with(key, &field_aad(subject, p), text.as_bytes(), nonce)
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
}

/// The associated data of a sealed field: its subject and where it sits (the path pattern), so
/// that ciphertext moved to another field or another person does not open.
pub(super) fn field_aad(subject: &str, path: &str) -> String {
    format!("{subject}\n{path}")
}

fn is_sealed(s: &str) -> bool {
    s.starts_with(SEALED_V2) || s.starts_with(SEALED_PREFIX)
}

/// The values `path` (a JSON pointer, `*` for every array element) names in `value`.
pub(super) fn collect<'a>(value: &'a Value, path: &str, out: &mut Vec<&'a Value>) {
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
