//! Answers across servers from the latest values (or, for averages over a window, from history): top or
//! bottom N, servers past a threshold, averages/minimum/maximum, and comparisons of servers or groups.
//! Offline servers are left out of every figure: their numbers are stale.

use super::super::format::{self, pct};
use super::super::numbers::Cmp;
use super::super::question::{Agg, Form};
use super::super::time::Window;
use super::super::{Metric, ServerFact};
use super::fleet::{MAX_LISTED, capped, describe};
use super::{Composed, Ctx};

fn live<'a>(servers: &[&'a ServerFact]) -> (Vec<&'a ServerFact>, Vec<&'a ServerFact>) {
    servers.iter().partition(|s| s.status != "offline")
}

fn offline_note(ctx: &Ctx<'_>, offline: &[&ServerFact]) -> String {
    if offline.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = offline.iter().map(|s| s.name.as_str()).collect();
    ctx.t(format!(" (오프라인 제외: {})", names.join(", ")), format!(" ({} offline, left out)", names.join(", ")))
}

/// " among database servers" when the question narrowed the fleet.
fn among(ctx: &Ctx<'_>) -> String {
    if !ctx.q.servers.is_empty() || ctx.q.filter.is_empty() {
        return String::new();
    }
    let d = describe(ctx, &ctx.q.filter);
    ctx.t(format!(" ({d} 중)"), format!(" among {d}"))
}

fn sorted(mut servers: Vec<&ServerFact>, m: Metric, ascending: bool) -> Vec<&ServerFact> {
    servers.sort_by(|a, b| {
        let o = m.value(a).total_cmp(&m.value(b));
        if ascending { o } else { o.reverse() }
    });
    servers
}

pub fn top_n(ctx: &Ctx<'_>) -> Composed {
    let m = ctx.q.metric_or_cpu();
    let n = ctx.q.n.unwrap_or(5);
    let asc = ctx.q.ascending;
    let (up, down) = live(&ctx.scope());
    let ranked = sorted(up, m, asc);
    let name = ctx.metric(m);
    let compute = ctx.t(
        format!("{name} 기준 {} 정렬, {n}개 선택", if asc { "오름차순" } else { "내림차순" }),
        format!("Sorted by {name} {}, took {n}", if asc { "ascending" } else { "descending" }),
    );
    let Some(first) = ranked.first() else {
        return Composed::new(
            ctx.t("순위를 매길 서버 데이터가 없습니다.".into(), "No server data to rank.".into()),
            compute,
        )
        .capped(0.4);
    };
    let free = |s: &ServerFact| {
        if m == Metric::Disk && s.specs.disk_bytes > 0 {
            let bytes = format::bytes(s.specs.disk_bytes as f64 * (100.0 - s.disk).max(0.0) / 100.0);
            format!(", {bytes} {}", ctx.t("여유".into(), "free".into()))
        } else {
            String::new()
        }
    };
    let note = format!("{}{}", offline_note(ctx, &down), ctx.unknown_note());
    let text = if n == 1 {
        let v = format::value(m, m.value(first));
        match asc {
            false => ctx.t(
                format!(
                    "{name}{} 가장 높은 서버는 {} ({v}{})입니다{} ({}).{note}",
                    format::ga(name),
                    first.name,
                    free(first),
                    among(ctx),
                    ctx.as_of()
                ),
                format!(
                    "{} has the highest {name}{}: {v}{} ({}).{note}",
                    first.name,
                    among(ctx),
                    free(first),
                    ctx.as_of()
                ),
            ),
            true => ctx.t(
                format!(
                    "{name}{} 가장 낮은 서버는 {} ({v}{})입니다{} ({}).{note}",
                    format::ga(name),
                    first.name,
                    free(first),
                    among(ctx),
                    ctx.as_of()
                ),
                format!(
                    "{} has the lowest {name}{}: {v}{} ({}).{note}",
                    first.name,
                    among(ctx),
                    free(first),
                    ctx.as_of()
                ),
            ),
        }
    } else {
        let shown = n.min(ranked.len());
        let lines: Vec<String> = ranked
            .iter()
            .take(n)
            .enumerate()
            .map(|(i, s)| format!("{}. {} {}{}", i + 1, s.name, format::value(m, m.value(s)), free(s)))
            .collect();
        let header = match asc {
            false => ctx.t(
                format!("{name} 상위 {shown}대{} ({}):", among(ctx), ctx.as_of()),
                format!("Top {} by {name}{} ({}):", format::servers(shown), among(ctx), ctx.as_of()),
            ),
            true => ctx.t(
                format!("{name} 하위 {shown}대{} ({}):", among(ctx), ctx.as_of()),
                format!("Lowest {} by {name}{} ({}):", format::servers(shown), among(ctx), ctx.as_of()),
            ),
        };
        let note = if note.is_empty() { note } else { format!("\n{}", note.trim_start()) };
        format!("{header}\n{}{note}", lines.join("\n"))
    };
    let out = Composed::new(text, compute);
    if ctx.q.metric_defaulted { out.capped(0.75) } else { out }
}

