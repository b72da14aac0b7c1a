//! The question table: questions in Korean and English against one fixed fleet, each with the intent,
//! the language and the facts its answer must state.

use super::*;

const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
const MB: f64 = 1_000_000.0;

#[allow(clippy::too_many_arguments)]
fn server(
    id: &str,
    kind: &str,
    status: &str,
    cpu: f64,
    memory: f64,
    disk: f64,
    load1: f64,
    disk_gb: u64,
) -> ServerFact {
    ServerFact {
        id: id.into(),
        name: id.into(),
        server_type: kind.into(),
        status: status.into(),
        cpu,
        memory,
        disk,
        network_in: 2.5 * MB,
        network_out: 6.0 * MB,
        load1,
        uptime_secs: 12 * 86_400 + 3 * 3600,
        disk_total_bytes: disk_gb * 1_000_000_000,
    }
}

fn line(server: &str, metric: &str, from: i64, step: i64, values: impl Iterator<Item = f64>) -> Series {
    Series {
        server_id: server.into(),
        metric: metric.into(),
        points: values.enumerate().map(|(i, v)| (from + i as i64 * step, v)).collect(),
    }
}

/// The fixed fleet: web-02 CPU rising over the last hour, db-master CPU falling, web-01 flat, redis
/// memory rising over a day, backup's disk growing 1 point a day, db-master's disk flat for a week.
pub fn fixture() -> Facts {
    let servers = vec![
        server("web-01", "web", "online", 45.5, 60.2, 38.0, 1.20, 100),
        server("web-02", "web", "warning", 78.4, 71.3, 41.7, 3.10, 100),
        server("api-01", "api", "online", 52.1, 58.9, 33.3, 1.85, 200),
        server("api-02", "api", "online", 33.7, 49.5, 35.6, 0.95, 200),
        server("db-master", "database", "critical", 95.2, 88.6, 82.4, 7.85, 500),
        server("db-replica", "database", "online", 41.9, 66.1, 79.8, 2.40, 500),
        server("redis-cache", "cache", "warning", 23.4, 91.7, 22.5, 0.60, 50),
        server("monitoring", "monitoring", "online", 29.8, 54.4, 61.2, 1.10, 200),
        server("backup", "backup", "online", 12.6, 31.2, 93.1, 0.45, 2000),
        server("security", "security", "online", 18.3, 40.8, 27.9, 0.30, 50),
    ];
    let alert = |server: &str, severity: &str, title: &str, ago: i64, value: f64| AlertFact {
        server_id: server.into(),
        severity: severity.into(),
        title: title.into(),
        started_at_ms: NOW - ago,
        value,
    };
    let alerts = vec![
        alert("redis-cache", "warning", "Memory usage high", 2 * HOUR + 10 * MIN, 91.7),
        alert("db-master", "critical", "CPU usage critical", 25 * MIN, 95.2),
        alert("backup", "warning", "Disk usage high", 3 * DAY, 93.1),
    ];
    let five = 5 * MIN;
    let series = vec![
        line("web-02", "cpu", NOW - HOUR, five, (0..=12).map(|i| 60.0 + 18.4 * i as f64 / 12.0)),
        line("db-master", "cpu", NOW - HOUR, five, (0..=12).map(|i| 99.0 - 3.8 * i as f64 / 12.0)),
        line("web-01", "cpu", NOW - HOUR, five, (0..=12).map(|i| 45.5 + if i % 2 == 0 { 0.3 } else { -0.3 })),
        line("redis-cache", "memory", NOW - DAY, HOUR, (0..=24).map(|i| 80.0 + 11.7 * i as f64 / 24.0)),
        line("backup", "disk", NOW - 7 * DAY, DAY, (0..=7).map(|i| 86.1 + i as f64)),
        line("db-master", "disk", NOW - 7 * DAY, DAY, (0..=7).map(|_| 82.4)),
    ];
    Facts { now_ms: NOW, servers, alerts, series }
}

