//! Plans in the console: a spread over the marked agents, `:plan save` (the confirmation's moves
//! written instead of sent), `:plan open` (a plan checked for drift against the live data, into the
//! confirmation) and `:revert last` (the plan that undoes the last run, the same way).

use std::path::PathBuf;

use crate::input::SessionRow;
use crate::live::LiveSnapshot;
use crate::plan::{Destination, Plan, Planner, drift};

use super::{App, Confirm, Effect, Level, SessionItem, confirm};

/// Enter on a marked agent: the chosen sessions spread over the marked agents by free capacity,
/// longest-waiting first, into the confirmation with each agent's load after.
pub(super) fn open_spread(app: &mut App, agent_ids: Vec<String>) {
    let Some(snapshot) = app.snapshot.clone() else {
        return app.note(
            Level::Warn,
            "a spread needs live data (capacity and wait come from it): :load live",
        );
    };
    let chosen = app.chosen_sessions();
    let sessions: Vec<String> = chosen
        .iter()
        .filter_map(|&i| app.sessions.get(i))
        .filter(|s| !s.state.in_flight)
        .map(|s| s.row.id.clone())
        .collect();
    let in_flight = chosen.len() - sessions.len();
    if sessions.is_empty() {
        return app.note(
            Level::Warn,
            "no session to move: mark sessions with Space, then the agents, then Enter",
        );
    }
    let mut agents = Vec::with_capacity(agent_ids.len());
    for id in &agent_ids {
        match snapshot.agents.iter().find(|a| &a.id == id) {
            Some(a) => agents.push(a),
            None => {
                return app.note(
                    Level::Warn,
                    format!("agent {id} is not in the live data: a spread needs its capacity"),
                );
            }
        }
    }
    let mut plan =
        Plan::new("spread", &app.ctx.profile, &app.ctx.host).for_endpoint(&app.ctx.endpoint);
    Planner::new(&snapshot).plan(
        &mut plan,
        &sessions,
        &Destination::Spread {
            agents,
            overflow: None,
        },
    );
    let confirm = Confirm {
        source: Some(format!("spread over {} agents", agent_ids.len())),
        chosen: chosen.len(),
        skipped_in_flight: in_flight,
        ..confirm_of(&plan)
    };
    confirm::open_moves(app, confirm);
}

/// `:plan save PATH` over a confirmation: its moves become a plan file, and nothing is sent.
pub(super) fn save(app: &mut App, path: &str) -> Vec<Effect> {
    let Some(confirm) = app.held_confirm.take() else {
        app.note(
            Level::Warn,
            "plan save: open a confirmation first (choose sessions and a target), then :plan save PATH",
        );
        return vec![];
    };
    let empty = LiveSnapshot::default();
    let snapshot = app.snapshot.clone();
    let planner = Planner::new(snapshot.as_deref().unwrap_or(&empty));
    let mut plan =
        Plan::new("console", &app.ctx.profile, &app.ctx.host).for_endpoint(&app.ctx.endpoint);
    for (session, target) in &confirm.moves {
        planner.add(&mut plan, session, target.clone());
    }
    plan.left_out = confirm
        .left_out
        .iter()
        .map(|(session, why)| crate::plan::LeftOut {
            session: session.clone(),
            why: why.clone(),
        })
        .collect();
    plan.notes = confirm.notes;
    // Saved, not sent: the marks were for this batch all the same (the agents a spread went
    // over too), and `'` brings the sessions back.
    app.last_batch = confirm.moves.iter().map(|(s, _)| s.clone()).collect();
    app.unmark_all();
    app.agents.unmark_all();
    vec![Effect::SavePlan {
        path: PathBuf::from(path),
        plan: Box::new(plan),
    }]
}

/// `:revert last`: the plan that undoes the last run that ended, from the audit log.
pub(super) fn revert_last(app: &mut App) -> Vec<Effect> {
    match app.last_run.clone() {
        Some(run) => vec![Effect::OpenRevert {
            run,
            audit: PathBuf::from(&app.ctx.audit_path),
            profile: app.ctx.profile.clone(),
            endpoint: app.ctx.endpoint.clone(),
        }],
        None => {
            app.note(
                Level::Warn,
                "revert last: no run has ended in this console yet",
            );
            vec![]
        }
    }
}

