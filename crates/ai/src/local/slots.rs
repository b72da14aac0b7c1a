//! The slots of a parsed question once its intent is known: the default metric, a ranking's direction
//! and count, a threshold, the aggregate, the groups of a comparison, the alert, event and budget
//! aspects, and the options of a clarifying question.

use super::facts::{AlertState, EventKind};
use super::filters::Filter;
use super::lexicon::Lexicon;
use super::numbers::{Cmp, Num};
use super::question::{Agg, BudgetPart, Question};
use super::text::{CueView, Lang};
use super::time::Window;
use super::{Intent, Metric};

/// The intent's own slots: default metric, ranking direction and count, threshold, aggregate, alert and
/// event aspects, budget parts, and the options of a clarifying question.
pub fn fill(q: &mut Question, c: &CueView, lx: &Lexicon, nums: &[Num], metrics: &[Metric]) {
    let has = |cues: &super::lexicon::Cues| c.has(cues);
    let low = [
        "lowest", "least", "bottom", "idlest", "idle", "quietest", "smallest", "fewest", "하위", "낮은", "적은",
        "적게", "최저", "한가", "한산", "덜",
    ];
    let free = has(&lx.free_space);
    // "low on disk", "디스크 부족한": short of free space, i.e. the most used.
    let short_of = ["low on", "running low", "short on", "부족", "모자란", "여유 없", "여유없"]
        .iter()
        .any(|w| c.spaced.contains(w) || c.compact.contains(w));
    let mut ascending = !short_of
        && low.iter().any(|w| {
            c.spaced.split_whitespace().any(|x| x.starts_with(w))
                || (w.chars().any(super::text::is_hangul) && c.compact.contains(w))
        });
    if free && q.metric.is_none_or(|m| m == Metric::Disk) {
        ascending = !ascending;
        q.metric = Some(Metric::Disk);
    }
    q.ascending = ascending;
    let count = nums
        .iter()
        .find(|n| n.counted || (!n.percent && !n.size && n.cmp.is_none() && n.value.fract() == 0.0 && n.value >= 1.0));
    match q.intent {
        Intent::TopN => {
            let plural = c.spaced.split_whitespace().any(|w| {
                w.ends_with('s')
                    && (w.starts_with("server")
                        || w.starts_with("machine")
                        || w.starts_with("box")
                        || w.starts_with("host")
                        || w.starts_with("hog")
                        || w.starts_with("one"))
            }) || c.compact.contains("서버들")
                || has(&lx.list) && (c.compact.contains("순위") || c.compact.contains("순으로"));
            let every = c.stems.iter().any(|w| matches!(w.as_str(), "all" | "every" | "each"))
                || ["서버별", "모든", "전체"].iter().any(|w| c.compact.contains(w));
            let listed = ["top", "bottom", "rank", "sort", "상위", "하위", "순위", "순으로", "순서"]
                .iter()
                .any(|w| c.spaced.contains(w));
            let default = if every {
                50
            } else if listed || plural {
                5
            } else {
                1
            };
            q.n = Some(count.map_or(default, |n| n.value as usize).clamp(1, 50));
            if q.metric.is_none() {
                q.metric_defaulted = true;
            }
        }
        Intent::AboveThreshold => {
            if let Some(n) = nums.iter().find(|n| !n.size && !n.counted && (n.cmp.is_some() || n.percent)) {
                q.threshold = Some((n.cmp.unwrap_or(Cmp::Above), n.value));
            }
            if q.metric.is_none() {
                q.metric_defaulted = true;
            }
        }
        Intent::Aggregate => {
            q.agg = Some(if has(&lx.average) {
                Agg::Avg
            } else if has(&lx.minimum) || (ascending && has(&lx.rank)) {
                Agg::Min
            } else if has(&lx.maximum) || has(&lx.rank) {
                Agg::Max
            } else {
                Agg::Avg
            });
            q.agg =
                if has(&lx.average) || has(&lx.maximum) || has(&lx.minimum) || has(&lx.rank) { q.agg } else { None };
        }
        Intent::Compare if q.filter.types.len() >= 2 => {
            q.groups = q.filter.types.iter().map(|t| Filter { types: vec![t.clone()], ..Filter::default() }).collect();
            q.filter.types.clear();
        }
        Intent::Trend | Intent::ServerMetric | Intent::Forecast if q.metric.is_none() && !q.uptime => {
            q.metric_defaulted = true;
            if q.intent == Intent::Forecast {
                q.metric = Some(Metric::Disk);
            }
        }
        _ => {}
    }
    if q.intent == Intent::Trend && q.metric.is_none() {
        q.metric = Some(Metric::Cpu);
    }
    alert_slots(q, c, lx);
    event_slots(q, c);
    budget_slots(q, c);
    q.over = ["over", "exceed", "beyond", "past the", "넘", "초과", "오버"].iter().any(|w| c.spaced.contains(w));
    q.group_by = group_by(c);
    q.cache =
        q.intent == Intent::Gateway && ["cache", "hit", "캐시", "적중", "히트"].iter().any(|w| c.spaced.contains(w));
    q.certs = ["cert", "certificate", "ssl", "tls", "인증서", "만료"].iter().any(|w| c.spaced.contains(w));
    if q.intent == Intent::Clarify {
        q.clarify = clarify_options(q, metrics);
    }
}

