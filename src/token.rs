//! The JWT sent as the `auth` header (SPEC §4, kore-api.md §2).
//!
//! Kore documents the token as HS256 over `{"appId": "<Client ID>"}`, signed with the Client Secret, and
//! validates only that exact claim spelling. The JWT app picks its signing algorithm (HS256, HS512,
//! RS256 or RS512 in Kore's SDK security page); for RS the app holds a public key and the token is
//! signed with its private key (`private_key_file`). With the JWT app's "Enforce JTI" on, every call
//! needs a fresh `jti` and an `exp` at most one hour ahead, or the platform refuses it as a replay.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

use crate::secret::{Secret, random_hex};

/// How long an `enforce_jti` token lives. Kore refuses an `exp` more than an hour ahead; five minutes
/// of margin keeps a client clock that runs a little fast from tripping that check.
pub const JTI_LIFETIME_SECS: u64 = 55 * 60;

/// The JWT app's signing algorithm, as Kore lets the app pick it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    HS256,
    HS512,
    RS256,
    RS512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [
        Algorithm::HS256,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS512,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS512 => "RS512",
        }
    }

    pub fn parse(text: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// Signed with an RSA private key (the app holds the public key), not the Client Secret.
    pub fn is_rsa(self) -> bool {
        matches!(self, Algorithm::RS256 | Algorithm::RS512)
    }

    fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::HS512 => jsonwebtoken::Algorithm::HS512,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
        }
    }
}

