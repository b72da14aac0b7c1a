//! When each check runs: every check has a phase within its interval and runs at
//! `epoch + phase + k * interval`. Phases are whole [`SLOT_MS`] slots. A new check takes the empty
//! slot in the middle of the largest gap between the occupied slots of the checks with the same
//! interval, and once every slot is taken, the least-used slot: 200 checks at 10 s start ten at a
//! time, twice a second, and the spread stays even as checks come and go.
//!
//! Why slots rather than a phase of their own each: checks that start together share one timer
//! wake-up of the runner, and their connections complete in the same turns of the I/O driver, so
//! the probes' cost in wake-ups and thread switches is paid per slot rather than per check. Ten
//! connections at once is still no burst for any target.

use std::collections::HashMap;
use std::future::poll_fn;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue::Key;

/// How late a check's first run may start and still count as on time.
const LATE_OK: Duration = Duration::from_secs(1);

/// The width of a phase slot: checks in one slot start together.
pub const SLOT_MS: u64 = 500;

/// A phase (ms, below `interval_ms`) for a new check among the checks of the same interval at
/// `phases`: the slot in the middle of the largest gap between occupied slots (counting the gap that
/// wraps around the end of the interval) while a slot is empty, else the first least-used slot.
pub fn pick_phase(phases: &[u64], interval_ms: u64) -> u64 {
    let slots = interval_ms / SLOT_MS;
    if phases.is_empty() || slots <= 1 {
        return 0;
    }
    let mut used: HashMap<u64, usize> = HashMap::new();
    for p in phases {
        *used.entry((p / SLOT_MS).min(slots - 1)).or_default() += 1;
    }
    if used.len() as u64 >= slots {
        let fewest = used.values().copied().min().unwrap_or(0);
        let slot = (0..slots).find(|s| used.get(s).copied().unwrap_or(0) == fewest).unwrap_or(0);
        return slot * SLOT_MS;
    }
    let mut sorted: Vec<u64> = used.into_keys().collect();
    sorted.sort_unstable();
    // The wrap-around gap: from the last occupied slot to the first one plus a whole round.
    let (mut start, mut widest) = (sorted[sorted.len() - 1], sorted[0] + slots - sorted[sorted.len() - 1]);
    for pair in sorted.windows(2) {
        let gap = pair[1] - pair[0];
        if gap > widest {
            (start, widest) = (pair[0], gap);
        }
    }
    // A slot is empty, so the widest gap spans at least two slots and its middle is empty.
    (start + widest / 2) % slots * SLOT_MS
}

/// The first time at or after `now` that is `epoch + phase + k * interval`.
pub fn next_due(epoch: Instant, phase: Duration, interval: Duration, now: Instant) -> Instant {
    let first = epoch + phase;
    if now <= first || interval.is_zero() {
        return first;
    }
    let behind = now - first;
    let periods = behind.as_nanos().div_ceil(interval.as_nanos());
    let periods = u32::try_from(periods).unwrap_or(u32::MAX);
    first + interval.saturating_mul(periods)
}

/// One scheduled check.
struct Slot {
    key: Key,
    interval: Duration,
    phase: Duration,
    /// The definition's generation it was scheduled for.
    generation: u64,
}

/// The loop's schedule: a delay queue of check ids and what each one is due for.
pub(crate) struct Schedule {
    epoch: Instant,
    queue: DelayQueue<String>,
    slots: HashMap<String, Slot>,
}

impl Schedule {
    pub fn new(epoch: Instant) -> Self {
        Self { epoch, queue: DelayQueue::new(), slots: HashMap::new() }
    }

