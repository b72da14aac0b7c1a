//! Composing answers from facts: dispatch per intent, the thinking steps, and what every composer shares
//! ([`Ctx`]: the language, names, times). Every number and name written comes from [`Facts`]; a part
//! the hub did not supply is said to be missing, never guessed.
//!
//! `fleet` (summary, triage, lists), `server` (one server, one metric, uptime), `ranking` (top N,
//! thresholds, averages, comparisons), `history` (trends, forecasts), `events`, `alerts` (alerts,
//! silences), `explain` (why an alert fired), `hub` (budget, gateway, checks, help, clarifying).

pub mod alerts;
pub mod events;
pub mod explain;
pub mod fleet;
pub mod history;
pub mod hub;
pub mod ranking;
pub mod server;

use std::time::Instant;

use super::format;
use super::question::Question;
use super::text::Lang;
use super::time;
use super::{Answer, Facts, Intent, Metric, ServerFact, Step};

/// What one composer produced.
#[derive(Debug, Clone, Default)]
pub struct Composed {
    pub text: String,
    /// What was computed, for the "compute" thinking step.
    pub compute: String,
    /// The time window the answer used.
    pub window: Option<(i64, i64)>,
    /// Lowers the confidence when the data could not support the answer (no history, no such part).
    pub cap: Option<f64>,
    /// Options offered back.
    pub clarify: Vec<String>,
}

impl Composed {
    pub fn new(text: String, compute: String) -> Self {
        Composed { text, compute, ..Composed::default() }
    }

    pub fn capped(mut self, cap: f64) -> Self {
        self.cap = Some(self.cap.map_or(cap, |c| c.min(cap)));
        self
    }

    pub fn window(mut self, window: (i64, i64)) -> Self {
        self.window = Some(window);
        self
    }
}

/// The facts and the question, as every composer sees them.
pub struct Ctx<'a> {
    pub facts: &'a Facts,
    pub q: &'a Question,
    pub lang: Lang,
}

impl<'a> Ctx<'a> {
    /// Korean or English, by the question's language.
    pub fn t(&self, ko: String, en: String) -> String {
        match self.lang {
            Lang::Ko => ko,
            Lang::En => en,
        }
    }

    pub fn ko(&self) -> bool {
        self.lang == Lang::Ko
    }

    pub fn server(&self, id: &str) -> Option<&ServerFact> {
        self.facts.server(id)
    }

    pub fn name<'b>(&'b self, id: &'b str) -> &'b str {
        self.facts.name_of(id)
    }

    pub fn metric(&self, metric: Metric) -> &'static str {
        format::metric_name(metric, self.lang)
    }

    pub fn status(&self, status: &str) -> String {
        format::status_name(status, self.lang)
    }

    /// A time in the hub's zone: `17:40`, or `01-14 16:33` on another day.
    pub fn clock(&self, ms: i64) -> String {
        time::clock(ms, self.facts.now_ms, self.facts.utc_offset_secs)
    }

    /// `16:40–17:40`.
    pub fn range(&self, (from, to): (i64, i64)) -> String {
        time::range(from, to, self.facts.now_ms, self.facts.utc_offset_secs)
    }

    pub fn ago(&self, ms: i64) -> String {
        time::duration(self.facts.now_ms - ms, self.lang)
    }

    /// The servers in question (named, else filtered, else all).
    pub fn scope(&self) -> Vec<&'a ServerFact> {
        self.q.scope(self.facts)
    }

    /// "As of 17:40 (UTC+9)".
    pub fn as_of(&self) -> String {
        let at = self.clock(self.facts.now_ms);
        let zone = time::zone_name(self.facts.utc_offset_secs);
        self.t(format!("{at} {zone} 기준"), format!("as of {at} {zone}"))
    }

    /// The honest answer when the hub did not supply a part.
    pub fn no_data(&self, ko: &str, en: &str) -> Composed {
        Composed::new(
            self.t(
                format!("{ko} 데이터가 없습니다 (허브가 제공하지 않음)."),
                format!("I have no data on {en} (the hub did not provide it)."),
            ),
            self.t(format!("{ko} 데이터 없음"), format!("No {en} data")),
        )
        .capped(0.3)
    }

    /// "Unknown server: x" note, when some names matched nothing.
    pub fn unknown_note(&self) -> String {
        if self.q.unknown.is_empty() {
            return String::new();
        }
        let names = self.q.unknown.join(", ");
        self.t(format!("\n(찾을 수 없는 서버: {names})"), format!("\n(Unknown server: {names})"))
    }
}

/// Severity order for statuses and alerts: critical, offline, warning, then the rest.
pub fn severity_rank(status: &str) -> u8 {
    match status {
        "critical" => 0,
        "offline" => 1,
        "warning" => 2,
        "maintenance" => 3,
        _ => 4,
    }
}

