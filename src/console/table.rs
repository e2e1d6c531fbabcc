//! One pane's rows with what the pane adds to them: a fuzzy filter (nucleo), a cursor and a scroll
//! position. Rows are found by id, so live updates and merges never scan.

use std::cell::Cell;
use std::collections::HashMap;

use nucleo::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo::{Matcher, Utf32Str};

/// What a pane needs of its rows.
pub trait Row {
    /// The key rows are merged and found by.
    fn id(&self) -> &str;
    /// The text the filter matches against.
    fn haystack(&self) -> String;
}

pub struct Table<T> {
    rows: Vec<T>,
    haystacks: Vec<String>,
    /// Marks (Space), beside the rows so a replaced row keeps its mark.
    marks: Vec<bool>,
    marked: usize,
    index: HashMap<String, usize>,
    /// Row indices shown, in display order.
    visible: Vec<usize>,
    query: String,
    /// Newest row first (the activity pane).
    newest_first: bool,
    /// Position in `visible`.
    pub cursor: usize,
    /// Rows that arrived above the cursor of a newest-first pane scrolled away from the top.
    unseen: usize,
    /// First visible line; the view moves it to keep the cursor on screen.
    pub offset: Cell<usize>,
}

impl<T: Row> Table<T> {
    pub fn new(newest_first: bool) -> Table<T> {
        Table {
            rows: Vec::new(),
            haystacks: Vec::new(),
            marks: Vec::new(),
            marked: 0,
            index: HashMap::new(),
            visible: Vec::new(),
            query: String::new(),
            newest_first,
            cursor: 0,
            unseen: 0,
            offset: Cell::new(0),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn rows(&self) -> &[T] {
        &self.rows
    }

    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.rows.iter_mut()
    }

    pub fn visible(&self) -> &[usize] {
        &self.visible
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        self.rows.get(index)
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn by_id(&self, id: &str) -> Option<&T> {
        self.rows.get(*self.index.get(id)?)
    }

    pub fn by_id_mut(&mut self, id: &str) -> Option<&mut T> {
        let i = *self.index.get(id)?;
        self.rows.get_mut(i)
    }

    /// The highlighted row's index.
    pub fn selected(&self) -> Option<usize> {
        self.visible.get(self.cursor).copied()
    }

    pub fn selected_row(&self) -> Option<&T> {
        self.selected().map(|i| &self.rows[i])
    }

    pub fn haystack(&self, index: usize) -> &str {
        &self.haystacks[index]
    }

    /// Adds a row, or hands it back with the index of the row that has its id.
    pub fn push(&mut self, row: T, matcher: &mut Matcher) -> Result<usize, (T, usize)> {
        if let Some(&existing) = self.index.get(row.id()) {
            return Err((row, existing));
        }
        let i = self.rows.len();
        self.index.insert(row.id().to_string(), i);
        let haystack = row.haystack();
        let shown = self.query.is_empty() || matches(&self.query, &haystack, matcher);
        self.haystacks.push(haystack);
        self.marks.push(false);
        self.rows.push(row);
        if shown {
            if self.newest_first {
                self.visible.insert(0, i);
                // Keep the same row highlighted unless the cursor sits on the newest (then it
                // follows the newest); count what arrives above a scrolled cursor.
                if self.cursor > 0 {
                    self.cursor += 1;
                    self.unseen += 1;
                }
            } else {
                self.visible.push(i);
            }
        }
        Ok(i)
    }

    /// Replaces the row with the same id in place, or adds it; true when it was added. A replaced
    /// row's filter match is not rechecked: call `reapply_filter` after a batch of them.
    pub fn upsert(&mut self, row: T, matcher: &mut Matcher) -> bool {
        match self.find(row.id()) {
            Some(i) => {
                self.rows[i] = row;
                self.refresh(i);
                false
            }
            None => self.push(row, matcher).is_ok(),
        }
    }

    /// Replaces the haystack of a row whose text changed.
    pub fn refresh(&mut self, index: usize) {
        if let Some(row) = self.rows.get(index) {
            self.haystacks[index] = row.haystack();
        }
    }

    pub fn remove(&mut self, index: usize) -> T {
        let row = self.rows.remove(index);
        self.haystacks.remove(index);
        if self.marks.remove(index) {
            self.marked -= 1;
        }
        self.index.remove(row.id());
        for i in self.index.values_mut() {
            if *i > index {
                *i -= 1;
            }
        }
        self.visible.retain(|i| *i != index);
        for i in &mut self.visible {
            if *i > index {
                *i -= 1;
            }
        }
        self.clamp();
        row
    }

    pub fn is_marked(&self, index: usize) -> bool {
        self.marks.get(index).copied().unwrap_or(false)
    }

    /// Marks or unmarks a row; true when that changed it.
    pub fn set_mark(&mut self, index: usize, on: bool) -> bool {
        match self.marks.get_mut(index) {
            Some(m) if *m != on => {
                *m = on;
                if on {
                    self.marked += 1;
                } else {
                    self.marked -= 1;
                }
                true
            }
            _ => false,
        }
    }

    /// How many rows are marked (shown or filtered out).
    pub fn marked(&self) -> usize {
        self.marked
    }

    /// The marked rows' indices, in the pane's order of arrival.
    pub fn marked_rows(&self) -> Vec<usize> {
        if self.marked == 0 {
            return Vec::new();
        }
        (0..self.marks.len()).filter(|&i| self.marks[i]).collect()
    }

    /// Marks every row the filter shows; how many were newly marked.
    pub fn mark_visible(&mut self) -> usize {
        let mut added = 0;
        for &i in &self.visible {
            if !self.marks[i] {
                self.marks[i] = true;
                added += 1;
            }
        }
        self.marked += added;
        added
    }

    pub fn unmark_all(&mut self) {
        self.marks.iter_mut().for_each(|m| *m = false);
        self.marked = 0;
    }

    /// Shows only the rows that match `query`, fuzzily; an empty query shows all.
    pub fn set_filter(&mut self, query: &str, matcher: &mut Matcher) {
        let previous = self.selected();
        // Typing more of a query narrows it (another word is another condition), so only what is
        // shown needs searching — unless a negation (`!`), an escape, or a finished suffix atom
        // (`$`) is involved, any of which can widen it.
        let narrowing = !self.query.is_empty()
            && query.starts_with(&self.query)
            && !query.contains(['!', '\\'])
            && !self.query.contains('$');
        let candidates: Vec<usize> = if narrowing {
            std::mem::take(&mut self.visible)
        } else if self.newest_first {
            (0..self.rows.len()).rev().collect()
        } else {
            (0..self.rows.len()).collect()
        };
        self.query = query.to_string();
        if query.trim().is_empty() {
            // Back to every row, in order: the highlighted row stays highlighted.
            self.visible = candidates;
            self.cursor = previous
                .and_then(|p| self.visible.iter().position(|&i| i == p))
                .unwrap_or(0);
        } else {
            let filter = Filter::new(query, matcher);
            let needle = query.trim().to_lowercase();
            let mut buf = Vec::new();
            // Each match packed into one sortable number — rank, then score, then the pane's own
            // order — so 100,000 of them sort in a few milliseconds.
            let newest_first = self.newest_first;
            let mut ranked: Vec<u64> = candidates
                .into_iter()
                .filter_map(|i| {
                    let score = filter.score(&self.haystacks[i], matcher, &mut buf)?;
                    let rank = rank(self.rows[i].id(), &self.haystacks[i], &needle, score);
                    Some(sort_key(rank, i, newest_first))
                })
                .collect();
            ranked.sort_unstable();
            self.visible = ranked
                .into_iter()
                .map(|key| row_of(key, newest_first))
                .collect();
            // The cursor lands on the best match, and follows it as the query changes.
            self.cursor = 0;
        }
        self.offset.set(0);
    }

    /// Filters every row again with the same query (after rows changed under it).
    pub fn reapply_filter(&mut self, matcher: &mut Matcher) {
        let query = std::mem::take(&mut self.query);
        let (cursor, offset) = (self.cursor, self.offset.get());
        let previous = self.selected();
        self.set_filter(&query, matcher);
        // Keep the highlighted row, or at least the place, when the data moves under the cursor.
        self.cursor = previous
            .and_then(|p| self.visible.iter().position(|&i| i == p))
            .unwrap_or(cursor.min(self.visible.len().saturating_sub(1)));
        self.offset.set(offset);
    }

    /// Where the query matches in a row's haystack, for highlighting.
    pub fn match_positions(&self, index: usize, matcher: &mut Matcher) -> Vec<u32> {
        if self.query.trim().is_empty() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        let mut positions = Vec::new();
        pattern(&self.query).indices(
            Utf32Str::new(&self.haystacks[index], &mut buf),
            matcher,
            &mut positions,
        );
        positions.sort_unstable();
        positions.dedup();
        positions
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.visible.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
        self.unseen = self.unseen.min(self.cursor);
    }

    pub fn top(&mut self) {
        self.cursor = 0;
        self.unseen = 0;
    }

    /// New rows above the cursor not looked at yet (a newest-first pane scrolled down).
    pub fn unseen(&self) -> usize {
        self.unseen
    }

    pub fn bottom(&mut self) {
        self.cursor = self.visible.len().saturating_sub(1);
    }

    fn clamp(&mut self) {
        self.cursor = self.cursor.min(self.visible.len().saturating_sub(1));
    }
}

/// How well a row matches, best first: the exact id, an id that starts with the query, an id that
/// holds it, a row whose other columns hold each word of it whole, then fuzzy matches by score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    ExactId,
    IdPrefix,
    IdSubstring,
    Words,
    /// A fuzzy match; a higher score is better, so it is kept negated.
    Fuzzy(std::cmp::Reverse<u32>),
}

/// A row's rank for `needle` (the trimmed, lowercased query), given its fuzzy score.
pub fn rank(id: &str, haystack: &str, needle: &str, score: u32) -> Rank {
    // Kore's ids are lower-case already; only an odd one costs a copy.
    let id: std::borrow::Cow<str> = if id.chars().any(char::is_uppercase) {
        id.to_lowercase().into()
    } else {
        id.into()
    };
    if id == needle {
        Rank::ExactId
    } else if id.starts_with(needle) {
        Rank::IdPrefix
    } else if id.contains(needle) {
        Rank::IdSubstring
    } else if needle
        .split_whitespace()
        .all(|word| has_word(haystack, word))
    {
        Rank::Words
    } else {
        Rank::Fuzzy(std::cmp::Reverse(score))
    }
}

/// Rows a pane can rank: the low 24 bits of a sort key hold the row.
const ROW_BITS: u32 = 24;
const ROW_MASK: u64 = (1 << ROW_BITS) - 1;

/// `rank`, score and row in one number that sorts best first: 8 bits of rank, 32 of the inverted
/// score, 24 of the row (inverted for a newest-first pane).
fn sort_key(rank: Rank, row: usize, newest_first: bool) -> u64 {
    let (tier, inverted_score) = match rank {
        Rank::ExactId => (0u64, 0u64),
        Rank::IdPrefix => (1, 0),
        Rank::IdSubstring => (2, 0),
        Rank::Words => (3, 0),
        Rank::Fuzzy(std::cmp::Reverse(score)) => (4, u64::from(u32::MAX - score)),
    };
    let row = (row as u64) & ROW_MASK;
    let row = if newest_first { ROW_MASK - row } else { row };
    (tier << 56) | (inverted_score << ROW_BITS) | row
}

fn row_of(key: u64, newest_first: bool) -> usize {
    let row = key & ROW_MASK;
    (if newest_first { ROW_MASK - row } else { row }) as usize
}

/// Whether `haystack` holds `word` (lower-case) as a whole word, ignoring ASCII case: one pass over
/// the bytes, no allocation, since it runs for every row a keystroke matches.
fn has_word(haystack: &str, word: &str) -> bool {
    if !word.is_ascii() {
        return haystack
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w.to_lowercase() == word);
    }
    let (hay, word) = (haystack.as_bytes(), word.as_bytes());
    let Some(&first) = word.first() else {
        return true;
    };
    let is_word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80;
    // memchr finds each place the word could start (either case of its first letter) fast.
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), hay).any(|i| {
        hay.get(i..i + word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
            && (i == 0 || !is_word_byte(hay[i - 1]))
            && hay.get(i + word.len()).is_none_or(|&b| !is_word_byte(b))
    })
}

