//! The runner on tokio's paused clock with a fake probe: evenly spread starts at each interval, the
//! concurrency bound, no overlapping runs of one check, run now, changes at run time, and results
//! that say where they ran. One test drives the real prober against a loopback listener.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::check;
use probe::{Check, CheckResult, Execute, Outcome, Runner, RunnerConfig, RunnerError};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Records when each check started, how many ran at once, and takes `busy` per run.
#[derive(Clone)]
struct Fake {
    epoch: Instant,
    busy: Duration,
    log: Arc<Mutex<Log>>,
}

#[derive(Default)]
struct Log {
    starts: Vec<(String, Duration)>,
    running: usize,
    most: usize,
}

impl Fake {
    fn new(busy: Duration) -> Self {
        Self { epoch: Instant::now(), busy, log: Arc::default() }
    }

    fn starts(&self) -> Vec<(String, Duration)> {
        self.log.lock().unwrap().starts.clone()
    }

    fn most(&self) -> usize {
        self.log.lock().unwrap().most
    }
}

struct Running(Arc<Mutex<Log>>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.lock().unwrap().running -= 1;
    }
}

impl Execute for Fake {
    async fn execute(&self, check: &Check) -> Outcome {
        {
            let mut log = self.log.lock().unwrap();
            log.starts.push((check.id().to_string(), self.epoch.elapsed()));
            log.running += 1;
            log.most = log.most.max(log.running);
        }
        // Counted down on drop too, should the runner give up on a run.
        let _running = Running(self.log.clone());
        tokio::time::sleep(self.busy).await;
        Outcome::up(self.busy)
    }
}

fn tcp_check(id: &str, interval: u32) -> Check {
    check(json!({"id": id, "kind": "tcp", "target": "127.0.0.1:9", "intervalSeconds": interval, "timeoutMs": 9000}))
}

/// Starts the loop; drains results into a shared list.
fn start(
    runner: &Runner<Fake>,
    mut rx: mpsc::Receiver<CheckResult>,
) -> (CancellationToken, Arc<Mutex<Vec<CheckResult>>>) {
    let cancel = CancellationToken::new();
    let r = runner.clone();
    let c = cancel.clone();
    tokio::spawn(async move { r.run(c).await });
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = results.clone();
    tokio::spawn(async move {
        while let Some(r) = rx.recv().await {
            sink.lock().unwrap().push(r);
        }
    });
    (cancel, results)
}

#[tokio::test(start_paused = true)]
async fn two_hundred_checks_share_the_interval_s_slots_and_keep_their_times() {
    let fake = Fake::new(Duration::from_millis(5));
    let mut config = RunnerConfig::new("hub");
    config.max_concurrent = 8;
    let (runner, rx) = Runner::new(fake.clone(), config);
    let kept = runner.replace_all((0..200).map(|i| tcp_check(&format!("c{i}"), 10))).unwrap();
    assert_eq!(kept, 200);
    let (cancel, results) = start(&runner, rx);
    tokio::time::sleep(Duration::from_millis(59_990)).await;
    cancel.cancel();

    let starts = fake.starts();
    let mut per_check: HashMap<String, Vec<Duration>> = HashMap::new();
    for (id, at) in &starts {
        per_check.entry(id.clone()).or_default().push(*at);
    }
    assert_eq!(per_check.len(), 200);
    for (id, times) in &per_check {
        assert_eq!(times.len(), 6, "{id}: {times:?}");
        // On its slot every 10 s; one that waited for a place (a probe ends after 5 ms) a little later.
        assert!(times.windows(2).all(|w| (9_980..=10_020).contains(&(w[1] - w[0]).as_millis())), "{id}: {times:?}");
        assert!(times.iter().all(|t| t.as_millis() % 500 <= 20), "{id}: {times:?}");
    }
    // Within one interval, ten start in each half-second slot (the two beyond the limit of eight
    // as soon as a probe ends), never more than eight at once.
    let first: Vec<Duration> = starts.iter().map(|(_, at)| *at).filter(|at| *at < Duration::from_secs(10)).collect();
    assert_eq!(first.len(), 200);
    let mut per_slot: HashMap<u128, usize> = HashMap::new();
    for at in &first {
        *per_slot.entry(at.as_millis() / 500).or_default() += 1;
        assert!(at.as_millis() % 500 <= 20, "a start away from its slot: {at:?}");
    }
    assert_eq!(per_slot.len(), 20);
    assert!(per_slot.values().all(|&n| n == 10), "{per_slot:?}");
    assert!(fake.most() <= 8, "more than the limit at once: {}", fake.most());
    let results = results.lock().unwrap();
    assert_eq!(results.len(), 1200);
    assert!(results.iter().all(|r| r.location == "hub" && r.outcome.up));
}