/// Composes the answer to a resolved question. Only the step durations read a clock.
pub fn compose(q: &Question, facts: &Facts) -> Answer {
    let started = Instant::now();
    let ctx = Ctx { facts, q, lang: q.lang };
    let mut steps = Vec::with_capacity(5);
    let mut lap = started;
    let mut step = |name: &str, description: String| {
        let now = Instant::now();
        steps.push(Step {
            step: name.to_owned(),
            description,
            status: "completed".to_owned(),
            duration_ms: now.duration_since(lap).as_millis() as u64,
        });
        lap = now;
    };
    let intent = q.intent.name();
    let lang = q.lang.code();
    step(
        "parse",
        ctx.t(
            format!("질문 분석: 의도 {intent}, 언어 {lang}{}", if q.followup { ", 이전 질문 이어서" } else { "" }),
            format!(
                "Parsed the question: intent {intent}, language {lang}{}",
                if q.followup { ", as a follow-up" } else { "" }
            ),
        ),
    );
    let named: Vec<&str> =
        q.servers.iter().map(|id| facts.name_of(id)).chain(q.unknown.iter().map(String::as_str)).collect();
    step(
        "match servers",
        if named.is_empty() {
            ctx.t(
                "언급된 서버 없음: 조건에 맞는 전체 서버 대상".into(),
                "No server named: the fleet (or its filtered part)".into(),
            )
        } else {
            ctx.t(format!("서버 매칭: {}", named.join(", ")), format!("Matched servers: {}", named.join(", ")))
        },
    );
    step("fetch data", fetched(&ctx));
    let mut composed = dispatch(&ctx);
    if !q.clarify.is_empty() && composed.clarify.is_empty() {
        composed.clarify = q.clarify.clone();
    }
    step("compute", composed.compute.clone());
    step("compose", ctx.t("한국어 답변 작성".into(), "Composed the answer in English".into()));
    let confidence = composed.cap.map_or(q.confidence, |cap| q.confidence.min(cap));
    Answer {
        text: capitalized(composed.text),
        intent: intent.to_owned(),
        confidence: (confidence * 100.0).round() / 100.0,
        lang: lang.to_owned(),
        thinking_steps: steps,
        clarify: composed.clarify,
        window: composed.window,
    }
}

fn fetched(ctx: &Ctx<'_>) -> String {
    let f = ctx.facts;
    let n = |o: Option<usize>| o.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let alerts = n(f.alerts.as_ref().map(Vec::len));
    let events = n(f.events.as_ref().map(Vec::len));
    ctx.t(
        format!(
            "데이터 확인: 서버 {}대, 시계열 {}개, 알림 {alerts}건, 이벤트 {events}건",
            f.servers.len(),
            f.series.len()
        ),
        format!(
            "Read the data: {} servers, {} series, {alerts} alerts, {events} events",
            f.servers.len(),
            f.series.len()
        ),
    )
}

fn dispatch(ctx: &Ctx<'_>) -> Composed {
    if !ctx.q.unknown.is_empty() && ctx.q.servers.is_empty() && ctx.q.intent.is_server_scoped() {
        return hub::unknown_server(ctx);
    }
    match ctx.q.intent {
        Intent::FleetSummary => fleet::summary(ctx),
        Intent::Triage => fleet::triage(ctx),
        Intent::ServerList => fleet::list(ctx),
        Intent::ServerStatus => server::status(ctx),
        Intent::ServerMetric => server::metric(ctx),
        Intent::TopN => ranking::top_n(ctx),
        Intent::AboveThreshold => ranking::threshold(ctx),
        Intent::Aggregate => ranking::aggregate(ctx),
        Intent::Compare => ranking::compare(ctx),
        Intent::Trend => history::trend(ctx),
        Intent::Forecast => history::forecast(ctx),
        Intent::Events => events::events(ctx),
        Intent::Alerts => alerts::alerts(ctx),
        Intent::Explain => explain::explain(ctx),
        Intent::Silences => alerts::silences(ctx),
        Intent::Budget => hub::budget(ctx),
        Intent::Gateway => hub::gateway(ctx),
        Intent::Checks => hub::checks(ctx),
        Intent::Help => hub::help(ctx),
        Intent::Clarify => hub::clarify(ctx),
    }
}

/// English sentences may start with a metric name ("memory on ..."); only those are capitalized, as
/// server names are written as their owners wrote them.
fn capitalized(text: String) -> String {
    for word in ["memory", "disk", "network", "load"] {
        if let Some(rest) = text.strip_prefix(word)
            && rest.starts_with(' ')
        {
            return word[..1].to_ascii_uppercase() + &word[1..] + rest;
        }
    }
    text
}