pub fn threshold(ctx: &Ctx<'_>) -> Composed {
    let m = ctx.q.metric_or_cpu();
    let (cmp, raw) = ctx.q.threshold.unwrap_or((Cmp::Above, 80.0));
    // Traffic thresholds are said in MB/s ("above 50"); percentages and load as they are.
    let limit = if m == Metric::Network { raw * 1_000_000.0 } else { raw };
    let shown = format::value(m, limit);
    let name = ctx.metric(m);
    let (up, down) = live(&ctx.scope());
    let ranked = sorted(up, m, cmp == Cmp::Below);
    let hits: Vec<&&ServerFact> =
        ranked.iter().filter(|s| if cmp == Cmp::Above { m.value(s) >= limit } else { m.value(s) <= limit }).collect();
    let (word_ko, word_en) = if cmp == Cmp::Above { ("이상", "at or above") } else { ("이하", "at or below") };
    let compute = ctx.t(
        format!("{name} {shown} {word_ko} 필터: {}대", hits.len()),
        format!("Filtered {name} {word_en} {shown}: {}", hits.len()),
    );
    let note = format!("{}{}", offline_note(ctx, &down), ctx.unknown_note());
    let text = if hits.is_empty() {
        let extreme = ranked.first().map(|s| (s.name.clone(), format::value(m, m.value(s))));
        let (no_ko, no_en) = if ctx.q.form == Form::YesNo { ("아니요, ", "No, ") } else { ("", "") };
        match extreme {
            Some((who, v)) => ctx.t(
                format!(
                    "{no_ko}{name} {shown} {word_ko}인 서버는 없습니다{}. {} 서버는 {who} ({v})입니다 ({}).{note}",
                    among(ctx),
                    if cmp == Cmp::Above { "가장 높은" } else { "가장 낮은" },
                    ctx.as_of()
                ),
                format!(
                    "{no_en}no server has {name} {word_en} {shown}{}; the {} is {who} at {v} ({}).{note}",
                    among(ctx),
                    if cmp == Cmp::Above { "highest" } else { "lowest" },
                    ctx.as_of()
                ),
            ),
            None => ctx.t("서버 데이터가 없습니다.".into(), "No server data yet.".into()),
        }
    } else {
        let items: Vec<String> = hits.iter().map(|s| format!("{} {}", s.name, format::value(m, m.value(s)))).collect();
        let listed = capped(ctx, &items);
        let (yes_ko, yes_en) = if ctx.q.form == Form::YesNo { ("네, ", "Yes: ") } else { ("", "") };
        ctx.t(
            format!(
                "{yes_ko}{name} {shown} {word_ko}인 서버 {}대{} ({}): {}.{note}",
                hits.len(),
                among(ctx),
                ctx.as_of(),
                listed
            ),
            format!(
                "{yes_en}{} with {name} {word_en} {shown}{} ({}): {}.{note}",
                format::servers(hits.len()),
                among(ctx),
                ctx.as_of(),
                listed
            ),
        )
    };
    let out = Composed::new(text, compute);
    if ctx.q.metric_defaulted { out.capped(0.7) } else { out }
}

