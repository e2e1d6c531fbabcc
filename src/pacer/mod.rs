//! The account's call budget (SPEC §4): every API call of every switchboard process of one account on
//! this machine takes a slot from it. Kore allows 60 calls a minute per account, counted in a rolling
//! window and shared with every other integration of the account, and it counts a call whenever the
//! request reaches it — after a connection set-up, a TLS handshake, a slow network. So the pacer
//! keeps two rules, each with a `Permit` held for the whole call:
//! - **spread:** slots are at least `window / rate` apart across the account's processes, so the calls
//!   go evenly, as Kore asks;
//! - **never over:** a call may start only when fewer than the limit of the calls on record could
//!   still be in the server's window with it. A call leaves that window only a window after its
//!   *answer* came (the server counted it at some moment before), so no jitter can put more than the
//!   limit in any window the server sees. A call still in flight counts until it ends.
//!
//! Assignments go first, then verification reads, then refresh reads, which may use at most half the
//! budget, so a refresh never crowds out a move. After a 429 the limit is lowered to what the window
//! held without it (another integration is spending the rest) and creeps back a window at a time.

pub mod ledger;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

pub use ledger::Entry;
use ledger::Ledger;

const MINUTE: Duration = Duration::from_secs(60);

/// Added to the window on our side, for the rounding of the server's clock.
const WINDOW_MARGIN: Duration = Duration::from_millis(100);

/// Windows without a refusal before a lowered limit starts to rise again.
const QUIET_WINDOWS: u32 = 5;

/// How often a pacer waiting on a call of another process looks at the ledger again.
const RECHECK: Duration = Duration::from_millis(100);

/// Which calls go first when several wait for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// An assignment: what the supervisor asked for, always first.
    Assign = 0,
    /// A read that checks a move happened.
    Verify = 1,
    /// A read that refreshes what is on screen; it can wait.
    Refresh = 2,
}

impl Priority {
    const ALL: [Priority; 3] = [Priority::Assign, Priority::Verify, Priority::Refresh];

    fn from_index(i: u8) -> Option<Priority> {
        Priority::ALL.get(i as usize).copied()
    }
}

/// A snapshot of the pacer, for the console's header and the progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacerStatus {
    /// The configured rate; 0 when pacing is off.
    pub per_minute: u32,
    /// The limit in force: lower than `per_minute` after the server refused a call under it.
    pub limit: u32,
    /// Calls in the last window, by every process of the account.
    pub used_last_minute: usize,
    /// Of those, this process's calls that were not assignments (refresh and verification reads).
    pub refresh_last_minute: usize,
    /// Of those, the ones other processes of the account made (through the shared ledger).
    pub others_last_minute: usize,
    /// Calls of this process waiting for a slot.
    pub waiting: usize,
    /// Whether the budget is shared with the account's other processes through the ledger file.
    pub shared: bool,
    /// The ledger failed during the run: since then this process paces alone, and other
    /// processes' calls are not counted.
    pub sharing_lost: bool,
    /// Ledger entries found dated ahead of the clock (a clock stepped back) and brought back to
    /// now, since the process started.
    pub clamped: usize,
    /// The shared store cannot be reached: nothing is granted until it is back.
    pub store_lost: bool,
    /// The shared store came back after it was lost.
    pub store_back: bool,
    /// How long the shared store has been away, while it is.
    pub store_lost_for: Option<Duration>,
}

impl PacerStatus {
    /// Whether the server showed a lower limit than configured (another integration shares it).
    pub fn lowered(&self) -> bool {
        self.per_minute > 0 && self.limit > 0 && self.limit < self.per_minute
    }
}

/// How the pacer counts.
#[derive(Debug, Clone)]
pub struct PacerOptions {
    pub per_minute: u32,
    /// The window the limit counts in: a minute on Kore; tests shorten it.
    pub window: Duration,
}

impl PacerOptions {
    pub fn per_minute(per_minute: u32) -> PacerOptions {
        PacerOptions {
            per_minute,
            window: MINUTE,
        }
    }

