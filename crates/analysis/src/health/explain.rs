//! Health in words: each deduction's reason, and the server and fleet findings with what to do.

use super::{FleetHealth, Reason, ServerHealth};
use crate::fleet::{Ctx, Server};
use crate::lang::Lang;
use crate::metric::Metric;
use crate::report::{Evidence, Finding, FindingKind, Severity};
use crate::text::{self, metric_name};

/// One deduction's reason, e.g. `memory is 93.1% now (over the 90% critical line)`.
pub(super) fn reason(reason: Reason, metric: Option<Metric>, value: f64, threshold: f64, lang: Lang) -> String {
    let name = metric.map_or("", |m| metric_name(m, lang));
    let shown = metric.map_or_else(|| format!("{value:.0}"), |m| text::value(m, value));
    match reason {
        Reason::Stale => lang.pick(
            format!(
                "마지막 데이터가 {} 전입니다 (허용 {})",
                text::duration(value as i64, lang),
                text::duration(threshold as i64, lang)
            ),
            format!(
                "last reading {} ago (allowed {})",
                text::duration(value as i64, lang),
                text::duration(threshold as i64, lang)
            ),
        ),
        Reason::LevelCritical => lang.pick(
            format!("현재 {name} {shown} (위험 기준 {threshold:.0}% 초과)"),
            format!("{name} is {shown} now (over the {threshold:.0}% critical line)"),
        ),
        Reason::LevelWarning => lang.pick(
            format!("현재 {name} {shown} (경고 기준 {threshold:.0}% 초과)"),
            format!("{name} is {shown} now (over the {threshold:.0}% warning line)"),
        ),
        Reason::SustainedHigh => lang.pick(
            format!("{name} p95 {shown} (기간 내내 {threshold:.0}% 이상)"),
            format!("{name} p95 is {shown} (sustained above {threshold:.0}%)"),
        ),
        Reason::LoadPerCore => lang.pick(
            format!("코어당 부하 {value:.2} (기준 {threshold:.0})"),
            format!("load per core is {value:.2} (over {threshold:.0})"),
        ),
        Reason::Anomalies => {
            lang.pick(format!("최근 24시간 이상치 {value:.0}건"), format!("{value:.0} anomalies in the last 24 hours"))
        }
        Reason::Exhaustion => lang.pick(
            format!("{name} {threshold:.0}% 도달까지 {}", text::duration(value as i64, lang)),
            format!("{name} reaches {threshold:.0}% in {}", text::duration(value as i64, lang)),
        ),
    }
}

/// What to do about the largest deduction.
fn advice(reason: Option<(Reason, Option<Metric>)>, lang: Lang) -> &'static str {
    let (ko, en) = match reason {
        None => ("조치가 필요하지 않습니다.", "Nothing to do."),
        Some((Reason::Stale, _)) => (
            "서버와 에이전트가 동작 중인지, 네트워크로 연결되는지 확인하세요.",
            "Check that the server and its agent are running and reachable.",
        ),
        Some((Reason::LevelCritical | Reason::LevelWarning | Reason::SustainedHigh, Some(Metric::Memory))) => (
            "메모리를 많이 쓰는 프로세스를 찾아 누수가 있으면 재시작하고, 계속 부족하면 메모리를 늘리세요.",
            "Find what uses the memory; restart a leaking service, and add memory if it stays short.",
        ),
        Some((Reason::LevelCritical | Reason::LevelWarning, Some(Metric::Disk))) => (
            "지금 디스크 공간을 확보하세요 (로그, 백업, 임시 파일).",
            "Free disk space now (logs, backups, temporary files).",
        ),
        Some((Reason::LevelCritical | Reason::LevelWarning | Reason::SustainedHigh, _)) => (
            "CPU를 쓰는 프로세스를 확인하고, 정상 부하라면 스케일 아웃하세요.",
            "Find the processes using CPU, and scale out if the load is legitimate.",
        ),
        Some((Reason::LoadPerCore, _)) => (
            "코어 수보다 실행 대기 작업이 많습니다. CPU와 I/O 대기를 확인하세요.",
            "More runnable tasks than cores: check CPU use and I/O wait.",
        ),
        Some((Reason::Anomalies, _)) => (
            "이상 탐지 분석으로 언제, 어떤 지표가 평소 범위를 벗어났는지 확인하세요.",
            "Run the anomaly analysis to see when and which readings left their usual band.",
        ),
        Some((Reason::Exhaustion, _)) => (
            "한계에 도달하기 전에 정리하거나 용량을 늘리세요 (추세 예측 분석 참고).",
            "Act before the limit: clean up or add capacity (see the prediction analysis).",
        ),
    };
    lang.pick(ko, en)
}