    /// The generation `id` is scheduled for, if it is.
    pub fn generation(&self, id: &str) -> Option<u64> {
        self.slots.get(id).map(|s| s.generation)
    }

    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.slots.keys()
    }

    /// Schedules `id` (or reschedules it when its interval changed; a check whose interval did not
    /// change keeps its phase and next run).
    pub fn upsert(&mut self, id: &str, interval: Duration, generation: u64) {
        if let Some(slot) = self.slots.get_mut(id)
            && slot.interval == interval
        {
            slot.generation = generation;
            return;
        }
        self.remove(id);
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        let phases: Vec<u64> = self
            .slots
            .values()
            .filter(|s| s.interval == interval)
            .map(|s| u64::try_from(s.phase.as_millis()).unwrap_or(0))
            .collect();
        let phase = Duration::from_millis(pick_phase(&phases, interval_ms));
        // A grid time that passed a moment ago (phase 0 while the loop starts) still counts: run now.
        let now = Instant::now();
        let due = next_due(self.epoch, phase, interval, now.checked_sub(LATE_OK).unwrap_or(now));
        let key = self.queue.insert_at(id.to_string(), due);
        self.slots.insert(id.to_string(), Slot { key, interval, phase, generation });
    }

    pub fn remove(&mut self, id: &str) {
        if let Some(slot) = self.slots.remove(id) {
            self.queue.remove(&slot.key);
        }
    }

    /// Waits for the next due check, puts it back for its following run (skipping runs that were
    /// missed, so a stalled loop does not fire a burst), and returns its id. Pending forever while
    /// nothing is scheduled.
    pub async fn next(&mut self) -> String {
        loop {
            if self.queue.is_empty() {
                std::future::pending::<()>().await;
            }
            let Some(expired) = poll_fn(|cx| self.queue.poll_expired(cx)).await else {
                continue;
            };
            let deadline = expired.deadline();
            let id = expired.into_inner();
            let Some(slot) = self.slots.get_mut(&id) else { continue };
            let mut due = deadline + slot.interval;
            let now = Instant::now();
            if due <= now {
                due = next_due(self.epoch, slot.phase, slot.interval, now + Duration::from_millis(1));
            }
            slot.key = self.queue.insert_at(id.clone(), due);
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn phases_fill_the_largest_gap_in_whole_slots() {
        assert_eq!(pick_phase(&[], 10_000), 0);
        assert_eq!(pick_phase(&[0], 10_000), 5_000);
        assert_eq!(pick_phase(&[0, 5_000], 10_000), 7_500);
        assert_eq!(pick_phase(&[0, 5_000, 7_500], 10_000), 2_500);
        // The wrap-around gap wins when it is the widest.
        assert_eq!(pick_phase(&[1_000, 2_000], 10_000), 6_500);
        // Phases off the grid count for their slot.
        assert_eq!(pick_phase(&[0, 5_100], 10_000), 7_500);
        // An interval shorter than two slots has one phase.
        assert_eq!(pick_phase(&[0], 900), 0);
    }

    #[test]
    fn two_hundred_checks_share_twenty_slots_evenly() {
        let interval = 10_000;
        let mut phases = Vec::new();
        for i in 0..200 {
            let p = pick_phase(&phases, interval);
            assert_eq!(p % SLOT_MS, 0);
            assert!(p < interval);
            if i < 20 {
                assert!(!phases.contains(&p), "an empty slot is taken first");
            }
            phases.push(p);
        }
        let mut per_slot: HashMap<u64, usize> = HashMap::new();
        for p in &phases {
            *per_slot.entry(*p).or_default() += 1;
        }
        assert_eq!(per_slot.len(), 20);
        assert!(per_slot.values().all(|&n| n == 10), "{per_slot:?}");
        // The first few are spread over the interval, not packed.
        let mut first: Vec<u64> = phases[..4].to_vec();
        first.sort_unstable();
        assert_eq!(first, [0, 2_500, 5_000, 7_500]);
    }

    #[test]
    fn next_due_is_on_the_phase_grid() {
        let epoch = Instant::now();
        let (phase, interval) = (Duration::from_secs(3), Duration::from_secs(10));
        assert_eq!(next_due(epoch, phase, interval, epoch), epoch + phase);
        assert_eq!(next_due(epoch, phase, interval, epoch + Duration::from_secs(3)), epoch + phase);
        assert_eq!(next_due(epoch, phase, interval, epoch + Duration::from_secs(4)), epoch + Duration::from_secs(13));
        assert_eq!(next_due(epoch, phase, interval, epoch + Duration::from_secs(25)), epoch + Duration::from_secs(33));
    }
}
