//! The compact report body (protocol version 2): what an agent sends when the hub takes it.
//!
//! A batch is a list of steps, each against the sample before it: the first against `base` (the
//! newest sample of the last batch the hub acknowledged, which the hub keeps per agent) or against
//! nothing. A step carries the time since the sample before, the metrics whose value changed
//! (integer-valued ones as integer deltas: uptime, byte rates and counts, which repeat their
//! difference and so compress to almost nothing), and the names that disappeared. Unchanged metrics
//! are not sent. Expansion is exact: the hub stores the very values the agent sampled.
//!
//! The identity and inventory ride along only when the agent decides to (first report, every few
//! minutes, or when the hub answers 428 because it does not hold the base or does not know the
//! agent). Body: `{"type":"compact","v":2,...}` JSON, gzip. A hub that does not know it refuses it
//! with 4xx and the agent falls back to [`crate::Report`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AgentIdentity, Invalid, Inventory, MAX_METRICS_PER_SAMPLE, MAX_NAME_LEN, MAX_SAMPLES_PER_REPORT, Sample};

/// The compact body's version.
pub const COMPACT_VERSION: u32 = 2;
/// The `type` of a compact body.
pub const COMPACT_TYPE: &str = "compact";
/// Integers up to this magnitude are exact in an `f64`, so their differences are too.
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// A batch in compact form. Serialized with `"type":"compact"` by [`CompactReport::to_json`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompactReport {
    pub v: u32,
    /// The agent's machine id.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentIdentity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inv: Option<Inventory>,
    /// Seconds the agent may stay silent after its newest sample here (its batch plus its
    /// interval), so the hub does not show a batching agent offline between reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet: Option<u32>,
    /// The timestamp of the sample the first step is relative to; absent: the first step is whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<i64>,
    pub s: Vec<Step>,
    /// The checks hash, as `Report::checks_hash` (checks version 2): a hub whose hash for this
    /// agent is the same answers `204`; otherwise it answers with the checks and their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ch: Option<String>,
}

/// One sample relative to the one before it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Milliseconds since the sample before (the absolute timestamp when there is none).
    pub t: i64,
    /// Metrics with a new value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub v: BTreeMap<String, f64>,
    /// Integer-valued metrics, as the difference from the value before.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub d: BTreeMap<String, i64>,
    /// Metrics the sample before had and this one has not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x: Vec<String>,
}

fn integral(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() <= EXACT_INT
}

/// The steps that turn `base` into `samples`, one per sample.
pub fn diff(base: Option<&Sample>, samples: &[Sample]) -> Vec<Step> {
    let mut prev = base;
    let mut steps = Vec::with_capacity(samples.len());
    for s in samples {
        let mut step = Step { t: s.timestamp_ms - prev.map_or(0, |p| p.timestamp_ms), ..Step::default() };
        for (name, &value) in &s.values {
            let before = prev.and_then(|p| p.values.get(name)).copied();
            match before {
                // Bitwise equal, so -0.0 and 0.0 still travel as what they are.
                Some(b) if b.to_bits() == value.to_bits() => {}
                Some(b) if integral(b) && integral(value) && value != 0.0 => {
                    step.d.insert(name.clone(), (value - b) as i64);
                }
                _ => {
                    step.v.insert(name.clone(), value);
                }
            }
        }
        if let Some(p) = prev {
            step.x = p.values.keys().filter(|k| !s.values.contains_key(*k)).cloned().collect();
        }
        steps.push(step);
        prev = Some(s);
    }
    steps
}