/// One server's health as a finding.
pub(super) fn server_finding(server: &Server<'_>, h: ServerHealth, ctx: &Ctx<'_>) -> Finding {
    let (lang, label) = (ctx.lang, server.label());
    let (title, description) = match h.score {
        None => (
            lang.pick(format!("{label}: 점수를 매길 데이터가 없습니다"), format!("{label}: no data to score")),
            lang.pick(
                "이 서버에는 분석 기간의 측정값이 없습니다.".to_string(),
                "This server has no readings in the analysed range.".to_string(),
            ),
        ),
        Some(score) => {
            let reasons: Vec<String> = h
                .deductions
                .iter()
                .map(|d| lang.pick(format!("{} (-{}점)", d.text, d.points), format!("{} (-{})", d.text, d.points)))
                .collect();
            (
                lang.pick(format!("{label}: 건강 점수 {score:.0}/100"), format!("{label} health: {score:.0}/100")),
                if reasons.is_empty() {
                    lang.pick(
                        "감점 사유가 없습니다. 모든 지표가 정상 범위입니다.".to_string(),
                        "No deductions: every metric is within its normal range.".to_string(),
                    )
                } else {
                    lang.pick(
                        format!("감점 사유: {}.", reasons.join("; ")),
                        format!("Deductions: {}.", reasons.join("; ")),
                    )
                },
            )
        }
    };
    let top = h.deductions.first().map(|d| (d.reason, d.metric));
    let recommendation = match h.score {
        None => advice(Some((Reason::Stale, None)), lang),
        Some(_) => advice(top, lang),
    };
    Finding {
        kind: FindingKind::ServerHealth,
        severity: h.grade,
        server_id: Some(server.id.to_string()),
        server_name: Some(label.to_string()),
        metric: None,
        title,
        description,
        recommendation: recommendation.to_string(),
        score: h.score,
        evidence: Evidence::ServerHealth(h),
    }
}

/// The fleet's health as a finding.
pub(super) fn fleet_finding(f: FleetHealth, lang: Lang) -> Finding {
    let unscored = if f.unscored > 0 {
        lang.pick(format!(", 데이터 없음 {}", f.unscored), format!(", {} without data", f.unscored))
    } else {
        String::new()
    };
    let counts = lang.pick(
        format!("서버 {}대: 정상 {}, 경고 {}, 위험 {}{unscored}.", f.servers, f.healthy, f.warning, f.critical),
        format!(
            "{} servers: {} healthy, {} warning, {} critical{unscored}.",
            f.servers, f.healthy, f.warning, f.critical
        ),
    );
    let worst = f.worst.as_ref().filter(|w| w.score < 80.0);
    let (description, recommendation) = match worst {
        Some(w) => (
            lang.pick(
                format!("{counts} 가장 낮은 서버는 {} ({:.0}/100)입니다.", w.server_name, w.score),
                format!("{counts} Lowest: {} ({:.0}/100).", w.server_name, w.score),
            ),
            lang.pick(format!("{}부터 확인하세요.", w.server_name), format!("Start with {}.", w.server_name)),
        ),
        None => (counts, advice(None, lang).to_string()),
    };
    // A fleet with any server in trouble needs attention, however good its average.
    let troubled = f.critical + f.warning + f.unscored > 0;
    let severity = if troubled { super::grade(f.score).max(Severity::Warning) } else { super::grade(f.score) };
    Finding {
        kind: FindingKind::FleetHealth,
        severity,
        server_id: None,
        server_name: None,
        metric: None,
        title: lang.pick(format!("전체 건강 점수 {:.0}/100", f.score), format!("Fleet health: {:.0}/100", f.score)),
        description,
        recommendation,
        score: Some(f.score),
        evidence: Evidence::FleetHealth(f),
    }
}
