//! A pane's columns: fixed widths, a header each, and what goes first when the terminal is narrow.
//! A row's cells are always in the same place, whatever data arrives, so nothing reshuffles under
//! the operator's eye.

use std::sync::Arc;

/// One column of a pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    /// Its width when there is room.
    pub width: usize,
    /// Its width when there is not (an id keeps its last characters).
    pub narrow: usize,
    /// 0: never dropped; otherwise the higher, the sooner it goes on a narrow terminal.
    pub drop: u8,
    /// Cut from the start (`…c7910408`), not the end: for ids, whose end tells them apart.
    pub keep_end: bool,
    /// Takes the room the others leave (the last column).
    pub flex: bool,
}

impl Column {
    pub const fn new(header: &'static str, width: usize, drop: u8) -> Column {
        Column {
            header,
            width,
            narrow: width,
            drop,
            keep_end: false,
            flex: false,
        }
    }

    /// An id column: full when there is room, else its last 8 characters after `…`.
    pub const fn id(header: &'static str, width: usize) -> Column {
        Column {
            narrow: 9,
            keep_end: true,
            ..Column::new(header, width, 0)
        }
    }

    /// The same column, `narrow` wide on a narrow pane.
    pub const fn narrowing_to(self, narrow: usize) -> Column {
        Column { narrow, ..self }
    }

    /// The same column, dropped at priority `drop` on a narrow pane.
    pub const fn dropped_at(self, drop: u8) -> Column {
        Column { drop, ..self }
    }

    /// The last column: whatever room is left.
    pub const fn rest(header: &'static str) -> Column {
        Column {
            width: 0,
            narrow: 0,
            flex: true,
            ..Column::new(header, 0, 0)
        }
    }
}

/// The width each column gets in `available` cells, a space between columns; `None` for a column
/// dropped. Ids narrow first, then columns go by `drop`, highest first (the rightmost of equals);
/// the flexible column takes what is left, and goes when nothing is.
pub fn fit(columns: &[Column], available: usize) -> Vec<Option<usize>> {
    let mut widths: Vec<Option<usize>> = columns
        .iter()
        .map(|c| (!c.flex).then_some(c.width))
        .collect();
    let total = |widths: &[Option<usize>]| {
        let shown = widths.iter().flatten();
        shown.clone().sum::<usize>() + shown.count().saturating_sub(1)
    };
    // Ids narrow first, then the others.
    for ids in [true, false] {
        if total(&widths) > available {
            for (w, c) in widths.iter_mut().zip(columns) {
                if w.is_some() && c.keep_end == ids {
                    *w = Some(c.narrow);
                }
            }
        }
    }
    while total(&widths) > available {
        let worst = columns
            .iter()
            .enumerate()
            .filter(|(i, c)| widths[*i].is_some() && c.drop > 0)
            .max_by_key(|(i, c)| (c.drop, *i))
            .map(|(i, _)| i);
        match worst {
            Some(i) => widths[i] = None,
            None => break,
        }
    }
    // What dropping freed widens narrowed columns again, left first; an id only wholly (a few
    // more of its characters tell nothing).
    for (i, c) in columns.iter().enumerate() {
        let spare = available.saturating_sub(total(&widths));
        if let Some(w) = widths[i].filter(|w| *w < c.width) {
            let wider = c.width.min(w + spare);
            if !c.keep_end || wider == c.width {
                widths[i] = Some(wider);
            }
        }
    }
    let used = total(&widths);
    let others = widths.iter().flatten().count();
    if let Some(i) = columns.iter().position(|c| c.flex) {
        // Its separating space comes out of what is left.
        let spare = available.saturating_sub(used + usize::from(others > 0));
        // A sliver would show little more than `…`: it is left out instead.
        widths[i] = Some(spare).filter(|&w| w >= 6);
    }
    widths
}

/// `text` cut to `width` characters: the part shown, how many characters were skipped at its
/// start, and the `…` that stands for what was cut (before or after the part shown).
pub fn cut(
    text: &str,
    width: usize,
    keep_end: bool,
) -> (String, usize, &'static str, &'static str) {
    let chars = text.chars().count();
    if chars <= width {
        return (text.to_string(), 0, "", "");
    }
    if width == 0 {
        return (String::new(), 0, "", "");
    }
    if keep_end {
        let skip = chars - (width - 1);
        (text.chars().skip(skip).collect(), skip, "…", "")
    } else {
        (text.chars().take(width - 1).collect(), 0, "", "…")
    }
}

