//! Personal data encrypted at rest with a key per data subject (a lead, a client).
//!
//! Each subject's data key is random (AES-256-GCM) and stored wrapped by the master key.
//! Personal fields of event payloads are sealed field by field before they reach the store and
//! opened when read; a destroyed key leaves the ciphertext in place (so the log and its hashes
//! stay intact) and makes it read as erased. Equality lookups use keyed blind indexes (HMAC).

mod keyring;
mod repository;
pub mod rotation;
mod sealing;

pub use keyring::{
    generate_master_key, master_key_file, previous_keys_file, webhook_secret_label, write_key_file,
    Keyring, PrivacyError, SYSTEM_SUBJECT,
};
pub use repository::{EncryptingRepository, PersonalFields, SealedAppend};

/// What an opened field reads as once its subject's key has been destroyed.
pub const ERASED: &str = "[erased]";

/// The prefix of a field sealed by version 1: AES-256-GCM, hex of nonce and ciphertext, the
/// subject as associated data. Still read; no longer written.
pub const SEALED_PREFIX: &str = "enc:v1:";

/// The prefix of a sealed field: version 2 is version 1 with the subject and the field's path
/// as associated data.
pub const SEALED_V2: &str = "enc:v2:";