/// (question, intent, language, facts the answer must contain)
const TABLE: &[(&str, &str, &str, &[&str])] = &[
    // Korean
    ("서버 상태 요약해줘", "fleet_summary", "ko", &["10대", "정상 7대", "경고 2대", "심각 1대", "43.1%", "db-master"]),
    ("전체 서버 현황 알려줘", "fleet_summary", "ko", &["심각 1대", "61.3%", "알림 3건"]),
    ("서버들 괜찮아?", "fleet_summary", "ko", &["정상 7대", "redis-cache"]),
    ("web-01 상태 어때?", "server_status", "ko", &["web-01", "45.5%", "60.2%", "정상"]),
    ("웹서버 1 상태 알려줘", "server_status", "ko", &["web-01", "45.5%", "38.0%"]),
    ("디비 마스터 상태는?", "server_status", "ko", &["db-master", "95.2%", "심각", "CPU usage critical"]),
    ("레디스 메모리 어때?", "server_status", "ko", &["redis-cache", "91.7%"]),
    ("CPU 사용률 상위 3개 서버", "top_n", "ko", &["db-master 95.2%", "web-02 78.4%", "api-01 52.1%"]),
    ("메모리 가장 높은 서버는?", "top_n", "ko", &["redis-cache", "91.7%"]),
    ("디스크 사용량 하위 3개", "top_n", "ko", &["redis-cache 22.5%", "security 27.9%", "api-01 33.3%"]),
    ("부하 높은 순으로 보여줘", "top_n", "ko", &["db-master 7.85", "web-02 3.10"]),
    ("CPU 80% 이상인 서버", "above_threshold", "ko", &["1대", "db-master 95.2%"]),
    ("메모리 80 넘는 서버 있어?", "above_threshold", "ko", &["2대", "redis-cache 91.7%", "db-master 88.6%"]),
    ("디스크 95% 초과 서버", "above_threshold", "ko", &["없습니다", "backup", "93.1%"]),
    ("지난 1시간 web-02 CPU 추이", "trend", "ko", &["web-02", "증가 추세", "시간당 +18.4%p", "78.4%", "60.0%"]),
    ("최근 24시간 레디스 메모리 추세", "trend", "ko", &["redis-cache", "증가 추세", "91.7%", "24시간"]),
    ("db-master CPU 변화 보여줘", "trend", "ko", &["db-master", "감소 추세", "95.2%", "99.0%"]),
    ("오늘 CPU 추이는?", "trend", "ko", &["web-02", "db-master", "web-01", "증가 추세"]),
    ("현재 발생 중인 알림 알려줘", "alerts", "ko", &["3건", "심각 1", "db-master", "CPU usage critical", "25분"]),
    ("백업 서버 경고 있어?", "alerts", "ko", &["backup", "1건", "Disk usage high", "3일"]),
    ("backup 디스크 언제 가득 차?", "disk_full", "ko", &["backup", "93.1%", "6.9일", "138.0 GB"]),
    ("디비 마스터 디스크 고갈 예측", "disk_full", "ko", &["db-master", "82.4%", "예상되지 않습니다"]),
    ("디스크 언제 꽉 차?", "disk_full", "ko", &["backup", "6.9일", "나머지 1대"]),
    ("web-01과 web-02 비교해줘", "compare", "ko", &["web-01", "web-02", "45.5%", "78.4%"]),
    ("웹서버들 CPU 비교", "compare", "ko", &["web-01", "web-02", "32.9%p"]),
    ("도움말", "help", "ko", &["서버 상태 요약", "상위 3개"]),
    ("오늘 날씨 어때?", "help", "ko", &["이해하지 못했습니다"]),
    ("web-09 상태", "server_status", "ko", &["web-09", "찾을 수 없습니다", "web-01"]),
    // English
    ("How are my servers?", "fleet_summary", "en", &["10 servers", "7 online", "2 warning", "1 critical", "43.1%"]),
    ("Give me a fleet overview", "fleet_summary", "en", &["db-master", "61.3%", "3 alerts firing"]),
    ("What's the status of web-01?", "server_status", "en", &["web-01", "45.5%", "60.2%", "online"]),
    ("how is db master doing", "server_status", "en", &["db-master", "95.2%", "critical", "88.6%"]),
    ("Show redis status", "server_status", "en", &["redis-cache", "91.7%", "Memory usage high"]),
    ("tell me about web server 2", "server_status", "en", &["web-02", "78.4%"]),
    ("top 3 servers by cpu", "top_n", "en", &["Top 3", "db-master 95.2%", "web-02 78.4%", "api-01 52.1%"]),
    ("Which server has the highest memory usage?", "top_n", "en", &["redis-cache", "91.7%"]),
    ("lowest 2 servers by disk", "top_n", "en", &["redis-cache 22.5%", "security 27.9%"]),
    ("top five by load", "top_n", "en", &["Top 5", "db-master 7.85", "web-01 1.20"]),
    ("servers with cpu above 80%", "above_threshold", "en", &["1 server(s)", "db-master 95.2%"]),
    ("memory over 85 percent", "above_threshold", "en", &["redis-cache 91.7%", "db-master 88.6%"]),
    ("any server with disk more than 95%?", "above_threshold", "en", &["No server", "backup at 93.1%"]),
    ("cpu trend of web-02 over the last hour", "trend", "en", &["web-02", "rising", "+18.4 points/hour", "78.4%"]),
    ("redis memory over the last 24h", "trend", "en", &["redis-cache", "rising", "24 hours", "91.7%"]),
    ("show db-master cpu history", "trend", "en", &["db-master", "falling", "95.2%"]),
    ("web-01 cpu in the past 7 days", "trend", "en", &["web-01", "steady", "7 days", "45.5%"]),
    ("Which alerts are firing?", "alerts", "en", &["3 alerts firing", "1 critical", "CPU usage critical", "25m"]),
    ("any alerts on redis?", "alerts", "en", &["1 alert firing", "redis-cache", "Memory usage high", "2h 10m"]),
    ("When will the disk on backup be full?", "disk_full", "en", &["backup", "93.1%", "6.9 days", "138.0 GB free"]),
    ("will db-master run out of disk space?", "disk_full", "en", &["db-master", "no exhaustion expected in range"]),
    ("which disks will fill up soon", "disk_full", "en", &["backup", "6.9 days", "other 1"]),
    ("compare web-01 and web-02", "compare", "en", &["web-01", "web-02", "45.5%", "78.4%"]),
    ("api-01 vs api-02 memory", "compare", "en", &["58.9%", "49.5%", "9.4 points"]),
    ("help", "help", "en", &["Top 3 servers by CPU", "When will the disk"]),
    ("what's the weather like?", "help", "en", &["didn't understand"]),
    ("status of web-09", "server_status", "en", &["web-09", "couldn't find", "db-replica"]),
];

