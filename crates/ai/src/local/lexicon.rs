//! The cue words of each question family, in Korean and English, written as `|`-separated lists and
//! prepared once (split, stemmed, spaces removed) into [`Lexicon`]. English cues match whole (stemmed)
//! words; Korean cues match inside the spaceless text, one-syllable ones only at a word start.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::text::{is_hangul, stem};
use super::words;

#[derive(Debug, Clone)]
pub struct Cue {
    pub raw: String,
    /// Written `=word`: matched as written, not stemmed ("=checks" is not "check").
    pub exact: bool,
    pub korean: bool,
    pub single_syllable: bool,
    pub compact: String,
    pub stems: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Cues {
    pub items: Vec<Cue>,
}

impl Cues {
    pub fn parse(spec: &str) -> Cues {
        let items = spec
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|written| {
                let exact = written.starts_with('=');
                let raw = written.trim_start_matches('=');
                let korean = raw.chars().any(is_hangul);
                Cue {
                    raw: raw.to_owned(),
                    exact,
                    korean,
                    single_syllable: korean && raw.chars().count() == 1,
                    compact: raw.chars().filter(|c| !c.is_whitespace()).collect(),
                    stems: raw.split_whitespace().map(|w| if exact { w.to_owned() } else { stem(w) }).collect(),
                }
            })
            .collect();
        Cues { items }
    }
}

macro_rules! lexicon {
    ($($name:ident: $spec:expr;)*) => {
        /// Every family's cues.
        #[derive(Debug)]
        pub struct Lexicon {
            $(pub $name: Cues,)*
        }

        fn build() -> Lexicon {
            Lexicon { $($name: Cues::parse($spec),)* }
        }

        /// All cue lists, for the vocabulary.
        const SPECS: &[&str] = &[$($spec,)*];
    };
}

