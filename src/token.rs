//! The JWT sent as the `auth` header (SPEC §4, kore-api.md §2).
//!
//! Kore documents the token as HS256 over `{"appId": "<Client ID>"}`, signed with the Client Secret, and
//! validates only that exact claim spelling. With the JWT app's "Enforce JTI" on, every call needs a fresh
//! `jti` and an `exp` at most one hour ahead, or the platform refuses it as a replay.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::secret::{Secret, random_hex};

/// How long an `enforce_jti` token lives. Kore refuses an `exp` more than an hour ahead; five minutes
/// of margin keeps a client clock that runs a little fast from tripping that check.
pub const JTI_LIFETIME_SECS: u64 = 55 * 60;

/// Where the `auth` header comes from.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Sign our own tokens with the JWT app's Client ID and Client Secret.
    ClientSecret { app_id: String, secret: Secret },
    /// A ready token supplied by the operator, sent as it is.
    Token(Secret),
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "enforce_jti needs a client secret to sign a fresh token per request, but only a ready token is set"
    )]
    JtiNeedsSecret,
    #[error("could not sign the JWT: {0}")]
    Sign(String),
}

/// Makes the token for each request: the same one every time for Kore's plain `{appId}` token (signed
/// once), a fresh one per request with `enforce_jti`.
#[derive(Debug)]
pub struct TokenMaker {
    credential: Credential,
    enforce_jti: bool,
    fixed: Option<Secret>,
}

#[derive(Serialize)]
struct Claims<'a> {
    #[serde(rename = "appId")]
    app_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
}

impl TokenMaker {
    pub fn new(credential: Credential, enforce_jti: bool) -> Result<Self, TokenError> {
        let fixed = match (&credential, enforce_jti) {
            (Credential::Token(token), false) => Some(token.clone()),
            (Credential::Token(_), true) => return Err(TokenError::JtiNeedsSecret),
            (Credential::ClientSecret { app_id, secret }, false) => {
                Some(sign(secret, &plain_claims(app_id))?)
            }
            (Credential::ClientSecret { .. }, true) => None,
        };
        Ok(TokenMaker {
            credential,
            enforce_jti,
            fixed,
        })
    }

    /// The token for the next request.
    pub fn next(&self) -> Result<Secret, TokenError> {
        if let Some(token) = &self.fixed {
            return Ok(token.clone());
        }
        match &self.credential {
            Credential::ClientSecret { app_id, secret } => {
                let now = unix_now();
                sign(
                    secret,
                    &Claims {
                        app_id,
                        jti: Some(random_hex(16)),
                        iat: Some(now),
                        exp: Some(now + JTI_LIFETIME_SECS),
                    },
                )
            }
            Credential::Token(token) => Ok(token.clone()),
        }
    }

    pub fn enforces_jti(&self) -> bool {
        self.enforce_jti
    }
}

fn plain_claims(app_id: &str) -> Claims<'_> {
    Claims {
        app_id,
        jti: None,
        iat: None,
        exp: None,
    }
}

fn sign(secret: &Secret, claims: &Claims<'_>) -> Result<Secret, TokenError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .map(Secret::new)
    .map_err(|e| TokenError::Sign(e.to_string()))
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode};

    const APP_ID: &str = "cs-50febaa3-743f-55b3-8956-718e96f6bb90";
    /// The payload segment of the sample token on Kore's assign-conversation page.
    const DOCUMENTED_PAYLOAD: &str =
        "eyJhcHBJZCI6ImNzLTUwZmViYWEzLTc0M2YtNTViMy04OTU2LTcxOGU5NmY2YmI5MCJ9";
    const SECRET: &str = "Wibn3ULagTestSecretOnlyForUnitTests0000000=";

    fn maker(enforce_jti: bool) -> TokenMaker {
        TokenMaker::new(
            Credential::ClientSecret {
                app_id: APP_ID.into(),
                secret: Secret::new(SECRET),
            },
            enforce_jti,
        )
        .unwrap()
    }

    fn validation() -> Validation {
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v
    }

    #[test]
    fn payload_is_byte_identical_to_the_documented_sample() {
        let token = maker(false).next().unwrap();
        let segments: Vec<&str> = token.expose().split('.').collect();
        assert_eq!(segments.len(), 3);
        assert_eq!(segments[1], DOCUMENTED_PAYLOAD);
    }

    #[test]
    fn signature_verifies_with_the_secret_and_not_without_it() {
        let token = maker(false).next().unwrap();
        let claims = decode::<serde_json::Value>(
            token.expose(),
            &DecodingKey::from_secret(SECRET.as_bytes()),
            &validation(),
        )
        .unwrap()
        .claims;
        assert_eq!(claims, serde_json::json!({ "appId": APP_ID }));
        assert!(
            decode::<serde_json::Value>(
                token.expose(),
                &DecodingKey::from_secret(b"another secret"),
                &validation()
            )
            .is_err()
        );
    }

    #[test]
    fn enforce_jti_gives_a_fresh_jti_and_an_exp_within_the_hour() {
        let m = maker(true);
        let decode_claims = |t: Secret| {
            decode::<serde_json::Value>(
                t.expose(),
                &DecodingKey::from_secret(SECRET.as_bytes()),
                &validation(),
            )
            .unwrap()
            .claims
        };
        let (a, b) = (
            decode_claims(m.next().unwrap()),
            decode_claims(m.next().unwrap()),
        );
        assert_eq!(a["appId"], APP_ID);
        assert_ne!(a["jti"], b["jti"]);
        let now = unix_now();
        for c in [&a, &b] {
            let (iat, exp) = (c["iat"].as_u64().unwrap(), c["exp"].as_u64().unwrap());
            assert!(iat <= now && iat + 5 >= now);
            assert!(exp > now && exp <= now + 3600, "exp {exp} now {now}");
        }
    }

    #[test]
    fn a_ready_token_is_sent_as_is_but_cannot_enforce_jti() {
        let m = TokenMaker::new(Credential::Token(Secret::new("abc.def.ghi")), false).unwrap();
        assert_eq!(m.next().unwrap().expose(), "abc.def.ghi");
        assert!(matches!(
            TokenMaker::new(Credential::Token(Secret::new("x")), true),
            Err(TokenError::JtiNeedsSecret)
        ));
    }
}