    fn interval(&self) -> Duration {
        if self.per_minute == 0 {
            Duration::ZERO
        } else {
            self.window / self.per_minute
        }
    }
}

/// A granted slot: hold it while the call is made. Dropping it records the call's end (its answer
/// came, or it gave up); `cancel` takes back a slot that was never used to send.
pub struct Permit {
    id: Option<u64>,
    events: Option<mpsc::UnboundedSender<Event>>,
}

impl Permit {
    fn unpaced() -> Permit {
        Permit {
            id: None,
            events: None,
        }
    }

    /// Nothing was sent with this slot: it does not count.
    pub fn cancel(mut self) {
        if let (Some(id), Some(events)) = (self.id.take(), &self.events) {
            let _ = events.send(Event::Cancelled(id));
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let (Some(id), Some(events)) = (self.id.take(), &self.events) {
            let _ = events.send(Event::Ended(id));
        }
    }
}

/// A place in the pacer's queue. Dropping it gives the place up.
pub struct Slot {
    grant: Option<oneshot::Receiver<u64>>,
    events: Option<mpsc::UnboundedSender<Event>>,
}

impl Slot {
    /// Waits until this slot's time has come.
    pub async fn wait(self) -> Permit {
        match (self.grant, self.events) {
            (Some(rx), Some(events)) => match rx.await {
                Ok(id) => Permit {
                    id: Some(id),
                    events: Some(events),
                },
                // The pacer's task is gone (the runtime is shutting down): nothing to count against.
                Err(_) => Permit::unpaced(),
            },
            _ => Permit::unpaced(),
        }
    }
}

enum Event {
    Wait(Priority, oneshot::Sender<u64>),
    Ended(u64),
    Cancelled(u64),
    RateLimited,
    /// Moves of a running batch still to be sent (+) or settled (−): reads wait behind them.
    MovesComing(isize),
}

/// The moves of a running batch not yet settled: while any is, this process's reads (refresh,
/// verification, drift checks) wait, so a batch of N moves ends as soon as the rate allows. Cheap to
/// clone; what is left when the last clone goes is let go of, however the batch ended.
#[derive(Clone)]
pub struct MovesComing(Option<Arc<Coming>>);

struct Coming {
    events: mpsc::UnboundedSender<Event>,
    left: std::sync::atomic::AtomicUsize,
}

impl MovesComing {
    /// One move of the batch settled (sent and answered, or never sent).
    pub fn one_done(&self) {
        use std::sync::atomic::Ordering;
        if let Some(coming) = &self.0
            && coming
                .left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            let _ = coming.events.send(Event::MovesComing(-1));
        }
    }
}

impl Drop for Coming {
    fn drop(&mut self) {
        let left = self.left.swap(0, std::sync::atomic::Ordering::SeqCst);
        if left > 0 {
            let _ = self.events.send(Event::MovesComing(-(left as isize)));
        }
    }
}

#[derive(Clone)]
pub struct Pacer {
    options: PacerOptions,
    events: Option<mpsc::UnboundedSender<Event>>,
    stats: Arc<Mutex<Stats>>,
}

#[derive(Default)]
struct Stats {
    /// The calls on record at the last look, as (when counted, priority, whether this process
    /// made it).
    recent: Vec<(Instant, Priority, bool)>,
    waiting: usize,
    limit: u32,
    shared: bool,
    sharing_lost: bool,
    clamped: usize,
    store_lost: bool,
    store_back: bool,
    /// Since when the shared store has been away.
    store_lost_since: Option<Instant>,
}

impl Pacer {
    /// A pacer of `per_minute` calls a minute for this process alone; 0 turns pacing off (for the
    /// stand-in and benchmarks). Must be called inside a tokio runtime: the pacer's clock is a task.
    pub fn new(per_minute: u32) -> Pacer {
        Pacer::start(PacerOptions::per_minute(per_minute), Ledger::in_memory())
    }