pub fn aggregate(ctx: &Ctx<'_>) -> Composed {
    if ctx.q.window.is_some_and(|w| w != Window::Now) {
        return super::history::aggregate_window(ctx);
    }
    let m = ctx.q.metric_or_cpu();
    let name = ctx.metric(m);
    let (up, down) = live(&ctx.scope());
    let compute = ctx.t(
        format!("서버 {}대의 {name} 평균/최소/최대 계산", up.len()),
        format!("Averaged {name} over {} servers, with min and max", up.len()),
    );
    if up.is_empty() {
        return Composed::new(
            ctx.t("계산할 서버 데이터가 없습니다.".into(), "No server data to aggregate.".into()),
            compute,
        )
        .capped(0.4);
    }
    let avg = up.iter().map(|s| m.value(s)).sum::<f64>() / up.len() as f64;
    let ranked = sorted(up.clone(), m, false);
    let (hi, lo) = (ranked[0], ranked[ranked.len() - 1]);
    let v = |x: f64| format::value(m, x);
    let note = format!("{}{}", offline_note(ctx, &down), ctx.unknown_note());
    let scope_ko = if ctx.q.filter.is_empty() && ctx.q.servers.is_empty() {
        format!("서버 {}대", up.len())
    } else {
        format!("{} {}대", describe(ctx, &ctx.q.filter), up.len())
    };
    let scope_en = if ctx.q.filter.is_empty() && ctx.q.servers.is_empty() {
        format::servers(up.len())
    } else {
        format!("the {} {}", up.len(), describe(ctx, &ctx.q.filter))
    };
    let text = match ctx.q.agg {
        Some(Agg::Max) => ctx.t(
            format!(
                "{name} 최댓값은 {} ({})입니다 ({}, {scope_ko} 평균 {}).{note}",
                v(m.value(hi)),
                hi.name,
                ctx.as_of(),
                v(avg)
            ),
            format!(
                "Maximum {name}: {} on {} ({}; average {} over {scope_en}).{note}",
                v(m.value(hi)),
                hi.name,
                ctx.as_of(),
                v(avg)
            ),
        ),
        Some(Agg::Min) => ctx.t(
            format!(
                "{name} 최솟값은 {} ({})입니다 ({}, {scope_ko} 평균 {}).{note}",
                v(m.value(lo)),
                lo.name,
                ctx.as_of(),
                v(avg)
            ),
            format!(
                "Minimum {name}: {} on {} ({}; average {} over {scope_en}).{note}",
                v(m.value(lo)),
                lo.name,
                ctx.as_of(),
                v(avg)
            ),
        ),
        _ => ctx.t(
            format!(
                "{scope_ko}의 평균 {name}: {} ({}). 최고 {} {}, 최저 {} {}.{note}",
                v(avg),
                ctx.as_of(),
                hi.name,
                v(m.value(hi)),
                lo.name,
                v(m.value(lo))
            ),
            format!(
                "Average {name} over {scope_en}: {} ({}). Highest {} at {}, lowest {} at {}.{note}",
                v(avg),
                ctx.as_of(),
                hi.name,
                v(m.value(hi)),
                lo.name,
                v(m.value(lo))
            ),
        ),
    };
    Composed::new(text, compute)
}

