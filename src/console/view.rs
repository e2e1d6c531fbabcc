//! Drawing: a function of the `App`, nothing else. Colours come from the terminal's own palette
//! (named colours only), and with `NO_COLOR` only bold, underline and reverse are used.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::request::TargetKind;

use super::activity::ActivityKind;
use super::app::{App, DetailOf, FormPurpose, Level, Mode, Pane, whereabouts};
use super::columns::{self, Column, SessionCell, SessionColumn};
use super::keys::Action;
use super::table::{Row, Table};

/// Colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    fn outcome(self, word: &str) -> Style {
        match word {
            "transferred" => self.fg(Color::Green),
            "rejected" | "failed" | "unauthorized" | "not sent" => {
                self.fg(Color::Red).add_modifier(Modifier::BOLD)
            }
            "rate_limited" | "unknown" => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            "sending" => self.fg(Color::Cyan),
            _ => Style::new(),
        }
    }

    fn callback(self, word: &str) -> Style {
        match word {
            "ok" => self.fg(Color::Green),
            "failed" => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            "late" => self.fg(Color::Yellow),
            "waiting" | "received" => self.fg(Color::Cyan),
            _ => self.fg(Color::DarkGray),
        }
    }

    fn verified(self, word: &str) -> Style {
        match word {
            "verified" => self.fg(Color::Green),
            "not moved" => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            "checking" => self.fg(Color::Cyan),
            _ => self.fg(Color::Yellow),
        }
    }

    fn level(self, level: Level) -> Style {
        match level {
            Level::Info => self.fg(Color::Cyan),
            Level::Warn => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Level::Error => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    fn matched(self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    /// A warning in the confirmation: yellow, and reversed so it stands out with NO_COLOR too.
    fn warning(self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }
}

pub fn draw(frame: &mut Frame, app: &App, theme: Theme) {
    let area = frame.area();
    // What needs a supervisor, on one line under the header while there is anything.
    let alerts = crate::console::app::alerts::alerts(app);
    let alert_rows = u16::from(!alerts.is_empty());
    let [header, alert, middle, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(alert_rows),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, app, header, theme);
    if let Some(first) = alerts.first() {
        let more = match alerts.len() {
            1 => "! alerts, z snoozes".to_string(),
            n => format!("{} more: ! lists them", n - 1),
        };
        // The key that lists them comes first when the line would be cut: it must show.
        let mut text = format!(" ⚠ {} · {more}", first.line());
        if text.chars().count() > usize::from(alert.width) {
            text = format!(" ⚠ {more} · {}", first.line());
        }
        frame.render_widget(Paragraph::new(Line::styled(text, theme.warning())), alert);
    }
    let (sessions, agents, queues, activity) = if middle.width >= 150 {
        // Wide: the three panes side by side, Sessions the widest (on 200 columns and more, wide
        // enough for Kore's triage columns too); Activity below.
        let [body, activity] =
            Layout::vertical([Constraint::Min(6), Constraint::Percentage(32)]).areas(middle);
        let split = if middle.width >= 200 {
            [64, 20, 16]
        } else {
            [52, 27, 21]
        };
        let [s, a, q] = Layout::horizontal(split.map(Constraint::Percentage)).areas(body);
        (s, a, q, activity)
    } else {
        // Narrower: Sessions takes the whole width, so queue and agent fit beside the outcome;
        // Agents and Queues share the row below; Activity gives way first, so Sessions keeps
        // at least 8 rows.
        let [s, below, activity] = stacked(middle);
        let [a, q] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(below);
        (s, a, q, activity)
    };
    // Borders and the header line.
    app.page.set(sessions.height.saturating_sub(3) as usize);
    draw_sessions(frame, app, sessions, theme);
    draw_agents(frame, app, agents, theme);
    draw_queues(frame, app, queues, theme);
    draw_activity(frame, app, activity, theme);
    draw_status(frame, app, status, theme);
    draw_footer(frame, app, footer, theme);
    match &app.mode {
        Mode::Confirm(_) => draw_confirm(frame, app, theme),
        Mode::Help { scroll } => draw_help(frame, app, *scroll, theme),
        Mode::Detail { of, scroll } => draw_detail(frame, app, of, *scroll, theme),
        Mode::Form(_) => draw_form(frame, app, theme),
        Mode::QuitConfirm => draw_quit(frame, app, theme),
        Mode::ConfirmPriority(confirm) => draw_priority_confirm(frame, app, confirm, theme),
        Mode::Alerts { selected } => draw_alerts(frame, &alerts, *selected, theme),
        _ => {}
    }
}

/// Rows that show 8 sessions: the header line and the two borders around them.
const SESSIONS_AT_LEAST: u16 = 8 + 3;

/// Sessions, Agents and Queues, and Activity, one above the other: Activity and the panes below
/// Sessions give up their rows (to 4 and 5) before Sessions shows fewer than 8.
fn stacked(area: Rect) -> [Rect; 3] {
    let h = area.height;
    let mut activity = (h * 28 / 100).max(4);
    let mut below = (h * 24 / 100).max(5);
    let mut sessions = h.saturating_sub(activity + below);
    if sessions < SESSIONS_AT_LEAST {
        let short = SESSIONS_AT_LEAST - sessions;
        let from_activity = short.min(activity.saturating_sub(4));
        activity -= from_activity;
        below -= (short - from_activity).min(below.saturating_sub(5));
        sessions = h.saturating_sub(activity + below);
    }
    Layout::vertical([
        Constraint::Length(sessions),
        Constraint::Length(below),
        Constraint::Length(activity),
    ])
    .areas(area)
}

/// The minute's budget at a glance: `▰▰▱▱▱▱` for a third spent.
fn gauge(used: usize, of: usize) -> String {
    const CELLS: usize = 6;
    let full = (used * CELLS).div_ceil(of).min(CELLS);
    "▰".repeat(full) + &"▱".repeat(CELLS - full)
}

fn draw_header(frame: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let host = app.ctx.host.split("://").nth(1).unwrap_or(&app.ctx.host);
    let p = app.pacer;
    // What the count is made of: this console's assignments and reads, and what other processes
    // of the account spend of the same budget.
    let mut parts = Vec::new();
    let ours = p.used_last_minute.saturating_sub(p.others_last_minute);
    if p.refresh_last_minute > 0 || p.others_last_minute > 0 {
        let reads = p.refresh_last_minute;
        parts.push(format!("{} assign", ours - reads));
        if reads > 0 {
            parts.push(format!("{reads} refresh"));
        }
    }
    if p.others_last_minute > 0 {
        parts.push(format!("{} other processes", p.others_last_minute));
    }
    let split = if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(" · "))
    };
    // After a 429 under the configured rate, the limit in force is lower: another integration of
    // the account spends the rest, and the header says so.
    let limit = if p.lowered() {
        format!("{} (server allows less than {})", p.limit, p.per_minute)
    } else {
        p.per_minute.to_string()
    };
    // A budget that stopped being shared says so: other processes' calls are no longer counted.
    let alone = if p.store_lost {
        " · store: lost, sending paused"
    } else if p.sharing_lost {
        " · BUDGET NOT SHARED"
    } else if p.store_back {
        " · store: back"
    } else {
        ""
    };
    let pacer = if p.per_minute == 0 {
        format!("pacer off{split}")
    } else {
        format!(
            "pacer {}/{limit} {}{split}{alone}",
            p.used_last_minute,
            gauge(p.used_last_minute, p.limit.max(1) as usize)
        )
    };
    let cost = app
        .live
        .last_cost
        .filter(|_| app.live.enabled)
        .map(|n| format!("refresh = {n} calls"));
    // On the wire and waiting for a slot, apart: concurrency bounds the first, not the second.
    let (in_flight, sending) = (app.in_flight(), app.sending());
    let flight = (in_flight > 0).then(|| {
        format!(
            "{sending} sending · {} queued · ETA {}",
            in_flight - sending,
            clock(app.eta())
        )
    });
    let listener = format!("listener {}", app.ctx.listener);
    // Everything when it fits; on a narrow terminal the name, then the listener, then what a refresh
    // costs give way first. The pacer and the run in flight always stay.
    let name: &str = "switchboard";
    let optional = [Some(name), Some(listener.as_str()), cost.as_deref()];
    let parts = |dropped: usize| -> Vec<&str> {
        let keep = |i: usize| optional[i].filter(|_| i >= dropped);
        keep(0)
            .into_iter()
            .chain(app.ctx.read_only.as_ref().map(|_| "READ-ONLY"))
            .chain([app.ctx.profile.as_str(), host])
            .chain(keep(1))
            .chain([pacer.as_str()])
            .chain(keep(2))
            .chain(flight.as_deref())
            .collect()
    };
    let fits = |parts: &[&str]| parts.join(" · ").chars().count() < area.width as usize;
    let text = (0..=optional.len())
        .map(parts)
        .find(|p| fits(p))
        .unwrap_or_else(|| parts(optional.len()))
        .join(" · ");
    let style = if theme.color {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::REVERSED)
    };
    frame.render_widget(Paragraph::new(format!(" {text}")).style(style), area);
}