    /// A pacer on this ledger: a shared file's, opened and checked by the caller, shares the budget
    /// with every process using the same file.
    pub fn with_ledger(options: PacerOptions, ledger: Ledger) -> Pacer {
        Pacer::start(options, ledger)
    }

    /// A pacer whose budget is kept in the shared store, for every process of the account on every
    /// machine.
    pub fn on_store(options: PacerOptions, store: crate::store::SharedStore) -> Pacer {
        Pacer::start(options, Ledger::on_store(store))
    }

    /// A pacer for this process alone with these options (tests shorten the window).
    pub fn with_options(options: PacerOptions) -> Pacer {
        Pacer::start(options, Ledger::in_memory())
    }

    fn start(options: PacerOptions, ledger: Ledger) -> Pacer {
        let stats = Arc::new(Mutex::new(Stats {
            limit: options.per_minute,
            shared: ledger.is_shared(),
            ..Stats::default()
        }));
        let events = (options.per_minute > 0).then(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let clock = Clock {
                options: options.clone(),
                ledger,
                stats: stats.clone(),
                limit: options.per_minute,
                last_refusal: None,
                moves_coming: 0,
            };
            tokio::spawn(clock.run(rx));
            tx
        });
        Pacer {
            options,
            events,
            stats,
        }
    }

    /// Waits for this call's slot; hold the permit while the call is made.
    pub async fn acquire(&self, priority: Priority) -> Permit {
        self.reserve(priority).wait().await
    }

    /// Takes a place in the queue now, to wait for later: calls reserved in order are served in
    /// that order, whichever task gets to wait first.
    pub fn reserve(&self, priority: Priority) -> Slot {
        let Some(events) = &self.events else {
            let mut stats = self.stats.lock().expect("pacer stats");
            stats.recent.push((Instant::now(), priority, true));
            let horizon = Instant::now().checked_sub(self.options.window);
            stats
                .recent
                .retain(|(t, ..)| horizon.is_none_or(|h| *t > h));
            return Slot {
                grant: None,
                events: None,
            };
        };
        let (tx, rx) = oneshot::channel();
        // The clock lives as long as any sender, so this fails only if it panicked.
        let sent = events.send(Event::Wait(priority, tx)).is_ok();
        Slot {
            grant: sent.then_some(rx),
            events: Some(events.clone()),
        }
    }

    /// A batch of `moves` starts: this process's reads wait until each has settled.
    pub fn moves_coming(&self, moves: usize) -> MovesComing {
        let Some(events) = self.events.clone().filter(|_| moves > 0) else {
            return MovesComing(None);
        };
        let _ = events.send(Event::MovesComing(moves as isize));
        MovesComing(Some(Arc::new(Coming {
            events,
            left: std::sync::atomic::AtomicUsize::new(moves),
        })))
    }

    /// The server refused a call for the rate limit: the limit is lower than configured.
    pub fn rate_limited(&self) {
        if let Some(events) = &self.events {
            let _ = events.send(Event::RateLimited);
        }
    }

    pub fn per_minute(&self) -> u32 {
        self.options.per_minute
    }

    /// The spacing between two slots; zero when pacing is off.
    pub fn interval(&self) -> Duration {
        self.options.interval()
    }

    /// How long `calls` more calls take at this rate (the first goes at once).
    pub fn eta(&self, calls: usize) -> Duration {
        Self::eta_at(self.options.per_minute, calls)
    }

    /// How long `calls` calls take at `per_minute`, without a running pacer (for previews).
    pub fn eta_at(per_minute: u32, calls: usize) -> Duration {
        if per_minute == 0 {
            return Duration::ZERO;
        }
        MINUTE / per_minute * calls.saturating_sub(1) as u32
    }

    pub fn status(&self) -> PacerStatus {
        let stats = self.stats.lock().expect("pacer stats");
        let horizon = Instant::now().checked_sub(self.options.window);
        let recent = stats
            .recent
            .iter()
            .filter(|(t, ..)| horizon.is_none_or(|h| *t > h));
        let (mut used, mut reads, mut others) = (0, 0, 0);
        for (_, priority, ours) in recent {
            used += 1;
            reads += usize::from(*ours && *priority != Priority::Assign);
            others += usize::from(!ours);
        }
        PacerStatus {
            per_minute: self.options.per_minute,
            limit: stats.limit,
            used_last_minute: used,
            refresh_last_minute: reads,
            others_last_minute: others,
            waiting: stats.waiting,
            shared: stats.shared,
            sharing_lost: stats.sharing_lost,
            clamped: stats.clamped,
            store_lost: stats.store_lost,
            store_back: stats.store_back,
            store_lost_for: stats.store_lost_since.map(|t| t.elapsed()),
        }
    }
}

