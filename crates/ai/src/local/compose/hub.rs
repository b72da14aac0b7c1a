//! The hub's own affairs: the free-tier budget, the AI gateway, uptime checks; and help, clarifying
//! questions, and unknown server names.

use super::super::format::{self, pct};
use super::super::question::{BudgetPart, Form};
use super::super::{BudgetFact, CheckFact};
use super::{Composed, Ctx};

pub fn budget(ctx: &Ctx<'_>) -> Composed {
    let Some(b) = &ctx.facts.budget else { return ctx.no_data("무료 한도", "the free-tier budget") };
    let asked = &ctx.q.budget;
    let all = asked.is_empty() || (asked.len() == 1 && asked[0] == BudgetPart::Egress && ctx.q.form == Form::YesNo);
    let wants = |p: BudgetPart| all || asked.contains(&p);
    let mut lines = Vec::new();
    if let Some(e) = &b.egress
        && (wants(BudgetPart::Egress) || wants(BudgetPart::Projected) || wants(BudgetPart::Hub))
    {
        let limit = e.limit_bytes.max(1) as f64;
        let mtd = e.month_to_date_bytes as f64;
        let proj = e.projected_bytes as f64;
        let hub = e
            .hub_bytes
            .map(|h| {
                ctx.t(
                    format!(", 그중 허브 자체 {}", format::bytes(h as f64)),
                    format!("; the hub itself sent {} of it", format::bytes(h as f64)),
                )
            })
            .unwrap_or_default();
        let first = if asked.contains(&BudgetPart::Projected) && !asked.contains(&BudgetPart::Egress) {
            ctx.t(
                format!(
                    "{} 예상 egress: {} ({} 한도의 {}), 현재까지 {} ({}){hub}.",
                    b.month,
                    format::bytes(proj),
                    format::bytes(limit),
                    pct(proj * 100.0 / limit),
                    format::bytes(mtd),
                    pct(mtd * 100.0 / limit)
                ),
                format!(
                    "Projected egress for {}: {} by the month's end, {} of the {} limit; {} ({}) so far{hub}.",
                    b.month,
                    format::bytes(proj),
                    pct(proj * 100.0 / limit),
                    format::bytes(limit),
                    format::bytes(mtd),
                    pct(mtd * 100.0 / limit)
                ),
            )
        } else {
            ctx.t(
                format!(
                    "이번 달({}) egress: {} / {} ({}), 월말 예상 {} ({}){hub}.",
                    b.month,
                    format::bytes(mtd),
                    format::bytes(limit),
                    pct(mtd * 100.0 / limit),
                    format::bytes(proj),
                    pct(proj * 100.0 / limit)
                ),
                format!(
                    "Egress this month ({}): {} of {} ({}); projected {} ({}) by the month's end{hub}.",
                    b.month,
                    format::bytes(mtd),
                    format::bytes(limit),
                    pct(mtd * 100.0 / limit),
                    format::bytes(proj),
                    pct(proj * 100.0 / limit)
                ),
            )
        };
        lines.push(first);
    }
    if let Some(v) = &b.vm_hours
        && wants(BudgetPart::VmHours)
    {
        let left = (v.limit - v.used).max(0.0);
        lines.push(ctx.t(
            format!(
                "VM 시간: {:.1} / {:.0}시간 사용 ({}), {left:.1}시간 남음.",
                v.used,
                v.limit,
                pct(v.used * 100.0 / v.limit.max(1.0))
            ),
            format!(
                "VM hours: {:.1} of {:.0} used ({}), {left:.1} left.",
                v.used,
                v.limit,
                pct(v.used * 100.0 / v.limit.max(1.0))
            ),
        ));
    }
    if let Some(d) = &b.disk
        && wants(BudgetPart::Disk)
    {
        lines.push(ctx.t(
            format!(
                "디스크: {} / {} ({}).",
                format::bytes(d.used),
                format::bytes(d.limit),
                pct(d.used * 100.0 / d.limit.max(1.0))
            ),
            format!(
                "Disk: {} of {} ({}).",
                format::bytes(d.used),
                format::bytes(d.limit),
                pct(d.used * 100.0 / d.limit.max(1.0))
            ),
        ));
    }
    if let Some(c) = &b.cpu
        && wants(BudgetPart::Cpu)
    {
        let under = c.average_percent <= c.sustained_percent;
        lines.push(ctx.t(
            format!(
                "CPU: 이번 달 평균 {}, 지속 가능 한도 {} {}.",
                pct(c.average_percent),
                pct(c.sustained_percent),
                if under { "이내" } else { "초과" }
            ),
            format!(
                "CPU: this month's average {} against the {} sustained share ({}).",
                pct(c.average_percent),
                pct(c.sustained_percent),
                if under { "under it" } else { "over it" }
            ),
        ));
    }
    if !b.ai.is_empty() && wants(BudgetPart::Ai) {
        let items: Vec<String> =
            b.ai.iter()
                .map(|q| match q.daily_limit {
                    Some(limit) => {
                        let left = limit.saturating_sub(q.requests_today);
                        let spent =
                            if q.exhausted { ctx.t(", 소진됨".into(), ", exhausted".into()) } else { String::new() };
                        ctx.t(
                            format!("{} {}/{}회 ({left}회 남음{spent})", q.provider, q.requests_today, limit),
                            format!("{} {} of {} ({left} left{spent})", q.provider, q.requests_today, limit),
                        )
                    }
                    None => ctx.t(
                        format!("{} {}회 (한도 없음)", q.provider, q.requests_today),
                        format!("{} {} (no limit)", q.provider, q.requests_today),
                    ),
                })
                .collect();
        lines.push(
            ctx.t(format!("오늘 AI 요청: {}.", items.join(", ")), format!("AI requests today: {}.", items.join(", "))),
        );
    }
    if lines.is_empty() {
        return ctx.no_data("해당 한도", "that part of the budget");
    }
    let lead = match ctx.q.form {
        Form::YesNo => yes_no(ctx, b),
        _ => String::new(),
    };
    Composed::new(
        format!("{lead}{}", lines.join("\n")),
        ctx.t("무료 한도 사용량과 예상치 계산".into(), "Read the budget: usage, projection and limits".into()),
    )
}