fn clock(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn pane_block<'a, T: Row>(
    app: &App,
    pane: Pane,
    table: &Table<T>,
    extra: String,
    theme: Theme,
) -> Block<'a> {
    let shown = table.visible().len();
    let fuzzy = table.fuzzy();
    let count = if table.query().is_empty() {
        format!("{}", table.len())
    } else if fuzzy > 0 {
        format!(
            "{shown}/{} shown: {} exact, {fuzzy} fuzzy",
            table.len(),
            table.exact()
        )
    } else {
        format!("{shown}/{}", table.len())
    };
    let filter = if table.query().is_empty() {
        String::new()
    } else if table.filtering() {
        format!(" · /{} · filtering…", table.query())
    } else {
        format!(" · /{}", table.query())
    };
    let title = format!(" {} {count}{extra}{filter} ", pane.title());
    // Data that could not be refreshed is a warning, not a footnote.
    let title = if app.live.failure.is_some() && pane != Pane::Activity {
        Line::styled(title, theme.level(Level::Warn))
    } else {
        Line::raw(title)
    };
    Block::bordered()
        .title(title)
        .border_style(theme.border(app.focus == pane))
}

/// Text with the characters at `positions` (counted from `offset` in the haystack) highlighted.
fn highlighted<'a>(
    text: &str,
    offset: usize,
    positions: &[u32],
    base: Style,
    theme: Theme,
) -> Vec<Span<'a>> {
    if positions.is_empty() {
        return vec![Span::styled(text.to_string(), base)];
    }
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_hit = false;
    for (i, c) in text.chars().enumerate() {
        let hit = positions.binary_search(&((offset + i) as u32)).is_ok();
        if hit != run_hit && !run.is_empty() {
            spans.push(Span::styled(
                std::mem::take(&mut run),
                if run_hit {
                    base.patch(theme.matched())
                } else {
                    base
                },
            ));
        }
        run_hit = hit;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(Span::styled(
            run,
            if run_hit {
                base.patch(theme.matched())
            } else {
                base
            },
        ));
    }
    spans
}

/// The rows of `table` that fit in `height`, scrolled to keep the cursor in view and, after the
/// pane grew, to fill it.
fn window<T: Row>(table: &Table<T>, height: usize) -> std::ops::Range<usize> {
    let len = table.visible().len();
    let mut offset = table.offset.get().min(len.saturating_sub(height.max(1)));
    if table.cursor < offset {
        offset = table.cursor;
    } else if height > 0 && table.cursor >= offset + height {
        offset = table.cursor + 1 - height;
    }
    table.offset.set(offset);
    offset..(offset + height).min(len)
}

fn row_style(app: &App, pane: Pane, selected: bool) -> Style {
    match (selected, app.focus == pane) {
        (true, true) => Style::new().add_modifier(Modifier::REVERSED),
        (true, false) => Style::new().add_modifier(Modifier::UNDERLINED),
        _ => Style::new(),
    }
}

/// One cell of a row: its text, where that text starts in the row's filter haystack (to show
/// what the filter matched), and its own style over the row's.
struct Cell {
    text: String,
    hay: Option<usize>,
    style: Style,
}

impl Cell {
    fn new(text: impl Into<String>, hay: Option<usize>) -> Cell {
        Cell {
            text: text.into(),
            hay,
            style: Style::new(),
        }
    }

    fn plain(text: impl Into<String>) -> Cell {
        Cell::new(text, None)
    }

    fn styled(mut self, style: Style) -> Cell {
        self.style = style;
        self
    }
}