fn pattern(query: &str) -> Pattern {
    Pattern::parse(query, CaseMatching::Smart, Normalization::Smart)
}

/// A query ready to test rows with. A filter needs a yes or no, not a score: each plain fuzzy
/// atom is tested with nucleo's greedy matcher, which finds a match whenever its optimal matcher
/// does, in linear time; every other kind of atom goes through nucleo's own `score`.
pub struct Filter {
    pattern: Pattern,
    /// Each atom's case and normalisation settings, as nucleo derives them from the query.
    settings: Vec<(bool, bool)>,
}

impl Filter {
    pub fn new(query: &str, matcher: &mut Matcher) -> Filter {
        let pattern = pattern(query);
        let settings = pattern
            .atoms
            .iter()
            .map(|atom| {
                // `score` sets the matcher up for the atom (smart case, normalisation) as it runs.
                let _ = atom.score(Utf32Str::Ascii(b""), matcher);
                (matcher.config.ignore_case, matcher.config.normalize)
            })
            .collect();
        Filter { pattern, settings }
    }

    pub fn matches(&self, haystack: &str, matcher: &mut Matcher, buf: &mut Vec<char>) -> bool {
        self.score(haystack, matcher, buf).is_some()
    }

    /// `None` when the row does not match; else a score to order fuzzy matches by (the greedy
    /// matcher's, so ranking stays linear).
    pub fn score(&self, haystack: &str, matcher: &mut Matcher, buf: &mut Vec<char>) -> Option<u32> {
        let haystack = Utf32Str::new(haystack, buf);
        let mut total = 0u32;
        for (atom, &(ignore_case, normalize)) in self.pattern.atoms.iter().zip(&self.settings) {
            let score = if atom.kind == AtomKind::Fuzzy && !atom.negative {
                matcher.config.ignore_case = ignore_case;
                matcher.config.normalize = normalize;
                matcher.fuzzy_match_greedy(haystack, atom.needle_text())?
            } else {
                atom.score(haystack, matcher)?
            };
            total += u32::from(score);
        }
        Some(total)
    }
}