/// Whether everything is (and stays) within the free tier, said first for a yes/no question. The
/// question's wording decides the polarity: "going over?" is answered "no" when within.
fn yes_no(ctx: &Ctx<'_>, b: &BudgetFact) -> String {
    let within = b.egress.is_none_or(|e| e.month_to_date_bytes <= e.limit_bytes && e.projected_bytes <= e.limit_bytes)
        && b.vm_hours.is_none_or(|v| v.used <= v.limit)
        && b.disk.is_none_or(|d| d.used <= d.limit)
        && b.cpu.is_none_or(|c| ctx.q.budget != [BudgetPart::Cpu] || c.average_percent <= c.sustained_percent);
    if ctx.q.budget == [BudgetPart::Ai] {
        // "Is Gemini's quota used up?": yes when a provider has spent its day.
        let spent = b.ai.iter().any(|q| q.exhausted || q.daily_limit.is_some_and(|l| q.requests_today >= l));
        return match (spent, ctx.ko()) {
            (true, true) => "네. ".into(),
            (false, true) => "아니요. ".into(),
            (true, false) => "Yes. ".into(),
            (false, false) => "No. ".into(),
        };
    }
    let asks_over =
        ctx.q.over || ctx.q.budget.contains(&BudgetPart::Projected) || ctx.q.budget.contains(&BudgetPart::Cpu);
    let yes = if asks_over { !within } else { within };
    match (yes, ctx.ko()) {
        (true, true) => "네. ".into(),
        (false, true) => "아니요. ".into(),
        (true, false) => "Yes. ".into(),
        (false, false) => "No. ".into(),
    }
}