/// "per provider", "by environment", "환경별", "타입별".
pub fn group_by(c: &CueView) -> Option<super::question::GroupBy> {
    use super::question::GroupBy;
    let groups: [(GroupBy, &[&str]); 6] = [
        (GroupBy::Provider, &["provider", "cloud", "프로바이더", "클라우드", "제공자"]),
        (GroupBy::Environment, &["environment", "env", "환경"]),
        (GroupBy::Type, &["type", "role", "kind", "타입", "종류", "유형", "역할"]),
        (GroupBy::Location, &["location", "region", "zone", "위치", "리전", "지역"]),
        (GroupBy::Source, &["source", "소스", "출처"]),
        (GroupBy::Status, &["status", "state", "상태"]),
    ];
    let words: Vec<&str> = c.spaced.split_whitespace().collect();
    for (g, names) in groups {
        for (i, w) in words.iter().enumerate() {
            let en = names.iter().any(|n| w.trim_end_matches('s') == *n || *w == *n);
            let before = i > 0 && matches!(words[i - 1], "per" | "by" | "each");
            if en && before {
                return Some(g);
            }
            if names.iter().any(|n| !n.is_ascii() && (w.starts_with(&format!("{n}별")) || *w == format!("{n}별"))) {
                return Some(g);
            }
        }
    }
    None
}

fn alert_slots(q: &mut Question, c: &CueView, lx: &Lexicon) {
    let a = &mut q.alerts;
    let word = |ws: &[&str]| ws.iter().any(|w| c.spaced.contains(w) || c.compact.contains(w));
    if word(&["pending", "대기"]) {
        a.states.push(AlertState::Pending);
    }
    if word(&["resolved", "resolve", "cleared", "해결", "해제"]) {
        a.states.push(AlertState::Resolved);
    }
    a.all = word(&["all alert", "every alert", "알림 전체", "전체 알림", "모든 알림", "all of the alert"])
        || (word(&["all"]) && c.stems.iter().any(|s| s == "alert"));
    a.unacked = word(&["unacknowledged", "not acknowledged", "unacked", "확인 안", "확인안", "미확인"]);
    a.ack = !a.unacked && c.has(&lx.ack);
    a.since = c.has(&lx.since);
    for (sev, ws) in [("critical", ["critical", "심각"]), ("warning", ["warning", "경고"])] {
        if word(&ws) {
            a.severity = Some(sev.to_owned());
        }
    }
}

fn event_slots(q: &mut Question, c: &CueView) {
    let word = |ws: &[&str]| ws.iter().any(|w| c.spaced.contains(w) || c.compact.contains(w));
    let kinds = [
        (EventKind::Restart, &["restart", "reboot", "재시작", "재부팅", "리부팅"][..]),
        (EventKind::Anomaly, &["anomal", "spike", "이상 징후", "이상징후", "이상치", "특이"][..]),
        (EventKind::AlertFired, &["fired", "triggered", "발생한 알림", "발생한 경보", "울린"][..]),
        (EventKind::AlertResolved, &["resolved", "해결된"][..]),
        (EventKind::ServerAdded, &["added", "추가된"][..]),
        (EventKind::ServerRemoved, &["removed", "삭제된", "제거된"][..]),
    ];
    if q.intent != Intent::Events {
        return;
    }
    for (kind, ws) in kinds {
        if word(ws) {
            q.event_kinds.push(kind);
        }
    }
    let down = word(&[
        "went down",
        "go down",
        "gone down",
        "went offline",
        "go offline",
        "다운",
        "오프라인",
        "offline",
        "죽",
        "stop report",
        "stopped report",
        "went silent",
        "끊",
    ]);
    if down {
        q.event_kinds.push(EventKind::StatusChanged);
        q.event_kinds.push(EventKind::CheckDown);
        q.event_to = Some("offline".to_owned());
    }
}

fn budget_slots(q: &mut Question, c: &CueView) {
    if q.intent != Intent::Budget {
        return;
    }
    let word = |ws: &[&str]| ws.iter().any(|w| c.spaced.contains(w) || c.compact.contains(w));
    let parts = [
        (BudgetPart::Projected, &["project", "go over", "exceed", "넘을", "예상", "초과할"][..]),
        (BudgetPart::Hub, &["hub", "허브"][..]),
        (BudgetPart::VmHours, &["vm hour", "vm 시간", "vm시간", "hours left", "vm"][..]),
        (BudgetPart::Disk, &["disk", "디스크", "gb", "storage"][..]),
        (BudgetPart::Cpu, &["cpu", "sustained", "지속"][..]),
        (BudgetPart::Ai, &["gemini", "ai", "quota", "request", "제미나이", "할당량", "요청"][..]),
        (
            BudgetPart::Egress,
            &["egress", "bandwidth", "traffic", "transfer", "outbound", "전송", "트래픽", "아웃바운드"][..],
        ),
    ];
    for (part, ws) in parts {
        if word(ws) {
            q.budget.push(part);
        }
    }
}

/// The readings offered back for a question too bare to answer.
fn clarify_options(q: &Question, metrics: &[Metric]) -> Vec<String> {
    let ko = q.lang == Lang::Ko;
    if let Some(w) = q.window.filter(|w| *w != Window::Now) {
        let label = w.label(q.lang);
        return if ko {
            vec![format!("{label} 이벤트"), format!("{label} CPU 추이"), format!("{label} 메모리 추이")]
        } else {
            vec![format!("events in {label}"), format!("CPU trend over {label}"), format!("memory trend over {label}")]
        };
    }
    let _ = metrics;
    if ko {
        vec!["CPU 사용률".into(), "메모리 사용률".into(), "디스크 사용률".into()]
    } else {
        vec!["CPU usage".into(), "memory usage".into(), "disk usage".into()]
    }
}
