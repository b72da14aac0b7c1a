//! Health checks: each component registers a named check; `/api/health` reports them all and
//! `/api/health/ready` is 200 only once start-up finished and every check marked critical passes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;

/// The outcome of one check: `ok`, or what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Ok,
    Failing(String),
}

type CheckFn = Arc<dyn Fn() -> Check + Send + Sync>;

#[derive(Default)]
pub struct Health {
    started: AtomicBool,
    checks: RwLock<Vec<(&'static str, bool, CheckFn)>>,
}

impl Health {
    /// Adds a check. A `critical` one failing makes the server not ready (503 on `/api/health/ready`);
    /// any failing makes `/api/health` say `degraded`. Checks must be cheap: they run on every health
    /// request, so they read state that a background job keeps current.
    pub fn register(&self, name: &'static str, critical: bool, check: impl Fn() -> Check + Send + Sync + 'static) {
        {
            let mut c = self.checks.write();
            c.push((name, critical, Arc::new(check)));
        }
    }

    pub fn mark_started(&self) {
        self.started.store(true, Ordering::Release);
    }

    /// Every check by name: `"ok"` or the failure text.
    pub fn report(&self) -> (bool, BTreeMap<&'static str, String>) {
        let mut all_ok = true;
        let mut out = BTreeMap::new();
        {
            let checks = self.checks.read();
            for (name, _, check) in checks.iter() {
                let text = match check() {
                    Check::Ok => "ok".to_string(),
                    Check::Failing(why) => {
                        all_ok = false;
                        why
                    }
                };
                out.insert(*name, text);
            }
        }
        (all_ok, out)
    }

    /// The current outcome of the check named `name`, if there is one.
    pub fn check(&self, name: &str) -> Option<Check> {
        self.checks.read().iter().find(|(n, _, _)| *n == name).map(|(_, _, f)| f())
    }

    /// `None` when ready; else why not: still starting, or each failing critical check as
    /// `name: reason` (for `/api/health/ready`'s body).
    pub fn not_ready_reason(&self) -> Option<String> {
        if !self.started.load(Ordering::Acquire) {
            return Some("starting".into());
        }
        let failing: Vec<String> = self
            .checks
            .read()
            .iter()
            .filter(|(_, crit, _)| *crit)
            .filter_map(|(name, _, f)| match f() {
                Check::Ok => None,
                Check::Failing(why) => Some(format!("{name}: {why}")),
            })
            .collect();
        (!failing.is_empty()).then(|| failing.join("; "))
    }

    /// Start-up finished and every critical check passes.
    pub fn ready(&self) -> bool {
        self.started.load(Ordering::Acquire)
            && self.checks.read().iter().filter(|(_, crit, _)| *crit).all(|(_, _, f)| f() == Check::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_needs_start_and_critical_checks() {
        let h = Health::default();
        let flag = Arc::new(AtomicBool::new(true));
        let f = flag.clone();
        h.register(
            "store",
            true,
            move || if f.load(Ordering::Relaxed) { Check::Ok } else { Check::Failing("down".into()) },
        );
        h.register("optional", false, || Check::Failing("meh".into()));
        assert!(!h.ready());
        h.mark_started();
        assert!(h.ready());
        let (ok, report) = h.report();
        assert!(!ok);
        assert_eq!(report["optional"], "meh");
        assert_eq!(h.not_ready_reason(), None);
        flag.store(false, Ordering::Relaxed);
        assert!(!h.ready());
        assert_eq!(h.not_ready_reason().as_deref(), Some("store: down"));
    }
}