pub fn gateway(ctx: &Ctx<'_>) -> Composed {
    let Some(g) = &ctx.facts.gateway else { return ctx.no_data("AI 게이트웨이", "the AI gateway") };
    let focus: Vec<_> = if ctx.q.engines.is_empty() {
        g.engines.iter().collect()
    } else {
        g.engines.iter().filter(|e| ctx.q.engines.contains(&e.name)).collect()
    };
    let engine_line = |e: &super::super::EngineFact| {
        let quota = match e.day_limit {
            Some(l) => ctx.t(
                format!(", 오늘 {}/{}회 ({}회 남음)", e.day_used, l, l.saturating_sub(e.day_used)),
                format!(", {} of {} requests today ({} left)", e.day_used, l, l.saturating_sub(e.day_used)),
            ),
            None => String::new(),
        };
        let err = e
            .last_error
            .as_ref()
            .map(|x| ctx.t(format!(", 마지막 오류: {x}"), format!(", last error: {x}")))
            .unwrap_or_default();
        let health = match (e.health.as_str(), ctx.ko()) {
            ("up", true) => "정상".to_owned(),
            ("down", true) => "장애".to_owned(),
            (h, _) => h.to_owned(),
        };
        ctx.t(
            format!("{} ({}): {health}, 서킷 {}{quota}{err}", e.name, e.kind, e.circuit),
            format!("{} ({}): {health}, circuit {}{quota}{err}", e.name, e.kind, e.circuit),
        )
    };
    let mut text = String::new();
    if !ctx.q.engines.is_empty() && focus.len() == 1 {
        let e = focus[0];
        let lead = if ctx.q.form == Form::YesNo {
            if e.health == "up" {
                ctx.t("네, ".into(), "Yes: ".into())
            } else {
                ctx.t("아니요, ".into(), "No: ".into())
            }
        } else {
            String::new()
        };
        text.push_str(&format!("{lead}{}.\n", engine_line(e)));
    }
    if ctx.q.cache
        && let Some(rate) = g.hit_rate()
    {
        text.push_str(&ctx.t(
            format!("AI 캐시 적중률 {} (적중 {}, 미적중 {}).\n", pct(rate), g.cache_hits, g.cache_misses),
            format!("The AI cache hit rate is {} ({} hits, {} misses).\n", pct(rate), g.cache_hits, g.cache_misses),
        ));
    }
    let chain = g.chain.join(" → ");
    text.push_str(&ctx.t(format!("AI 게이트웨이 체인: {chain}."), format!("AI gateway chain: {chain}.")));
    for e in &g.engines {
        text.push_str(&format!("\n- {}", engine_line(e)));
    }
    let down: Vec<&str> =
        g.engines.iter().filter(|e| e.health == "down" || e.circuit == "open").map(|e| e.name.as_str()).collect();
    if !down.is_empty() {
        text.push_str(&ctx.t(
            format!("\n장애/서킷 열림: {}.", down.join(", ")),
            format!("\nDown or circuit open: {}.", down.join(", ")),
        ));
    }
    match g.hit_rate() {
        Some(rate) => text.push_str(&ctx.t(
            format!(
                "\n캐시 적중률 {} (적중 {}, 미적중 {}), 처리한 질문 {}건.",
                pct(rate),
                g.cache_hits,
                g.cache_misses,
                g.queries
            ),
            format!(
                "\nCache hit rate {} ({} hits, {} misses); {} questions answered.",
                pct(rate),
                g.cache_hits,
                g.cache_misses,
                g.queries
            ),
        )),
        None => text.push_str(&ctx.t(
            format!("\n캐시 조회 없음, 처리한 질문 {}건.", g.queries),
            format!("\nNo cache lookups yet; {} questions answered.", g.queries),
        )),
    }
    Composed::new(
        text,
        ctx.t(
            format!("엔진 {}개 상태와 캐시 통계 확인", g.engines.len()),
            format!("Read {} engines and the cache", g.engines.len()),
        ),
    )
}

