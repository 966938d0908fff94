//! Tamper evidence for the event log.
//!
//! Every event carries, in its metadata, `prev_hash` (the hash of the previous event of the same
//! aggregate, or zeros for the first) and `hash`: sha256 over the canonical JSON of its type,
//! version, aggregate, sequence, payload (as stored: personal fields are ciphertext, so
//! destroying a key never breaks a hash) and metadata (with `prev_hash`, without `hash`).
//! Chains are per aggregate, so writers need no global lock. A ledger (a projection in commit
//! order) chains those hashes globally, and every so often signs a checkpoint with the server's
//! ed25519 key so that an auditor can pin it.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of an aggregate's first event, and the ledger's start.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// JSON with object keys sorted at every level and no insignificant whitespace: the same value
/// gives the same text whichever store (text, json, jsonb) kept it.
pub fn canonical(v: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(v, &mut out, None);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Where canonical text goes: a buffer, or straight into a hash.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Lets serde_json write escaped strings and numbers into a sink without a buffer of its own.
struct Writer<'a, S: Sink>(&'a mut S);

impl<S: Sink> std::io::Write for Writer<'_, S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.put(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn put_str<S: Sink>(s: &str, out: &mut S) {
    serde_json::to_writer(Writer(out), s).expect("a sink cannot fail");
}

/// Writes `v` canonically; at the top level only, the key `skip` is left out.
fn write_canonical<S: Sink>(v: &Value, out: &mut S, skip: Option<&str>) {
    match v {
        Value::Object(map) => {
            // serde_json's map is ordered by key; sorting is only needed if it ever is not.
            let mut keys: Vec<&String> = map.keys().filter(|k| Some(k.as_str()) != skip).collect();
            if !keys.is_sorted() {
                keys.sort();
            }
            out.put(b"{");
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                put_str(k, out);
                out.put(b":");
                write_canonical(&map[k.as_str()], out, None);
            }
            out.put(b"}");
        }
        Value::Array(items) => {
            out.put(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_canonical(item, out, None);
            }
            out.put(b"]");
        }
        Value::String(s) => put_str(s, out),
        other => serde_json::to_writer(Writer(out), other).expect("a sink cannot fail"),
    }
}

/// What an event's hash covers.
pub struct EventContent<'a> {
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub sequence: i64,
    pub event_type: &'a str,
    pub event_version: &'a str,
    pub payload: &'a Value,
    /// The stored metadata; its `hash` field is left out of the hash.
    pub metadata: &'a Value,
}

/// The hash of an event (64 hex digits): sha256 over the canonical text of
/// `{aggregate_id, aggregate_type, event_type, event_version, metadata (without hash), payload,
/// sequence}`, written straight into the hash (keys in canonical order).
pub fn event_hash(e: &EventContent<'_>) -> String {
    let mut h = Sha256::new();
    h.put(b"{\"aggregate_id\":");
    put_str(e.aggregate_id, &mut h);
    h.put(b",\"aggregate_type\":");
    put_str(e.aggregate_type, &mut h);
    h.put(b",\"event_type\":");
    put_str(e.event_type, &mut h);
    h.put(b",\"event_version\":");
    put_str(e.event_version, &mut h);
    h.put(b",\"metadata\":");
    write_canonical(e.metadata, &mut h, Some("hash"));
    h.put(b",\"payload\":");
    write_canonical(e.payload, &mut h, None);
    h.put(b",\"sequence\":");
    h.put(e.sequence.to_string().as_bytes());
    h.put(b"}");
    hex::encode(h.finalize())
}

/// The hashes an event's metadata carries (empty strings when it carries none).
pub fn stored_hashes(metadata: &Value) -> (String, String) {
    let get = |k: &str| {
        metadata
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (get("prev_hash"), get("hash"))
}

/// The ledger's next hash: sha256 over the previous ledger hash and the event's hash.
pub fn ledger_hash(previous: &str, event_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(previous.as_bytes());
    h.update(b"\n");
    h.update(event_hash.as_bytes());
    hex::encode(h.finalize())
}

/// The text a checkpoint signature covers.
pub fn checkpoint_message(ledger_seq: i64, ledger_hash: &str, at: &str) -> String {
    format!("crm-ledger-checkpoint\n{ledger_seq}\n{ledger_hash}\n{at}")
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "no audit signing key: set CRM_AUDIT_SIGNING_KEY (64 hex digits) or put it in {0} \
         (one is generated only for the embedded SQLite store)"
    )]
    Missing(String),
    #[error("the audit signing key is not 64 hex digits")]
    Malformed,
    #[error("cannot read or write the key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

/// Signs ledger checkpoints.
pub struct AuditSigner {
    key: SigningKey,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditSigner({})", self.public_key_hex())
    }
}

/// Where the signing key lives when it is not given in the environment.
pub fn signing_key_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("audit-signing.key")
}

