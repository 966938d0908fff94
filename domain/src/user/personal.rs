//! Where a User's sealed data is.

/// What is sealed in User event payloads (with the user's own key): the password hashes, so
/// that an exported log gives nobody anything to crack. Staff names and e-mail addresses are
/// business contact data kept with the firm's records and stay readable.
pub fn personal_fields(event_type: &str) -> &'static [&'static str] {
    match event_type {
        "UserRegistered" => &["/UserRegistered/password_hash"],
        "PasswordReset" => &["/PasswordReset/password_hash"],
        "PasswordChanged" => &["/PasswordChanged/password_hash"],
        _ => &[],
    }
}