/// The session columns Kore's live data and the usual files fill, by the name a file or the live
/// data gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionColumn {
    Customer,
    Channel,
    Status,
    Queue,
    Agent,
    Wait,
    /// Kore's triage fields: shown on a wide terminal, the first to go on a narrow one.
    Priority,
    Sentiment,
    Intent,
    Language,
    /// Any other column of a file: shown in the last column.
    Other,
}

impl SessionColumn {
    pub fn of(name: &str) -> SessionColumn {
        match name.to_ascii_lowercase().as_str() {
            "customer" | "name" | "customer_name" | "customername" => SessionColumn::Customer,
            "channel" | "source" => SessionColumn::Channel,
            "status" => SessionColumn::Status,
            "queue" => SessionColumn::Queue,
            "agent" => SessionColumn::Agent,
            "wait" | "waiting" => SessionColumn::Wait,
            "priority" => SessionColumn::Priority,
            "sentiment" | "sentimenttone" => SessionColumn::Sentiment,
            "intent" | "keyintentname" => SessionColumn::Intent,
            "language" | "lang" => SessionColumn::Language,
            _ => SessionColumn::Other,
        }
    }

    /// Left to right.
    const FIXED: [SessionColumn; 10] = [
        SessionColumn::Customer,
        SessionColumn::Channel,
        SessionColumn::Status,
        SessionColumn::Queue,
        SessionColumn::Agent,
        SessionColumn::Wait,
        SessionColumn::Priority,
        SessionColumn::Sentiment,
        SessionColumn::Intent,
        SessionColumn::Language,
    ];

    /// Each column's place in what a narrow terminal keeps (`drop`: the higher, the sooner it
    /// goes): id, customer, status, queue, agent, outcome, callback, wait, server, channel, then
    /// the triage columns.
    fn column(self) -> Column {
        match self {
            SessionColumn::Customer => Column::new("customer", 12, 2).narrowing_to(10),
            SessionColumn::Status => Column::new("status", 7, 3),
            SessionColumn::Queue => Column::new("queue", 10, 4).narrowing_to(8),
            SessionColumn::Agent => Column::new("agent", 12, 5).narrowing_to(9),
            SessionColumn::Wait => Column::new("wait", 6, 8),
            SessionColumn::Channel => Column::new("channel", 8, 10),
            SessionColumn::Priority => Column::new("prio", 4, 12),
            SessionColumn::Sentiment => Column::new("sentiment", 9, 13),
            SessionColumn::Intent => Column::new("intent", 12, 14),
            SessionColumn::Language => Column::new("lang", 4, 15),
            SessionColumn::Other => Column::rest("details"),
        }
    }
}

/// Which of the sessions' columns a file has filled: they show from then on, so columns appear
/// only when a file brings them, and never move. With live data on, every column the live data or
/// a verification can fill is there from the start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionColumns {
    seen: [bool; 10],
}

/// What a session's cells are, in the order `SessionColumns::columns` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCell {
    Id,
    Fixed(SessionColumn),
    Outcome,
    Callback,
    Verified,
    Details,
}