#[test]
fn question_table() {
    let engine = LocalEngine::new();
    let facts = fixture();
    let mut failures = Vec::new();
    for (query, intent, lang, facts_in_answer) in TABLE {
        let answer = engine.answer(query, &facts);
        let missing: Vec<&&str> = facts_in_answer.iter().filter(|f| !answer.text.contains(**f)).collect();
        if answer.intent != *intent || answer.lang != *lang || !missing.is_empty() {
            failures.push(format!(
                "{query:?}: intent {} (want {intent}), lang {} (want {lang}), missing {missing:?}\n  text: {}",
                answer.intent, answer.lang, answer.text
            ));
        }
        assert!((0.0..=1.0).contains(&answer.confidence), "{query}: confidence {}", answer.confidence);
        let steps: Vec<&str> = answer.thinking_steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(steps, ["parse", "match servers", "fetch data", "compute", "compose"], "{query}");
        assert!(answer.thinking_steps.iter().all(|s| s.status == "completed" && !s.description.is_empty()));
    }
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), TABLE.len(), failures.join("\n"));
}

#[test]
fn table_is_big_enough_in_both_languages() {
    let ko = TABLE.iter().filter(|row| row.2 == "ko").count();
    let en = TABLE.iter().filter(|row| row.2 == "en").count();
    assert!(ko >= 20 && en >= 20 && ko + en >= 40, "ko {ko}, en {en}");
    for intent in [
        "fleet_summary",
        "server_status",
        "top_n",
        "above_threshold",
        "trend",
        "alerts",
        "disk_full",
        "compare",
        "help",
    ] {
        for lang in ["ko", "en"] {
            assert!(TABLE.iter().any(|row| row.1 == intent && row.2 == lang), "no {lang} question for {intent}");
        }
    }
}