/// When a call of `priority` may start, given the calls on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Now,
    /// Not before this time (ledger milliseconds).
    At(u64),
    /// Not until a call in flight ends.
    WhenOneEnds,
}

/// The rules as numbers, in ledger milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub limit: usize,
    pub window_ms: u64,
    pub interval_ms: u64,
}

/// The pacer's two rules (module docs), pure so they can be tested alone. Reads (anything but an
/// assignment) may fill at most half the window.
pub fn decide(entries: &[Entry], now: u64, priority: Priority, mut rules: Rules) -> Decision {
    // The account's budget is the lowest any process in the window paces by (a slower rate, or a
    // limit lowered by a refusal): one process's 90 never spends another's 60.
    if let Some(lowest) = entries
        .iter()
        .filter(|e| {
            e.counted_by(now)
                .is_none_or(|end| end + rules.window_ms > now)
        })
        .filter_map(|e| e.limit)
        .min()
    {
        rules.limit = rules.limit.min(lowest.max(1) as usize);
    }
    let mut earliest = entries
        .iter()
        .map(|e| e.start + rules.interval_ms)
        .max()
        .unwrap_or(0)
        .max(now);
    let reads_limit = (rules.limit / 2).max(1);
    let checks: [(usize, bool); 2] = [(rules.limit, false), (reads_limit, true)];
    for (limit, reads_only) in checks {
        if reads_only && priority == Priority::Assign {
            continue;
        }
        // When each call on record leaves the window of a call starting now; in flight: unknown.
        let mut leaves: Vec<Option<u64>> = entries
            .iter()
            .filter(|e| !reads_only || e.priority != Priority::Assign)
            .map(|e| e.counted_by(now).map(|end| end + rules.window_ms))
            .filter(|leaves| leaves.is_none_or(|t| t > earliest))
            .collect();
        if leaves.len() < limit {
            continue;
        }
        // The call must wait until all but `limit - 1` of them have left.
        leaves.sort_by_key(|t| t.unwrap_or(u64::MAX));
        match leaves[leaves.len() - limit] {
            Some(t) => earliest = earliest.max(t),
            None => return Decision::WhenOneEnds,
        }
    }
    if earliest <= now {
        Decision::Now
    } else {
        Decision::At(earliest)
    }
}

/// The pacer's task: hands out slots by the rules, keeps the ledger, and lowers the limit after a
/// refusal.
struct Clock {
    options: PacerOptions,
    ledger: Ledger,
    stats: Arc<Mutex<Stats>>,
    limit: u32,
    /// When the server last refused a call for the rate limit.
    last_refusal: Option<Instant>,
    /// Moves of running batches not yet settled: reads wait while there are any.
    moves_coming: usize,
}

impl Clock {
    fn window_ms(&self) -> u64 {
        (self.options.window + WINDOW_MARGIN).as_millis() as u64
    }

    fn rules(&self) -> Rules {
        Rules {
            limit: self.limit.max(1) as usize,
            window_ms: self.window_ms(),
            interval_ms: self.options.interval().as_millis() as u64,
        }
    }