/// A cell drawn in `width` characters: cut (with `…`) or padded, with the filter's matches lit.
fn cell_spans(
    cell: &Cell,
    width: usize,
    column: &Column,
    base: Style,
    positions: &[u32],
    theme: Theme,
) -> Vec<Span<'static>> {
    let style = base.patch(cell.style);
    let (shown, skipped, before, after) = columns::cut(&cell.text, width, column.keep_end);
    let mut spans = Vec::new();
    if !before.is_empty() {
        spans.push(Span::styled(before, style));
    }
    match cell.hay {
        Some(offset) => spans.extend(highlighted(
            &shown,
            offset + skipped,
            positions,
            style,
            theme,
        )),
        None => spans.push(Span::styled(shown.clone(), style)),
    }
    if !after.is_empty() {
        spans.push(Span::styled(after, style));
    }
    let used = shown.chars().count() + before.chars().count() + after.chars().count();
    if used < width {
        spans.push(Span::styled(" ".repeat(width - used), base));
    }
    spans
}

/// A pane: its bordered title, a line of column headers, then the rows that fit, scrolled to the
/// cursor. Each row is the cursor mark, its own mark (except in Activity), then `cells`, one per
/// column; columns a narrow pane has no room for are left out by their priority. An empty pane
/// shows `empty` instead.
#[allow(clippy::too_many_arguments)]
fn draw_pane<T: Row>(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    theme: Theme,
    pane: Pane,
    table: &Table<T>,
    title_extra: String,
    empty: Option<String>,
    columns: &[Column],
    cells: impl Fn(&T) -> Vec<Cell>,
) {
    let block = pane_block(app, pane, table, title_extra, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if table.is_empty() {
        if let Some(text) = empty {
            frame.render_widget(
                Paragraph::new(text)
                    .style(theme.dim())
                    .wrap(Wrap { trim: true }),
                inner,
            );
        }
        return;
    }
    let marks = pane != Pane::Activity;
    // The cursor mark, and `[x] `.
    let lead = 1 + if marks { 4 } else { 0 };
    let widths = columns::fit(columns, (inner.width as usize).saturating_sub(lead));
    let gap = |spans: &mut Vec<Span<'static>>, first: &mut bool, style: Style| {
        if !std::mem::take(first) {
            spans.push(Span::styled(" ", style));
        }
    };
    let header_style = theme.dim().add_modifier(Modifier::BOLD);
    let mut header = vec![Span::styled(" ".repeat(lead), header_style)];
    let mut first = true;
    for (column, width) in columns.iter().zip(&widths) {
        if let Some(w) = width {
            gap(&mut header, &mut first, header_style);
            let (text, ..) = columns::cut(column.header, *w, false);
            header.push(Span::styled(format!("{text:<w$}"), header_style));
        }
    }
    let mut lines = vec![Line::from(header)];
    let mut matcher = app.matcher.borrow_mut();
    let height = (inner.height as usize).saturating_sub(1);
    let mut range = window(table, height);
    // Rows that match only fuzzily sit under a divider of their own (`*` never marks them); the
    // divider takes a line, given up by the row furthest from the cursor.
    let exact = table.exact();
    let divider = exact < table.visible().len() && range.contains(&exact);
    if divider && range.len() >= height {
        if table.cursor + 1 == range.end {
            range.start += 1;
        } else {
            range.end -= 1;
        }
    }
    for pos in range {
        if divider && pos == exact {
            let text = format!(
                "── fuzzy: scattered letters only, * does not mark these {}",
                "─".repeat(inner.width as usize)
            );
            lines.push(Line::styled(text, theme.dim()));
        }
        let i = table.visible()[pos];
        let selected = pos == table.cursor;
        let base = row_style(app, pane, selected);
        let positions = table.match_positions(i, &mut matcher);
        let mut spans = vec![Span::styled(if selected { ">" } else { " " }, base)];
        if marks {
            let marked = table.is_marked(i);
            spans.push(Span::styled(
                if marked { "[x] " } else { "[ ] " },
                if marked {
                    base.add_modifier(Modifier::BOLD)
                } else {
                    base
                },
            ));
        }
        let mut first = true;
        for ((column, width), cell) in columns.iter().zip(&widths).zip(cells(&table.rows()[i])) {
            if let Some(w) = width {
                gap(&mut spans, &mut first, base);
                spans.extend(cell_spans(&cell, *w, column, base, &positions, theme));
            }
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_sessions(frame: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let mut marked = if app.marked() > 0 {
        format!(" ({} marked)", app.marked())
    } else {
        String::new()
    };
    if let Some(live) = app.live.describe(app.now) {
        marked.push_str(&format!(" · {live}"));
    }
    if app.order != crate::triage::SessionOrder::AsLoaded {
        marked.push_str(&format!(" · {}", app.order.describe()));
    }
    let empty = format!(
        "No sessions yet: {} loads a file, {} adds one, {} (or :load live) reads Kore's live data.",
        app.keys.keys_of(Action::Load),
        app.keys.keys_of(Action::Add),
        app.keys.keys_of(Action::Refresh)
    );
    let layout = app.session_columns.columns(app.live.enabled);
    let columns: Vec<Column> = layout.iter().map(|(c, _)| *c).collect();
    draw_pane(
        frame,
        app,
        area,
        theme,
        Pane::Sessions,
        &app.sessions,
        marked,
        Some(empty),
        &columns,
        |s| {
            let word = s.state.word();
            // Where each of the file's (or the live data's) values starts in the haystack: the id,
            // then each value after a space.
            let mut at = s.row.id.chars().count() + 1;
            let mut values = Vec::with_capacity(s.row.extra.len());
            for (name, value) in &s.row.extra {
                values.push((SessionColumn::of(name), value.as_str(), at));
                at += value.chars().count() + 1;
            }
            layout
                .iter()
                .map(|(_, what)| match what {
                    SessionCell::Id => Cell::new(s.row.id.clone(), Some(0)),
                    // Where a move's answer put it, not yet seen by a read: marked `→`.
                    SessionCell::Fixed(kind @ (SessionColumn::Queue | SessionColumn::Agent))
                        if s.unseen_in(*kind == SessionColumn::Agent) =>
                    {
                        let v = values.iter().find(|(k, ..)| k == kind).map(|(_, v, _)| *v);
                        match v {
                            Some(v) if !v.is_empty() => {
                                Cell::plain(format!("→{v}")).styled(theme.fg(Color::Cyan))
                            }
                            _ => Cell::plain(""),
                        }
                    }
                    SessionCell::Fixed(kind) => values
                        .iter()
                        .find(|(k, ..)| k == kind)
                        .map(|(_, v, at)| Cell::new(*v, Some(*at)))
                        .unwrap_or_else(|| Cell::plain("")),
                    SessionCell::Outcome => {
                        // Another run (another supervisor's, perhaps on another machine) is
                        // moving it now: who.
                        let elsewhere = match app.claims.get(&s.row.id) {
                            Some((crate::claims::Held::Claimed { who, .. }, _))
                                if !s.state.in_flight =>
                            {
                                Some(format!("moving: {who}"))
                            }
                            _ => None,
                        };
                        let cell = if s.state.retrying {
                            "retrying".to_string()
                        } else if let Some(elsewhere) = elsewhere {
                            elsewhere
                        } else {
                            s.state.outcome_cell()
                        };
                        Cell::plain(cell).styled(theme.outcome(word))
                    }
                    SessionCell::Callback => {
                        let cb = s.state.callback_word();
                        Cell::plain(cb).styled(theme.callback(cb))
                    }
                    SessionCell::Verified => {
                        // What the server shows now, once it was asked (live data on).
                        let v = s
                            .state
                            .verified_word()
                            .or(s.state.verifying.then_some("checking"))
                            .unwrap_or("");
                        Cell::plain(v).styled(theme.verified(v))
                    }
                    SessionCell::Details => {
                        // After a move, its message (the server's words) matters more than the
                        // file's other columns; where the server's view disagrees with its answer,
                        // what it shows now matters most.
                        let message = match &s.state.verified {
                            Some(v) if v.verified != crate::verify::Verified::Verified => {
                                v.detail.as_str()
                            }
                            _ => s.state.message.as_str(),
                        };
                        if !message.is_empty() && !s.state.in_flight {
                            let first = message.lines().next().unwrap_or_default();
                            Cell::plain(first).styled(theme.outcome(word))
                        } else {
                            let others: Vec<&(SessionColumn, &str, usize)> = values
                                .iter()
                                .filter(|(k, ..)| *k == SessionColumn::Other)
                                .collect();
                            let text = others
                                .iter()
                                .map(|(_, v, _)| *v)
                                .collect::<Vec<_>>()
                                .join(" ");
                            // Lit as one run only when the values sit together in the haystack.
                            let hay = others
                                .first()
                                .map(|(.., at)| *at)
                                .filter(|_| others.len() == 1);
                            Cell::new(text, hay)
                        }
                    }
                })
                .collect()
        },
    );
}

/// Agents and queues from live data that could not be refreshed say so.
fn stale_flag(app: &App) -> String {
    if app.live.failure.is_some() && app.live.last_ok.is_some() {
        " · STALE".into()
    } else {
        String::new()
    }
}

/// The title's count of marks, when there are any.
fn marks_flag<T: Row>(table: &Table<T>) -> String {
    match table.marked() {
        0 => String::new(),
        n => format!(" ({n} marked)"),
    }
}

/// People tell agents and queues apart by name: on a narrow pane the id goes (the confirmation
/// and the detail show it) before the load does.
const AGENT_COLUMNS: [Column; 6] = [
    Column::id("agent", 38).dropped_at(3),
    Column::new("name", 14, 0).narrowing_to(12),
    Column::new("status", 9, 0),
    Column::new("chats", 7, 1),
    Column::new("queues", 14, 4),
    Column::rest("skills"),
];

fn draw_agents(frame: &mut Frame, app: &App, area: Rect, theme: Theme) {
    draw_pane(
        frame,
        app,
        area,
        theme,
        Pane::Agents,
        &app.agents,
        format!("{}{}", marks_flag(&app.agents), stale_flag(app)),
        None,
        &AGENT_COLUMNS,
        |a| {
            let status = a.status.as_deref().unwrap_or("");
            let status_style = match status {
                "AVAILABLE" => theme.fg(Color::Green),
                "BUSY" => theme.fg(Color::Yellow),
                "AWAY" => theme.fg(Color::Magenta),
                "OFFLINE" => theme.fg(Color::Red),
                "" => Style::new(),
                // A presence Kore does not document (System Busy, Login Prep...): not available.
                _ => theme.fg(Color::Yellow),
            };
            // Load: chats now / chats at once, when the live data says (with the moves answered
            // since the last read); over capacity is flagged.
            let chats = app.moving.chats_of(a);
            let over = matches!((chats, a.max_chats), (Some(now), Some(max)) if now > max);
            let load = match (chats, a.max_chats) {
                (Some(now), Some(max)) if over => format!("{now}/{max} !"),
                (Some(now), Some(max)) => format!("{now}/{max}"),
                (None, Some(max)) => format!("-/{max}"),
                _ => String::new(),
            };
            let load_style = if over {
                theme.fg(Color::Red).add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            // The haystack: id, name, status, queues, skills, a space apart.
            let name_at = a.id.chars().count() + 1;
            let status_at = name_at + a.name.chars().count() + 1;
            let queues_at = status_at + a.status.as_ref().map_or(0, |s| s.chars().count() + 1);
            let skills_at = queues_at + a.queues.as_ref().map_or(0, |q| q.chars().count() + 1);
            vec![
                Cell::new(a.id.clone(), Some(0)),
                Cell::new(a.name.clone(), Some(name_at)),
                Cell::new(status, a.status.as_ref().map(|_| status_at)).styled(status_style),
                Cell::plain(load).styled(load_style),
                Cell::new(
                    a.queues.clone().unwrap_or_default(),
                    a.queues.as_ref().map(|_| queues_at),
                )
                .styled(theme.dim()),
                Cell::new(
                    a.skills.clone().unwrap_or_default(),
                    a.skills.as_ref().map(|_| skills_at),
                )
                .styled(theme.dim()),
            ]
        },
    );
}

/// The width of a queue's trend: the last 12 refreshes.
const TREND_WIDTH: usize = 12;

const QUEUE_COLUMNS: [Column; 9] = [
    Column::id("queue", 38).dropped_at(3),
    Column::new("name", 16, 0).narrowing_to(8),
    Column::new("waiting", 7, 0),
    Column::new("avail", 5, 0),
    Column::new("open", 4, 0),
    Column::new("trend", TREND_WIDTH, 1),
    Column::new("engaged", 7, 1),
    Column::new("avg", 6, 2),
    Column::new("max", 6, 2),
];

fn draw_queues(frame: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let wait = |ms: Option<u64>| {
        ms.map(|ms| crate::format::duration(Duration::from_millis(ms)))
            .unwrap_or_default()
    };
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    draw_pane(
        frame,
        app,
        area,
        theme,
        Pane::Queues,
        &app.queues,
        format!("{}{}", marks_flag(&app.queues), stale_flag(app)),
        None,
        &QUEUE_COLUMNS,
        |q| {
            vec![
                Cell::new(q.id.clone(), Some(0)),
                Cell::new(q.name.clone(), Some(q.id.chars().count() + 1)),
                Cell::plain(count(app.moving.waiting_in(q))),
                // Who could take a move there now: none AVAILABLE (or inactive) in the warning colour.
                match (q.active, q.available) {
                    (Some(false), _) => Cell::plain("off").styled(theme.warning()),
                    (_, Some(0)) => Cell::plain("0").styled(theme.warning()),
                    (_, n) => Cell::plain(count(n)),
                },
                // Open now by its Hours of Operation; `?` when they could not be read.
                match app.opening.of(&q.id) {
                    Some(crate::hours::OpenNow::Open) => Cell::plain("yes").styled(theme.dim()),
                    Some(crate::hours::OpenNow::Closed { .. }) => {
                        Cell::plain("no").styled(theme.warning())
                    }
                    None if app.opening.unknown(&q.id).is_some() => Cell::plain("?"),
                    None => Cell::plain(""),
                },
                Cell::plain(app.trends.sparkline(&q.id, TREND_WIDTH)).styled(theme.fg(Color::Cyan)),
                Cell::plain(count(q.engaged)),
                Cell::plain(wait(q.avg_wait)).styled(theme.dim()),
                Cell::plain(wait(q.max_wait)).styled(theme.dim()),
            ]
        },
    );
}

const ACTIVITY_COLUMNS: [Column; 2] = [Column::new("time", 8, 0), Column::rest("event")];

fn draw_activity(frame: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let empty = "Each request, its response and its callbacks will show here.".to_string();
    draw_pane(
        frame,
        app,
        area,
        theme,
        Pane::Activity,
        &app.activity,
        match app.activity.unseen() {
            0 => " · newest first".into(),
            n => format!(" · newest first · {n} new ↑ (g)"),
        },
        Some(empty),
        &ACTIVITY_COLUMNS,
        |e| {
            let style = match &e.kind {
                ActivityKind::Response { outcome, .. } => theme.outcome(outcome.as_str()),
                ActivityKind::Callback { event } if !event.accepted => theme.outcome("failed"),
                ActivityKind::Callback { event } => theme.callback(event.state().as_str()),
                ActivityKind::NotSent { .. } => theme.outcome("not sent"),
                _ => Style::new(),
            };
            vec![
                Cell::plain(e.clock(&app.ctx.zone)).styled(theme.dim()),
                Cell::new(e.summary(), Some(0)).styled(style),
            ]
        },
    );
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect, theme: Theme) {
    match &app.mode {
        Mode::Filter(input) => {
            // A kept query shows selected until the first key replaces it.
            let style = if app.filter_fresh {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            let line = Line::from(vec![
                Span::raw("/"),
                Span::styled(input.value().to_string(), style),
            ]);
            frame.render_widget(Paragraph::new(line), area);
            frame.set_cursor_position((area.x + 1 + input.visual_cursor() as u16, area.y));
        }
        Mode::Command { input, .. } => {
            let text = format!(":{}", input.value());
            frame.render_widget(Paragraph::new(text), area);
            frame.set_cursor_position((area.x + 1 + input.visual_cursor() as u16, area.y));
        }
        _ => {
            if let Some(status) = &app.status {
                frame.render_widget(
                    Paragraph::new(status.text.clone()).style(theme.level(status.level)),
                    area,
                );
            }
        }
    }
}

/// A footer hint: the keys, and what they do.
pub type Hint = (String, &'static str);

/// The hints of what works here, read from the key map: the focused pane's keys, and the keys that
/// work everywhere (kept at the right, so they show at any width).
pub fn footer_hints(app: &App) -> (Vec<Hint>, Vec<Hint>) {
    let fixed =
        |pairs: &[(&str, &'static str)]| pairs.iter().map(|(k, l)| (k.to_string(), *l)).collect();
    let hints = match &app.mode {
        Mode::Filter(_) => fixed(&[("type", "filter"), ("Enter", "keep"), ("Esc", "clear")]),
        Mode::Command { .. } => fixed(&[("Enter", "run"), ("↑/↓", "history"), ("Esc", "cancel")]),
        Mode::Form(_) => fixed(&[("Enter", "next / done"), ("Esc", "cancel")]),
        Mode::Confirm(_) if app.ctx.read_only.is_some() => fixed(&[
            (":plan save PATH", "write these moves"),
            ("n/Esc", "close"),
            ("j/k", "scroll"),
        ]),
        Mode::Confirm(_) => fixed(&[
            ("y", "send"),
            ("n/Esc", "cancel"),
            ("j/k", "scroll"),
            (":plan save PATH", "write, not send"),
        ]),
        Mode::Detail {
            of: DetailOf::Session(_),
            ..
        } => fixed(&[("j/k", "scroll"), ("t", "last messages"), ("Esc", "close")]),
        Mode::Help { .. } | Mode::Detail { .. } => fixed(&[("j/k", "scroll"), ("Esc", "close")]),
        Mode::QuitConfirm => fixed(&[("y", "stop the run and quit"), ("n/Esc", "stay")]),
        Mode::ConfirmPriority(_) if app.ctx.read_only.is_some() => {
            fixed(&[("read-only", "nothing can be sent"), ("Esc", "close")])
        }
        Mode::ConfirmPriority(_) => fixed(&[("y", "send"), ("n/Esc", "cancel")]),
        Mode::Alerts { .. } => fixed(&[("Enter", "act"), ("z", "snooze"), ("Esc", "close")]),
        Mode::Normal => {
            let actions: &[Action] = match app.focus {
                Pane::Sessions => &[
                    Action::Mark,
                    Action::Filter,
                    Action::Retry,
                    Action::Load,
                    Action::Add,
                    Action::Delete,
                    Action::MarkVisible,
                    Action::UnmarkAll,
                    Action::Refresh,
                    Action::NextPane,
                    Action::Command,
                ],
                Pane::Agents | Pane::Queues => &[
                    Action::Select,
                    Action::Mark,
                    Action::Filter,
                    Action::Refresh,
                    Action::Load,
                    Action::Add,
                    Action::Delete,
                    Action::NextPane,
                    Action::Command,
                ],
                Pane::Activity => &[
                    Action::Select,
                    Action::Filter,
                    Action::NextPane,
                    Action::Command,
                ],
            };
            let left = actions
                .iter()
                .map(|a| {
                    let label = match (a, app.focus) {
                        (Action::Select, Pane::Activity) => "details",
                        (Action::Select, _) => "assign",
                        _ => a.label(),
                    };
                    (app.keys.keys_of(*a), label)
                })
                .collect();
            // While a run goes, how to stop it stays in sight at any width.
            let everywhere: &[Action] = if app.in_flight() > 0 {
                &[Action::Stop, Action::Help, Action::Quit]
            } else {
                &[Action::Help, Action::Quit]
            };
            let right = everywhere
                .iter()
                .map(|a| (app.keys.keys_of(*a), a.label()))
                .collect();
            return (left, right);
        }
    };
    (hints, Vec::new())
}

fn hint_spans(hints: Vec<Hint>, theme: Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for (i, (keys, label)) in hints.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.dim()));
        }
        spans.push(Span::styled(
            keys,
            Style::new().add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(format!(" {label}")));
    }
    spans
}

fn draw_footer(frame: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let (left, right) = footer_hints(app);
    let right = Line::from(hint_spans(right, theme));
    let right_width = (right.width() as u16).min(area.width);
    let [left_area, _, right_area] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(2),
        Constraint::Length(right_width),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(hint_spans(left, theme))),
        left_area,
    );
    frame.render_widget(Paragraph::new(right), right_area);
}

fn popup(frame: &mut Frame, width_pct: u16, height: u16) -> Rect {
    let area = frame.area();
    let width = (area.width * width_pct / 100).max(area.width.min(40));
    let height = height.min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    rect
}

/// The confirmation's text: the exact calls, redacted, and how long the pacer will take.
pub fn confirm_lines(app: &App, theme: Theme) -> Vec<Line<'static>> {
    let Mode::Confirm(confirm) = &app.mode else {
        return vec![];
    };
    let previews = app.previews(confirm);
    let n = confirm.moves.len();
    let headline = confirm.headline(|t| app.name_of(t).unwrap_or_else(|| t.to_string()));
    let mut lines = vec![Line::styled(
        headline,
        Style::new().add_modifier(Modifier::BOLD),
    )];

    if let Some(reason) = &app.ctx.read_only {
        lines.push(Line::styled(reason.clone(), theme.warning()));
    }
    if let Some(name) = target_name(app, confirm) {
        lines.push(Line::raw(format!("  ({name})")));
    }
    // Where they are now, so a move from the wrong place shows before it is made.
    let now = whereabouts(app, confirm);
    if n > 0 && !now.is_empty() {
        lines.push(Line::raw(format!(
            "  now: {}",
            crate::format::one_line(&now)
        )));
    }
    // A plan is a file anyone may have edited, and names come from the server: one line each,
    // no control characters.
    let clean = crate::format::one_line;
    if let Some(source) = &confirm.source {
        lines.push(Line::raw(format!("  from {}", clean(source))));
    }
    // A spread's loads first: who takes how many, before the moves one by one.
    for note in &confirm.notes {
        lines.push(Line::raw(format!("  {}", clean(note))));
    }
    if !confirm.drifted.is_empty() {
        lines.push(Line::styled(
            format!(
                "{} planned move(s) drifted and will not be sent (listed below).",
                confirm.drifted.len()
            ),
            theme.warning(),
        ));
    }
    if confirm.skipped_in_flight > 0 {
        lines.push(Line::raw(format!(
            "{} chosen session(s) left out: a request for them is in flight.",
            confirm.skipped_in_flight
        )));
    }
    let mut warnings: Vec<String> = Vec::new();
    if let Some((target, why)) = &confirm.unfit_target {
        warnings.push(format!(
            "{target} {why}: the conversations may wait with nobody to take them."
        ));
    }
    for (agent, count) in &confirm.taken_from {
        warnings.push(format!(
            "{count} of these are with {agent}, who is AVAILABLE and in them: the move takes them away."
        ));
    }
    if !confirm.maybe_moved.is_empty() {
        warnings.push(format!(
            "{} session(s) had an unknown outcome and may already have moved: {}",
            confirm.maybe_moved.len(),
            confirm.maybe_moved.join(", ")
        ));
    }
    for (session, said) in &confirm.recently_moved {
        warnings.push(format!("{session} was {said}."));
    }
    if !confirm.already_moved.is_empty() {
        let n = confirm.already_moved.len();
        warnings.push(format!(
            "{n} of these session(s) were transferred before and may have moved already: {}",
            confirm.already_moved.join(", ")
        ));
    }
    if confirm.warned() {
        let warning = theme.warning();
        if confirm.warning_acknowledged {
            // The second screen: the warnings alone, so the second `y` is given to them.
            let mut second = vec![lines.swap_remove(0), Line::raw("")];
            second.extend(warnings.into_iter().map(|w| Line::styled(w, warning)));
            second.push(Line::raw(""));
            second.push(Line::styled(
                "Press y once more to send anyway; n or Esc sends nothing. Enter sends nothing.",
                warning,
            ));
            return second;
        }
        lines.extend(warnings.into_iter().map(|w| Line::styled(w, warning)));
        lines.push(Line::styled(
            "This asks twice: y, then y again on a second screen.",
            warning,
        ));
    }
    let eta = crate::pacer::Pacer::eta_at(app.ctx.per_minute, n + app.in_flight());
    let pacing = if app.ctx.per_minute == 0 {
        "pacing is off".to_string()
    } else if eta.as_secs() == 0 {
        format!("at {}/min the pacer sends at once", app.ctx.per_minute)
    } else {
        format!(
            "at {}/min the pacer takes about {}",
            app.ctx.per_minute,
            clock(eta)
        )
    };
    // Nothing to send has no pacing to tell.
    if n > 0 {
        lines.push(Line::raw(format!(
            "{n} request{} · {pacing}{}",
            if n == 1 { "" } else { "s" },
            if app.in_flight() > 0 {
                format!(" (after {} in flight)", app.in_flight())
            } else {
                String::new()
            }
        )));
    }
    lines.push(Line::raw(""));
    if let Some(first) = previews.first() {
        lines.push(Line::raw(format!("{} {}", first.method, first.url)));
        for (k, v) in &first.headers {
            lines.push(Line::raw(format!("{k}: {v}")));
        }
        lines.push(Line::raw(""));
    }
    for ((session, target), preview) in confirm.moves.iter().zip(&previews) {
        // Who and where each session is, so the wrong one shows before it moves.
        let about = app
            .sessions
            .find(session)
            .and_then(|i| app.sessions.get(i))
            .map(|s| describe_session(&s.row.extra))
            .filter(|d| !d.is_empty())
            .map(|d| format!(" · {d}"))
            .unwrap_or_default();
        // A spread or a plan sends to many: each move names its target.
        let named = match app
            .name_of(target)
            .filter(|_| target_name(app, confirm).is_none())
        {
            Some(name) => format!("{target} ({name})"),
            None => target.to_string(),
        };
        lines.push(Line::styled(
            format!("{session} → {named}{about}"),
            Style::new().add_modifier(Modifier::BOLD),
        ));
        lines.push(Line::raw(format!("  {}", preview.body)));
    }
    if !confirm.drifted.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Drifted since planned — not sent:",
            theme.warning(),
        ));
        for (session, target, why) in &confirm.drifted {
            lines.push(Line::styled(
                format!("{session} → {target}: {}", clean(why)),
                theme.warning(),
            ));
        }
    }
    if !confirm.already_there.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::raw("Already there — not sent:"));
        for (session, target) in &confirm.already_there {
            lines.push(Line::raw(format!("{session} → {target}: already there")));
        }
    }
    if !confirm.left_out.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::raw("Left where they are:"));
        for (session, why) in &confirm.left_out {
            lines.push(Line::raw(format!("{session}: {}", clean(why))));
        }
    }
    if let Some(missing) = target_missing(app, confirm) {
        lines.insert(1, Line::styled(missing, theme.warning()));
    }
    lines
}

