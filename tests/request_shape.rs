//! Both request shapes exactly as SPEC §4 — path, headers, body fields and nothing extra — as a
//! neutral server (wiremock) records them.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;
use switchboard::dispatch::StopSignal;
use switchboard::mock::MockIdentity;
use switchboard::outcome::Outcome;
use switchboard::request::Target;
use switchboard::secret::Secret;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn agent_and_queue_requests_are_exactly_as_documented() {
    let server = MockServer::start().await;
    let id = MockIdentity::demo(Secret::new(SECRET));
    let endpoint = format!(
        "/agentassist/api/v1/public/{}/assign-conversation",
        id.stream_id
    );
    Mock::given(method("POST"))
        .and(path(endpoint.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sessionId": ok_session(1), "queueId": QUEUE, "status": "transferred", "requestCompletedAt": 1698825180041u64
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(&server.uri(), &dir.path().join("a.jsonl"), &[]);
    let d = dispatcher(
        &settings,
        "127.0.0.1:8009".parse().unwrap(),
        Secret::new("cbtok"),
        quick_policy(),
    );
    for target in [Target::agent(AGENT), Target::queue(QUEUE)] {
        let r = d
            .assign_one(&ok_session(1), &target, &StopSignal::default(), None)
            .await;
        assert_eq!(r.outcome, Some(Outcome::Transferred));
    }

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let callback = format!("http://127.0.0.1:8009/callback/{}?t=cbtok", ok_session(1));
    let expected_bodies = [
        json!({"callbackUrl": callback, "orgId": id.org_id, "aId": AGENT, "botSessionId": ok_session(1)}),
        json!({"callbackUrl": callback, "orgId": id.org_id, "transferredType": "QUEUE", "queueId": QUEUE, "botSessionId": ok_session(1)}),
    ];
    for (request, expected) in requests.iter().zip(expected_bodies) {
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.url.path(), endpoint);
        assert_eq!(request.url.query(), None);
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body, expected, "exactly these fields, nothing extra");
        assert_eq!(request.headers["accountid"], id.account_id.as_str());
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(request.headers["accept"], "application/json");
        assert!(
            request.headers.get("authorization").is_none(),
            "Kore's header is auth, not Authorization"
        );
        let token = request.headers["auth"].to_str().unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            token,
            &DecodingKey::from_secret(SECRET.as_bytes()),
            &v,
        )
        .expect("the token verifies with the client secret")
        .claims;
        assert_eq!(claims, json!({"appId": id.app_id}));
    }
}
