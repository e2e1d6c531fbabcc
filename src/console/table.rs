//! One pane's rows with what the pane adds to them: a fuzzy filter (nucleo), a cursor and a scroll
//! position. Rows are found by id, so live updates and merges never scan.
//!
//! Ranking reads only the `Corpus` (each row's haystack and where its id is), shared behind an
//! `Arc`: a big pane's ranking runs on the filter's own thread (`start_filter` hands out the job,
//! `finish_filter` takes its result), so a keystroke never waits for 100,000 rows to be ranked.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use nucleo::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo::{Matcher, Utf32Str};

use super::query;

/// What a pane needs of its rows. (`Sync`, so a filter can search them on every core.)
pub trait Row: Sync {
    /// The key rows are merged and found by.
    fn id(&self) -> &str;
    /// The text the filter matches against.
    fn haystack(&self) -> String;
    /// A column's value for a field term (`agent:chen`): `agent`, `queue`, `status`, `channel`,
    /// `customer`, `wait`.
    fn field(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// What ranking reads of a pane's rows, shared with the filter's thread: it is copied only when a
/// row changes while a ranking holds it.
#[derive(Clone, Default)]
pub struct Corpus {
    haystacks: Vec<String>,
    /// Where each row's id ends at the start of its haystack (Sessions, Agents, Queues, whose ids
    /// are lower-case ASCII), so ranking reads one string a row; `OWN_ID`: the id is held apart,
    /// in `odd_ids` (four bytes a row, for 100,000 rows).
    id_ends: Vec<u32>,
    odd_ids: HashMap<usize, Box<str>>,
}

/// An id that does not start its row's haystack.
const OWN_ID: u32 = u32::MAX;

impl Corpus {
    fn push(&mut self, id: &str, haystack: String) {
        let i = self.haystacks.len();
        let end = self.place_id(i, id, &haystack);
        self.id_ends.push(end);
        self.haystacks.push(haystack);
    }

    fn set(&mut self, i: usize, id: &str, haystack: String) {
        self.odd_ids.remove(&i);
        let end = self.place_id(i, id, &haystack);
        self.id_ends[i] = end;
        self.haystacks[i] = haystack;
    }

    fn remove(&mut self, i: usize) {
        self.haystacks.remove(i);
        self.id_ends.remove(i);
        if !self.odd_ids.is_empty() {
            self.odd_ids = std::mem::take(&mut self.odd_ids)
                .into_iter()
                .filter(|(at, _)| *at != i)
                .map(|(at, id)| (if at > i { at - 1 } else { at }, id))
                .collect();
        }
    }

    fn place_id(&mut self, i: usize, id: &str, haystack: &str) -> u32 {
        match id_end(id, haystack).filter(|end| *end != OWN_ID) {
            Some(end) => end,
            None => {
                self.odd_ids.insert(i, id.into());
                OWN_ID
            }
        }
    }

    /// Row `i`'s id, and how to rank it.
    fn id(&self, i: usize) -> (&str, RankId) {
        match self.id_ends[i] {
            OWN_ID => (
                self.odd_ids.get(&i).map_or("", |id| &id[..]),
                id_rank as RankId,
            ),
            end => (&self.haystacks[i][..end as usize], plain_id_rank as RankId),
        }
    }
}

pub struct Table<T> {
    rows: Vec<T>,
    corpus: Arc<Corpus>,
    /// Counts every change of the rows: a ranking made of an older corpus is not applied.
    version: u64,
    /// The ranking asked for last and not yet applied, by its number.
    pending: Option<u64>,
    /// The query the shown rows are the whole answer to, while they are: typing more of it
    /// searches only them. Rows that change, or a ranking still out, leave it `None`.
    answered: Option<String>,
    generation: u64,
    /// Marks (Space), beside the rows so a replaced row keeps its mark.
    marks: Vec<bool>,
    marked: usize,
    index: HashMap<String, usize>,
    /// Row indices shown, in display order.
    visible: Vec<usize>,
    /// How many of the first shown rows match every word whole, as a word's start or in the id:
    /// the rest match only fuzzily (scattered letters), and `*` never marks them.
    exact: usize,
    query: String,
    /// Newest row first (the activity pane).
    newest_first: bool,
    /// Position in `visible`.
    pub cursor: usize,
    /// Rows that arrived above the cursor of a newest-first pane scrolled away from the top.
    unseen: usize,
    /// First visible line; the view moves it to keep the cursor on screen.
    pub offset: Cell<usize>,
    /// An order the shown rows are kept in (a key per row, smallest first), within the filter's
    /// exact and fuzzy groups; `None`: as they came, or as ranked.
    order: Option<OrderKey<T>>,
}

/// A row's place in an order: its key, smallest first.
pub type OrderKey<T> = Box<dyn Fn(&T) -> (bool, std::cmp::Reverse<i64>)>;

impl<T: Row> Table<T> {
    pub fn new(newest_first: bool) -> Table<T> {
        Table {
            rows: Vec::new(),
            corpus: Arc::new(Corpus::default()),
            version: 0,
            pending: None,
            answered: None,
            generation: 0,
            marks: Vec::new(),
            marked: 0,
            index: HashMap::new(),
            visible: Vec::new(),
            exact: 0,
            query: String::new(),
            newest_first,
            cursor: 0,
            unseen: 0,
            offset: Cell::new(0),
            order: None,
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

    /// How many of the shown rows (the first ones) match exactly, not only fuzzily.
    pub fn exact(&self) -> usize {
        self.exact.min(self.visible.len())
    }

    /// How many of the shown rows match only fuzzily (after the exact ones).
    pub fn fuzzy(&self) -> usize {
        self.visible.len() - self.exact()
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
        &self.corpus.haystacks[index]
    }

    /// The corpus, to change: copied first if a ranking still holds it. Every change is counted.
    fn corpus_mut(&mut self) -> &mut Corpus {
        self.version += 1;
        self.answered = None;
        Arc::make_mut(&mut self.corpus)
    }

    /// Adds a row, or hands it back with the index of the row that has its id.
    pub fn push(&mut self, row: T, matcher: &mut Matcher) -> Result<usize, (T, usize)> {
        if let Some(&existing) = self.index.get(row.id()) {
            return Err((row, existing));
        }
        let i = self.rows.len();
        self.index.insert(row.id().to_string(), i);
        let haystack = row.haystack();
        let shown = self.query.is_empty() || {
            let parsed = query::parse(&self.query);
            parsed.terms.iter().all(|t| t.matches(&row))
                && (parsed.words.trim().is_empty() || matches(&parsed.words, &haystack, matcher))
        };
        self.corpus_mut().push(row.id(), haystack);
        self.marks.push(false);
        self.rows.push(row);
        if shown {
            // A row shown while a query is on is ranked with the next keystroke; until then it
            // counts as exact only when there is no query.
            if self.query.is_empty() {
                self.exact += 1;
            }
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
            let haystack = row.haystack();
            let id = row.id().to_string();
            self.corpus_mut().set(index, &id, haystack);
        }
    }

    pub fn remove(&mut self, index: usize) -> T {
        let row = self.rows.remove(index);
        self.corpus_mut().remove(index);
        if self.marks.remove(index) {
            self.marked -= 1;
        }
        self.index.remove(row.id());
        for i in self.index.values_mut() {
            if *i > index {
                *i -= 1;
            }
        }
        if let Some(pos) = self.visible.iter().position(|i| *i == index)
            && pos < self.exact
        {
            self.exact -= 1;
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

    /// Marks every row the filter shows that matches exactly (never one that only matches
    /// fuzzily); how many were newly marked.
    pub fn mark_visible(&mut self) -> usize {
        let mut added = 0;
        for &i in &self.visible[..self.exact()] {
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

    /// Shows only the rows that match `query`, fuzzily; an empty query shows all. Ranks here and
    /// now, whatever the pane's size.
    pub fn set_filter(&mut self, query: &str, matcher: &mut Matcher) {
        if let Some(ranking) = self.plan_filter(query) {
            let ranked = ranking.run(matcher);
            self.apply(ranked);
        }
    }

    /// Sets the query and shows at once what needs no ranking (an empty query, field terms only);
    /// otherwise hands out the ranking to run elsewhere, and until its result comes keeps showing
    /// what was shown — with a row whose id is the query exactly pinned first, so a pasted id is
    /// the highlighted row at once. `finish_filter` takes the result.
    pub fn start_filter(&mut self, query: &str) -> Option<Ranking> {
        let ranking = self.plan_filter(query)?;
        self.pending = Some(ranking.generation);
        if let Some(&i) = self.index.get(query.trim()) {
            self.visible.retain(|&v| v != i);
            self.visible.insert(0, i);
            self.exact = (self.exact + 1).min(self.visible.len());
            self.cursor = 0;
            self.offset.set(0);
        }
        Some(ranking)
    }

    /// Whether a ranking was handed out and its result has not come yet.
    pub fn filtering(&self) -> bool {
        self.pending.is_some()
    }

    /// Applies a ranking's result, if it is the last one asked for and the rows have not changed
    /// since; else, when the rows changed, hands out a new ranking of the same query.
    pub fn finish_filter(&mut self, ranked: Ranked) -> Option<Ranking> {
        if self.pending != Some(ranked.generation) {
            return None;
        }
        if ranked.version != self.version {
            let query = self.query.clone();
            return self.start_filter(&query);
        }
        self.apply(ranked);
        None
    }

    /// The ranking of `query` over what it may match, or `None` when it needed none (then what is
    /// shown is already set).
    fn plan_filter(&mut self, query: &str) -> Option<Ranking> {
        let previous = self.selected();
        self.generation += 1;
        self.pending = None;
        // Typing more of a query narrows it (another word is another condition), so only what is
        // shown needs searching — unless a negation (`!`), an escape, a finished suffix atom
        // (`$`) or a field term (`wait>1` becoming `wait>1h`) is involved, any of which can widen it.
        let narrowing = self.answered.take().is_some_and(|answered| {
            !answered.is_empty()
                && query.starts_with(&answered)
                && !query.contains(['!', '\\'])
                && !answered.contains('$')
                && !query::has_terms(query)
        });
        let parsed = query::parse(query);
        let mut candidates: Vec<usize> = if narrowing {
            // In row order again, so the search reads the rows front to back rather than in the
            // last ranking's scattered order (the final sort puts them in order of rank anyway).
            let mut shown = vec![false; self.rows.len()];
            for &i in &self.visible {
                shown[i] = true;
            }
            (0..shown.len()).filter(|&i| shown[i]).collect()
        } else if self.newest_first {
            (0..self.rows.len()).rev().collect()
        } else {
            (0..self.rows.len()).collect()
        };
        if !parsed.terms.is_empty() {
            let rows = &self.rows;
            candidates.retain(|&i| parsed.terms.iter().all(|t| t.matches(&rows[i])));
        }
        self.query = query.to_string();
        if parsed.words.trim().is_empty() {
            // Back to every row (that the field terms keep), in order: the highlighted row stays
            // highlighted.
            self.exact = candidates.len();
            self.visible = candidates;
            self.apply_order();
            self.cursor = previous
                .and_then(|p| self.visible.iter().position(|&i| i == p))
                .unwrap_or(0);
            self.offset.set(0);
            self.answered = Some(self.query.clone());
            return None;
        }
        Some(Ranking {
            corpus: self.corpus.clone(),
            version: self.version,
            generation: self.generation,
            candidates,
            words: parsed.words,
            newest_first: self.newest_first,
        })
    }

    /// Shows a ranking's result: best first, in the pane's order if it has one, the cursor on the
    /// best match.
    fn apply(&mut self, ranked: Ranked) {
        self.pending = None;
        self.answered = Some(self.query.clone());
        self.exact = ranked.exact;
        self.visible = ranked.visible;
        self.apply_order();
        // The cursor lands on the best match, and follows it as the query changes.
        self.cursor = 0;
        self.offset.set(0);
    }

    /// Keeps the shown rows in this order (`None`: as they came, or as ranked); the highlighted
    /// row stays highlighted.
    pub fn set_order(&mut self, order: Option<OrderKey<T>>, matcher: &mut Matcher) {
        self.order = order;
        self.reapply_filter(matcher);
    }

    /// Sorts the shown rows by the order, if there is one: the exact matches among themselves and
    /// the fuzzy ones among themselves, each stably.
    fn apply_order(&mut self) {
        let Some(key) = &self.order else { return };
        let exact = self.exact();
        let rows = &self.rows;
        let (first, rest) = self.visible.split_at_mut(exact);
        first.sort_by_cached_key(|&i| key(&rows[i]));
        rest.sort_by_cached_key(|&i| key(&rows[i]));
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
        let words = query::parse(&self.query).words;
        if words.trim().is_empty() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        let mut positions = Vec::new();
        pattern(&words).indices(
            Utf32Str::new(&self.corpus.haystacks[index], &mut buf),
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

/// A filter's ranking, ready to run on any thread: the rows it may match, the query's words,
/// and the corpus it reads.
#[derive(Clone)]
pub struct Ranking {
    corpus: Arc<Corpus>,
    version: u64,
    generation: u64,
    candidates: Vec<usize>,
    words: String,
    newest_first: bool,
}

impl std::fmt::Debug for Ranking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranking")
            .field("generation", &self.generation)
            .field("words", &self.words)
            .field("candidates", &self.candidates.len())
            .finish()
    }
}

impl PartialEq for Ranking {
    fn eq(&self, other: &Ranking) -> bool {
        self.generation == other.generation
            && self.version == other.version
            && self.words == other.words
    }
}

/// A ranking's result: the rows shown, best first, and how many of them match exactly.
#[derive(Clone)]
pub struct Ranked {
    version: u64,
    generation: u64,
    visible: Vec<usize>,
    exact: usize,
}

impl std::fmt::Debug for Ranked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranked")
            .field("generation", &self.generation)
            .field("shown", &self.visible.len())
            .field("exact", &self.exact)
            .finish()
    }
}

impl Ranking {
    /// How many rows it reads.
    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// Ranks the candidates: the exact id, ids that start with or hold the query, rows holding
    /// each word whole, then as a word's start (the exact matches), then the rest by score.
    pub fn run(self, matcher: &mut Matcher) -> Ranked {
        let Ranking {
            corpus,
            version,
            generation,
            candidates,
            words,
            newest_first,
        } = self;
        let query = words.as_str();
        let filter = Filter::new(query, matcher);
        let lowered = query.trim().to_lowercase();
        let needle = Needle::new(&lowered);
        // A plain lower-case query (no `'^$!\\` syntax): a row that holds each of its words
        // matches it fuzzily too, so the cheap checks alone can rank that row, and only the
        // rest pay for the fuzzy matcher.
        let plain = lowered == query.trim() && !query.contains(['\'', '^', '$', '!', '\\']);
        // Each match packed into one sortable number — rank, then score, then the pane's own
        // order — so 100,000 of them sort in a few milliseconds.
        let haystacks = &corpus.haystacks;
        let rank_all = |chunk: &[usize], matcher: &mut Matcher| -> Vec<u64> {
            let mut buf = Vec::new();
            chunk
                .iter()
                .filter_map(|&i| {
                    let haystack = haystacks[i].as_str();
                    let (id, id_rank) = corpus.id(i);
                    let rank = if plain {
                        match id_rank(id, &needle) {
                            Some(rank) => rank,
                            None => plain_rank(haystack, &needle, &filter, matcher, &mut buf)?,
                        }
                    } else {
                        let score = filter.score(haystack, matcher, &mut buf)?;
                        quick_rank(id, haystack, &needle)
                            .unwrap_or(Rank::Fuzzy(std::cmp::Reverse(score)))
                    };
                    Some(sort_key(rank, i, newest_first))
                })
                .collect()
        };
        // A big pane is searched on every core, each with a matcher of its own.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parts = cores.min(candidates.len() / PER_THREAD).max(1);
        let mut ranked = if parts == 1 {
            rank_all(&candidates, matcher)
        } else {
            let size = candidates.len().div_ceil(parts);
            let mut chunks = candidates.chunks(size);
            let first = chunks.next().unwrap_or_default();
            std::thread::scope(|scope| {
                let others: Vec<_> = chunks
                    .map(|chunk| {
                        scope.spawn(move || {
                            rank_all(chunk, &mut Matcher::new(nucleo::Config::DEFAULT))
                        })
                    })
                    .collect();
                let mut ranked = rank_all(first, matcher);
                for other in others {
                    ranked.extend(other.join().expect("a filter thread does not panic"));
                }
                ranked
            })
        };
        ranked.sort_unstable();
        let exact = ranked.partition_point(|key| key >> 56 <= EXACT_TIER);
        let visible = ranked
            .into_iter()
            .map(|key| row_of(key, newest_first))
            .collect();
        Ranked {
            version,
            generation,
            visible,
            exact,
        }
    }
}

/// How well a row matches, best first: the exact id, an id that starts with the query, an id that
/// holds it, a row whose other columns hold each word of it whole, then each word as part of a
/// word, then fuzzy matches by score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    ExactId,
    IdPrefix,
    IdSubstring,
    Words,
    /// Each word whole or as the start of a word.
    Prefixes,
    /// Some word only inside a word: as loose as scattered letters for `*`.
    Substrings,
    /// A fuzzy match; a higher score is better, so it is kept negated.
    Fuzzy(std::cmp::Reverse<u32>),
}

/// A row's rank for `needle` (the trimmed, lowercased query), given its fuzzy score.
pub fn rank(id: &str, haystack: &str, needle: &str, score: u32) -> Rank {
    quick_rank(id, haystack, &Needle::new(needle)).unwrap_or(Rank::Fuzzy(std::cmp::Reverse(score)))
}

/// A query made ready to rank rows with, once per keystroke rather than once per row.
pub struct Needle<'a> {
    /// Trimmed and lower-case.
    text: &'a str,
    words: Vec<&'a str>,
    finder: memchr::memmem::Finder<'a>,
}

impl<'a> Needle<'a> {
    pub fn new(text: &'a str) -> Needle<'a> {
        Needle {
            text,
            words: text.split_whitespace().collect(),
            finder: memchr::memmem::Finder::new(text.as_bytes()),
        }
    }
}

/// A row's rank when it is better than fuzzy, found without the fuzzy matcher.
fn quick_rank(id: &str, haystack: &str, needle: &Needle) -> Option<Rank> {
    id_rank(id, needle).or_else(|| {
        let mut rank = Rank::Words;
        for word in &needle.words {
            rank = rank.max(match find_word(haystack, word) {
                Found::Whole => Rank::Words,
                Found::Prefix => Rank::Prefixes,
                Found::Part => Rank::Substrings,
                Found::Nowhere => return None,
            });
        }
        Some(rank)
    })
}

/// A row's rank for a plain query (lower-case, no `'^$!\\` syntax), whose words are the
/// pattern's atoms one for one; `None` when it does not match. A word the row holds matches
/// fuzzily too, so only the words it does not hold go through the fuzzy matcher — usually none.
fn plain_rank(
    haystack: &str,
    needle: &Needle,
    filter: &Filter,
    matcher: &mut Matcher,
    buf: &mut Vec<char>,
) -> Option<Rank> {
    let (mut held_rank, mut fuzzy, mut score) = (Rank::Words, false, 0u32);
    for (atom, word) in needle.words.iter().enumerate() {
        // A held word scores as nucleo scores a run of matched characters (16 each), more at a
        // word's start; it only orders rows among fuzzy matches.
        let held = 16 * word.len() as u32;
        match find_word(haystack, word) {
            Found::Whole => score += held + 8,
            Found::Prefix => {
                held_rank = held_rank.max(Rank::Prefixes);
                score += held + 8;
            }
            Found::Part => {
                held_rank = held_rank.max(Rank::Substrings);
                score += held;
            }
            Found::Nowhere if haystack.is_ascii() && word.is_ascii() => {
                fuzzy = true;
                score += letters_in_order(haystack.as_bytes(), word.as_bytes())?;
            }
            Found::Nowhere => {
                // Accents and other scripts: nucleo's own matcher, with its normalisation.
                fuzzy = true;
                let h = Utf32Str::new(haystack, buf);
                score += u32::from(filter.atom_score(atom, h, matcher)?);
            }
        }
    }
    Some(if fuzzy {
        Rank::Fuzzy(std::cmp::Reverse(score))
    } else {
        held_rank
    })
}

/// Whether an ASCII word's letters appear in an ASCII row in order, ignoring case — which is what
/// nucleo's fuzzy match is for such text — and a score in nucleo's manner: 16 a letter, more for
/// letters side by side and at a word's start, less for the gaps. One pass, leftmost letters.
fn letters_in_order(hay: &[u8], word: &[u8]) -> Option<u32> {
    let (mut at, mut score) = (0, 0u32);
    let mut previous: Option<usize> = None;
    for &letter in word {
        // A short word: memchr finds each next letter many bytes at a time. A long one (a pasted
        // id) has its letters close together: one pass over the bytes is cheaper than a call a
        // letter.
        let upper = letter.to_ascii_uppercase();
        let rest = &hay[at..];
        let found = at
            + if word.len() <= 4 {
                memchr::memchr2(letter, upper, rest)?
            } else {
                rest.iter().position(|&b| b == letter || b == upper)?
            };
        score += 16;
        match previous {
            Some(p) if p + 1 == found => score += 4,
            Some(p) => score = score.saturating_sub((found - p - 1).min(8) as u32),
            None => {}
        }
        if found == 0 || !is_word_byte(hay[found - 1]) {
            score += 8;
        }
        previous = Some(found);
        at = found + 1;
    }
    Some(score)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80
}

/// How the id alone ranks a row: the exact id, its start, or a part of it.
fn id_rank(id: &str, needle: &Needle) -> Option<Rank> {
    let text = needle.text;
    if is_plain_id(id) {
        return plain_id_rank(id, needle);
    } else {
        // Only an odd one costs a copy.
        let id = id.to_lowercase();
        if id == text {
            return Some(Rank::ExactId);
        } else if id.starts_with(text) {
            return Some(Rank::IdPrefix);
        } else if id.contains(text) {
            return Some(Rank::IdSubstring);
        }
    }
    None
}

/// `id_rank` for an id known to be lower-case ASCII (as Kore's are): compared as it is.
fn plain_id_rank(id: &str, needle: &Needle) -> Option<Rank> {
    let (id, text) = (id.as_bytes(), needle.text.as_bytes());
    if text.len() > id.len() {
        return None;
    }
    // Compared in line: a call to memcmp costs more than these few bytes.
    if id.iter().zip(text).all(|(a, b)| a == b) {
        Some(if id.len() == text.len() {
            Rank::ExactId
        } else {
            Rank::IdPrefix
        })
    } else if needle.finder.find(id).is_some() {
        Some(Rank::IdSubstring)
    } else {
        None
    }
}

fn is_plain_id(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase())
}

/// Where `id` ends in `haystack`, when the haystack starts with it and it is lower-case ASCII:
/// then ranking needs neither the row nor a check of the id.
fn id_end(id: &str, haystack: &str) -> Option<u32> {
    (haystack.starts_with(id) && is_plain_id(id))
        .then(|| u32::try_from(id.len()).ok())
        .flatten()
}

type RankId = fn(&str, &Needle) -> Option<Rank>;

/// The last tier of a sort key that matches exactly (`Rank::Prefixes`).
const EXACT_TIER: u64 = 4;

/// Rows below which a filter is not worth a second thread.
const PER_THREAD: usize = 20_000;

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
        Rank::Prefixes => (4, 0),
        Rank::Substrings => (5, 0),
        Rank::Fuzzy(std::cmp::Reverse(score)) => (6, u64::from(u32::MAX - score)),
    };
    let row = (row as u64) & ROW_MASK;
    let row = if newest_first { ROW_MASK - row } else { row };
    (tier << 56) | (inverted_score << ROW_BITS) | row
}

fn row_of(key: u64, newest_first: bool) -> usize {
    let row = key & ROW_MASK;
    (if newest_first { ROW_MASK - row } else { row }) as usize
}

/// Where a word of the query is in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Whole,
    /// The start of a word.
    Prefix,
    /// Inside a word.
    Part,
    Nowhere,
}

/// Whether `haystack` holds `word` (lower-case), ignoring ASCII case, and how: anywhere as a
/// whole word, else as a word's start, else inside one. One pass over the bytes and no
/// allocation, since it runs for every row a keystroke matches.
fn find_word(haystack: &str, word: &str) -> Found {
    if !word.is_ascii() {
        let lower = haystack.to_lowercase();
        let mut words = lower.split(|c: char| !c.is_alphanumeric());
        return if words.clone().any(|w| w == word) {
            Found::Whole
        } else if words.any(|w| w.starts_with(word)) {
            Found::Prefix
        } else if lower.contains(word) {
            Found::Part
        } else {
            Found::Nowhere
        };
    }
    let (hay, word) = (haystack.as_bytes(), word.as_bytes());
    let Some(&first) = word.first() else {
        return Found::Whole;
    };
    let mut found = Found::Nowhere;
    // memchr finds each place the word could start (either case of its first letter) fast.
    for i in memchr::memchr2_iter(first, first.to_ascii_uppercase(), hay) {
        if hay
            .get(i..i + word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
        {
            let starts = i == 0 || !is_word_byte(hay[i - 1]);
            if starts && hay.get(i + word.len()).is_none_or(|&b| !is_word_byte(b)) {
                return Found::Whole;
            }
            found = if starts || found == Found::Prefix {
                Found::Prefix
            } else {
                Found::Part
            };
        }
    }
    found
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
        for atom in 0..self.pattern.atoms.len() {
            total += u32::from(self.atom_score(atom, haystack, matcher)?);
        }
        Some(total)
    }

    /// One atom's score on a row, `None` when it does not match.
    fn atom_score(&self, atom: usize, haystack: Utf32Str, matcher: &mut Matcher) -> Option<u16> {
        let (ignore_case, normalize) = self.settings[atom];
        let atom = &self.pattern.atoms[atom];
        if atom.kind == AtomKind::Fuzzy && !atom.negative {
            matcher.config.ignore_case = ignore_case;
            matcher.config.normalize = normalize;
            matcher.fuzzy_match_greedy(haystack, atom.needle_text())
        } else {
            atom.score(haystack, matcher)
        }
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
            Rank::Prefixes,
            "the starts of words are not whole words, but exact enough to mark"
        );
        assert_eq!(
            rank("zz", "zz Java Patella", "ava patel", 9),
            Rank::Substrings,
            "a part inside a word ranks above scattered letters, but is not exact"
        );
        assert_eq!(
            rank("zz", "zz Ava Pat el", "ava patel", 9),
            Rank::Fuzzy(std::cmp::Reverse(9))
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
    fn letters_close_together_and_at_word_starts_score_higher() {
        let close = letters_in_order(b"ab cd", b"bc").unwrap();
        let far = letters_in_order(b"ab xxxxxx cd", b"bc").unwrap();
        let start = letters_in_order(b"zz bill", b"bl").unwrap();
        let inside = letters_in_order(b"zzbill", b"bl").unwrap();
        assert!(close > far, "{close} {far}");
        assert!(start > inside, "{start} {inside}");
        assert_eq!(letters_in_order(b"abc", b"cb"), None, "in order only");
        assert!(letters_in_order(b"ABC", b"ac").is_some(), "any case");
    }

    #[test]
    fn the_quick_ranks_show_exactly_the_rows_nucleo_matches() {
        struct H(String, &'static str);
        impl Row for H {
            fn id(&self) -> &str {
                &self.0
            }
            fn haystack(&self) -> String {
                format!("{} {}", self.0, self.1)
            }
        }
        let texts = [
            "Ava Patel web billing dispute",
            "Avalon Patella sms",
            "Ava Pat el voice",
            "Zoë Café whatsapp refund",
            "BILLING Payments",
            "bi ll ing",
            "Customer 4242 web billing dispute 42 Billing",
            "Order A-1234 sms",
        ];
        let mut m = Matcher::new(nucleo::Config::DEFAULT);
        let mut t = Table::new(false);
        for (i, text) in texts.iter().enumerate() {
            assert!(
                t.push(H(format!("6538f8a3c9cf{i:012}"), text), &mut m)
                    .is_ok()
            );
        }
        for q in [
            "ava patel",
            "bil",
            "billing",
            "ing",
            "6538",
            "0003",
            "zoe",
            "café",
            "pat el",
            "xyz",
            "a p",
            "billing 1",
            "42",
            "b4",
            "cfe",
            "zoe cafe",
            "6538f8a3c9cf0001",
            "gnillib",
            "a-123",
            "a-1234 sms",
            "b-123",
            "dispute 424",
            "6538f8a3c9cf000000000006",
            "6538f8a3c9cf00000000000",
        ] {
            t.set_filter(q, &mut m);
            let mut shown = t.visible().to_vec();
            shown.sort_unstable();
            let p = pattern(q);
            let expected: Vec<usize> = (0..texts.len())
                .filter(|&i| {
                    let mut buf = Vec::new();
                    p.score(Utf32Str::new(t.haystack(i), &mut buf), &mut m)
                        .is_some()
                })
                .collect();
            assert_eq!(shown, expected, "query {q:?}");
        }
    }

    #[test]
    fn typing_a_word_a_letter_at_a_time_ranks_as_the_whole_word_at_once() {
        struct H(String, String);
        impl Row for H {
            fn id(&self) -> &str {
                &self.0
            }
            fn haystack(&self) -> String {
                format!("{} {}", self.0, self.1)
            }
        }
        let rows = |t: &mut Table<H>, m: &mut Matcher| {
            for i in 0..3_000u32 {
                let text = format!("Customer {i} web billing dispute {} Billing", i % 97);
                assert!(
                    t.push(H(format!("6538f8a3c9cf{i:08x}f00d"), text), m)
                        .is_ok()
                );
            }
        };
        let mut m = Matcher::new(nucleo::Config::DEFAULT);
        let mut typed = Table::new(false);
        rows(&mut typed, &mut m);
        for word in [
            "6538f8a3c9cf00000b41f00d",
            "billing",
            "cus12",
            "6538f8a3c9cf0000zz",
        ] {
            for end in 1..=word.len() {
                typed.set_filter(&word[..end], &mut m);
                let mut fresh = Table::new(false);
                rows(&mut fresh, &mut m);
                fresh.set_filter(&word[..end], &mut m);
                assert_eq!(typed.visible(), fresh.visible(), "{:?}", &word[..end]);
            }
            typed.set_filter("", &mut m);
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
    fn ids_that_do_not_start_their_row_are_held_apart_and_follow_a_removal() {
        let (mut t, mut m) = (Table::new(false), Matcher::new(nucleo::Config::DEFAULT));
        for r in [R("A1", "x"), R("B2", "y"), R("C3", "z")] {
            assert!(t.push(r, &mut m).is_ok());
        }
        t.remove(0);
        t.set_filter("c3", &mut m);
        assert_eq!(t.visible(), &[1]);
        assert_eq!(t.exact(), 1, "the id, exactly");
        t.set_filter("b2", &mut m);
        assert_eq!(t.visible(), &[0]);
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