fn check_line(ctx: &Ctx<'_>, c: &CheckFact) -> String {
    let mut parts = vec![ctx.status(&c.status)];
    if let Some(l) = c.latency_ms {
        parts.push(format!("{l:.0} ms"));
    }
    if let Some(u) = c.uptime_24h {
        parts.push(ctx.t(format!("24시간 가용률 {u:.2}%"), format!("{u:.2}% up over 24h")));
    }
    if let Some(u) = c.uptime_7d {
        parts.push(ctx.t(format!("7일 {u:.2}%"), format!("{u:.2}% over 7 days")));
    }
    if let Some(d) = c.cert_days_left {
        parts.push(ctx.t(format!("인증서 {d}일 남음"), format!("certificate expires in {d} days")));
    }
    if let Some(e) = &c.last_error {
        parts.push(ctx.t(format!("오류: {e}"), format!("error: {e}")));
    }
    format!("{} ({} {}): {}", c.name, c.kind, c.target, parts.join(", "))
}

pub fn checks(ctx: &Ctx<'_>) -> Composed {
    let Some(all) = &ctx.facts.checks else { return ctx.no_data("체크", "checks") };
    let compute = ctx.t(format!("체크 {}개 상태 확인", all.len()), format!("Read {} checks", all.len()));
    if all.is_empty() {
        return Composed::new(ctx.t("등록된 체크가 없습니다.".into(), "No checks are set up.".into()), compute);
    }
    let named: Vec<&CheckFact> =
        all.iter().filter(|c| ctx.q.checks.contains(&c.name) || ctx.q.checks.contains(&c.id)).collect();
    if !named.is_empty() {
        let lines: Vec<String> = named.iter().map(|c| check_line(ctx, c)).collect();
        return Composed::new(lines.join("\n"), compute);
    }
    if ctx.q.certs {
        let mut certs: Vec<&CheckFact> = all.iter().filter(|c| c.cert_days_left.is_some()).collect();
        certs.sort_by_key(|c| c.cert_days_left);
        if certs.is_empty() {
            return Composed::new(
                ctx.t("인증서 정보가 있는 체크가 없습니다.".into(), "No check reports a certificate.".into()),
                compute,
            );
        }
        let items: Vec<String> = certs
            .iter()
            .map(|c| {
                ctx.t(
                    format!("{} ({}): {}일 남음", c.name, c.target, c.cert_days_left.unwrap_or(0)),
                    format!("{} ({}): expires in {} days", c.name, c.target, c.cert_days_left.unwrap_or(0)),
                )
            })
            .collect();
        return Composed::new(
            ctx.t(
                format!("인증서 만료 (빠른 순): {}.", items.join("; ")),
                format!("Certificates, soonest first: {}.", items.join("; ")),
            ),
            compute,
        );
    }
    let down: Vec<&CheckFact> = all.iter().filter(|c| c.status == "down").collect();
    let up = all.iter().filter(|c| c.status == "up").count();
    let lead = match (ctx.q.form, down.is_empty()) {
        (Form::YesNo, true) => ctx.t("네, ".into(), "Yes: ".into()),
        (Form::YesNo, false) => ctx.t("아니요, ".into(), "No: ".into()),
        _ => String::new(),
    };
    let mut text = ctx.t(
        format!("{lead}체크 {}개: 정상 {up}개, 실패 {}개 ({}).", all.len(), down.len(), ctx.as_of()),
        format!(
            "{lead}{} check{}: {up} up, {} down ({}).",
            all.len(),
            if all.len() == 1 { "" } else { "s" },
            down.len(),
            ctx.as_of()
        ),
    );
    let mut sorted: Vec<&CheckFact> = all.iter().collect();
    sorted.sort_by_key(|c| (c.status != "down", c.name.clone()));
    for c in sorted.into_iter().take(super::fleet::MAX_LISTED) {
        text.push_str(&format!("\n- {}", check_line(ctx, c)));
    }
    Composed::new(text, compute)
}

