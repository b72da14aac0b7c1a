//! The memory guard's rule (`memory.max_mb`, `OPENMANAGER_MAX_MEMORY_MB`), PM2's
//! `max_memory_restart` done the systemd way: resident memory read every `memory.check_interval_ms`
//! (by `jobs::memory_guard`) that stays above the limit for `memory.checks` checks in a row means a
//! restart: the server drains as on SIGTERM and exits 1, and systemd (`Restart=always`) starts a
//! fresh process, with the socket unit holding new connections meanwhile.
//!
//! Several checks in a row, because a burst (a large backup, a big AI answer) may pass the limit for
//! a moment and give the memory back; a leak does not.

/// Counts consecutive checks above the limit. Pure, so the rule is tested without a process.
#[derive(Debug, Clone)]
pub struct Streak {
    limit_bytes: u64,
    needed: u32,
    over: u32,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Under,
    /// Above the limit `count` times in a row, fewer than needed.
    Over {
        count: u32,
    },
    /// Above the limit for as many checks as needed: time to restart.
    Exceeded {
        count: u32,
    },
}

impl Streak {
    pub fn new(limit_bytes: u64, needed: u32) -> Self {
        Self { limit_bytes, needed: needed.max(1), over: 0 }
    }

    pub fn observe(&mut self, rss_bytes: u64) -> Verdict {
        if rss_bytes <= self.limit_bytes {
            self.over = 0;
            return Verdict::Under;
        }
        self.over = self.over.saturating_add(1);
        if self.over >= self.needed {
            Verdict::Exceeded { count: self.over }
        } else {
            Verdict::Over { count: self.over }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_consecutive_checks_above_the_limit() {
        let mut s = Streak::new(100, 3);
        assert_eq!(s.observe(150), Verdict::Over { count: 1 });
        assert_eq!(s.observe(150), Verdict::Over { count: 2 });
        // One check at or under the limit starts the count again.
        assert_eq!(s.observe(100), Verdict::Under);
        assert_eq!(s.observe(101), Verdict::Over { count: 1 });
        assert_eq!(s.observe(101), Verdict::Over { count: 2 });
        assert_eq!(s.observe(101), Verdict::Exceeded { count: 3 });
        // Still exceeded if nobody acted on it.
        assert_eq!(s.observe(101), Verdict::Exceeded { count: 4 });
    }

    #[test]
    fn one_check_is_enough_when_asked() {
        let mut s = Streak::new(100, 1);
        assert_eq!(s.observe(50), Verdict::Under);
        assert_eq!(s.observe(200), Verdict::Exceeded { count: 1 });
        // Zero is treated as one: the guard cannot be made to never fire by mistake.
        assert_eq!(Streak::new(100, 0).observe(200), Verdict::Exceeded { count: 1 });
    }
}
