//! Live-data benchmark for issue 4 (`cargo bench --bench live`): a refresh of 5,000 conversations
//! (50 pages, each conversation as large as Kore's documented sample) and 500 agents, parsed and
//! merged into the console's panes. Goal: under 50 ms of CPU. (The reads themselves run off the UI
//! path, as tasks; this is the work the UI thread does when their answer arrives.)

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard::console::app::{App, Context, Msg, update};
use switchboard::console::keys::KeyMap;
use switchboard::live::{self, LiveSnapshot};
use switchboard::request::{CallbackRoute, Endpoint};
use switchboard::secret::Secret;

const PAGES: usize = 50;
const PER_PAGE: usize = 100;
const AGENTS: usize = 500;
const SOURCES: [&str; 4] = ["rtm", "whatsapp", "audiocodes", "sms"];

fn conversation(i: usize) -> serde_json::Value {
    let agent = i % AGENTS;
    json!({
        "startSessionTime": "2023-05-25T06:56:11.959Z",
        "botSessionId": format!("646f068b2462{i:012x}"),
        "botId": "st-3bf09bef-f979-5489-b337-f465bd5d0001",
        "userId": format!("u-f812d6e9-58ce-5a74-9d20-{i:012x}"),
        "orgId": "o-ca23f4c5-cc3e-586d-90e6-8375bf2d0001",
        "source": SOURCES[i % 4],
        "_id": format!("c-3d7265b-de0a-489d-a2eb-{i:012x}"),
        "participants": if i.is_multiple_of(3) { json!([{"agentId": format!("u-b19cd89e-6533-59af-b491-{agent:012x}"), "name": format!("Agent {agent}"), "status": "ACTIVE", "assignedAt": "2023-05-25T06:58:57.984Z"}]) } else { json!([]) },
        "transferDetails": [{"fromAgent": null, "transferredType": "OTHERS", "transferredTo": [{"type": "AGENT", "id": "u-b19cd89e", "name": "John Doe", "emailId": ""}], "priority": "LOW", "isManager": true}],
        "waitTime": 4142 + i,
        "status": "ACTIVE",
        "sentimentTone": {"sentiment": "fear", "emoji": "😨", "strength": 2},
        "keyIntentName": "TalkToAgent",
        "keyIntentUserInput": "I want to talk to any agent.",
        "priority": 10,
        "queues": [{"type": "ASSIGNED", "status": "ACTIVE", "isPreferredAgentTimeoutExpired": true, "id": format!("qu-241a4d7-e5d0-45a9-8032-{:012x}", i % 20), "name": format!("Queue {}", i % 20), "startTime": "2023-05-25T06:56:38.734Z"}],
        "notes": [{"_id": "646f0750d15e5a3db2ae0001", "author": {"firstName": "John", "lastName": "Doe"}, "note": "Consumer wants to talk to any agent on the line. Agent will get an agent on the line to help her with that.", "timestamp": "2023-05-25T06:59:28.234Z"}],
        "userInfo": {
            "caller": "+18448735673", "callee": "st-3bf09bef-f979-5489-b337-f465bd5d0001", "callerHost": "Twilio-US",
            "agentTransferConfig": {"skillsIds": [], "overrideAgents": false, "overrideValues": [], "assistEvents": {"startEvent": {"isEnabled": false}}, "automationBotId": "st-ba0fcf10-b687-53b0-ad16-16cbacf20001", "lastIntentName": "TalkToAgent", "dialog_tone": [{"tone_name": "fear", "level": 2, "count": 1, "totalLevel": 2}]},
            "workinghours": {"workdays": "mon,tue,wed,thu,fri", "workstart": "8:00 AM", "workend": "5:00 PM"},
            "profImage": "no-avatar", "profColour": "#40e0d0", "activationStatus": "active",
            "identities": [{"val": "cs-b6296994-21c9-5108-9dee-1ab3dbbd0001/9a1b6f71-c8af-46dd-8645-d88940470001", "type": "mapped"}],
        },
        "dispositions": {"status": "UnKnown", "remarks": "Consumer wants to talk to any agent on the line.", "dispositionSets": [{"dispositionsSet": "resolution", "dispositionCodes": "Unresolved"}], "metaStatus": "AGENT_CLOSED"}
    })
}

