//! One pane's rows with what the pane adds to them: a fuzzy filter (nucleo), a cursor and a scroll
//! position. Rows are found by id, so live updates and merges never scan.

use std::cell::Cell;
use std::collections::HashMap;

use nucleo::pattern::{CaseMatching, Normalization, Pattern};
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
    index: HashMap<String, usize>,
    /// Row indices shown, in display order.
    visible: Vec<usize>,
    query: String,
    /// Newest row first (the activity pane).
    newest_first: bool,
    /// Position in `visible`.
    pub cursor: usize,
    /// First visible line; the view moves it to keep the cursor on screen.
    pub offset: Cell<usize>,
}

impl<T: Row> Table<T> {
    pub fn new(newest_first: bool) -> Table<T> {
        Table {
            rows: Vec::new(),
            haystacks: Vec::new(),
            index: HashMap::new(),
            visible: Vec::new(),
            query: String::new(),
            newest_first,
            cursor: 0,
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
        let shown = self.query.is_empty() || matches(&pattern(&self.query), &haystack, matcher);
        self.haystacks.push(haystack);
        self.rows.push(row);
        if shown {
            if self.newest_first {
                self.visible.insert(0, i);
                // Keep the same row highlighted unless the cursor sits on the newest.
                if self.cursor > 0 {
                    self.cursor += 1;
                }
            } else {
                self.visible.push(i);
            }
        }
        Ok(i)
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

    /// Shows only the rows that match `query`, fuzzily; an empty query shows all.
    pub fn set_filter(&mut self, query: &str, matcher: &mut Matcher) {
        let previous = self.selected();
        // Typing more of a fuzzy query can only narrow it: search what is shown, not every row.
        let narrowing = !self.query.is_empty()
            && query.starts_with(&self.query)
            && !self.query.contains(['!', '\\'])
            && !query[self.query.len()..].contains([' ', '!', '^', '$', '\'', '\\']);
        let candidates: Vec<usize> = if narrowing {
            std::mem::take(&mut self.visible)
        } else if self.newest_first {
            (0..self.rows.len()).rev().collect()
        } else {
            (0..self.rows.len()).collect()
        };
        self.query = query.to_string();
        self.visible = if query.trim().is_empty() {
            candidates
        } else {
            let pattern = pattern(query);
            candidates
                .into_iter()
                .filter(|&i| matches(&pattern, &self.haystacks[i], matcher))
                .collect()
        };
        self.cursor = previous
            .and_then(|p| self.visible.iter().position(|&i| i == p))
            .unwrap_or(0);
        self.offset.set(0);
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
    }

    pub fn top(&mut self) {
        self.cursor = 0;
    }

    pub fn bottom(&mut self) {
        self.cursor = self.visible.len().saturating_sub(1);
    }

    fn clamp(&mut self) {
        self.cursor = self.cursor.min(self.visible.len().saturating_sub(1));
    }
}

fn pattern(query: &str) -> Pattern {
    Pattern::parse(query, CaseMatching::Smart, Normalization::Smart)
}

fn matches(pattern: &Pattern, haystack: &str, matcher: &mut Matcher) -> bool {
    let mut buf = Vec::new();
    pattern
        .score(Utf32Str::new(haystack, &mut buf), matcher)
        .is_some()
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
    fn fuzzy_filter_narrows_and_clears() {
        let (mut t, mut m) = table();
        t.set_filter("bil", &mut m);
        assert_eq!(t.visible(), &[0, 2]);
        t.set_filter("bilch", &mut m);
        assert_eq!(t.visible(), &[2]);
        t.set_filter("bil", &mut m);
        assert_eq!(t.visible(), &[0, 2], "widening searches every row again");
        t.set_filter("", &mut m);
        assert_eq!(t.visible(), &[0, 1, 2]);
        t.set_filter("chen", &mut m);
        assert_eq!(t.match_positions(2, &mut m), vec![3, 4, 5, 6]);
    }

    #[test]
    fn the_highlighted_row_survives_filtering_when_shown() {
        let (mut t, mut m) = table();
        t.move_by(2);
        t.set_filter("billing", &mut m);
        assert_eq!(t.selected(), Some(2));
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