/// Where the `auth` header comes from.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Sign our own tokens with the JWT app's Client ID and Client Secret (HS256, HS512).
    ClientSecret { app_id: String, secret: Secret },
    /// Sign our own tokens with the JWT app's Client ID and the private key whose public half the
    /// app holds (RS256, RS512): the PEM text, kept secret.
    PrivateKey { app_id: String, pem: Secret },
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
    #[error(
        "{0} signs with a private key: set private_key_file (a PEM file) for the JWT app's key"
    )]
    NeedsPrivateKey(&'static str),
    #[error("{0} signs with the Client Secret; private_key_file is for RS256 and RS512")]
    NeedsSecret(&'static str),
    #[error("the private key is not an RSA key in PEM form: {0}")]
    BadKey(String),
}

/// Makes the token for each request: the same one every time for Kore's plain `{appId}` token (signed
/// once), a fresh one per request with `enforce_jti`.
pub struct TokenMaker {
    app_id: Option<String>,
    key: Option<(EncodingKey, Algorithm)>,
    enforce_jti: bool,
    fixed: Option<Secret>,
}

impl std::fmt::Debug for TokenMaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenMaker")
            .field("app_id", &self.app_id)
            .field("algorithm", &self.key.as_ref().map(|(_, a)| a))
            .field("enforce_jti", &self.enforce_jti)
            .finish_non_exhaustive()
    }
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
    /// HS256, Kore's documented default.
    pub fn new(credential: Credential, enforce_jti: bool) -> Result<Self, TokenError> {
        TokenMaker::with_algorithm(credential, enforce_jti, Algorithm::HS256)
    }

    pub fn with_algorithm(
        credential: Credential,
        enforce_jti: bool,
        algorithm: Algorithm,
    ) -> Result<Self, TokenError> {
        let (app_id, key) = match credential {
            Credential::Token(token) if !enforce_jti => {
                return Ok(TokenMaker {
                    app_id: None,
                    key: None,
                    enforce_jti,
                    fixed: Some(token),
                });
            }
            Credential::Token(_) => return Err(TokenError::JtiNeedsSecret),
            Credential::ClientSecret { .. } if algorithm.is_rsa() => {
                return Err(TokenError::NeedsPrivateKey(algorithm.as_str()));
            }
            Credential::PrivateKey { .. } if !algorithm.is_rsa() => {
                return Err(TokenError::NeedsSecret(algorithm.as_str()));
            }
            Credential::ClientSecret { app_id, secret } => {
                (app_id, EncodingKey::from_secret(secret.expose().as_bytes()))
            }
            Credential::PrivateKey { app_id, pem } => (
                app_id,
                EncodingKey::from_rsa_pem(pem.expose().as_bytes())
                    .map_err(|e| TokenError::BadKey(e.to_string()))?,
            ),
        };
        let mut maker = TokenMaker {
            app_id: Some(app_id),
            key: Some((key, algorithm)),
            enforce_jti,
            fixed: None,
        };
        // Kore's plain token never changes: sign it once (which also proves the key works).
        let first = maker.sign_next()?;
        if !enforce_jti {
            maker.fixed = Some(first);
        }
        Ok(maker)
    }

    /// The token for the next request.
    pub fn next(&self) -> Result<Secret, TokenError> {
        match &self.fixed {
            Some(token) => Ok(token.clone()),
            None => self.sign_next(),
        }
    }

    fn sign_next(&self) -> Result<Secret, TokenError> {
        let (Some(app_id), Some((key, algorithm))) = (&self.app_id, &self.key) else {
            return Err(TokenError::Sign("no signing key".into()));
        };
        let claims = if self.enforce_jti {
            let now = unix_now();
            Claims {
                app_id,
                jti: Some(random_hex(16)),
                iat: Some(now),
                exp: Some(now + JTI_LIFETIME_SECS),
            }
        } else {
            plain_claims(app_id)
        };
        jsonwebtoken::encode(&Header::new(algorithm.jwt()), &claims, key)
            .map(Secret::new)
            .map_err(|e| TokenError::Sign(e.to_string()))
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

    const RSA_KEY: &str = include_str!("../tests/fixtures/jwt-test-only-rsa.pem");
    const RSA_PUBLIC: &str = include_str!("../tests/fixtures/jwt-test-only-rsa.pub.pem");

    #[test]
    fn the_app_picks_the_algorithm() {
        let secret = || Credential::ClientSecret {
            app_id: APP_ID.into(),
            secret: Secret::new(SECRET),
        };
        let token = TokenMaker::with_algorithm(secret(), false, Algorithm::HS512)
            .unwrap()
            .next()
            .unwrap();
        let header = jsonwebtoken::decode_header(token.expose()).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::HS512);
        let mut v = Validation::new(jsonwebtoken::Algorithm::HS512);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let claims = decode::<serde_json::Value>(
            token.expose(),
            &DecodingKey::from_secret(SECRET.as_bytes()),
            &v,
        )
        .unwrap()
        .claims;
        assert_eq!(claims, serde_json::json!({ "appId": APP_ID }));

        for algorithm in [Algorithm::RS256, Algorithm::RS512] {
            let key = Credential::PrivateKey {
                app_id: APP_ID.into(),
                pem: Secret::new(RSA_KEY),
            };
            let token = TokenMaker::with_algorithm(key, true, algorithm)
                .unwrap()
                .next()
                .unwrap();
            let mut v = Validation::new(algorithm.jwt());
            v.required_spec_claims.clear();
            let claims = decode::<serde_json::Value>(
                token.expose(),
                &DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).unwrap(),
                &v,
            )
            .unwrap()
            .claims;
            assert_eq!(claims["appId"], APP_ID);
            assert!(claims["jti"].is_string());
        }
        assert!(matches!(
            TokenMaker::with_algorithm(secret(), false, Algorithm::RS256),
            Err(TokenError::NeedsPrivateKey("RS256"))
        ));
        let not_a_key = Credential::PrivateKey {
            app_id: APP_ID.into(),
            pem: Secret::new("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"),
        };
        assert!(matches!(
            TokenMaker::with_algorithm(not_a_key, false, Algorithm::RS512),
            Err(TokenError::BadKey(_))
        ));
    }

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
        let mut v = Validation::new(jsonwebtoken::Algorithm::HS256);
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
