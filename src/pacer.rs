//! One pacer per process (SPEC §4): every API call of the run takes a slot from it, and slots are spread
//! evenly at `rate_per_minute`, so no 60-second window ever holds more than the rate. Assignments are
//! served before refresh calls whenever both are waiting.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

const MINUTE: Duration = Duration::from_secs(60);

/// Which calls go first when several wait for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// An assignment: what the supervisor asked for, always first.
    Assign = 0,
    /// A read that refreshes what is on screen; it can wait.
    Refresh = 1,
}

/// A snapshot of the pacer, for the console's header and the progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacerStatus {
    /// 0 when pacing is off.
    pub per_minute: u32,
    /// Slots granted in the last 60 seconds.
    pub used_last_minute: usize,
    /// Of those, the ones that went to refresh calls (the rest went to assignments).
    pub refresh_last_minute: usize,
    /// Calls waiting for a slot.
    pub waiting: usize,
}

type Waiter = (Priority, oneshot::Sender<()>);

/// A place in the pacer's queue. Dropping it gives the place up.
pub struct Slot(Option<oneshot::Receiver<()>>);

impl Slot {
    /// Waits until this slot's time has come.
    pub async fn wait(self) {
        if let Some(rx) = self.0 {
            let _ = rx.await;
        }
    }
}

#[derive(Clone)]
pub struct Pacer {
    per_minute: u32,
    requests: Option<mpsc::UnboundedSender<Waiter>>,
    stats: Arc<Mutex<Stats>>,
}

#[derive(Default)]
struct Stats {
    granted: VecDeque<(Instant, Priority)>,
    waiting: usize,
}

impl Stats {
    fn record_grant(&mut self, at: Instant, priority: Priority) {
        self.granted.push_back((at, priority));
        self.forget_older_than_a_minute(at);
    }

    fn forget_older_than_a_minute(&mut self, now: Instant) {
        while self
            .granted
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= MINUTE)
        {
            self.granted.pop_front();
        }
    }
}

impl Pacer {
    /// A pacer of `per_minute` calls a minute; 0 turns pacing off (for the stand-in and benchmarks).
    /// Must be called inside a tokio runtime: the pacer's clock runs as a task.
    pub fn new(per_minute: u32) -> Pacer {
        let stats = Arc::new(Mutex::new(Stats::default()));
        let requests = (per_minute > 0).then(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let interval = MINUTE / per_minute;
            tokio::spawn(dispatch(rx, interval, stats.clone()));
            tx
        });
        Pacer {
            per_minute,
            requests,
            stats,
        }
    }

    /// Waits for this call's slot. Dropping the future gives the slot up.
    pub async fn acquire(&self, priority: Priority) {
        self.reserve(priority).wait().await
    }

    /// Takes a place in the queue now, to wait for later: calls reserved in order are served in
    /// that order, whichever task gets to wait first.
    pub fn reserve(&self, priority: Priority) -> Slot {
        let Some(requests) = &self.requests else {
            self.stats
                .lock()
                .expect("pacer stats")
                .record_grant(Instant::now(), priority);
            return Slot(None);
        };
        let (tx, rx) = oneshot::channel();
        // The dispatcher lives as long as any sender, so this fails only if it panicked.
        Slot(requests.send((priority, tx)).ok().map(|_| rx))
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// The spacing between two slots; zero when pacing is off.
    pub fn interval(&self) -> Duration {
        if self.per_minute == 0 {
            Duration::ZERO
        } else {
            MINUTE / self.per_minute
        }
    }

    /// How long `calls` more calls take at this rate (the first goes at once).
    pub fn eta(&self, calls: usize) -> Duration {
        Self::eta_at(self.per_minute, calls)
    }

    /// How long `calls` calls take at `per_minute`, without a running pacer (for previews).
    pub fn eta_at(per_minute: u32, calls: usize) -> Duration {
        if per_minute == 0 {
            return Duration::ZERO;
        }
        MINUTE / per_minute * calls.saturating_sub(1) as u32
    }

    pub fn status(&self) -> PacerStatus {
        let mut stats = self.stats.lock().expect("pacer stats");
        stats.forget_older_than_a_minute(Instant::now());
        PacerStatus {
            per_minute: self.per_minute,
            used_last_minute: stats.granted.len(),
            refresh_last_minute: stats
                .granted
                .iter()
                .filter(|(_, p)| *p == Priority::Refresh)
                .count(),
            waiting: stats.waiting,
        }
    }
}