fn agent(i: usize) -> serde_json::Value {
    json!({
        "status": "ACTIVE", "userId": format!("u-b19cd89e-6533-59af-b491-{i:012x}"), "orgId": "o-0b9c4fa7",
        "agentGroups": [{"groupId": "ag-b6a6178", "accessLevel": "full", "role": "manager", "groupName": "Default Group"}],
        "canSupportChat": true, "maxChatSupport": 5,
        "chatLanguageSupport": [{"isActive": true, "language": "en", "proficiency": "expert"}],
        "onlineStatus": "Offline", "onlineStatusType": if i.is_multiple_of(4) { "OFFLINE" } else { "ONLINE" },
        "id": format!("a-1353078-d362-4d5e-95ed-{i:012x}"), "emailId": format!("agent{i}@domain.com"),
        "firstName": "Agent", "lastName": format!("{i}"),
        "skills": [{"skillId": "641847bf731b5d4baa2d0001", "proficiencyLevel": "average", "name": "Blue Skill"}],
        "queues": [{"name": format!("Queue {}", i % 20), "id": format!("qu-241a4d7-e5d0-45a9-8032-{:012x}", i % 20)}],
        "role": "Agent"
    })
}

fn context() -> Context {
    Context {
        profile: "bench".into(),
        host: "https://platform.kore.ai".into(),
        listener: "127.0.0.1:8009".into(),
        config_path: "-".into(),
        log_path: "-".into(),
        audit_path: "-".into(),
        endpoint: Endpoint {
            host: "https://platform.kore.ai".into(),
            stream_id: "st-1".into(),
            org_id: "o-1".into(),
            account_id: "1".into(),
        },
        callbacks: CallbackRoute::for_listener("127.0.0.1:8009".parse().unwrap(), Secret::new("t")),
        per_minute: 60,
        callback_wait: Duration::from_secs(60),
        refresh_every: Duration::from_secs(30),
        zone: jiff::tz::TimeZone::UTC,
        read_only: None,
        alerts: Default::default(),
    }
}

fn main() {
    let conversation_pages: Vec<Vec<u8>> = (0..PAGES)
        .map(|p| {
            let results: Vec<_> = (0..PER_PAGE).map(|i| conversation(p * PER_PAGE + i)).collect();
            serde_json::to_vec(&json!({"results": results, "skip": p * PER_PAGE, "limit": PER_PAGE, "hasMore": p + 1 < PAGES})).unwrap()
        })
        .collect();
    let agent_pages: Vec<Vec<u8>> = (0..AGENTS / 10)
        .map(|p| {
            let results: Vec<_> = (0..10).map(|i| agent(p * 10 + i)).collect();
            serde_json::to_vec(&json!({"results": results, "hasMore": (p + 1) * 10 < AGENTS}))
                .unwrap()
        })
        .collect();
    let bytes: usize = conversation_pages
        .iter()
        .chain(&agent_pages)
        .map(Vec::len)
        .sum();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut app = App::new(context(), KeyMap::defaults());
    let mut runs = Vec::new();
    for round in 0..5 {
        let started = Instant::now();
        let mut snapshot = LiveSnapshot::default();
        for page in &conversation_pages {
            snapshot
                .conversations
                .extend(live::parse_conversations(page).unwrap().results);
        }
        for page in &agent_pages {
            snapshot
                .agents
                .extend(live::parse_agents(page).unwrap().results);
        }
        let parsed = started.elapsed();
        let now = runtime.block_on(async { tokio::time::Instant::now() });
        update(
            &mut app,
            Msg::Live {
                at: "t".into(),
                asked: now,
                now,
                result: Ok(snapshot),
            },
        );
        runs.push((round, parsed, started.elapsed()));
    }
    assert_eq!(app.sessions.len(), PAGES * PER_PAGE);
    assert_eq!(app.agents.len(), AGENTS);
    println!(
        "refresh of {} conversations ({PAGES} pages) and {AGENTS} agents, {:.1} MB of JSON:",
        PAGES * PER_PAGE,
        bytes as f64 / 1e6
    );
    for (round, parsed, total) in &runs {
        let kind = if *round == 0 {
            "first (all rows new)"
        } else {
            "again (merge)"
        };
        println!(
            "  {kind:<22} parse {:>6.1} ms, parse + merge {:>6.1} ms (goal < 50)",
            parsed.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3
        );
    }
}