#[test]
fn unanswerable_questions_get_help_with_low_confidence() {
    let engine = LocalEngine::new();
    for query in ["what's the weather like?", "오늘 날씨 어때?", "점심 메뉴 추천해줘", "", "???"] {
        let answer = engine.answer(query, &fixture());
        assert_eq!(answer.intent, "help", "{query}");
        assert!(answer.confidence < 0.5, "{query}: {}", answer.confidence);
        assert!(!answer.text.is_empty());
    }
    let asked = engine.answer("what can you do?", &fixture());
    assert_eq!(asked.intent, "help");
    assert!(asked.confidence >= 0.5);
}

#[test]
fn understand_tells_which_history_to_fetch() {
    let engine = LocalEngine::new();
    let intent = engine.understand("지난 1시간 웹서버 2 CPU 추이");
    assert_eq!(intent, Intent::Trend { server: Some("web-02".into()), metric: Metric::Cpu, range_ms: HOUR });
    assert_eq!(
        intent.history_need(),
        Some(HistoryNeed { server: Some("web-02".into()), metric: Metric::Cpu, range_ms: HOUR })
    );
    let intent = engine.understand("when will the disk on backup be full");
    assert_eq!(intent, Intent::DiskFull { server: Some("backup".into()) });
    assert_eq!(intent.history_need().map(|n| n.range_ms), Some(DISK_FULL_RANGE_MS));
    assert_eq!(
        engine.understand("memory trend this week"),
        Intent::Trend { server: None, metric: Metric::Memory, range_ms: 7 * DAY }
    );
    assert_eq!(engine.understand("top 3 cpu").history_need(), None);
    // A real fleet's names can be taught.
    let engine = LocalEngine::new().with_known_servers(["gateway-7".to_owned()]);
    assert_eq!(engine.understand("gateway-7 status"), Intent::ServerStatus { server: "gateway-7".into() });
}

#[test]
fn answers_without_data_still_answer() {
    let engine = LocalEngine::new();
    let empty = Facts::default();
    for query in [
        "서버 상태 요약",
        "top 3 by cpu",
        "web-01 cpu trend",
        "when will disks fill up",
        "alerts",
        "compare web-01 and web-02",
    ] {
        let answer = engine.answer(query, &empty);
        assert!(!answer.text.is_empty(), "{query}");
    }
    let mut facts = fixture();
    facts.series.clear();
    let answer = engine.answer("backup 디스크 언제 가득 차?", &facts);
    assert_eq!(answer.intent, "disk_full");
    assert!(answer.text.contains("93.1%") && answer.confidence <= 0.5, "{}", answer.text);
}

#[test]
fn answers_serialize() {
    let answer = LocalEngine::new().answer("top 3 cpu", &fixture());
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(json["intent"], "top_n");
    assert_eq!(serde_json::to_value(Intent::Alerts).unwrap()["type"], "alerts");
}
