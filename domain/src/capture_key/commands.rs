use uuid::Uuid;

use super::KeyTerms;
use crate::values::Text;

/// What may be asked of a capture key.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureKeyCommand {
    /// Issue a key: its terms and the sha256 (hex) of its secret.
    Issue {
        key_id: Uuid,
        terms: KeyTerms,
        secret_sha256: String,
    },
    /// The key captures nothing from now on.
    Revoke { reason: Option<Text> },
}