pub fn help(ctx: &Ctx<'_>) -> Composed {
    let asked = ctx.q.help_asked || ctx.q.confidence >= 0.5;
    let text = ctx.t(
        format!(
            "{}\n- 서버 상태 요약해줘 / 지금 주의가 필요한 서버는?\n- 오프라인 서버 있어? / 심각 상태 서버 몇 대야?\n- web-01 CPU 얼마야? / 디비 마스터 상태는?\n\
             - CPU 상위 3개 서버 / 메모리 80% 넘는 서버\n- 지난 1시간 api-01 CPU 추이 / 디스크 언제 가득 차?\n- 지난 1시간 동안 무슨 일 있었어?\n\
             - 현재 발생 중인 알림 / api-01 알림 왜 발생했어?\n- 이번 달 egress 얼마나 썼어? / 캐시 적중률은?\n이어서 \"web-02는?\", \"왜?\"처럼 물어도 됩니다.",
            if ctx.q.action {
                "저는 모니터링 데이터를 읽기만 해서 서버를 재시작하거나 바꿀 수는 없습니다. 이런 질문에 답할 수 있습니다:"
            } else if asked {
                "서버 모니터링 질문에 답할 수 있습니다. 예를 들어:"
            } else {
                "질문을 이해하지 못했습니다. 이런 질문에 답할 수 있습니다:"
            }
        ),
        format!(
            "{}\n- How are my servers? / Which servers need attention and why?\n- Are any servers offline? / How many are critical?\n- What's the CPU on web-01? / How is db-master?\n\
             - Top 3 servers by CPU / Servers with memory above 80%\n- CPU trend of api-01 over the last hour / When will the disk fill up?\n- What happened in the last hour?\n\
             - Which alerts are firing? / Why did the alert on api-01 fire?\n- How much egress have I used this month? / What's the cache hit rate?\nFollow-ups work too: \"and web-02?\", \"why?\".",
            if ctx.q.action {
                "I only read your monitoring data, so I can't restart or change servers. I can answer questions like:"
            } else if asked {
                "I answer questions about your servers, alerts, budget and the AI gateway. For example:"
            } else {
                "I didn't understand that question. I can answer questions like:"
            }
        ),
    );
    Composed::new(text, ctx.t("가능한 질문 목록".into(), "Listed what I can answer".into()))
}

/// A question too bare to answer: ask which reading was meant.
pub fn clarify(ctx: &Ctx<'_>) -> Composed {
    let options = ctx.q.clarify.clone();
    let text = ctx.t(
        format!("무엇을 볼까요? 예: {}.", options.join(", ")),
        format!("Which do you mean: {}?", format::join(&options, ctx.lang).replace(" and ", " or ")),
    );
    let mut out =
        Composed::new(text, ctx.t("질문이 모호해 되묻기".into(), "Asked back: the question was ambiguous".into()))
            .capped(0.4);
    out.clarify = options;
    out
}

/// A server name that matches none: say so and offer the closest names.
pub fn unknown_server(ctx: &Ctx<'_>) -> Composed {
    let names = ctx.q.unknown.join(", ");
    let options = if ctx.q.suggestions.is_empty() {
        ctx.facts.servers.iter().take(3).map(|s| s.name.clone()).collect()
    } else {
        ctx.q.suggestions.clone()
    };
    let text = ctx.t(
        format!("'{names}' 서버를 찾을 수 없습니다. 혹시 {} 중 하나인가요?", options.join(", ")),
        format!(
            "I don't know a server called '{names}'. Did you mean {}?",
            format::join(&options, ctx.lang).replace(" and ", " or ")
        ),
    );
    let mut out = Composed::new(
        text,
        ctx.t(
            format!("'{names}' 조회 실패: 가까운 이름 제시"),
            format!("No server '{names}': offered the closest names"),
        ),
    )
    .capped(0.4);
    out.clarify = options;
    out
}