    async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        let mut queues: [VecDeque<oneshot::Sender<u64>>; 3] = Default::default();
        loop {
            while let Ok(event) = events.try_recv() {
                self.handle(event, &mut queues).await;
            }
            queues
                .iter_mut()
                .for_each(|q| q.retain(|tx| !tx.is_closed()));
            self.stats.lock().expect("pacer stats").waiting =
                queues.iter().map(VecDeque::len).sum();
            self.recover();
            // Reads go behind moves: none is granted while a batch has moves to come.
            let Some(priority) = Priority::ALL.into_iter().find(|p| {
                !queues[*p as usize].is_empty()
                    && (*p == Priority::Assign || self.moves_coming == 0)
            }) else {
                // Nothing waits: sleep until something happens; with no pacer or permit left, stop.
                match events.recv().await {
                    Some(event) => self.handle(event, &mut queues).await,
                    None => return,
                }
                continue;
            };
            let decision = self.try_grant(priority, &mut queues).await;
            let wake = match decision {
                None => continue,
                Some(Decision::At(t)) => {
                    // Never longer than a window: whatever the record says, a window from now
                    // every call on it has left the server's count.
                    let now = self.ledger.now_ms();
                    Instant::now()
                        + Duration::from_millis(t.saturating_sub(now).min(self.window_ms()))
                }
                // Another process's call: its end comes through the file, so look again soon.
                Some(_) => Instant::now() + RECHECK,
            };
            tokio::select! {
                _ = sleep_until(wake) => {}
                event = events.recv() => match event {
                    Some(event) => self.handle(event, &mut queues).await,
                    None => return,
                },
            }
        }
    }

    /// Grants the head of `priority`'s queue if the rules allow it now; otherwise says when.
    async fn try_grant(
        &mut self,
        priority: Priority,
        queues: &mut [VecDeque<oneshot::Sender<u64>>; 3],
    ) -> Option<Decision> {
        let rules = self.rules();
        let pid = self.ledger.pid();
        let id = self.ledger.new_id();
        let keep = self.window_ms() * 2;
        let result = self
            .ledger
            .with(keep, |entries, now| {
                let decision = decide(entries, now, priority, rules);
                if decision == Decision::Now {
                    entries.push(Entry {
                        pid,
                        id,
                        priority,
                        start: now,
                        end: None,
                        limit: Some(rules.limit as u32),
                    });
                }
                (decision, snapshot(entries, pid))
            })
            .await;
        let clamped = self.ledger.take_clamped();
        if clamped > 0 {
            tracing::warn!(
                clamped,
                "pacer: budget ledger entries dated ahead of the clock (a clock stepped back?) were brought back to now"
            );
            self.stats.lock().expect("pacer stats").clamped += clamped;
        }
        let (decision, recent) = match result {
            Ok(r) => {
                self.store_reached();
                r
            }
            // The shared store is away: sending pauses (a private budget would overspend the
            // account's), and the grant is tried again soon.
            Err(e) if self.ledger.on_shared_store() => {
                tracing::warn!(
                    "pacer: the shared store failed ({e}); sending pauses until it is back"
                );
                let mut stats = self.stats.lock().expect("pacer stats");
                stats.store_lost = true;
                stats.store_lost_since.get_or_insert_with(Instant::now);
                return Some(Decision::WhenOneEnds);
            }
            Err(e) => {
                // The shared file failed mid-run: keep pacing in memory rather than stop every
                // call. The status says so at once (the console's header, `assign`'s stderr).
                tracing::warn!("pacer: the budget ledger failed ({e}); pacing this process alone");
                self.ledger = Ledger::in_memory();
                let mut stats = self.stats.lock().expect("pacer stats");
                stats.shared = false;
                stats.sharing_lost = true;
                return None;
            }
        };
        self.remember(recent);
        if decision != Decision::Now {
            return Some(decision);
        }
        while let Some(tx) = queues[priority as usize].pop_front() {
            if tx.send(id).is_ok() {
                return None;
            }
        }
        // Everyone who asked has gone: the slot was not used.
        self.finish(id, true).await;
        None
    }

    /// The shared store answered: if it had been away, it is back.
    fn store_reached(&mut self) {
        let mut stats = self.stats.lock().expect("pacer stats");
        if stats.store_lost {
            stats.store_lost = false;
            stats.store_lost_since = None;
            stats.store_back = true;
            tracing::info!("pacer: the shared store is back");
        }
    }

    async fn handle(&mut self, event: Event, queues: &mut [VecDeque<oneshot::Sender<u64>>; 3]) {
        match event {
            Event::Wait(priority, tx) => queues[priority as usize].push_back(tx),
            Event::Ended(id) => self.finish(id, false).await,
            Event::Cancelled(id) => self.finish(id, true).await,
            Event::RateLimited => self.lower().await,
            Event::MovesComing(n) => {
                self.moves_coming = self.moves_coming.saturating_add_signed(n);
            }
        }
    }

    async fn finish(&mut self, id: u64, cancelled: bool) {
        let pid = self.ledger.pid();
        let keep = self.window_ms() * 2;
        let result = self
            .ledger
            .with(keep, |entries, now| {
                if cancelled {
                    entries.retain(|e| !(e.pid == pid && e.id == id));
                } else if let Some(e) = entries.iter_mut().find(|e| e.pid == pid && e.id == id) {
                    e.end = Some(now);
                }
                snapshot(entries, pid)
            })
            .await;
        if let Ok(recent) = result {
            self.remember(recent);
        }
    }

    /// The server refused a call under our limit: the window held, by our record, as many calls as
    /// the server allows us now (another integration spends the rest).
    async fn lower(&mut self) {
        let window = self.window_ms();
        let in_window = self
            .ledger
            .with(window * 2, |entries, now| {
                entries
                    .iter()
                    .filter(|e| e.counted_by(now).is_none_or(|end| end + window > now))
                    .count()
            })
            .await
            .unwrap_or(self.limit as usize);
        let lowered = (in_window.saturating_sub(1) as u32).clamp(1, self.limit.max(1));
        if lowered < self.limit {
            tracing::warn!(
                from = self.limit,
                to = lowered,
                "the server refused a call under the limit: lowering it"
            );
        }
        self.limit = lowered;
        self.last_refusal = Some(Instant::now());
        self.stats.lock().expect("pacer stats").limit = self.limit;
    }

    /// A lowered limit creeps back: one call more after five windows without a refusal, then one
    /// more each quiet window. Whoever shares the account rarely stops at once, and every probe
    /// above their share costs a refused call.
    fn recover(&mut self) {
        let Some(at) = self.last_refusal else { return };
        if self.limit >= self.options.per_minute {
            self.last_refusal = None;
            return;
        }
        let window = self.options.window;
        if at.elapsed() < window * QUIET_WINDOWS {
            return;
        }
        self.limit += 1;
        let now = Instant::now();
        self.last_refusal = Some(now.checked_sub(window * (QUIET_WINDOWS - 1)).unwrap_or(now));
        self.stats.lock().expect("pacer stats").limit = self.limit;
    }

    fn remember(&self, recent: Vec<(u64, Priority, bool)>) {
        let now_ms = self.ledger.now_ms();
        let now = Instant::now();
        self.stats.lock().expect("pacer stats").recent = recent
            .into_iter()
            .map(|(at, p, ours)| {
                let ago = Duration::from_millis(now_ms.saturating_sub(at));
                (now.checked_sub(ago).unwrap_or(now), p, ours)
            })
            .collect();
    }
}

