//! The demo's sample data (`assets/demo/`), built into the binary so `--demo` works from anywhere.
//! The console shows it, and the stand-in's simulated contact center is made from it.

use crate::input::{
    AgentRow, Format, LoadError, Loaded, QueueRow, SessionRow, parse_agents, parse_queues,
    parse_sessions,
};

pub const SESSIONS: &str = include_str!("../assets/demo/sessions.csv");
pub const AGENTS: &str = include_str!("../assets/demo/agents.csv");
pub const QUEUES: &str = include_str!("../assets/demo/queues.csv");

pub fn sessions() -> Result<Loaded<SessionRow>, LoadError> {
    parse_sessions("assets/demo/sessions.csv", SESSIONS, Format::Csv)
}

pub fn agents() -> Result<Loaded<AgentRow>, LoadError> {
    parse_agents("assets/demo/agents.csv", AGENTS, Format::Csv)
}

pub fn queues() -> Result<Loaded<QueueRow>, LoadError> {
    parse_queues("assets/demo/queues.csv", QUEUES, Format::Csv)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sample_data_loads_and_is_big_enough_to_show_everything() {
        let sessions = super::sessions().unwrap();
        assert!(sessions.rows.len() >= 40 && sessions.warnings.is_empty());
        let agents = super::agents().unwrap();
        assert_eq!(agents.rows.len(), 8);
        assert!(
            agents
                .rows
                .iter()
                .all(|a| a.user_id.as_deref().is_some_and(|u| u.starts_with("u-")))
        );
        assert_eq!(super::queues().unwrap().rows.len(), 4);
        assert!(
            agents
                .rows
                .iter()
                .all(|a| crate::ids::IdKind::Agent.looks_valid(&a.id))
        );
    }
}