fn matches(pattern: &str, haystack: &str, matcher: &mut Matcher) -> bool {
    Filter::new(pattern, matcher).matches(haystack, matcher, &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(&'static str, &'static str);
    impl Row for R {
        fn id(&self) -> &str {
            self.0
        }
        fn haystack(&self) -> String {
            format!("{} {}", self.0, self.1)
        }
    }

    fn table() -> (Table<R>, Matcher) {
        let mut m = Matcher::new(nucleo::Config::DEFAULT);
        let mut t = Table::new(false);
        for r in [
            R("a1", "Alice billing"),
            R("b2", "Bruno support"),
            R("c3", "Chen billing"),
        ] {
            assert!(t.push(r, &mut m).is_ok());
        }
        (t, m)
    }

    #[test]
    fn matches_rank_exact_id_then_id_parts_then_words_then_fuzzy() {
        assert_eq!(rank("abc123", "abc123 x", "abc123", 9), Rank::ExactId);
        assert_eq!(rank("abc123", "abc123 x", "abc", 9), Rank::IdPrefix);
        assert_eq!(rank("abc123", "abc123 x", "c12", 9), Rank::IdSubstring);
        assert_eq!(rank("zz", "zz Ava Patel web", "ava patel", 9), Rank::Words);
        assert_eq!(
            rank("zz", "zz Avalon Patella", "ava patel", 9),
            Rank::Fuzzy(std::cmp::Reverse(9)),
            "parts of words are not whole words"
        );
        let mut keys = [
            sort_key(Rank::Fuzzy(std::cmp::Reverse(5)), 1, false),
            sort_key(Rank::Fuzzy(std::cmp::Reverse(50)), 2, false),
            sort_key(Rank::Words, 3, false),
            sort_key(Rank::ExactId, 4, false),
        ];
        keys.sort_unstable();
        let rows: Vec<usize> = keys.iter().map(|k| row_of(*k, false)).collect();
        assert_eq!(rows, [4, 3, 2, 1], "best first, higher fuzzy scores first");
    }

    #[test]
    fn fuzzy_filter_narrows_and_clears() {
        let (mut t, mut m) = table();
        t.set_filter("bil", &mut m);
        assert_eq!(t.visible(), &[0, 2]);
        t.set_filter("bil chen", &mut m);
        assert_eq!(t.visible(), &[2], "a second word narrows further");
        t.set_filter("bil", &mut m);
        assert_eq!(t.visible(), &[0, 2], "widening searches every row again");
        t.set_filter("", &mut m);
        assert_eq!(t.visible(), &[0, 1, 2]);
        t.set_filter("chen", &mut m);
        assert_eq!(t.match_positions(2, &mut m), vec![3, 4, 5, 6]);
    }

    #[test]
    fn the_greedy_yes_or_no_agrees_with_nucleos_scoring() {
        let mut m = Matcher::new(nucleo::Config::DEFAULT);
        let haystacks = [
            "6538f8a3c9cf425ee5cf0001 Ava Patel web billing dispute 0m00s",
            "66c2f6939489bfffc7910404 Farah Khan whatsapp Refund status",
            "a-8cd2673-0cb7-462d-9453-0ee60e520001 Alice Moreau AVAILABLE Billing; Payments",
            "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001 Caf\u{e9} Zo\u{eb}",
        ];
        let queries = [
            "bil",
            "Bil",
            "bilpay",
            "0404",
            "ava dispute",
            "!web",
            "^66c2",
            "status$",
            "'refund",
            "Refund",
            "cafe",
            "zoe",
            "xyz",
            "a-8 more",
            "pat 0001",
            "\\!web",
        ];
        for q in queries {
            let p = pattern(q);
            for h in haystacks {
                let mut buf = Vec::new();
                let expected = p.score(Utf32Str::new(h, &mut buf), &mut m).is_some();
                assert_eq!(matches(q, h, &mut m), expected, "query {q:?} on {h:?}");
            }
        }
    }

    #[test]
    fn the_cursor_lands_on_the_best_match_and_returns_when_the_filter_clears() {
        let (mut t, mut m) = table();
        t.move_by(2);
        t.set_filter("chen", &mut m);
        assert_eq!(t.selected(), Some(2), "the best match");
        t.set_filter("c3", &mut m);
        assert_eq!(t.selected(), Some(2), "the exact id");
        t.set_filter("", &mut m);
        assert_eq!(t.selected(), Some(2), "the row it was on");
        t.set_filter("billing", &mut m);
        assert_eq!(t.selected(), Some(0), "the first of equal matches");
    }

    #[test]
    fn duplicates_are_handed_back_and_removal_reindexes() {
        let (mut t, mut m) = table();
        assert_eq!(
            t.push(R("b2", "again"), &mut m).err().map(|(_, i)| i),
            Some(1)
        );
        t.remove(0);
        assert_eq!(t.find("c3"), Some(1));
        assert_eq!(t.visible(), &[0, 1]);
    }

    #[test]
    fn a_newest_first_pane_follows_the_newest_unless_scrolled_and_counts_what_came() {
        let mut m = Matcher::new(nucleo::Config::DEFAULT);
        let mut t = Table::new(true);
        t.push(R("1", ""), &mut m).ok();
        t.push(R("2", ""), &mut m).ok();
        assert_eq!(
            (t.selected(), t.unseen()),
            (Some(1), 0),
            "at the top: the newest"
        );
        t.move_by(1);
        assert_eq!(t.selected(), Some(0));
        t.push(R("3", ""), &mut m).ok();
        t.push(R("4", ""), &mut m).ok();
        assert_eq!(t.selected(), Some(0), "scrolled: it stays on its row");
        assert_eq!(t.unseen(), 2);
        t.top();
        assert_eq!((t.selected(), t.unseen()), (Some(3), 0));
    }

    #[test]
    fn newest_first_keeps_the_cursor_on_its_row() {
        let mut m = Matcher::new(nucleo::Config::DEFAULT);
        let mut t = Table::new(true);
        t.push(R("1", ""), &mut m).ok();
        t.push(R("2", ""), &mut m).ok();
        assert_eq!(t.visible(), &[1, 0]);
        t.move_by(1);
        t.push(R("3", ""), &mut m).ok();
        assert_eq!(t.selected(), Some(0));
    }
}