impl SessionColumns {
    /// Takes note of the columns a row fills.
    pub fn note<'a>(&mut self, names: impl IntoIterator<Item = &'a Arc<str>>) {
        for name in names {
            let kind = SessionColumn::of(name);
            if let Some(i) = SessionColumn::FIXED.iter().position(|k| *k == kind) {
                self.seen[i] = true;
            }
        }
    }

    /// The columns to draw, each with what fills it. With live data on, the live data's columns
    /// and the server's word on each move are there from the start, so no answer moves anything.
    pub fn columns(&self, live: bool) -> Vec<(Column, SessionCell)> {
        let mut columns = vec![(Column::id("session", 24), SessionCell::Id)];
        for (kind, seen) in SessionColumn::FIXED.iter().zip(self.seen) {
            let from_live = live && *kind != SessionColumn::Customer;
            if seen || from_live {
                columns.push((kind.column(), SessionCell::Fixed(*kind)));
            }
        }
        // Cut from the start when narrow: the outcome now matters most (`…then rejected`).
        let outcome = Column {
            narrow: 12,
            keep_end: true,
            ..Column::new("outcome", 14, 6)
        };
        columns.push((outcome, SessionCell::Outcome));
        columns.push((Column::new("callback", 8, 7), SessionCell::Callback));
        if live {
            columns.push((Column::new("server", 9, 9), SessionCell::Verified));
        }
        columns.push((Column::rest("details"), SessionCell::Details));
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(names: &[&str]) -> Vec<Column> {
        let mut seen = SessionColumns::default();
        let names: Vec<Arc<str>> = names.iter().map(|n| Arc::from(*n)).collect();
        seen.note(&names);
        seen.columns(false).into_iter().map(|(c, _)| c).collect()
    }

    fn shown(columns: &[Column], widths: &[Option<usize>]) -> Vec<&'static str> {
        columns
            .iter()
            .zip(widths)
            .filter(|(_, w)| w.is_some())
            .map(|(c, _)| c.header)
            .collect()
    }

    #[test]
    fn narrow_terminals_keep_id_customer_status_queue_agent_outcome_callback_wait_server_in_that_order()
     {
        let mut live = SessionColumns::default();
        live.note(&[Arc::from("customer")]);
        let columns: Vec<Column> = live.columns(true).into_iter().map(|(c, _)| c).collect();
        let all = shown(&columns, &fit(&columns, 400));
        assert_eq!(
            all,
            [
                "session",
                "customer",
                "channel",
                "status",
                "queue",
                "agent",
                "wait",
                "prio",
                "sentiment",
                "intent",
                "lang",
                "outcome",
                "callback",
                "server",
                "details"
            ]
        );
        // Narrower and narrower: what goes, in order, is the triage columns, then channel, then
        // server, wait, callback, outcome, agent, queue, status, customer.
        let mut gone = Vec::new();
        let mut before = all.clone();
        for width in (5..400).rev() {
            let now = shown(&columns, &fit(&columns, width));
            for h in &before {
                if !now.contains(h) && *h != "details" && !gone.contains(h) {
                    gone.push(*h);
                }
            }
            before = now;
        }
        assert_eq!(
            gone,
            [
                "lang",
                "intent",
                "sentiment",
                "prio",
                "channel",
                "server",
                "wait",
                "callback",
                "outcome",
                "agent",
                "queue",
                "status",
                "customer"
            ]
        );
        // Sessions on a 100-column terminal has 93 cells: queue and agent stay.
        let hundred = shown(&columns, &fit(&columns, 93));
        for h in [
            "session", "customer", "status", "queue", "agent", "outcome", "callback",
        ] {
            assert!(hundred.contains(&h), "{h}: {hundred:?}");
        }
        // On 80 columns (73 cells) too.
        let eighty = shown(&columns, &fit(&columns, 73));
        for h in [
            "session", "customer", "status", "queue", "agent", "outcome", "callback",
        ] {
            assert!(eighty.contains(&h), "{h}: {eighty:?}");
        }
        let wide = fit(&columns, 400);
        assert_eq!(wide[0], Some(24), "the whole id when there is room");
        assert_eq!(
            fit(&columns, 73)[0],
            Some(9),
            "its last 8 characters when not"
        );
    }

    #[test]
    fn what_a_dropped_column_frees_widens_the_narrowed_ones_again() {
        let columns = [
            Column::id("agent", 38).dropped_at(3),
            Column::new("name", 14, 0).narrowing_to(10),
            Column::new("status", 9, 0),
        ];
        assert_eq!(fit(&columns, 30), [Some(9), Some(10), Some(9)]);
        assert_eq!(
            fit(&columns, 25),
            [None, Some(14), Some(9)],
            "the id went, and the name has its room back"
        );
    }

    #[test]
    fn columns_appear_as_a_file_fills_them_and_with_live_data_are_all_there_from_the_start() {
        let file = sessions(&["customer", "note"]);
        let headers: Vec<_> = file.iter().map(|c| c.header).collect();
        assert_eq!(
            headers,
            ["session", "customer", "outcome", "callback", "details"]
        );
        let live = sessions(&["customer", "note", "agent", "channel", "status"]);
        let headers: Vec<_> = live.iter().map(|c| c.header).collect();
        assert_eq!(
            headers,
            [
                "session", "customer", "channel", "status", "agent", "outcome", "callback",
                "details"
            ],
            "the same order whatever order the names came in"
        );
        let mut waiting = SessionColumns::default();
        waiting.note(&[Arc::from("customer")]);
        let before: Vec<_> = waiting
            .columns(true)
            .iter()
            .map(|(c, _)| c.header)
            .collect();
        waiting.note(&crate::console::live::live_column_names());
        let after: Vec<_> = waiting
            .columns(true)
            .iter()
            .map(|(c, _)| c.header)
            .collect();
        assert_eq!(before, after, "live data on: its columns wait for it");
        assert!(
            before.contains(&"server"),
            "and the server's word: {before:?}"
        );
    }

    #[test]
    fn cuts_keep_an_ids_end_and_a_names_start() {
        assert_eq!(
            cut("66c2f6939489bfffc7910408", 9, true),
            ("c7910408".to_string(), 16, "…", "")
        );
        assert_eq!(cut("Ava Patel", 5, false), ("Ava ".to_string(), 0, "", "…"));
        assert_eq!(cut("Ava", 5, false), ("Ava".to_string(), 0, "", ""));
    }
}
