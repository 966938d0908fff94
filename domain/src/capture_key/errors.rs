/// Why a capture key command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureKeyError {
    #[error("a capture key with this id already exists")]
    AlreadyExists,
    #[error("no capture key with this id")]
    NotFound,
    #[error("the capture key is already revoked")]
    Revoked,
}