/// A session's customer or name, channel, status, queue and agent, from its columns (the file's
/// and the live data's), in that order.
fn describe_session(extra: &[(std::sync::Arc<str>, String)]) -> String {
    const ABOUT: [(SessionColumn, &str); 5] = [
        (SessionColumn::Customer, ""),
        (SessionColumn::Channel, ""),
        (SessionColumn::Status, ""),
        (SessionColumn::Queue, "queue "),
        (SessionColumn::Agent, "agent "),
    ];
    ABOUT
        .iter()
        .filter_map(|(kind, label)| {
            let (_, value) = extra
                .iter()
                .find(|(k, v)| SessionColumn::of(k) == *kind && !v.trim().is_empty())?;
            Some(format!("{label}{value}"))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A warning when the target is not among the agents or queues the console knows (live data or
/// files): a typed id may be a typo.
fn target_missing(app: &App, confirm: &super::app::Confirm) -> Option<String> {
    let (_, target) = confirm.moves.first()?;
    let known = match target.kind {
        TargetKind::Agent => app.agents.find(&target.id).is_some(),
        TargetKind::Queue => app.queues.find(&target.id).is_some(),
    };
    let source = if app.live.enabled {
        "the live data"
    } else {
        "the loaded agents and queues"
    };
    (!known).then(|| format!("{target} is not in {source}: check the id before you send."))
}

fn target_name(app: &App, confirm: &super::app::Confirm) -> Option<String> {
    let (_, target) = confirm.moves.first()?;
    if confirm.moves.iter().any(|(_, t)| t != target) {
        return None;
    }
    app.name_of(target)
}

fn draw_confirm(frame: &mut Frame, app: &App, theme: Theme) {
    let Mode::Confirm(confirm) = &app.mode else {
        return;
    };
    let lines = confirm_lines(app, theme);
    let area = popup(frame, 90, frame.area().height.saturating_sub(4));
    let (title, keys) = if app.ctx.read_only.is_some() {
        (
            " READ-ONLY: nothing can be sent ",
            " :plan save PATH writes these moves · n/Esc close · j/k scroll ",
        )
    } else {
        (
            " Confirm: nothing is sent until you press y ",
            " y send · n/Esc cancel · j/k scroll · Enter sends nothing ",
        )
    };
    let block = Block::bordered()
        .title(title)
        .title_bottom(keys)
        .border_style(theme.fg(Color::Yellow).add_modifier(Modifier::BOLD));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((confirm.scroll, 0)),
        area,
    );
}

/// The help's text: every binding from the key map, the modes, and where the files are.
pub fn help_lines(app: &App) -> Vec<Line<'static>> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::raw(format!("  config file  {}", app.ctx.config_path)),
        Line::raw(format!("  log file     {}", app.ctx.log_path)),
        Line::raw(format!("  audit log    {}", app.ctx.audit_path)),
        Line::raw(""),
        Line::styled(
            "Keys (rebind them in [keys] of the config file: action = \"key, key\")",
            bold,
        ),
    ];
    for action in Action::ALL {
        lines.push(Line::raw(format!(
            "  {:<16} {:<14} {}",
            app.keys.keys_of(action),
            action.name(),
            action.describe()
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        "  In a text field every key types; only Enter, Esc and Ctrl-C act.",
    ));
    lines.push(Line::raw(
        "  In the confirmation: only y sends (a warned move asks for a second y); Enter sends nothing; n or Esc cancels.",
    ));
    lines.push(Line::raw(
        "  In Agents: Enter on a marked agent spreads the chosen sessions over every marked agent by free capacity.",
    ));
    lines.push(Line::raw(
        "  Plans: :plan save PATH in the confirmation writes it instead of sending; :plan open PATH and :revert last check a plan against fresh live data first.",
    ));
    lines.push(Line::raw(""));
    lines.push(Line::styled("Commands (type : first)", bold));
    for (usage, what) in super::app::COMMANDS {
        lines.push(Line::raw(format!("  :{usage:<34} {what}")));
    }
    lines
}

fn draw_help(frame: &mut Frame, app: &App, scroll: u16, theme: Theme) {
    let area = popup(frame, 90, frame.area().height.saturating_sub(2));
    let block = Block::bordered()
        .title(" Help ")
        .title_bottom(" Esc close · j/k scroll ")
        .border_style(theme.border(true));
    frame.render_widget(
        Paragraph::new(help_lines(app))
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

fn draw_detail(frame: &mut Frame, app: &App, of: &DetailOf, scroll: u16, theme: Theme) {
    let (title, text) = match of {
        DetailOf::Entry(entry) => {
            let Some(e) = app.activity.get(*entry) else {
                return;
            };
            (" Activity entry ", e.detail(&app.ctx.zone))
        }
        DetailOf::Session(id) => (" Session ", session_detail(app, id)),
    };
    let lines: Vec<Line> = text.into_iter().map(Line::raw).collect();
    let area = popup(frame, 90, frame.area().height.saturating_sub(2));
    let block = Block::bordered()
        .title(title)
        .title_bottom(match of {
            DetailOf::Session(_) => " Esc close · j/k scroll · t its last messages ",
            DetailOf::Entry(_) => " Esc close · j/k scroll ",
        })
        .border_style(theme.border(true));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

/// One session, whole: every column, where its move stands, and every attempt, response, callback
/// and verification the Activity pane holds for it, oldest first.
pub fn session_detail(app: &App, id: &str) -> Vec<String> {
    let Some(s) = app.sessions.find(id).and_then(|i| app.sessions.get(i)) else {
        return vec![format!("{id}: no longer in the Sessions pane")];
    };
    let mut out = vec![format!("botSessionId  {id}"), String::new()];
    // What it is about first: on a small terminal the messages `t` reads show without scrolling.
    out.extend(transcript_lines(app, id));
    out.push(String::new());
    for (k, v) in &s.row.extra {
        out.push(format!("{k:<13} {v}"));
    }
    if s.live {
        out.push("(in the live data now)".into());
    }
    if s.place.unseen() {
        out.push("(→ where the move's answer put it: not yet seen by a read of the server)".into());
    }
    out.push(String::new());
    let state = &s.state;
    let now = match state.outcome_cell().as_str() {
        "" => "never sent".to_string(),
        cell => cell.to_string(),
    };
    out.push(format!("move          {now}"));
    if let Some(target) = &state.target {
        match app.name_of(target) {
            Some(name) => out.push(format!("target        {target} ({name})")),
            None => out.push(format!("target        {target}")),
        }
    }
    out.push(format!("callback      {}", state.callback_word()));
    if let Some(v) = &state.verified {
        out.push(format!("server shows  {}: {}", v.verified, v.detail));
    }
    if !state.message.is_empty() {
        out.push(format!("message       {}", state.message));
    }
    out.push(String::new());
    out.push("history (oldest first):".into());
    // The pane's rows are kept in the order they came.
    let entries: Vec<&super::activity::ActivityEntry> = app
        .activity
        .rows()
        .iter()
        .filter(|e| e.session.as_deref() == Some(id))
        .collect();
    if entries.is_empty() {
        out.push("  nothing yet".into());
    }
    for e in entries {
        let when = crate::format::stamp_in(&e.at, &app.ctx.zone);
        out.push(format!("  {when}  {}", e.summary()));
    }
    out
}

/// The session's last messages, as far as `t` read them.
fn transcript_lines(app: &App, id: &str) -> Vec<String> {
    use crate::console::app::transcript::Transcript;
    match app.transcripts.of(id) {
        None => vec!["conversation  t reads its last messages (Conversation History)".into()],
        Some(Transcript::Reading) => vec!["conversation  reading its last messages…".into()],
        Some(Transcript::Unread(why)) => vec![format!("conversation  not read: {why}")],
        Some(Transcript::Read(messages)) if messages.is_empty() => {
            vec!["conversation  Kore's Conversation History has no messages for it".into()]
        }
        Some(Transcript::Read(messages)) => {
            let mut out = vec![format!(
                "conversation (its last {}, oldest first; t reads again; Kore does not tell a bot's messages from an agent's):",
                messages.len()
            )];
            for m in messages {
                let when =
                    m.at.as_deref()
                        .map(|at| crate::format::clock_in(at, &app.ctx.zone))
                        .unwrap_or_else(|| "--:--:--".into());
                out.push(format!("  {when}  {:<8}  {}", m.author.as_str(), m.text));
            }
            out
        }
    }
}

fn draw_form(frame: &mut Frame, app: &App, theme: Theme) {
    let Mode::Form(form) = &app.mode else { return };
    let title = match form.purpose {
        FormPurpose::Add(pane) => format!(" Add to {} ", pane.title()),
        FormPurpose::Load(pane) => {
            format!(" Load {} from a file (CSV, JSON, JSON Lines) ", pane.noun())
        }
    };
    let area = popup(frame, 70, form.fields.len() as u16 + 2);
    let block = Block::bordered()
        .title(title)
        .title_bottom(" Enter next/done · Esc cancel ")
        .border_style(theme.border(true));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let label_w = form
        .fields
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    for (i, (label, input)) in form.fields.iter().enumerate() {
        let row = Rect {
            y: inner.y + i as u16,
            height: 1,
            ..inner
        };
        let style = if i == form.focus {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        frame.render_widget(
            Paragraph::new(format!("{label:<label_w$}{}", input.value())).style(style),
            row,
        );
        if i == form.focus {
            frame.set_cursor_position((row.x + (label_w + input.visual_cursor()) as u16, row.y));
        }
    }
}

/// `!`: every alert, the highlighted one acted on with Enter or snoozed with z.
fn draw_alerts(
    frame: &mut Frame,
    alerts: &[crate::console::app::alerts::Alert],
    selected: usize,
    theme: Theme,
) {
    let area = popup(frame, 70, (alerts.len() as u16).saturating_add(2).max(3));
    let lines: Vec<Line> = alerts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let text = format!("{} {}", if i == selected { ">" } else { " " }, a.line());
            if i == selected {
                Line::styled(text, theme.warning())
            } else {
                Line::raw(text)
            }
        })
        .collect();
    let block = Block::bordered()
        .title(" Alerts: what needs you now ")
        .title_bottom(" Enter acts · z snoozes 15 min · j/k · Esc closes ")
        .border_style(theme.fg(Color::Yellow));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The priority change's confirmation: each change, the exact call, and the setting no call checks.
fn draw_priority_confirm(
    frame: &mut Frame,
    app: &App,
    confirm: &crate::console::app::priority::PriorityConfirm,
    theme: Theme,
) {
    // As tall as the moves' confirmation: the lines wrap, and the last (what no call can check)
    // must show on a small terminal too.
    let area = popup(frame, 90, frame.area().height.saturating_sub(4));
    let mut text: Vec<Line> = confirm
        .lines
        .iter()
        // One line each (a queue's name comes from the server), the call's indent kept.
        .map(|l| {
            let indent = l.len() - l.trim_start().len();
            Line::raw(" ".repeat(indent) + &crate::format::one_line(l))
        })
        .collect();
    if let Some(why) = &app.ctx.read_only {
        text.push(Line::styled(format!("Not sent: {why}"), theme.warning()));
    }
    let block = Block::bordered()
        .title(" Change a queue's priority? ")
        .title_bottom(" y sends · n/Esc cancels ")
        .border_style(theme.fg(Color::Yellow));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
        area,
    );
}

fn draw_quit(frame: &mut Frame, app: &App, theme: Theme) {
    let area = popup(frame, 60, 6);
    let text = vec![
        Line::raw(format!("{} move(s) not settled yet.", app.in_flight())),
        Line::raw(
            "y stops the run and quits: what is not sent yet is cancelled and on record; requests on the wire get their answer first.",
        ),
    ];
    let block = Block::bordered()
        .title(" Stop the run and quit? ")
        .title_bottom(" y stop and quit · n/Esc stay ")
        .border_style(theme.fg(Color::Yellow));
    frame.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: true }),
        area,
    );
}