impl AuditSigner {
    /// The key comes from `hex_key` (`CRM_AUDIT_SIGNING_KEY`), else from the key file in the
    /// data directory, which is generated when missing if `generate` (the SQLite default).
    pub fn load(data_dir: &Path, hex_key: Option<&str>, generate: bool) -> Result<Self, KeyError> {
        let text = match hex_key {
            Some(k) => k.trim().to_string(),
            None => {
                let path = signing_key_file(data_dir);
                let file_error = |source| KeyError::File {
                    path: path.display().to_string(),
                    source,
                };
                match std::fs::read_to_string(&path) {
                    Ok(t) => t.trim().to_string(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && generate => {
                        let fresh = crate::privacy::generate_master_key();
                        crate::privacy::write_key_file(&path, &fresh).map_err(file_error)?;
                        fresh
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(KeyError::Missing(path.display().to_string()))
                    }
                    Err(e) => return Err(file_error(e)),
                }
            }
        };
        let bytes: [u8; 32] = hex::decode(&text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::Malformed)?;
        Ok(Self {
            key: SigningKey::from_bytes(&bytes),
        })
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &str) -> String {
        hex::encode(self.key.sign(message.as_bytes()).to_bytes())
    }
}

/// Whether `signature_hex` is `public_key_hex`'s signature of `message`.
pub fn verify_signature(public_key_hex: &str, message: &str, signature_hex: &str) -> bool {
    let Some(key) = hex::decode(public_key_hex)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
    else {
        return false;
    };
    let Some(sig) = hex::decode(signature_hex)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(|b| Signature::from_bytes(&b))
    else {
        return false;
    };
    key.verify(message.as_bytes(), &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_ignores_key_order_and_spacing() {
        let a: Value =
            serde_json::from_str(r#"{"b": [1, {"y": 2, "x": "é"}], "a": null}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#).unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(canonical(&a), r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#);
    }

    /// The hash as first defined: the metadata copied without `hash`, the content built as a
    /// JSON value, its canonical text hashed.
    fn reference_hash(e: &EventContent<'_>) -> String {
        let mut metadata = e.metadata.clone();
        if let Value::Object(m) = &mut metadata {
            m.remove("hash");
        }
        let content = serde_json::json!({
            "aggregate_type": e.aggregate_type,
            "aggregate_id": e.aggregate_id,
            "sequence": e.sequence,
            "event_type": e.event_type,
            "event_version": e.event_version,
            "payload": e.payload,
            "metadata": metadata,
        });
        hex::encode(Sha256::digest(reference_canonical(&content).as_bytes()))
    }

    /// Canonical text as first defined: keys sorted by hand, scalars as serde_json prints them.
    fn reference_canonical(v: &Value) -> String {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let items: Vec<String> = keys
                    .iter()
                    .map(|k| {
                        format!(
                            "{}:{}",
                            Value::String((*k).clone()),
                            reference_canonical(&map[k.as_str()])
                        )
                    })
                    .collect();
                format!("{{{}}}", items.join(","))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(reference_canonical).collect();
                format!("[{}]", items.join(","))
            }
            other => other.to_string(),
        }
    }

    #[test]
    fn the_streamed_hash_equals_the_hash_of_the_canonical_content() {
        let payloads = [
            serde_json::json!({"LeadCaptured": {"z": 1, "a": [1.5, -2, 1e300, null, true], "é\"\n\u{1}": "ü\t\\"}}),
            serde_json::json!("Archived"),
            serde_json::json!({"Nested": {"b": {"d": {}, "c": []}, "a": "x"}}),
        ];
        let metadatas = [
            serde_json::json!({"prev_hash": GENESIS, "hash": "ff", "actor_id": "u", "zz": {"b": 1, "a": 2}}),
            serde_json::json!({}),
            Value::Null,
        ];
        for p in &payloads {
            for m in &metadatas {
                let e = EventContent {
                    aggregate_type: "lead",
                    aggregate_id: "id-\"1\"",
                    sequence: 42,
                    event_type: "LeadCaptured",
                    event_version: "1.0",
                    payload: p,
                    metadata: m,
                };
                assert_eq!(event_hash(&e), reference_hash(&e), "{p} {m}");
            }
        }
    }

    #[test]
    fn one_changed_byte_changes_the_hash_and_the_stored_hash_is_not_covered() {
        let payload = serde_json::json!({"LeadArchived": {"reason": "enc:v1:00ff"}});
        let meta = serde_json::json!({"actor_id": "a", "prev_hash": GENESIS});
        let content = |p: &Value, m: &Value| {
            event_hash(&EventContent {
                aggregate_type: "lead",
                aggregate_id: "x",
                sequence: 2,
                event_type: "LeadArchived",
                event_version: "1.0",
                payload: p,
                metadata: m,
            })
        };
        let h = content(&payload, &meta);
        let mut with_hash = meta.clone();
        with_hash["hash"] = Value::String(h.clone());
        assert_eq!(content(&payload, &with_hash), h);
        let changed = serde_json::json!({"LeadArchived": {"reason": "enc:v1:00fe"}});
        assert_ne!(content(&changed, &meta), h);
        let mut other_prev = meta.clone();
        other_prev["prev_hash"] = Value::String("1".repeat(64));
        assert_ne!(content(&payload, &other_prev), h);
    }

    #[test]
    fn checkpoint_signatures_verify_only_for_their_message_and_key() {
        let dir = std::env::temp_dir().join(format!("crm-audit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let signer = AuditSigner::load(&dir, None, true).unwrap();
        let again = AuditSigner::load(&dir, None, false).unwrap();
        assert_eq!(signer.public_key_hex(), again.public_key_hex());
        let msg = checkpoint_message(10, &"a".repeat(64), "2026-11-30T10:00:00Z");
        let sig = signer.sign(&msg);
        assert!(verify_signature(&signer.public_key_hex(), &msg, &sig));
        let other = checkpoint_message(11, &"a".repeat(64), "2026-11-30T10:00:00Z");
        assert!(!verify_signature(&signer.public_key_hex(), &other, &sig));
        let stranger = AuditSigner::load(&dir, Some(&"11".repeat(32)), false).unwrap();
        assert!(!verify_signature(&stranger.public_key_hex(), &msg, &sig));
        assert!(matches!(
            AuditSigner::load(&dir.join("none"), None, false),
            Err(KeyError::Missing(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
