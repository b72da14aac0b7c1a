//! Composing the answer: parse against the facts' server names, dispatch per intent, and record the
//! thinking steps. Fleet summary, server status, alerts and help live here; rankings in `ranking`,
//! history-based answers in `history`.

use std::time::Instant;

use super::format::{self, pct};
use super::parse::{self, Lang, Parsed};
use super::{Answer, Facts, Intent, Metric, ServerFact, Step, history, ranking};

/// What one intent's composer produced.
pub struct Composed {
    pub text: String,
    /// What was computed, for the "compute" thinking step.
    pub compute: String,
    /// Lowers the parser's confidence when the data could not support the answer (unknown server, no history).
    pub confidence_cap: Option<f64>,
}

impl Composed {
    pub fn new(text: String, compute: String) -> Self {
        Composed { text, compute, confidence_cap: None }
    }

    pub fn capped(mut self, cap: f64) -> Self {
        self.confidence_cap = Some(cap);
        self
    }
}

/// The facts and the parsed question, as every composer sees them.
pub struct Ctx<'a> {
    pub facts: &'a Facts,
    pub parsed: &'a Parsed,
    pub lang: Lang,
}

impl Ctx<'_> {
    /// Korean or English, by the question's language.
    pub fn t(&self, ko: String, en: String) -> String {
        match self.lang {
            Lang::Ko => ko,
            Lang::En => en,
        }
    }

    pub fn server(&self, id: &str) -> Option<&ServerFact> {
        self.facts.servers.iter().find(|s| s.id == id).or_else(|| {
            let id = id.to_lowercase();
            self.facts.servers.iter().find(|s| s.name.to_lowercase() == id)
        })
    }

    /// The servers the question is about: those it named, or the whole fleet.
    pub fn scope(&self) -> Vec<&ServerFact> {
        let named: Vec<&ServerFact> = self.parsed.servers.iter().filter_map(|id| self.server(id)).collect();
        if named.is_empty() { self.facts.servers.iter().collect() } else { named }
    }

    pub fn metric(&self, metric: Metric) -> &'static str {
        format::metric_name(metric, self.lang)
    }

    /// "찾을 수 없는 서버: x" when the question named servers the facts do not have.
    pub fn unknown_note(&self) -> String {
        if self.parsed.unknown.is_empty() {
            return String::new();
        }
        let names = self.parsed.unknown.join(", ");
        self.t(format!("\n(찾을 수 없는 서버: {names})"), format!("\n(Unknown servers: {names})"))
    }
}