lexicon! {
    help: "help|helps|what can you do|what can i ask|what kind of question|what sort of thing|what do you know|\
        what are you able|how do i use|how to use|how does this work|who are you|your capabilities|\
        do you understand|can you understand|questions do you|what do you support|what can i do here|\
        can you answer|what can you answer|kind of stuff|what stuff|\
        도움말|도움|도와줘|뭘 할 수|무엇을 할 수|뭐 할 수|뭐가 가능|할 수 있는|사용법|어떤 질문|뭘 물어|무엇을 물어|\
        뭐 알아|뭘 알아|기능이 뭐|너는 뭐|사용 방법|할 줄 알|할 줄 아는|할줄 알|해줄 수 있|해 줄 수 있|뭐 해줄|\
        뭘 해줄|무슨 기능|어떤 기능|뭘 물어봐|뭐 물어봐|무슨 질문|질문 할 수|질문할 수|물어볼 수";
    silence: "silence|silenced|silences|mute|muted|muting|snooze|snoozed|suppressed|quiet hour|\
        사일런스|음소거|무음|뮤트|알림 꺼|알림을 꺼|꺼둔|꺼 둔|꺼놓|꺼 놓|침묵|묵음|알림 중지|알림중지";
    budget: "egress|budget|free tier|free-tier|freetier|vm hour|vm hours|billing|bill|cost|costs|charge|\
        sustained share|sustained|burst credit|burst credits|cpu credit|cpu credits|\
        data transfer|transfer quota|allowance|plan limit|monthly limit|overage|\
        프리티어|프리 티어|무료 한도|무료 티어|무료티어|무료 등급|무료 플랜|무료|요금|비용|과금|청구|\
        vm 시간|vm시간|vm 사용|vm사용|전송량|송출|이그레스|한도 대비|사용 한도|월 한도|지속 사용";
    budget_month: "this month|month|monthly|이번 달|이번달|월간|한 달|이달";
    budget_traffic: "bandwidth|outbound|traffic|data|아웃바운드|트래픽|대역폭|나간";
    ai_quota: "quota|quotas|requests left|request left|requests remaining|remaining request|requests today|\
        ai request|ai requests|rate limit|calls today|api calls|gemini calls|ai calls|exhausted|used up|\
        할당량|쿼터|남은 요청|요청 수|요청 몇|다 썼|소진|\
        ai 요청|요청 한도|호출 횟수|호출 몇|호출 수";
    gateway: "engine|engines|gateway|ai provider|ai providers|llm provider|model|models|llm|llms|circuit|breaker|cache hit|\
        hit rate|hit ratio|ai cache|fallback|chain|gemini|groq|openai|anthropic|claude|ollama|\
        queries answered|ai queries|ai query|ai status|from cache|from the cache|cached answers|served from cache|\
        엔진|게이트웨이|ai 프로바이더|모델|서킷|브레이커|캐시 적중|적중률|히트율|히트 비율|캐시 효율|ai 캐시|폴백|\
        체인|제미나이|제미니|재미나이|질의|ai 상태|llm|캐시에서|캐시된 답";
    checks: "=checks|health check|healthcheck|uptime check|synthetic|endpoint|endpoints|ssl|tls|cert|\
        certificate|certificates|probe|probes|ping check|website|site|url|urls|monitor check|\
        헬스체크|헬스 체크|상태 체크|체크|엔드포인트|인증서|사이트|웹사이트|프로브|가용률|ssl|tls|url";
    explain: "why|reason|reasons|cause|caused|causing|explain|explanation|root cause|what triggered|triggered by|\
        eating|hogging|which process|what process|culprit|\
        how come|what made|evidence|\
        왜|이유|원인|설명|근본|때문|트리거|뭐 때문";
    ack: "acknowledged|acknowledge|acknowledgement|ack|acked|acking|who handled|\
        확인했|확인한|확인 안|확인안|누가 확인|ack|애크|처리했|처리한 사람|담당";
    since: "since when|how long|for how long|when did|when was|started|start|began|\
        언제부터|얼마나 됐|얼마나 된|언제 시작|언제 발생|몇 시부터|언제 울|된 지";
    alerts: "alert|alerts|alarm|alarms|firing|fired|alerting|paging|incident|incidents|notification|\
        notifications|going off|go off|went off|\
        알림|알람|경보|얼럿|발생 중|발생중|울리|울려|울린|떴|뜬 거|뜨는|인시던트|장애 알림";
    alert_states: "pending|resolved|cleared|closed|open|active|unacknowledged|acked|\
        대기|해결|해제|종료된|활성|미확인|확인 안";
    events: "happen|happened|happening|event|events|timeline|change log|log|logs|history of|\
        restart|restarted|restarts|reboot|rebooted|reboots|went down|go down|gone down|went offline|\
        go offline|came back|come back|recovered|recovery|anomaly|anomalies|anomalous|spike|spikes|\
        what is new|what's new|going on lately|activity|\
        무슨 일|일어난|일어났|있었던|이벤트|변경|변경사항|변경 사항|타임라인|로그|이력|재시작|재부팅|리부팅|\
        다운됐|다운된 적|오프라인 됐|오프라인이 됐|복구|살아났|이상 징후|이상징후|이상치|특이 사항|특이사항|\
        스파이크|추가된|삭제된|제거된|stop reporting|stopped reporting|stops reporting|went silent|went dark|\
        lost contact|보고가 끊|보고 끊|끊겼|끊긴 게|연락이 끊|연결이 끊";
    events_weak: "changes|changed|change|what is going on|going on|added|removed|\
        변경|변화|동안|있었어|있었나|생겼";
    trend: "trend|trends|trending|over time|history|graph|plot|chart|going up|going down|rising|rise|\
        increasing|increase|decreasing|decrease|growing|grow|climbing|dropping|falling|evolve|evolution|\
        추이|추세|흐름|그래프|차트|올라가|올라|늘고|늘어|늘었|증가|감소|떨어지|떨어져|오르|상승|하락";
    trend_weak: "changed|change|look like|looked like|lately|been|변화|어떻게 변|어땠|변했|계속";
    forecast: "fill up|fills up|filling up|run out|running out|runs out|exhaust|exhausted|exhaustion|predict|\
        prediction|forecast|projection|projected|when will|going to run|going to fill|days left|days until|\
        days till|until full|be full|get full|gets full|become full|capacity plan|\
        가득|꽉|고갈|바닥나|바닥|부족해|부족할|예측|언제 차|며칠 남|남은 일|다 차|찰까|차게|찰 것|소진|떨어질";
    forecast_weak: "full|fill|next week|next month|soon|예상|다음 주|다음주|다음 달|곧";
    compare: "compare|comparison|comparing|versus|vs|difference|differ|between|against|busier|more than|\
        less than|higher than|lower than|relative to|\
        비교|차이|어느 쪽|어디가 더|누가 더|보다|대비|중에 어디|중 어디|중에 누가|더 바|더 많이|더 높|더 써";
    rank: "top|bottom|highest|lowest|most|least|busiest|idlest|quietest|heaviest|biggest|largest|smallest|\
        hog|hogs|hungriest|rank|ranking|ranked|sort|sorted|order by|working the hardest|hardest|fullest|\
        emptiest|most full|least full|\
        상위|하위|순위|순으로|순서대로|가장|제일|젤|최고|최저|많이 쓰는|많이 먹는|적게 쓰는|높은 순|낮은 순|\
        많은 순|적은 순|랭킹|1등|일등|top";
    rank_weak: "high|low|heavy|light|hot|running hot|overloaded|overload|low on|running low|short on|\
        높은|낮은|많이|적게|많은|적은|부족한|부족|모자란|여유 없|과부하|뜨거운";
    out_of_scope: "weather|lunch|dinner|joke|movie|music|news|stock price|what time is it|\
        날씨|점심|저녁|메뉴|농담|영화|음악|뉴스|주가|몇 시야|몇시야";
    action: "restart|reboot|delete|remove|stop|start|kill|shutdown|shut down|deploy|scale|install|upgrade|\
        재시작해|재부팅해|삭제해|지워|꺼줘|켜줘|중지해|배포해|설치해";
    greeting: "hello|hi|hey|thanks|thank you|good morning|good job|안녕|고마워|감사|수고";
    average: "average|avg|mean|typical|median|overall average|\
        평균|평균값|보통|중간값";
    maximum: "max|maximum|peak|highest value|how high|top value|\
        최대|최고치|최댓값|최대값|피크|최고값|얼마까지|정점";
    minimum: "min|minimum|lowest value|how low|\
        최소|최저치|최솟값|최소값|최저값";
    value_words: "value|reading|number|percent|percentage|how much|\
        값|수치|얼마|몇 퍼|몇%|몇 %|몇퍼|퍼센트";
    triage: "attention|problem|problems|issue|issues|wrong|trouble|troubled|unhealthy|worry|worried|broken|\
        fix|fixing|look at first|deal with|concern|concerning|on fire|urgent|priority|prioritize|triage|\
        worst shape|bad shape|investigate|needs care|not healthy|not ok|look into|look at|check out|\
        should know|need to know|worry about|keep an eye on|struggling|struggle|suffering|degraded|unstable|\
        flapping|misbehaving|acting up|in trouble|looking bad|look bad|bad|unhappy|need help|need my help|\
        주의가 필요|주의 필요|주의해야|주의할|문제|이상 있|이상있|이상한|비정상|점검이 필요|점검 필요|점검해야|\
        신경 써|신경써|장애|위험한|조치|급한|손봐|손 봐|우선순위|안 좋은|안좋은|아픈|살펴봐야|봐야 돼|봐야 할|\
        봐야돼|봐야 하|확인해야|확인이 필요|챙겨|처리해야|해결해야|먼저 봐|먼저 처리|급해|문제 생|이상 생|\
        말썽|불안정|골치|안 좋|나쁜|좋지 않|위험해|위험하|위험 한|도움이 필요|도움 필요|도와줘야";
    summary: "summary|summarize|summarise|overview|status|state|health|healthy|how are|how is|rundown|\
        report|dashboard|everything|overall|looking|doing|holding up|going|shape|situation|picture|\
        at a glance|ok|okay|fine|alright|good|\
        요약|현황|상태|상황|괜찮|어때|어떤가|어떻|어떤지|전반|전체|브리핑|보고|잘 돌아|정리|한눈|살아|잘 버티|\
        문제없|이상없|이상 없";
    server_nouns: "server|servers|machine|machines|box|boxes|host|hosts|node|nodes|instance|instances|vm|vms|\
        fleet|infrastructure|infra|system|systems|everything|\
        서버|장비|인프라|시스템|머신|호스트|노드|인스턴스|전체";
    count: "how many|number of|count|total|\
        몇 대|몇 개|몇 건|몇대|몇개|몇건|개수|갯수|대수|총 몇|몇 곳|몇 가지|몇 번|몇번|얼마나 많|서버 수|서버수|\
        전체 수|총 수";
    list: "which|what|list|show|name|names|display|give me|tell me|enumerate|who|\
        어떤|어느|뭐|뭐뭐|무슨|목록|리스트|보여|알려|나열|누구|어디";
    uptime: "uptime|up time|been up|been running|last reboot|last rebooted|last restart|last restarted|\
        since boot|booted|가동 시간|가동시간|업타임|켜져 있|켜진 지|마지막으로 재부팅|마지막 재부팅|\
        마지막으로 재시작|마지막 재시작|재부팅한 게 언제|재시작한 게 언제|부팅";
    free_space: "free|left|remaining|available|space left|headroom|\
        여유|남은|남아|가용|빈 공간";
    followup: "and|what about|how about|also|instead|then|too|as well|same for|only|just|switch|change to|\
        그럼|그러면|그건|그거|그중|그 중|거기|걔|걔네|그 서버|그 알림|대신|말고|만 보면|도|바꿔";
    pronoun: "it|its|it's|that|this|them|those|these|they|their|그|그거|그것|걔|이거|저거";
    usage_word: "usage|utilization|utilisation|use|used|using|load|사용률|사용량|사용|쓰는|쓰고|먹는";
}

static LEXICON: OnceLock<Lexicon> = OnceLock::new();
static VOCABULARY: OnceLock<HashSet<String>> = OnceLock::new();

/// The prepared cue lists (built on first use; read-only afterwards).
pub fn lexicon() -> &'static Lexicon {
    LEXICON.get_or_init(build)
}

/// Every cue list as written.
pub fn all_specs() -> impl Iterator<Item = &'static str> {
    SPECS.iter().copied()
}

/// Every English word the engine knows: spelling fixes aim at these.
pub fn vocabulary() -> &'static HashSet<String> {
    VOCABULARY.get_or_init(|| {
        let mut out = HashSet::new();
        let lists = SPECS.iter().copied().chain(words::all_word_specs()).chain(super::time::window_words());
        for spec in lists {
            for word in spec.split(['|', ' ']) {
                let w = word.trim().trim_start_matches('=');
                if w.len() >= 2 && w.chars().all(|c| c.is_ascii_lowercase()) {
                    out.insert(w.to_owned());
                }
            }
        }
        out
    })
}