#[tokio::test(start_paused = true)]
async fn at_most_n_probes_run_at_once_and_a_busy_check_is_skipped() {
    // 8 s runs (within the 9 s timeout), 50 checks every 10 s, 4 slots: far more work than slots.
    let fake = Fake::new(Duration::from_secs(8));
    let mut config = RunnerConfig::new("hub");
    config.max_concurrent = 4;
    let (runner, rx) = Runner::new(fake.clone(), config);
    runner.replace_all((0..50).map(|i| tcp_check(&format!("c{i}"), 10))).unwrap();
    let (cancel, _results) = start(&runner, rx);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let stats = runner.stats();
    cancel.cancel();
    assert_eq!(fake.most(), 4);
    assert_eq!(stats.checks, 50);
    // Each check is in flight (waiting or running) far longer than its interval: later runs are skipped.
    assert!(stats.skipped_busy > 0, "{stats:?}");
    // No check starts twice while its previous run is in flight: with 8 s runs, consecutive starts
    // of one check are at least 8 s apart.
    let mut last: HashMap<String, Duration> = HashMap::new();
    for (id, at) in fake.starts() {
        if let Some(prev) = last.insert(id.clone(), at) {
            assert!(at - prev >= Duration::from_secs(8), "{id} started at {prev:?} and {at:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn run_now_answers_and_leaves_the_schedule_alone() {
    let fake = Fake::new(Duration::from_millis(10));
    let (runner, rx) = Runner::new(fake.clone(), RunnerConfig::new("agent:web-1"));
    let mut disabled = tcp_check("off", 10).def().clone();
    disabled.enabled = false;
    disabled.run_on = vec!["agent:web-1".into()];
    let mut on = tcp_check("on", 60).def().clone();
    on.run_on = vec!["agent:web-1".into()];
    assert!(runner.upsert(disabled.validate().unwrap()).unwrap());
    assert!(runner.upsert(on.validate().unwrap()).unwrap());
    // A check for another place is not kept.
    assert!(!runner.upsert(tcp_check("hub-only", 10)).unwrap());
    assert_eq!(runner.run_now("hub-only").unwrap_err(), RunnerError::NotFound("hub-only".into()));

    let (cancel, results) = start(&runner, rx);
    tokio::time::sleep(Duration::from_secs(30)).await;
    // The disabled check never ran on its own; the other ran once, at its phase.
    let ran: Vec<String> = fake.starts().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ran, vec!["on"]);

    let result = runner.run_now("off").unwrap().await.unwrap();
    assert_eq!((result.check_id.as_str(), result.location.as_str()), ("off", "agent:web-1"));
    assert!(result.outcome.up && result.at > 0);
    tokio::time::sleep(Duration::from_secs(40)).await;
    cancel.cancel();
    let ran: Vec<String> = fake.starts().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ran, vec!["on", "off", "on"]);
    assert_eq!(results.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn changes_at_run_time_take_effect() {
    let fake = Fake::new(Duration::from_millis(1));
    let mut config = RunnerConfig::new("hub");
    config.max_checks = 2;
    let (runner, rx) = Runner::new(fake.clone(), config);
    runner.upsert(tcp_check("a", 10)).unwrap();
    runner.upsert(tcp_check("b", 10)).unwrap();
    assert_eq!(runner.upsert(tcp_check("c", 10)).unwrap_err(), RunnerError::TooMany(2));
    let (cancel, _results) = start(&runner, rx);
    tokio::time::sleep(Duration::from_secs(25)).await;
    let count = |id: &str| fake.starts().iter().filter(|(i, _)| i == id).count();
    assert_eq!((count("a"), count("b")), (3, 2));

    // b goes, a gets a longer interval, and an unchanged upsert keeps a's place.
    assert!(runner.remove("b"));
    assert!(!runner.remove("b"));
    runner.upsert(tcp_check("a", 30)).unwrap();
    runner.upsert(tcp_check("a", 30)).unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(count("b"), 2);
    assert_eq!(count("a"), 5, "{:?}", fake.starts());

    // replace_all drops what is not listed.
    assert_eq!(runner.replace_all([tcp_check("c", 10)]).unwrap(), 1);
    tokio::time::sleep(Duration::from_secs(30)).await;
    cancel.cancel();
    assert_eq!(count("a"), 5);
    assert_eq!(count("c"), 3);
}

#[tokio::test]
async fn the_real_prober_through_the_runner() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (runner, mut rx) = Runner::new(common::prober(vec![]), RunnerConfig::new("hub"));
    let c = check(json!({"id": "db", "kind": "tcp", "target": addr.to_string(), "intervalSeconds": 3600}));
    runner.upsert(c).unwrap();
    let cancel = CancellationToken::new();
    let r = runner.clone();
    let job = tokio::spawn({
        let cancel = cancel.clone();
        async move { r.run(cancel).await }
    });
    // The first run is at phase 0, right away.
    let first = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.unwrap().unwrap();
    assert!(first.outcome.up, "{first:?}");
    drop(listener);
    let now = runner.run_now("db").unwrap();
    let second = tokio::time::timeout(Duration::from_secs(30), now).await.unwrap().unwrap();
    assert!(!second.outcome.up);
    assert_eq!(rx.recv().await.unwrap(), second);
    cancel.cancel();
    job.await.unwrap();
}
