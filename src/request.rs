//! The assign-conversation request (SPEC §4): where it goes, its headers and its body, exactly as Kore
//! documents them and nothing more. The same request renders as a redacted preview for `--dry-run` and
//! for the console's confirmation, so what the operator reads is what is sent, less the secrets.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{ConfigError, Settings};
use crate::secret::{REDACTED, Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Agent,
    Queue,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Agent => "agent",
            TargetKind::Queue => "queue",
        }
    }
}

/// Where sessions are moved: an agent (`aId`, an `a-` id) or a queue (`queueId`, a `qu-` id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    #[serde(rename = "type")]
    pub kind: TargetKind,
    pub id: String,
}

impl Target {
    pub fn agent(id: impl Into<String>) -> Target {
        Target {
            kind: TargetKind::Agent,
            id: id.into(),
        }
    }

    pub fn queue(id: impl Into<String>) -> Target {
        Target {
            kind: TargetKind::Queue,
            id: id.into(),
        }
    }

    /// Why this target must never be sent (`IdKind::refusal`): `aId` takes an `a-` agent id (a `u-`
    /// user id, the way conversations name agents, is not one), `queueId` a `qu-` queue id, and
    /// neither may hold what would change the URL.
    pub fn refusal(&self) -> Option<String> {
        let kind = match self.kind {
            TargetKind::Agent => crate::ids::IdKind::Agent,
            TargetKind::Queue => crate::ids::IdKind::Queue,
        };
        kind.refusal(&self.id)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.id)
    }
}

/// The platform endpoint and the ids every request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub stream_id: String,
    pub org_id: String,
    pub account_id: String,
}

impl Endpoint {
    pub fn from_settings(settings: &Settings) -> Result<Endpoint, ConfigError> {
        Ok(Endpoint {
            host: settings.host()?,
            stream_id: settings.stream_id()?,
            org_id: settings.org_id()?,
            account_id: settings.account_id()?,
        })
    }

    pub fn assign_url(&self) -> String {
        format!(
            "{}/agentassist/api/v1/public/{}/assign-conversation",
            self.host.trim_end_matches('/'),
            self.stream_id
        )
    }
}

/// Where the platform posts each session's callback: `{base}/{botSessionId}?t={token}` (SPEC §5).
#[derive(Debug, Clone)]
pub struct CallbackRoute {
    base: Url,
    token: Secret,
}

impl CallbackRoute {
    pub fn new(base: Url, token: Secret) -> CallbackRoute {
        CallbackRoute { base, token }
    }

    /// Where callbacks go, without the session or the token.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The listener's own address plus `/callback`, for when the platform can reach it directly.
    pub fn for_listener(addr: SocketAddr, token: Secret) -> CallbackRoute {
        let base = Url::parse(&format!("http://{addr}/callback"))
            .expect("a socket address makes a valid URL");
        CallbackRoute { base, token }
    }

    pub fn token(&self) -> &Secret {
        &self.token
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn url_for(&self, session: &str) -> String {
        self.build(session, self.token.expose())
    }

    /// The URL as it may be shown or logged.
    pub fn redacted_url_for(&self, session: &str) -> String {
        self.build(session, REDACTED)
    }

    fn build(&self, session: &str, token: &str) -> String {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(session);
        }
        url.query_pairs_mut().append_pair("t", token);
        // The query encoder escapes `<redacted>`; show it as written.
        url.to_string().replace("%3Credacted%3E", REDACTED)
    }
}

#[derive(Serialize)]
struct AgentBody<'a> {
    #[serde(rename = "callbackUrl")]
    callback_url: &'a str,
    #[serde(rename = "orgId")]
    org_id: &'a str,
    #[serde(rename = "aId")]
    agent_id: &'a str,
    #[serde(rename = "botSessionId")]
    bot_session_id: &'a str,
}

#[derive(Serialize)]
struct QueueBody<'a> {
    #[serde(rename = "callbackUrl")]
    callback_url: &'a str,
    #[serde(rename = "orgId")]
    org_id: &'a str,
    /// The only `transferredType` Kore documents; the agent form sends none.
    #[serde(rename = "transferredType")]
    transferred_type: &'static str,
    #[serde(rename = "queueId")]
    queue_id: &'a str,
    #[serde(rename = "botSessionId")]
    bot_session_id: &'a str,
}

/// The JSON body for moving `session` to `target`, in the documented field order.
pub fn body(org_id: &str, session: &str, target: &Target, callback_url: &str) -> Vec<u8> {
    let result = match target.kind {
        TargetKind::Agent => serde_json::to_vec(&AgentBody {
            callback_url,
            org_id,
            agent_id: &target.id,
            bot_session_id: session,
        }),
        TargetKind::Queue => serde_json::to_vec(&QueueBody {
            callback_url,
            org_id,
            transferred_type: "QUEUE",
            queue_id: &target.id,
            bot_session_id: session,
        }),
    };
    result.expect("a struct of strings always serializes")
}

