//! Short-lived document links: a signed token naming one caller, one client and one document,
//! valid for a few minutes. The download still asks who is calling and what they may see now.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const AUDIENCE: &str = "crm-document-link";

/// What a link says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkClaims {
    pub iss: String,
    pub aud: String,
    /// The user the link was made for.
    pub sub: String,
    /// The client and the document.
    pub cid: String,
    pub did: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct LinkKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl: Duration,
}

impl LinkKeys {
    /// Keys of their own, derived from the token secret: a link is never an access token, nor
    /// the other way round.
    pub fn new(secret: &str, ttl: Duration) -> Self {
        let key = Sha256::digest(format!("crm document links\n{secret}").as_bytes());
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[super::tokens::ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
            ttl,
        }
    }

    /// A link for `user` to `document` of `client`, and when it expires.
    pub fn issue(
        &self,
        user: Uuid,
        client: Uuid,
        document: Uuid,
        now: DateTime<Utc>,
    ) -> (String, DateTime<Utc>) {
        let expires = now + self.ttl;
        let claims = LinkClaims {
            iss: super::tokens::ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.to_string(),
            cid: client.to_string(),
            did: document.to_string(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail");
        (token, expires)
    }

    /// The client and document of a valid link made for `caller`.
    pub fn verify(&self, token: &str, caller: Uuid) -> Result<(Uuid, Uuid), &'static str> {
        use jsonwebtoken::errors::ErrorKind;
        let claims = decode::<LinkClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => "the link has expired",
                _ => "the link is not valid",
            })?
            .claims;
        if claims.sub != caller.to_string() {
            return Err("the link was made for someone else");
        }
        let parse = |s: &str| Uuid::parse_str(s).map_err(|_| "the link is not valid");
        Ok((parse(&claims.cid)?, parse(&claims.did)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_serves_its_caller_until_it_expires_and_not_when_altered() {
        let keys = LinkKeys::new("0123456789abcdef0123456789abcdef", Duration::minutes(5));
        let (me, client, doc) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let (token, expires) = keys.issue(me, client, doc, Utc::now());
        assert!(expires > Utc::now());
        assert_eq!(keys.verify(&token, me), Ok((client, doc)));
        assert_eq!(
            keys.verify(&token, Uuid::new_v4()),
            Err("the link was made for someone else")
        );
        let mut altered = token.clone().into_bytes();
        let i = altered.len() - 3;
        altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
        assert!(keys
            .verify(std::str::from_utf8(&altered).unwrap(), me)
            .is_err());
        let (old, _) = keys.issue(me, client, doc, Utc::now() - Duration::minutes(6));
        assert_eq!(keys.verify(&old, me), Err("the link has expired"));
        let other = LinkKeys::new("another secret of at least 32 chars!", Duration::minutes(5));
        assert!(other.verify(&token, me).is_err(), "another server's key");
    }
}