/// What the status shows: each call on record, counted at its start, and whether `pid` made it.
fn snapshot(entries: &[Entry], pid: u32) -> Vec<(u64, Priority, bool)> {
    entries
        .iter()
        .map(|e| (e.start, e.priority, e.pid == pid))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn grant_times(pacer: &Pacer, n: usize, priority: Priority) -> Vec<Instant> {
        let mut tasks = Vec::new();
        for _ in 0..n {
            let p = pacer.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = p.acquire(priority).await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        times
    }

    #[tokio::test(start_paused = true)]
    async fn calls_are_spread_evenly_and_never_exceed_the_rate_in_any_window() {
        for (calls, per_minute) in [(150usize, 60u32), (100, 45), (40, 7)] {
            let pacer = Pacer::new(per_minute);
            let times = grant_times(&pacer, calls, Priority::Assign).await;
            let interval = MINUTE / per_minute;
            for pair in times.windows(2) {
                let gap = pair[1] - pair[0];
                assert!(gap >= interval - Duration::from_millis(1), "gap {gap:?}");
            }
            for (i, start) in times.iter().enumerate() {
                let in_window = times[i..]
                    .iter()
                    .take_while(|t| **t - *start < MINUTE)
                    .count();
                assert!(
                    in_window <= per_minute as usize,
                    "{in_window} calls in one minute at {per_minute}/min"
                );
            }
            // Calls that answer at once cost only the window's margin beyond the even spread.
            let total = *times.last().unwrap() - times[0];
            let windows = (calls as u32 - 1) / per_minute;
            assert!(
                total <= pacer.eta(calls) + WINDOW_MARGIN * (windows + 1) + interval,
                "{calls} calls at {per_minute}/min took {total:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_pacer_grants_at_once_but_never_closer_than_the_interval() {
        let pacer = Pacer::new(60);
        let t0 = Instant::now();
        drop(pacer.acquire(Priority::Assign).await);
        assert_eq!(Instant::now(), t0);
        drop(pacer.acquire(Priority::Assign).await);
        assert_eq!(Instant::now() - t0, Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(10)).await;
        let t1 = Instant::now();
        drop(pacer.acquire(Priority::Assign).await);
        assert_eq!(Instant::now(), t1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_leaves_the_window_a_window_after_its_answer() {
        // 3 a second; each call takes 700 ms to answer. The 4th may start only a window (plus the
        // margin) after the 1st answered, not a window after it started.
        let pacer = Pacer::with_options(PacerOptions {
            per_minute: 3,
            window: Duration::from_secs(1),
        });
        let t0 = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..4 {
            let permit = pacer.acquire(Priority::Assign).await;
            starts.push(Instant::now() - t0);
            let p = permit;
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(700)).await;
                drop(p);
            });
        }
        assert_eq!(starts[1], Duration::from_millis(333));
        assert!(
            starts[3] >= Duration::from_millis(700 + 1000 + 100),
            "{starts:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn assignments_go_before_waiting_reads() {
        let pacer = Pacer::new(60);
        drop(pacer.acquire(Priority::Assign).await); // the next slot is a second away
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, priority) in [
            Priority::Refresh,
            Priority::Verify,
            Priority::Refresh,
            Priority::Assign,
            Priority::Assign,
        ]
        .into_iter()
        .enumerate()
        {
            let (p, order) = (pacer.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                drop(p.acquire(priority).await);
                order.lock().unwrap().push(i);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![3, 4, 1, 0, 2]);
    }

    #[test]
    fn reads_take_at_most_half_the_window() {
        let rules = Rules {
            limit: 4,
            window_ms: 1000,
            interval_ms: 0,
        };
        let read = |start| Entry {
            pid: 1,
            id: start,
            priority: Priority::Refresh,
            start,
            end: Some(start + 1),
            limit: None,
        };
        let entries = [read(0), read(10)];
        assert_eq!(
            decide(&entries, 20, Priority::Refresh, rules),
            Decision::At(1001),
            "the first read leaves the window a window after its answer"
        );
        assert_eq!(decide(&entries, 20, Priority::Assign, rules), Decision::Now);
        // A full window: the call waits for the earliest to leave; if those it waits for are still
        // in flight, until one of them ends.
        let full = [
            Entry {
                end: None,
                ..read(0)
            },
            read(5),
            read(6),
            read(7),
        ];
        assert_eq!(
            decide(&full, 20, Priority::Assign, rules),
            Decision::At(1006)
        );
        let in_flight = full.map(|e| Entry { end: None, ..e });
        assert_eq!(
            decide(&in_flight, 20, Priority::Assign, rules),
            Decision::WhenOneEnds
        );
    }

    #[test]
    fn the_lowest_limit_in_the_window_paces_every_process() {
        let rules = Rules {
            limit: 60,
            window_ms: 1000,
            interval_ms: 0,
        };
        let call = |start, limit| Entry {
            pid: 2,
            id: start,
            priority: Priority::Assign,
            start,
            end: Some(start + 1),
            limit,
        };
        // Another process paces by 2: with two of its calls in the window, ours waits too.
        let slow = [call(0, Some(2)), call(10, Some(2))];
        assert_eq!(
            decide(&slow, 20, Priority::Assign, rules),
            Decision::At(1001)
        );
        // Its limit counts only while its calls are in the window, and entries from before say
        // none.
        let old = [call(0, None), call(10, None)];
        assert_eq!(decide(&old, 20, Priority::Assign, rules), Decision::Now);
        assert_eq!(decide(&slow, 1100, Priority::Assign, rules), Decision::Now);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_lowers_the_limit_and_a_quiet_window_raises_it() {
        let pacer = Pacer::with_options(PacerOptions {
            per_minute: 10,
            window: Duration::from_secs(1),
        });
        for _ in 0..6 {
            drop(pacer.acquire(Priority::Assign).await);
        }
        pacer.rate_limited();
        // The window held 6 when the server refused: it allows us 5.
        drop(pacer.acquire(Priority::Assign).await);
        assert_eq!(pacer.status().limit, 5);
        assert!(pacer.status().lowered());
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(pacer.acquire(Priority::Assign).await);
        assert_eq!(
            pacer.status().limit,
            5,
            "three quiet windows are not yet enough"
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(pacer.acquire(Priority::Assign).await);
        assert_eq!(pacer.status().limit, 6, "after five, one more a window");
    }

    #[tokio::test(start_paused = true)]
    async fn status_counts_the_last_minute_and_the_queue() {
        let pacer = Pacer::new(60);
        for _ in 0..3 {
            drop(pacer.acquire(Priority::Assign).await);
        }
        assert_eq!(pacer.status().used_last_minute, 3);
        tokio::time::sleep(MINUTE).await;
        assert_eq!(pacer.status().used_last_minute, 0);
    }

    #[tokio::test]
    async fn rate_zero_never_waits() {
        let pacer = Pacer::new(0);
        for _ in 0..1000 {
            drop(pacer.acquire(Priority::Assign).await);
        }
        assert_eq!(pacer.status().used_last_minute, 1000);
        assert_eq!(pacer.eta(1000), Duration::ZERO);
    }

    #[tokio::test]
    async fn two_pacers_on_one_ledger_share_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.ledger");
        let options = PacerOptions {
            per_minute: 5,
            window: Duration::from_millis(500),
        };
        let a = Pacer::with_ledger(options.clone(), Ledger::shared(&path).unwrap());
        assert!(a.status().shared);
        let b = Pacer::with_ledger(options, Ledger::shared(&path).unwrap());
        let started = std::time::Instant::now();
        let mut tasks = Vec::new();
        for pacer in [a, b] {
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..5 {
                    let _permit = pacer.acquire(Priority::Assign).await;
                    times.push(std::time::Instant::now());
                }
                times
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.extend(t.await.unwrap());
        }
        times.sort();
        // Ten calls at five per half second, between two processes' worth of pacers: never more
        // than five in any half second, so the ten take more than a window.
        for (i, start) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < Duration::from_millis(500))
                .count();
            assert!(in_window <= 5, "{in_window} in one window");
        }
        assert!(started.elapsed() >= Duration::from_millis(500));
    }
}