pub fn compare(ctx: &Ctx<'_>) -> Composed {
    if !ctx.q.groups.is_empty() {
        return compare_groups(ctx);
    }
    let servers: Vec<&ServerFact> = ctx.scope().into_iter().take(MAX_LISTED).collect();
    if servers.is_empty() {
        return Composed::new(
            ctx.t("비교할 서버 데이터가 없습니다.".into(), "No server data to compare.".into()),
            ctx.t("비교 대상 없음".into(), "Nothing to compare".into()),
        )
        .capped(0.4);
    }
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    let compute = ctx.t(format!("비교: {}", names.join(", ")), format!("Compared {}", names.join(", ")));
    let text = match ctx.q.metric {
        Some(m) => compare_one(ctx, &servers, m),
        None => {
            let lines: Vec<String> = servers
                .iter()
                .map(|s| {
                    let st = ctx.status(&s.status);
                    ctx.t(
                        format!(
                            "- {}: CPU {}, 메모리 {}, 디스크 {}, 부하 {:.2} ({st})",
                            s.name,
                            pct(s.cpu),
                            pct(s.memory),
                            pct(s.disk),
                            s.load[0]
                        ),
                        format!(
                            "- {}: CPU {}, memory {}, disk {}, load {:.2} ({st})",
                            s.name,
                            pct(s.cpu),
                            pct(s.memory),
                            pct(s.disk),
                            s.load[0]
                        ),
                    )
                })
                .collect();
            let mut text = ctx.t(
                format!("서버 비교 ({}):\n{}", ctx.as_of(), lines.join("\n")),
                format!("Comparison ({}):\n{}", ctx.as_of(), lines.join("\n")),
            );
            if servers.len() > 1
                && let Some(b) = servers.iter().max_by(|a, b| a.cpu.total_cmp(&b.cpu))
            {
                text.push_str(&ctx.t(
                    format!("\nCPU가 가장 높은 서버는 {} ({})입니다.", b.name, pct(b.cpu)),
                    format!("\n{} has the highest CPU ({}).", b.name, pct(b.cpu)),
                ));
            }
            text
        }
    };
    Composed::new(text + &ctx.unknown_note(), compute)
}

fn compare_one(ctx: &Ctx<'_>, servers: &[&ServerFact], m: Metric) -> String {
    let name = ctx.metric(m);
    let lines: Vec<String> =
        servers.iter().map(|s| format!("- {}: {}", s.name, format::value(m, m.value(s)))).collect();
    let mut text = ctx.t(
        format!("{name} 비교 ({}):\n{}", ctx.as_of(), lines.join("\n")),
        format!("{name} comparison ({}):\n{}", ctx.as_of(), lines.join("\n")),
    );
    let ranked = sorted(servers.to_vec(), m, false);
    if let (Some(high), Some(low)) = (ranked.first(), ranked.last())
        && ranked.len() > 1
    {
        let gap = m.value(high) - m.value(low);
        let (gap_ko, gap_en) = match m {
            Metric::Network => (format::rate(gap), format::rate(gap)),
            Metric::Load => (format!("{gap:.2}"), format!("{gap:.2}")),
            _ => (format!("{gap:.1}%p"), format!("{gap:.1} points")),
        };
        text.push_str(&ctx.t(
            format!(
                "\n{}{} 더 높습니다 ({}), {}보다 {gap_ko} 높음.",
                high.name,
                format::ga(&high.name),
                format::value(m, m.value(high)),
                low.name
            ),
            format!("\n{} is higher at {}, {gap_en} above {}.", high.name, format::value(m, m.value(high)), low.name),
        ));
    }
    text
}

/// Groups (types) side by side: the average of the metric in each.
fn compare_groups(ctx: &Ctx<'_>) -> Composed {
    let m = ctx.q.metric_or_cpu();
    let name = ctx.metric(m);
    let mut lines = Vec::new();
    for g in &ctx.q.groups {
        let members: Vec<&ServerFact> =
            ctx.facts.servers.iter().filter(|s| g.admits(s) && s.status != "offline").collect();
        let desc = describe(ctx, g);
        if members.is_empty() {
            lines.push(ctx.t(format!("- {desc}: 없음"), format!("- {desc}: none")));
            continue;
        }
        let avg = members.iter().map(|s| m.value(s)).sum::<f64>() / members.len() as f64;
        let each: Vec<String> =
            members.iter().map(|s| format!("{} {}", s.name, format::value(m, m.value(s)))).collect();
        let each = capped(ctx, &each);
        lines.push(ctx.t(
            format!("- {desc} {}대: 평균 {} ({each})", members.len(), format::value(m, avg)),
            format!("- {desc} ({}): average {} ({each})", members.len(), format::value(m, avg)),
        ));
    }
    Composed::new(
        ctx.t(
            format!("그룹별 {name} 비교 ({}):\n{}", ctx.as_of(), lines.join("\n")),
            format!("{name} by group ({}):\n{}", ctx.as_of(), lines.join("\n")),
        ),
        ctx.t(
            format!("그룹 {}개의 {name} 평균 비교", ctx.q.groups.len()),
            format!("Averaged {name} per group ({} groups)", ctx.q.groups.len()),
        ),
    )
}
