/// Why a webhook subscription command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("a webhook subscription with this id already exists")]
    AlreadyExists,
    #[error("no webhook subscription with this id")]
    NotFound,
    #[error("the subscription was removed: nothing is delivered to it")]
    Removed,
}