/// Parses, composes and reports the steps. Only the step durations read a clock.
pub fn answer(query: &str, facts: &Facts) -> Answer {
    let started = Instant::now();
    let known: Vec<(&str, &str)> = facts.servers.iter().map(|s| (s.id.as_str(), s.name.as_str())).collect();
    let parsed = parse::parse(query, &known);
    let lang = parsed.lang;
    let ctx = Ctx { facts, parsed: &parsed, lang };
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
    let intent_name = parsed.intent.name();
    step(
        "parse",
        ctx.t(
            format!("질문 분석: 의도 {intent_name}, 언어 {}", lang.code()),
            format!("Parsed the question: intent {intent_name}, language {}", lang.code()),
        ),
    );
    let named = parsed.servers.iter().chain(&parsed.unknown).cloned().collect::<Vec<_>>().join(", ");
    step(
        "match servers",
        if named.is_empty() {
            ctx.t("언급된 서버 없음: 전체 서버 대상".to_owned(), "No server named: the whole fleet".to_owned())
        } else {
            ctx.t(format!("서버 매칭: {named}"), format!("Matched servers: {named}"))
        },
    );
    step(
        "fetch data",
        ctx.t(
            format!(
                "데이터 확인: 서버 {}대, 알림 {}건, 시계열 {}개",
                facts.servers.len(),
                facts.alerts.len(),
                facts.series.len()
            ),
            format!(
                "Read the data: {} servers, {} alerts, {} series",
                facts.servers.len(),
                facts.alerts.len(),
                facts.series.len()
            ),
        ),
    );
    let composed = match &parsed.intent {
        Intent::FleetSummary => fleet_summary(&ctx),
        Intent::ServerStatus { server } => server_status(&ctx, server),
        Intent::TopN { metric, n, ascending } => ranking::top_n(&ctx, *metric, *n, *ascending),
        Intent::AboveThreshold { metric, threshold } => ranking::above(&ctx, *metric, *threshold),
        Intent::Compare { servers, metric } => ranking::compare(&ctx, servers, *metric),
        Intent::Trend { server, metric, range_ms } => history::trend(&ctx, server.as_deref(), *metric, *range_ms),
        Intent::DiskFull { server } => history::disk_full(&ctx, server.as_deref()),
        Intent::Alerts => alerts(&ctx),
        Intent::Help => help(&ctx),
    };
    step("compute", composed.compute.clone());
    step("compose", ctx.t("한국어 답변 작성".to_owned(), "Composed the answer in English".to_owned()));
    let confidence = composed.confidence_cap.map_or(parsed.confidence, |cap| parsed.confidence.min(cap));
    Answer {
        text: capitalized(composed.text),
        intent: intent_name.to_owned(),
        confidence: (confidence * 100.0).round() / 100.0,
        lang: lang.code().to_owned(),
        thinking_steps: steps,
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

fn severity_rank(status: &str) -> u8 {
    match status {
        "critical" => 0,
        "offline" => 1,
        "warning" => 2,
        _ => 3,
    }
}

/// The metrics of a server at or above 80%, worst first, as "CPU 95.2%".
fn high_metrics(ctx: &Ctx<'_>, s: &ServerFact) -> Vec<String> {
    let mut high: Vec<(Metric, f64)> = [Metric::Cpu, Metric::Memory, Metric::Disk]
        .iter()
        .map(|m| (*m, m.value(s)))
        .filter(|(_, v)| *v >= 80.0)
        .collect();
    high.sort_by(|a, b| b.1.total_cmp(&a.1));
    high.into_iter().map(|(m, v)| format!("{} {}", ctx.metric(m), pct(v))).collect()
}

fn fleet_summary(ctx: &Ctx<'_>) -> Composed {
    let servers = &ctx.facts.servers;
    if servers.is_empty() {
        return Composed::new(
            ctx.t(
                "아직 보고된 서버가 없습니다. 에이전트를 연결하거나 데모 모드를 켜 주세요.".to_owned(),
                "No servers have reported yet. Connect an agent or turn on the demo fleet.".to_owned(),
            ),
            ctx.t("서버 없음".to_owned(), "No servers".to_owned()),
        )
        .capped(0.5);
    }
    let count = |status: &str| servers.iter().filter(|s| s.status == status).count();
    let n = servers.len() as f64;
    let avg = |m: Metric| servers.iter().map(|s| m.value(s)).sum::<f64>() / n;
    let (cpu, mem, disk) = (avg(Metric::Cpu), avg(Metric::Memory), avg(Metric::Disk));
    let mut attention: Vec<&ServerFact> = servers.iter().filter(|s| severity_rank(&s.status) < 3).collect();
    attention.sort_by_key(|s| severity_rank(&s.status));
    let busiest = servers.iter().max_by(|a, b| a.cpu.total_cmp(&b.cpu));
    let firing = ctx.facts.alerts.len();

    let mut counts_ko =
        format!("정상 {}대, 경고 {}대, 심각 {}대", count("online"), count("warning"), count("critical"));
    let mut counts_en =
        format!("{} online, {} warning, {} critical", count("online"), count("warning"), count("critical"));
    for (status, ko, en) in [("offline", "오프라인", "offline"), ("maintenance", "점검 중", "in maintenance")] {
        if count(status) > 0 {
            counts_ko.push_str(&format!(", {ko} {}대", count(status)));
            counts_en.push_str(&format!(", {} {en}", count(status)));
        }
    }
    let mut text = ctx.t(
        format!(
            "전체 서버 {}대 현황: {counts_ko}. 평균 CPU {}, 메모리 {}, 디스크 {}.",
            servers.len(),
            pct(cpu),
            pct(mem),
            pct(disk)
        ),
        format!(
            "{} servers: {counts_en}. Average CPU {}, memory {}, disk {}.",
            servers.len(),
            pct(cpu),
            pct(mem),
            pct(disk)
        ),
    );
    if attention.is_empty() {
        text.push_str(&ctx.t(" 모든 서버가 정상입니다.".to_owned(), " All servers are healthy.".to_owned()));
    } else {
        let items: Vec<String> = attention
            .iter()
            .map(|s| {
                let status = format::status_name(&s.status, ctx.lang);
                let high = high_metrics(ctx, s);
                if high.is_empty() {
                    format!("{} ({status})", s.name)
                } else {
                    format!("{} ({status}: {})", s.name, high.join(", "))
                }
            })
            .collect();
        text.push_str(&ctx.t(
            format!("\n주의가 필요한 서버: {}.", items.join("; ")),
            format!("\nNeeds attention: {}.", items.join("; ")),
        ));
    }
    if let Some(b) = busiest {
        text.push_str(&ctx.t(
            format!("\nCPU가 가장 높은 서버: {} ({}).", b.name, pct(b.cpu)),
            format!("\nHighest CPU: {} at {}.", b.name, pct(b.cpu)),
        ));
    }
    text.push_str(&ctx.t(format!(" 발생 중인 알림 {firing}건."), format!(" {}.", alerts_firing(firing))));
    Composed::new(
        text,
        ctx.t(
            format!("상태별 집계와 평균 계산 (서버 {}대)", servers.len()),
            format!("Counted statuses and averaged metrics over {} servers", servers.len()),
        ),
    )
}

fn server_status(ctx: &Ctx<'_>, id: &str) -> Composed {
    let Some(s) = ctx.server(id) else {
        let known: Vec<&str> = ctx.facts.servers.iter().map(|s| s.name.as_str()).collect();
        let list = if known.is_empty() { "-".to_owned() } else { known.join(", ") };
        return Composed::new(
            ctx.t(
                format!("'{id}' 서버를 찾을 수 없습니다. 등록된 서버: {list}."),
                format!("I couldn't find a server named '{id}'. Known servers: {list}."),
            ),
            ctx.t(format!("'{id}' 조회 실패"), format!("No server '{id}'")),
        )
        .capped(0.4);
    };
    let status = format::status_name(&s.status, ctx.lang);
    let uptime = format::duration(s.uptime_secs as i64 * 1000, ctx.lang);
    let free =
        (s.disk_total_bytes > 0).then(|| format::bytes(s.disk_total_bytes as f64 * (100.0 - s.disk).max(0.0) / 100.0));
    let mut text = ctx.t(
        format!(
            "{} ({}) 상태: {status}. CPU {}, 메모리 {}, 디스크 {}{}, 네트워크 수신 {} / 송신 {}, 부하 {:.2}, 가동 시간 {uptime}.",
            s.name,
            s.server_type,
            pct(s.cpu),
            pct(s.memory),
            pct(s.disk),
            free.as_ref().map(|f| format!(" (남은 공간 {f})")).unwrap_or_default(),
            format::rate(s.network_in),
            format::rate(s.network_out),
            s.load1
        ),
        format!(
            "{} ({}) is {status}. CPU {}, memory {}, disk {}{}, network in {} / out {}, load {:.2}, up {uptime}.",
            s.name,
            s.server_type,
            pct(s.cpu),
            pct(s.memory),
            pct(s.disk),
            free.as_ref().map(|f| format!(" ({f} free)")).unwrap_or_default(),
            format::rate(s.network_in),
            format::rate(s.network_out),
            s.load1
        ),
    );
    let high = high_metrics(ctx, s);
    text.push_str(&if high.is_empty() {
        ctx.t(" 모든 지표가 정상 범위입니다.".to_owned(), " All metrics are within normal range.".to_owned())
    } else {
        ctx.t(format!(" 높은 항목: {}.", high.join(", ")), format!(" High: {}.", high.join(", ")))
    });
    let alerts: Vec<String> =
        ctx.facts.alerts.iter().filter(|a| a.server_id == s.id).map(|a| alert_line(ctx, a, false)).collect();
    if !alerts.is_empty() {
        text.push_str(
            &ctx.t(
                format!("\n발생 중인 알림: {}", alerts.join("; ")),
                format!("\nFiring alerts: {}", alerts.join("; ")),
            ),
        );
    }
    Composed::new(
        text,
        ctx.t(
            format!("{}의 최신 지표와 알림 확인", s.name),
            format!("Read the latest metrics and alerts of {}", s.name),
        ),
    )
}

fn alert_line(ctx: &Ctx<'_>, a: &super::AlertFact, with_server: bool) -> String {
    let severity = format::status_name(&a.severity, ctx.lang);
    let age = format::duration(ctx.facts.now_ms - a.started_at_ms, ctx.lang);
    let server = if with_server {
        format!("{}: ", ctx.server(&a.server_id).map_or(&a.server_id, |s| &s.name))
    } else {
        String::new()
    };
    ctx.t(
        format!("[{severity}] {server}{} (값 {:.1}, {age}째)", a.title, a.value),
        format!("[{severity}] {server}{} (value {:.1}, for {age})", a.title, a.value),
    )
}

fn alerts_firing(n: usize) -> String {
    if n == 1 { "1 alert firing".to_owned() } else { format!("{n} alerts firing") }
}

fn alerts(ctx: &Ctx<'_>) -> Composed {
    let named = &ctx.parsed.servers;
    let mut firing: Vec<&super::AlertFact> =
        ctx.facts.alerts.iter().filter(|a| named.is_empty() || named.contains(&a.server_id)).collect();
    firing.sort_by(|a, b| {
        severity_rank(&a.severity).cmp(&severity_rank(&b.severity)).then(a.started_at_ms.cmp(&b.started_at_ms))
    });
    let scope_ko = if named.is_empty() { String::new() } else { format!("{} ", named.join(", ")) };
    let scope_en = if named.is_empty() { String::new() } else { format!(" on {}", named.join(", ")) };
    let compute = ctx.t(
        format!("알림 {}건 정렬 (심각도, 시작 시각)", firing.len()),
        format!("Sorted {} alerts by severity and start", firing.len()),
    );
    if firing.is_empty() {
        return Composed::new(
            ctx.t(format!("{scope_ko}현재 발생 중인 알림이 없습니다."), format!("No alerts are firing{scope_en}.")),
            compute,
        );
    }
    let critical = firing.iter().filter(|a| a.severity == "critical").count();
    let warning = firing.iter().filter(|a| a.severity == "warning").count();
    let lines: Vec<String> = firing.iter().map(|a| format!("- {}", alert_line(ctx, a, true))).collect();
    let text = ctx.t(
        format!(
            "{scope_ko}현재 발생 중인 알림 {}건 (심각 {critical}, 경고 {warning}):\n{}",
            firing.len(),
            lines.join("\n")
        ),
        format!(
            "{}{scope_en} ({critical} critical, {warning} warning):\n{}",
            alerts_firing(firing.len()),
            lines.join("\n")
        ),
    );
    Composed::new(text, compute)
}

fn help(ctx: &Ctx<'_>) -> Composed {
    let asked = ctx.parsed.confidence >= 0.5;
    let text = ctx.t(
        format!(
            "{}\n- 서버 상태 요약\n- web-01 상태 알려줘\n- CPU 사용률 상위 3개 서버\n- 메모리 80% 이상인 서버\n\
             - 지난 1시간 web-02 CPU 추이\n- 현재 발생 중인 알림\n- backup 디스크 언제 가득 차?\n- web-01과 web-02 비교",
            if asked {
                "서버 모니터링 질문에 답할 수 있습니다. 예를 들어:"
            } else {
                "질문을 이해하지 못했습니다. 이런 질문에 답할 수 있습니다:"
            }
        ),
        format!(
            "{}\n- Summarize server status\n- How is web-01?\n- Top 3 servers by CPU\n- Servers with memory above 80%\n\
             - CPU trend of web-02 over the last hour\n- Which alerts are firing?\n- When will the disk on backup be full?\n\
             - Compare web-01 and web-02",
            if asked {
                "I answer monitoring questions about your servers. For example:"
            } else {
                "I didn't understand that question. I can answer questions like:"
            }
        ),
    );
    Composed::new(text, ctx.t("가능한 질문 목록".to_owned(), "Listed what I can answer".to_owned()))
}