/// One request as the operator may read it: the token and the callback token are redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Preview {
    pub fn new(
        endpoint: &Endpoint,
        callbacks: &CallbackRoute,
        session: &str,
        target: &Target,
    ) -> Preview {
        let body = body(
            &endpoint.org_id,
            session,
            target,
            &callbacks.redacted_url_for(session),
        );
        Preview {
            method: "POST",
            url: endpoint.assign_url(),
            headers: vec![
                ("auth", REDACTED.to_string()),
                ("accountid", endpoint.account_id.clone()),
                ("Content-Type", "application/json".to_string()),
                ("Accept", "application/json".to_string()),
            ],
            body: String::from_utf8(body).expect("serde_json writes UTF-8"),
        }
    }

    /// The request as a curl command, with `auth: <redacted>` for the operator to fill in.
    pub fn curl(&self) -> String {
        let mut out = format!("curl -X {} {}", self.method, shell_quote(&self.url));
        for (name, value) in &self.headers {
            out.push_str(&format!(
                " \\\n  -H {}",
                shell_quote(&format!("{name}: {value}"))
            ));
        }
        out.push_str(&format!(" \\\n  --data {}", shell_quote(&self.body)));
        out
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            host: "https://platform.kore.ai/".into(),
            stream_id: "st-a0ec5267-a58a-5fbb-ab0e-e27ebc350001".into(),
            org_id: "o-02c0d56d-fd90-5e24-8458-01be1d2e0001".into(),
            account_id: "650d9eb6da96d0bc0d230001".into(),
        }
    }

    #[test]
    fn agent_body_has_exactly_the_documented_fields_in_order() {
        let b = body(
            "o-1",
            "6538f8a3c9cf425ee5cf0001",
            &Target::agent("a-8cd2673-0cb7-462d-9453-0ee60e520001"),
            "http://localhost:8009",
        );
        assert_eq!(
            String::from_utf8(b).unwrap(),
            r#"{"callbackUrl":"http://localhost:8009","orgId":"o-1","aId":"a-8cd2673-0cb7-462d-9453-0ee60e520001","botSessionId":"6538f8a3c9cf425ee5cf0001"}"#
        );
    }

    #[test]
    fn queue_body_has_exactly_the_documented_fields_in_order() {
        let b = body(
            "o-1",
            "66c2f6939489bfffc7910001",
            &Target::queue("qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001"),
            "http://cb",
        );
        assert_eq!(
            String::from_utf8(b).unwrap(),
            r#"{"callbackUrl":"http://cb","orgId":"o-1","transferredType":"QUEUE","queueId":"qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001","botSessionId":"66c2f6939489bfffc7910001"}"#
        );
    }

    #[test]
    fn url_is_the_documented_path() {
        assert_eq!(
            endpoint().assign_url(),
            "https://platform.kore.ai/agentassist/api/v1/public/st-a0ec5267-a58a-5fbb-ab0e-e27ebc350001/assign-conversation"
        );
    }

    #[test]
    fn callback_urls_carry_session_and_token() {
        let route =
            CallbackRoute::for_listener("127.0.0.1:8009".parse().unwrap(), Secret::new("tok"));
        assert_eq!(
            route.url_for("abc"),
            "http://127.0.0.1:8009/callback/abc?t=tok"
        );
        assert_eq!(
            route.redacted_url_for("abc"),
            "http://127.0.0.1:8009/callback/abc?t=<redacted>"
        );
        let tunnel = CallbackRoute::new(
            Url::parse("https://tunnel.example.net/cb/").unwrap(),
            Secret::new("t"),
        );
        assert_eq!(
            tunnel.url_for("abc"),
            "https://tunnel.example.net/cb/abc?t=t"
        );
    }

    #[test]
    fn preview_redacts_both_secrets_and_quotes_for_the_shell() {
        let route =
            CallbackRoute::for_listener("127.0.0.1:8009".parse().unwrap(), Secret::new("tok3n"));
        let p = Preview::new(
            &endpoint(),
            &route,
            "6538f8a3c9cf425ee5cf0001",
            &Target::queue("qu-x'y"),
        );
        let curl = p.curl();
        assert!(!curl.contains("tok3n"), "{curl}");
        assert!(curl.contains("-H 'auth: <redacted>'"), "{curl}");
        assert!(
            curl.contains("-H 'accountid: 650d9eb6da96d0bc0d230001'"),
            "{curl}"
        );
        assert!(curl.contains(r"qu-x'\''y"), "{curl}");
        assert!(
            curl.starts_with("curl -X POST 'https://platform.kore.ai/agentassist/"),
            "{curl}"
        );
    }
}
