//! Access tokens (JWT, HS256, 15 minutes) and refresh tokens (opaque, rotating, 12 hours,
//! stored only as a sha256 hash in the user's events).

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const ISSUER: &str = "crm";
pub const AUDIENCE: &str = "crm-api";
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
pub const REFRESH_TTL_HOURS: i64 = 12;

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub role: String,
    /// The user's token version when it was issued; a higher one in the users read model
    /// (role, branch, password or active state changed) makes it invalid.
    pub ver: i64,
    /// The refresh family (login session) it belongs to; logging out revokes it.
    pub fam: String,
    /// The log position of the event that issued it (read-your-writes for the first request).
    pub pos: i64,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &self,
        user_id: Uuid,
        role: &str,
        ver: i64,
        family: Uuid,
        pos: i64,
        now: DateTime<Utc>,
    ) -> String {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.to_string(),
            role: role.into(),
            ver,
            fam: family.to_string(),
            pos,
            iat: now.timestamp(),
            exp: now.timestamp() + ACCESS_TTL_SECONDS,
            jti: Uuid::new_v4().to_string(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// The claims of a valid token: signature (HS256 only), issuer, audience, expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, &'static str> {
        use jsonwebtoken::errors::ErrorKind;
        match decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => {
                if data.claims.iat > Utc::now().timestamp() + 60 {
                    return Err("the access token was issued in the future");
                }
                Ok(data.claims)
            }
            Err(e) => Err(match e.kind() {
                ErrorKind::ExpiredSignature => "the access token has expired",
                ErrorKind::InvalidAudience => "the access token is for another audience",
                ErrorKind::InvalidIssuer => "the access token is from another issuer",
                ErrorKind::InvalidAlgorithm => "the access token uses another algorithm",
                _ => "the access token is not valid",
            }),
        }
    }
}

/// A fresh refresh token for `user_id`'s family, and the hash that is stored.
pub fn new_refresh(user_id: Uuid, family: Uuid) -> (String, String) {
    let (secret, hash) = new_refresh_secret();
    (refresh_token(user_id, family, &secret), hash)
}

/// A new refresh token's secret and the hash that is recorded of it (before the user is known).
pub fn new_refresh_secret() -> (String, String) {
    let secret = store::privacy::generate_master_key();
    let hash = refresh_hash(&secret);
    (secret, hash)
}

/// The refresh token a client holds: who, which session, and the secret.
pub fn refresh_token(user_id: Uuid, family: Uuid, secret: &str) -> String {
    format!("rt1.{user_id}.{family}.{secret}")
}

/// The user, family and hash a presented refresh token stands for.
pub fn parse_refresh(token: &str) -> Option<(Uuid, Uuid, String)> {
    let mut parts = token.trim().split('.');
    if parts.next()? != "rt1" {
        return None;
    }
    let user = Uuid::parse_str(parts.next()?).ok()?;
    let family = Uuid::parse_str(parts.next()?).ok()?;
    let secret = parts.next()?;
    if parts.next().is_some() || secret.len() != 64 || hex::decode(secret).is_err() {
        return None;
    }
    Some((user, family, refresh_hash(secret)))
}

fn refresh_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn refresh_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::hours(REFRESH_TTL_HOURS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_with_its_secret_only() {
        let keys = TokenKeys::new(&"k".repeat(40));
        let user = Uuid::new_v4();
        let t = keys.issue(user, "admin", 1, Uuid::new_v4(), 3, Utc::now());
        let c = keys.verify(&t).unwrap();
        assert_eq!(c.sub, user.to_string());
        assert_eq!(c.exp - c.iat, ACCESS_TTL_SECONDS);
        let other = TokenKeys::new(&"x".repeat(40));
        assert!(other.verify(&t).is_err());
        let old = keys.issue(
            user,
            "admin",
            1,
            Uuid::new_v4(),
            3,
            Utc::now() - Duration::hours(1),
        );
        assert_eq!(keys.verify(&old), Err("the access token has expired"));
    }

    #[test]
    fn refresh_tokens_parse_to_their_hash() {
        let (u, f) = (Uuid::new_v4(), Uuid::new_v4());
        let (token, hash) = new_refresh(u, f);
        assert_eq!(parse_refresh(&token), Some((u, f, hash)));
        assert_eq!(parse_refresh("rt1.x.y.z"), None);
        assert_eq!(parse_refresh(&format!("{token}.more")), None);
    }
}
