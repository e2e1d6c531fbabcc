//! The filter's own thread: a big pane's ranking runs here, never where frames are drawn. The
//! console hands it each keystroke's ranking; it runs only the newest of each pane (a keystroke
//! typed meanwhile makes the older one moot) and sends back the result.

use std::sync::mpsc;

use nucleo::Matcher;
use tokio::sync::mpsc::UnboundedSender;

use super::app::{Msg, Pane};
use super::table::Ranking;

type Job = (Pane, Ranking, UnboundedSender<Msg>);

/// The thread, and the way to it.
pub struct Ranker {
    jobs: mpsc::Sender<Job>,
}

impl Default for Ranker {
    fn default() -> Self {
        Ranker::new()
    }
}

impl Ranker {
    pub fn new() -> Ranker {
        let (jobs, inbox) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("switchboard-filter".into())
            .spawn(move || {
                let mut matcher = Matcher::new(nucleo::Config::DEFAULT);
                while let Ok(first) = inbox.recv() {
                    // Only the newest ranking of each pane is worth running.
                    let mut newest: Vec<Job> = vec![first];
                    while let Ok(job) = inbox.try_recv() {
                        newest.retain(|(pane, ..)| *pane != job.0);
                        newest.push(job);
                    }
                    for (pane, ranking, tx) in newest {
                        let ranked = ranking.run(&mut matcher);
                        let _ = tx.send(Msg::Ranked { pane, ranked });
                    }
                }
            })
            .expect("the filter's thread starts");
        Ranker { jobs }
    }

    /// Ranks on the filter's thread; the result comes back to the console as `Msg::Ranked`.
    pub fn rank(&self, pane: Pane, ranking: Ranking, tx: UnboundedSender<Msg>) {
        let _ = self.jobs.send((pane, ranking, tx));
    }
}