/// Hands out slots: waits for the next slot time, then grants it to the oldest waiter of the highest
/// priority. Slots are granted at least `interval` apart, which is what keeps every window under the rate.
async fn dispatch(
    mut requests: mpsc::UnboundedReceiver<Waiter>,
    interval: Duration,
    stats: Arc<Mutex<Stats>>,
) {
    let mut queues: [VecDeque<oneshot::Sender<()>>; 2] = Default::default();
    let mut next_slot = Instant::now();
    let mut open = true;
    loop {
        while let Ok((priority, tx)) = requests.try_recv() {
            queues[priority as usize].push_back(tx);
        }
        stats.lock().expect("pacer stats").waiting = queues.iter().map(VecDeque::len).sum();
        if queues.iter().all(VecDeque::is_empty) {
            if !open {
                return;
            }
            match requests.recv().await {
                Some((priority, tx)) => queues[priority as usize].push_back(tx),
                None => return,
            }
            continue;
        }
        if Instant::now() < next_slot && open {
            // Keep taking requests while waiting: one that arrives now may outrank the queue's head.
            tokio::select! {
                _ = sleep_until(next_slot) => {}
                received = requests.recv() => {
                    match received {
                        Some((priority, tx)) => queues[priority as usize].push_back(tx),
                        None => open = false,
                    }
                    continue;
                }
            }
        } else if Instant::now() < next_slot {
            sleep_until(next_slot).await;
        }
        let now = Instant::now();
        let granted = queues.iter_mut().enumerate().find_map(|(i, queue)| {
            std::iter::from_fn(|| queue.pop_front())
                .any(|tx| tx.send(()).is_ok())
                .then_some(if i == 0 {
                    Priority::Assign
                } else {
                    Priority::Refresh
                })
        });
        if let Some(priority) = granted {
            stats
                .lock()
                .expect("pacer stats")
                .record_grant(now, priority);
            next_slot = now + interval;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn grant_times(pacer: &Pacer, n: usize, priority: Priority) -> Vec<Instant> {
        let mut tasks = Vec::new();
        for _ in 0..n {
            let p = pacer.clone();
            tasks.push(tokio::spawn(async move {
                p.acquire(priority).await;
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
            // Even: every gap is the interval, give or take the timer's one-millisecond resolution.
            for pair in times.windows(2) {
                let gap = pair[1] - pair[0];
                assert!(
                    gap >= interval && gap <= interval + Duration::from_millis(1),
                    "gap {gap:?} for {calls} calls at {per_minute}/min"
                );
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
            let total = *times.last().unwrap() - times[0];
            assert!(
                total >= pacer.eta(calls)
                    && total <= pacer.eta(calls) + Duration::from_millis(calls as u64)
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_pacer_grants_at_once_but_never_closer_than_the_interval() {
        let pacer = Pacer::new(60);
        let t0 = Instant::now();
        pacer.acquire(Priority::Assign).await;
        assert_eq!(Instant::now(), t0);
        pacer.acquire(Priority::Assign).await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(10)).await;
        let t1 = Instant::now();
        pacer.acquire(Priority::Assign).await;
        assert_eq!(Instant::now(), t1);
    }

    #[tokio::test(start_paused = true)]
    async fn assignments_go_before_waiting_refreshes() {
        let pacer = Pacer::new(60);
        pacer.acquire(Priority::Assign).await; // the next slot is a second away
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, priority) in [
            Priority::Refresh,
            Priority::Refresh,
            Priority::Assign,
            Priority::Assign,
        ]
        .into_iter()
        .enumerate()
        {
            let (p, order) = (pacer.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                p.acquire(priority).await;
                order.lock().unwrap().push(i);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![2, 3, 0, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn status_counts_the_last_minute_and_the_queue() {
        let pacer = Pacer::new(60);
        for _ in 0..3 {
            pacer.acquire(Priority::Assign).await;
        }
        assert_eq!(pacer.status().used_last_minute, 3);
        tokio::time::sleep(MINUTE).await;
        assert_eq!(pacer.status().used_last_minute, 0);
    }

    #[tokio::test]
    async fn rate_zero_never_waits() {
        let pacer = Pacer::new(0);
        for _ in 0..1000 {
            pacer.acquire(Priority::Assign).await;
        }
        assert_eq!(pacer.status().used_last_minute, 1000);
        assert_eq!(pacer.eta(1000), Duration::ZERO);
    }
}