/// The samples `steps` describe from `base`; bounded as [`crate::Report::validate`] is.
pub fn expand(base: Option<&Sample>, steps: &[Step]) -> Result<Vec<Sample>, Invalid> {
    let bad = |s: String| Err(Invalid(s));
    if steps.len() > MAX_SAMPLES_PER_REPORT {
        return bad(format!("at most {MAX_SAMPLES_PER_REPORT} samples per report"));
    }
    let mut current = base.cloned();
    let mut out = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        if step.v.len() + step.d.len() + step.x.len() > 2 * MAX_METRICS_PER_SAMPLE {
            return bad(format!("s[{i}] changes too many metrics"));
        }
        let mut sample = current.take().unwrap_or(Sample { timestamp_ms: 0, values: BTreeMap::new() });
        sample.timestamp_ms = match sample.timestamp_ms.checked_add(step.t) {
            Some(t) => t,
            None => return bad(format!("s[{i}].t overflows")),
        };
        for name in &step.x {
            sample.values.remove(name);
        }
        for (name, &delta) in &step.d {
            let Some(before) = sample.values.get_mut(name) else {
                return bad(format!("s[{i}].d.{name} has no value before it"));
            };
            let after = *before + delta as f64;
            if !integral(*before) || !integral(after) || (delta as f64).abs() > EXACT_INT {
                return bad(format!("s[{i}].d.{name} is not an exact integer difference"));
            }
            *before = after;
        }
        for (name, &value) in &step.v {
            if name.is_empty() || name.len() > MAX_NAME_LEN {
                return bad(format!("s[{i}] has a metric name that is empty or too long"));
            }
            sample.values.insert(name.clone(), value);
        }
        if sample.values.len() > MAX_METRICS_PER_SAMPLE {
            return bad(format!("at most {MAX_METRICS_PER_SAMPLE} metrics per sample"));
        }
        out.push(sample.clone());
        current = Some(sample);
    }
    Ok(out)
}

#[derive(Serialize)]
struct Tagged<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    report: &'a CompactReport,
}

impl CompactReport {
    /// The body as sent: `{"type":"compact","v":2,...}`.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain data into memory cannot fail.
        serde_json::to_vec(&Tagged { kind: COMPACT_TYPE, report: self }).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: i64, values: &[(&str, f64)]) -> Sample {
        Sample { timestamp_ms: t, values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect() }
    }

    #[test]
    fn diff_then_expand_is_exact() {
        let base = sample(1000, &[("cpu", 1.5), ("uptime", 100.0), ("net_rx", 0.0)]);
        let samples = vec![
            sample(6001, &[("cpu", 1.5), ("uptime", 105.0), ("net_rx", 12345.0), ("memory", 33.33)]),
            sample(11003, &[("cpu", 2.25), ("uptime", 110.0), ("memory", -0.0)]),
            sample(16003, &[("cpu", 2.25), ("uptime", 115.0), ("memory", 0.1 + 0.2)]),
        ];
        for b in [Some(&base), None] {
            let steps = diff(b, &samples);
            assert_eq!(expand(b, &steps).unwrap(), samples);
        }
        let steps = diff(Some(&base), &samples);
        assert!(!steps[0].v.contains_key("cpu"), "unchanged metrics are left out");
        assert_eq!(steps[1].d.get("uptime"), Some(&5));
        assert_eq!(steps[1].x, vec!["net_rx".to_string()]);
        let json = CompactReport {
            v: COMPACT_VERSION,
            id: "a".into(),
            agent: None,
            inv: None,
            quiet: None,
            base: None,
            s: steps,
            ch: None,
        }
        .to_json();
        assert!(String::from_utf8(json).unwrap().starts_with(r#"{"type":"compact","v":2,"#));
    }

    #[test]
    fn bad_steps_are_refused() {
        let delta_without_value = Step { t: 1, d: BTreeMap::from([("cpu".to_string(), 1)]), ..Step::default() };
        assert!(expand(None, &[delta_without_value]).is_err());
        let base = sample(0, &[("x", 0.5)]);
        let delta_on_fraction = Step { t: 1, d: BTreeMap::from([("x".to_string(), 1)]), ..Step::default() };
        assert!(expand(Some(&base), &[delta_on_fraction]).is_err());
        let overflow = Step { t: i64::MAX, ..Step::default() };
        assert!(expand(Some(&sample(1, &[])), &[overflow]).is_err());
        let many: BTreeMap<String, f64> = (0..=MAX_METRICS_PER_SAMPLE).map(|i| (format!("m{i}"), 1.0)).collect();
        assert!(expand(None, &[Step { t: 1, v: many, ..Step::default() }]).is_err());
        assert!(expand(None, &vec![Step::default(); MAX_SAMPLES_PER_REPORT + 1]).is_err());
    }
}