/// A plan read or made: with live data on, it waits for a refresh of its own (a run that just
/// ended is not in the last one yet), then is checked for drift and opened.
pub(super) fn on_plan_read(
    app: &mut App,
    source: &str,
    result: Result<Plan, String>,
) -> Vec<Effect> {
    let mut plan = match result {
        Ok(plan) => plan,
        Err(e) => {
            app.note(Level::Error, e);
            return vec![];
        }
    };
    match plan.aimed_at(&app.ctx.endpoint) {
        Err(why) => {
            app.note(Level::Error, format!("{source}: {why}: not opened"));
            return vec![];
        }
        Ok(Some(warning)) => app.note(Level::Warn, format!("{source}: {warning}")),
        Ok(None) => {}
    }
    // Queue priorities (a revert of a priority change) go to their own confirmation.
    if !plan.priorities.is_empty() {
        if !plan.moves.is_empty() {
            app.note(
                Level::Error,
                format!("{source}: it holds both moves and queue priorities: `switchboard apply` sends it; not opened"),
            );
            return vec![];
        }
        for note in &plan.notes {
            app.note(Level::Warn, format!("{source}: {note}"));
        }
        return vec![Effect::PreparePriority {
            changes: std::mem::take(&mut plan.priorities),
        }];
    }
    if !app.live.enabled {
        open_checked(app, source, plan, None);
        return vec![];
    }
    // A refresh already on its way may have left before the last run ended: let it pass.
    let skip = usize::from(app.live.refreshing);
    app.pending_plan = Some((source.to_string(), plan, skip));
    app.note(
        Level::Info,
        format!("{source}: reading the live data again to check it for drift…"),
    );
    app.live.refreshing = true;
    vec![Effect::Refresh]
}

/// A refresh came: a plan waiting for it is checked and opened.
pub(super) fn on_fresh_live(app: &mut App) {
    match app.pending_plan.take() {
        Some((source, plan, 0)) => {
            // A refresh that failed leaves nothing fresh to check against: nothing is sendable.
            let unchecked =
                app.live.failure.as_ref().map(|(_, why)| {
                    format!("not checked: the live data could not be read ({why})")
                });
            open_checked(app, &source, plan, unchecked)
        }
        Some((source, plan, skip)) => {
            app.pending_plan = Some((source, plan, skip - 1));
            // Its own refresh is still to come.
            app.live.refreshing = true;
        }
        None => {}
    }
}

/// Checks a plan for drift against the last live data and opens it in the confirmation: what
/// drifted is shown apart and never sent from there.
fn open_checked(app: &mut App, source: &str, plan: Plan, unchecked: Option<String>) {
    let checked = unchecked.is_none() && app.snapshot.is_some();
    let changes = match (app.snapshot.as_deref(), unchecked) {
        (_, Some(why)) => vec![vec![why]; plan.moves.len()],
        (Some(snapshot), None) => drift::check(&plan, snapshot),
        (None, None) => {
            vec![vec!["not checked: no live data yet (:load live)".to_string()]; plan.moves.len()]
        }
    };
    let mut confirm = confirm_of(&plan);
    confirm.source = Some(source.to_string());
    confirm.undoes = plan.undoes.clone();
    confirm.drift_checked = checked;
    confirm.moves.clear();
    for (m, changed) in plan.moves.iter().zip(changes) {
        if changed.is_empty() {
            confirm.moves.push((m.session.clone(), m.target.clone()));
        } else {
            confirm
                .drifted
                .push((m.session.clone(), m.target.clone(), changed.join("; ")));
        }
    }
    // A session the plan moves that the pane does not show yet gets a row, so its move shows.
    {
        let mut matcher = app.matcher.borrow_mut();
        for (session, _) in &confirm.moves {
            if app.sessions.find(session).is_none() {
                let row = SessionRow {
                    id: session.clone(),
                    extra: Vec::new(),
                };
                let _ = app.sessions.push(SessionItem::new(row), &mut matcher);
            }
        }
    }
    // What the read found, in place of "reading the live data…".
    let found = match (checked, confirm.drifted.len()) {
        (false, _) => "not checked against live data".to_string(),
        (true, 0) => "nothing drifted".to_string(),
        (true, n) => format!("{n} drifted"),
    };
    let level = if found == "nothing drifted" {
        Level::Info
    } else {
        Level::Warn
    };
    app.note(level, format!("{source}: read the live data: {found}"));
    confirm::open_moves(app, confirm);
}

/// A plan's moves, what it leaves out and its notes, as a confirmation shows them.
fn confirm_of(plan: &Plan) -> Confirm {
    Confirm {
        moves: plan
            .moves
            .iter()
            .map(|m| (m.session.clone(), m.target.clone()))
            .collect(),
        left_out: plan
            .left_out
            .iter()
            .map(|l| (l.session.clone(), l.why.clone()))
            .collect(),
        notes: plan.notes.clone(),
        ..Confirm::default()
    }
}
