//! When the agent sends, and in which body: a report every `--batch-seconds` (samples are still
//! taken every interval), at once when a sample changes the status the fleet shows (warning above
//! 80% CPU or memory, critical above 90%, the hub's defaults), and the compact body's state: the
//! base the hub holds (the newest sample of the last acknowledged compact batch), when the identity
//! and inventory ride along, and the fall-back to the version 1 body for a hub that refuses it.
//!
//! Nothing here removes a sample: the spool's rules (a batch leaves only after its ack) stay in the
//! run loop.

use std::time::Duration;

use protocol::compact::{COMPACT_VERSION, CompactReport, diff};
use protocol::{AgentIdentity, Inventory, Sample, metric};
use tokio::time::Instant;

use super::AgentError;
use super::uplink;

/// How often the identity and inventory go with a compact report (the processes and interface
/// counters in it are a view, not history, so a few minutes' lag is fine).
const FULL_EVERY: Duration = Duration::from_secs(5 * 60);
/// The fleet's default status thresholds (`fleet::Thresholds`), in percent.
const WARNING: f64 = 80.0;
const CRITICAL: f64 = 90.0;

/// 0 online, 1 warning, 2 critical, from the worse of CPU and memory, as the hub computes it.
fn level(sample: &Sample) -> u8 {
    let worst =
        [metric::CPU, metric::MEMORY].iter().filter_map(|m| sample.values.get(*m)).fold(0.0_f64, |a, b| a.max(*b));
    u8::from(worst > WARNING) + u8::from(worst > CRITICAL)
}

/// When the next report is due.
#[derive(Debug)]
pub struct Batching {
    batch: Duration,
    /// `None` while the spool is empty.
    due_at: Option<Instant>,
    level: Option<u8>,
}

impl Batching {
    pub fn new(batch: Duration) -> Self {
        Self { batch, due_at: None, level: None }
    }

    /// After a sample was spooled; `oldest_ms` is the oldest unsent sample's time.
    pub fn sampled(&mut self, sample: &Sample, oldest_ms: Option<i64>) {
        let level = level(sample);
        if self.level != Some(level) {
            // The first sample too: the hub learns of the agent at once.
            self.due_at = Some(Instant::now());
        } else if self.due_at.is_none() {
            self.due_at = oldest_ms.map(|t| self.due_from(t));
        }
        self.level = Some(level);
    }

    /// After a batch left the spool; `oldest_ms` is what is left's oldest time.
    pub fn sent(&mut self, oldest_ms: Option<i64>) {
        self.due_at = oldest_ms.map(|t| self.due_from(t));
    }

    fn due_from(&self, oldest_ms: i64) -> Instant {
        let age = Duration::from_millis(u64::try_from(crate::clock::now_millis() - oldest_ms).unwrap_or(0));
        Instant::now() + self.batch.saturating_sub(age)
    }

    pub fn due_at(&self) -> Option<Instant> {
        self.due_at
    }
}

/// What a compact report carries, kept until its answer.
#[derive(Debug, Clone)]
pub struct CompactSent {
    newest: Option<Sample>,
    full: bool,
}

/// The compact body's state.
#[derive(Debug)]
pub struct Compact {
    /// Seconds the hub should expect silence after a report's newest sample.
    quiet: u32,
    /// False for a hub that refused the compact body (or `--legacy-body`).
    pub enabled: bool,
    base: Option<Sample>,
    full_at: Option<Instant>,
}

impl Compact {
    pub fn new(enabled: bool, batch: Duration, interval: Duration) -> Self {
        let quiet = u32::try_from((batch + interval).as_secs_f64().ceil() as u64).unwrap_or(u32::MAX);
        Self { quiet, enabled, base: None, full_at: None }
    }

    /// The gzip body for `lines` (spooled samples), or `None` to send version 1 (disabled, or a
    /// line that does not parse, which the hub can then judge).
    pub fn encode(
        &self,
        identity: &AgentIdentity,
        lines: &[&str],
        inventory: impl FnOnce() -> Inventory,
        checks_hash: Option<&str>,
    ) -> Option<Result<(Vec<u8>, CompactSent), AgentError>> {
        if !self.enabled {
            return None;
        }
        let samples: Vec<Sample> = lines.iter().map(|l| serde_json::from_str(l)).collect::<Result<_, _>>().ok()?;
        let full = self.full_at.is_none_or(|t| t.elapsed() >= FULL_EVERY);
        let base = self.base.as_ref().filter(|b| samples.first().is_some_and(|s| s.timestamp_ms > b.timestamp_ms));
        let report = CompactReport {
            v: COMPACT_VERSION,
            id: identity.machine_id.clone(),
            agent: full.then(|| identity.clone()),
            inv: full.then(inventory),
            quiet: (self.quiet > 0).then_some(self.quiet),
            base: base.map(|b| b.timestamp_ms),
            s: diff(base, &samples),
            ch: checks_hash.map(str::to_string),
        };
        let newest = samples.last().cloned();
        Some(uplink::encode_compact(&report).map(|body| (body, CompactSent { newest, full })))
    }

    pub fn acked(&mut self, sent: &CompactSent) {
        if let Some(n) = &sent.newest {
            self.base = Some(n.clone());
        }
        if sent.full {
            self.full_at = Some(Instant::now());
        }
    }

    /// The hub lacks the base or the agent: the next report goes whole with the identity. False
    /// when that was already so (a hub asking again is misbehaving; back off).
    pub fn resync(&mut self, sent: &CompactSent) -> bool {
        let already = sent.full && self.base.is_none();
        self.base = None;
        self.full_at = None;
        !already
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(cpu: f64) -> Sample {
        Sample { timestamp_ms: crate::clock::now_millis(), values: [(metric::CPU.to_string(), cpu)].into() }
    }

    #[tokio::test(start_paused = true)]
    async fn a_status_change_is_due_at_once_the_rest_waits_for_the_batch() {
        let mut b = Batching::new(Duration::from_secs(15));
        let s = sample(10.0);
        b.sampled(&s, Some(s.timestamp_ms));
        assert!(b.due_at().unwrap() <= Instant::now(), "the first sample goes at once");
        b.sent(None);
        assert_eq!(b.due_at(), None);
        let s = sample(20.0);
        b.sampled(&s, Some(s.timestamp_ms));
        assert!(b.due_at().unwrap() > Instant::now() + Duration::from_secs(14), "same status: it waits");
        for (cpu, now) in [(85.0, true), (86.0, false), (95.0, true), (50.0, true)] {
            b.sent(Some(s.timestamp_ms));
            b.sampled(&sample(cpu), Some(s.timestamp_ms));
            assert_eq!(b.due_at().unwrap() <= Instant::now(), now, "cpu {cpu}");
        }
    }
}
