//! What analyses return: findings with typed evidence, and the report that carries them. All of it
//! serialises to the camelCase JSON of `POST /api/ai/analyze`.

use std::cmp::Ordering;

use serde::Serialize;

use crate::anomaly::Anomaly;
use crate::correlation::PairEvidence;
use crate::health::{FleetHealth, ServerHealth};
use crate::kind::AnalysisType;
use crate::lang::Lang;
use crate::metric::Metric;
use crate::optimization::Sizing;
use crate::pattern::{Periodicity, RecurringSpike};
use crate::prediction::ExhaustionEvidence;

/// How urgent a finding is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to do now.
    Info,
    /// Needs attention soon.
    Warning,
    /// Needs attention now.
    Critical,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FindingKind {
    /// Readings outside the usual band.
    Anomaly,
    /// A trend that reaches a limit (disk full, memory exhausted).
    Exhaustion,
    /// Two series that move together.
    Correlation,
    /// A cycle repeating every day.
    DailyCycle,
    /// A cycle repeating every hour.
    HourlyCycle,
    /// Spikes at the same time of day or minute of the hour.
    RecurringSpike,
    /// More hardware than sustained use needs.
    OverProvisioned,
    /// Less hardware than sustained use needs.
    UnderProvisioned,
    /// One server's health score.
    ServerHealth,
    /// The fleet's health score.
    FleetHealth,
}

/// The numbers behind a finding, typed per kind. Serialised without a tag: the finding's `kind`
/// already says which shape it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Evidence {
    /// See [`Anomaly`].
    Anomaly(Anomaly),
    /// See [`ExhaustionEvidence`].
    Exhaustion(ExhaustionEvidence),
    /// See [`PairEvidence`].
    Correlation(PairEvidence),
    /// See [`Periodicity`].
    Cycle(Periodicity),
    /// See [`RecurringSpike`].
    Spike(RecurringSpike),
    /// See [`Sizing`].
    Sizing(Sizing),
    /// See [`ServerHealth`].
    ServerHealth(ServerHealth),
    /// See [`FleetHealth`].
    FleetHealth(FleetHealth),
}

/// One thing an analysis found, written for people (`title`, `description`, `recommendation` in
/// the requested language) and for programs (`kind`, `severity`, `evidence`, `score`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// What it is about.
    pub kind: FindingKind,
    /// How urgent it is.
    pub severity: Severity,
    /// The server concerned, absent for fleet-wide findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    /// The server's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// The metric concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// A short headline.
    pub title: String,
    /// What was seen, with numbers and times.
    pub description: String,
    /// The numbers behind it.
    pub evidence: Evidence,
    /// What to do about it.
    pub recommendation: String,
    /// The kind's own measure: anomaly z-score, correlation r, cycle strength, health score, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// How many findings of each severity a report holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SeverityCounts {
    /// Informational findings.
    pub info: usize,
    /// Warnings.
    pub warning: usize,
    /// Critical findings.
    pub critical: usize,
}

/// The result of one analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Which analysis ran.
    #[serde(rename = "type")]
    pub analysis: AnalysisType,
    /// The language of the text fields.
    pub language: Lang,
    /// The `now` the analysis ran at, unix seconds.
    pub generated_at: i64,
    /// One or two sentences for a person.
    pub summary: String,
    /// Counts by severity.
    pub severity_counts: SeverityCounts,
    /// The findings, most severe first.
    pub findings: Vec<Finding>,
    /// Servers in scope.
    pub analyzed_servers: usize,
    /// Readings looked at (after cleaning and capping).
    pub analyzed_points: usize,
    /// The fleet health score, 0-100 (health only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Caveats: a server that was not found, work that was capped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    /// Counts findings by severity.
    pub(crate) fn count(findings: &[Finding]) -> SeverityCounts {
        findings.iter().fold(SeverityCounts::default(), |mut c, f| {
            match f.severity {
                Severity::Info => c.info += 1,
                Severity::Warning => c.warning += 1,
                Severity::Critical => c.critical += 1,
            }
            c
        })
    }
}

/// Orders findings most severe first, then by the size of their score; ties keep their order, so
/// output is deterministic.
pub(crate) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| {
            let (x, y) = (a.score.map_or(0.0, f64::abs), b.score.map_or(0.0, f64::abs));
            y.partial_cmp(&x).unwrap_or(Ordering::Equal)
        })
    });
}
