//! The words behind entities: metrics, statuses, server types, environments, providers, regions, sources,
//! time units and number words, plus the spelling tables (contractions, common Korean typos) and the
//! Korean names of the parts of server ids ("디비 마스터" is db-master).

use super::Metric;

pub const APOSTROPHES: [(&str, &str); 4] = [("’", "'"), ("‘", "'"), ("`", "'"), ("´", "'")];

/// Common Korean typos and shorthand, fixed before anything else.
pub const KO_TYPOS: &[(&str, &str)] = &[
    ("됬", "됐"),
    ("잇어", "있어"),
    ("잇나", "있나"),
    ("잇는", "있는"),
    ("잇음", "있음"),
    ("어떄", "어때"),
    ("어땟", "어땠"),
    ("매모리", "메모리"),
    ("메모라", "메모리"),
    ("메모래", "메모리"),
    ("메머리", "메모리"),
    ("디스그", "디스크"),
    ("디크스", "디스크"),
    ("씨퓨", "씨피유"),
    ("시퓨", "씨피유"),
    ("상테", "상태"),
    ("샹태", "상태"),
    ("알려죠", "알려줘"),
    ("알려쥬", "알려줘"),
    ("알려줭", "알려줘"),
    ("보여죠", "보여줘"),
    ("보여쥬", "보여줘"),
    ("써버", "서버"),
    ("서벼", "서버"),
    ("섭버", "서버"),
    ("알름", "알림"),
    ("알리ㅁ", "알림"),
    ("경괴", "경고"),
    ("오프리인", "오프라인"),
    ("오푸라인", "오프라인"),
    ("트레픽", "트래픽"),
    ("네트웍", "네트워크"),
    ("뭐야뭐야", "뭐야"),
    // Not typos, but words that would read wrongly: "심각도 순" is an order, not the critical status.
    ("심각도", "우선순위"),
];

/// Whole-word contractions and chat shorthand (apostrophe forms are split by rule in `text`).
pub const CONTRACTIONS: &[(&str, &str)] = &[
    ("what's", "what is"),
    ("whats", "what is"),
    ("who's", "who is"),
    ("whos", "who is"),
    ("where's", "where is"),
    ("wheres", "where is"),
    ("how's", "how is"),
    ("hows", "how is"),
    ("it's", "it is"),
    ("that's", "that is"),
    ("thats", "that is"),
    ("there's", "there is"),
    ("theres", "there is"),
    ("here's", "here is"),
    ("isnt", "is not"),
    ("arent", "are not"),
    ("wasnt", "was not"),
    ("werent", "were not"),
    ("dont", "do not"),
    ("doesnt", "does not"),
    ("didnt", "did not"),
    ("havent", "have not"),
    ("hasnt", "has not"),
    ("can't", "can not"),
    ("cant", "can not"),
    ("won't", "will not"),
    ("wont", "will not"),
    ("let's", "let us"),
    ("im", "i am"),
    ("r", "are"),
    ("u", "you"),
    ("ur", "your"),
    ("pls", "please"),
    ("plz", "please"),
    ("thx", "thanks"),
    ("w", "with"),
    ("abt", "about"),
];

pub const METRIC_WORDS: [(Metric, &str); 5] = [
    (
        Metric::Cpu,
        "cpu|cpus|processor|processors|compute|busy|busier|busiest|idle|idlest|working the hardest|hardest|\
         running hot|hot|씨피유|시피유|프로세서|바쁜|바빠|바쁘|일 많이|일을 많이|한가|한산",
    ),
    (Metric::Memory, "memory|mem|ram|메모리|램|메모리사용|메모리 사용"),
    (
        Metric::Disk,
        "disk|disks|storage|disk space|space|drive|drives|volume|volumes|filesystem|\
         디스크|저장공간|저장 공간|스토리지|용량|디스크 공간|드라이브",
    ),
    (
        Metric::Network,
        "network|net|traffic|bandwidth|throughput|inbound|outbound|ingress|rx|tx|\
         네트워크|트래픽|대역폭|수신|송신|인바운드|아웃바운드|네트웍",
    ),
    (Metric::Load, "load|loaded|load average|loadavg|부하|로드|로드 애버리지"),
];

/// Words for a status, and the status.
pub const STATUS_WORDS: [(&str, &str); 5] = [
    ("critical", "critical|crit|severe|심각|위험|크리티컬|치명"),
    ("warning", "warning|warn|경고|주의 상태|주의인|주의 단계|주의 수준|워닝"),
    (
        "offline",
        "offline|down|unreachable|dead|not responding|not reporting|unresponsive|disconnected|\
         오프라인|다운|죽은|죽었|꺼진|꺼져|응답 없|응답없|연결 끊|끊긴|접속 불가|접속불가",
    ),
    ("online", "online|healthy|up and running|are up|is up|all up|still up|온라인|정상|살아있|살아 있"),
    ("maintenance", "maintenance|maint|점검 중|점검중|유지보수|정비|메인터넌스"),
];

/// Words for a server type, and the type.
pub const TYPE_WORDS: [(&str, &str); 8] = [
    ("web", "web|webserver|frontend|웹|프론트"),
    ("api", "api|에이피아이"),
    ("database", "database|db|postgres|postgresql|mysql|디비|데이터베이스|데이타베이스"),
    ("cache", "cache|캐시"),
    ("monitoring", "monitoring|모니터링"),
    ("backup", "backup|백업"),
    ("security", "security|보안"),
    ("firewall", "firewall|방화벽"),
];

/// Words for an environment, and the prefixes of environment names they match.
pub const ENV_WORDS: [(&str, &str); 4] = [
    ("production|prod", "production|prod|prd|운영|프로덕션|상용|실서버"),
    ("staging|stage|stg", "staging|stage|stg|스테이징|스테이지"),
    ("development|dev", "development|dev|개발"),
    ("test|qa", "test|testing|qa|테스트"),
];

/// Words for a provider, and the substrings of provider names they match.
pub const PROVIDER_WORDS: [(&str, &str); 7] = [
    ("aws|amazon", "aws|amazon|아마존"),
    ("gcp|google", "gcp|google cloud|google|구글 클라우드|구글|지씨피"),
    ("azure|microsoft", "azure|애저|애져"),
    ("oracle|oci", "oracle|oci|오라클"),
    ("hetzner", "hetzner|헤츠너"),
    ("digitalocean", "digitalocean|digital ocean|디지털오션"),
    ("on-prem|onprem|premise|idc", "on-prem|onprem|on premise|on-premise|온프레미스|사내|idc"),
];

/// Region words, and the substrings of location names they match.
pub const REGION_WORDS: [(&str, &str); 5] = [
    ("eu|europe", "europe|european|eu|유럽"),
    ("us-|america", "usa|america|united states|미국"),
    ("ap-|asia", "asia|apac|아시아"),
    ("seoul|ap-northeast-2|kr", "korea|seoul|한국|서울|국내"),
    ("tokyo|ap-northeast-1|jp", "japan|tokyo|일본|도쿄"),
];

/// Words for a data source, and the source.
pub const SOURCE_WORDS: [(&str, &str); 4] = [
    ("agent", "agent|agents|via agent|에이전트"),
    ("simulated", "simulated|simulation|demo|fake|시뮬레이션|시뮬|데모|가상"),
    ("self", "hub itself|the hub itself|this host|self|허브 자체|자기 자신"),
    ("static", "static|manual|manually|registered by hand|수동|정적|직접 등록"),
];

/// Other names of the parts of server ids: "디비 마스터" finds db-master, "web server 1" web-01.
pub const TOKEN_ALIASES: &[(&str, &str)] = &[
    ("web", "웹"),
    ("api", "에이피아이"),
    ("db", "디비|데이터베이스|데이타베이스|database"),
    ("master", "마스터|primary|프라이머리|main|메인"),
    ("replica", "레플리카|리플리카|복제|slave|슬레이브|secondary|세컨더리|standby|스탠바이|follower"),
    ("redis", "레디스"),
    ("cache", "캐시"),
    ("monitoring", "모니터링|모니터|monitor"),
    ("backup", "백업"),
    ("security", "보안|시큐리티"),
    ("hub", "허브|오픈매니저"),
    ("openmanager", "오픈매니저"),
    ("edge", "엣지|에지"),
    ("proxy", "프록시"),
    ("worker", "워커"),
    ("legacy", "레거시"),
    ("ftp", "에프티피"),
    ("gateway", "게이트웨이"),
    ("mail", "메일"),
    ("batch", "배치"),
];

/// Parts of ids too generic to name a server alone.
pub const GENERIC_TOKENS: &[&str] = &["server", "node", "host", "prod", "dev", "stg", "srv", "vm", "box"];

/// Words between a server's name and number that mean nothing ("web server 2", "api 1번").
pub const FILLER_TOKENS: &[&str] = &["server", "servers", "서버", "번", "no", "number", "#", "호기", "box", "host"];

/// Time units after a number: "24h", "1시간", "7 days", "30분".
pub const UNITS: &[(&str, i64)] = &[
    ("hours", HOUR),
    ("hour", HOUR),
    ("hrs", HOUR),
    ("hr", HOUR),
    ("h", HOUR),
    ("시간", HOUR),
    ("minutes", MINUTE),
    ("minute", MINUTE),
    ("mins", MINUTE),
    ("min", MINUTE),
    ("m", MINUTE),
    ("분", MINUTE),
    ("days", DAY),
    ("day", DAY),
    ("d", DAY),
    ("일간", DAY),
    ("일", DAY),
    ("weeks", WEEK),
    ("week", WEEK),
    ("w", WEEK),
    ("주일", WEEK),
    ("주간", WEEK),
    ("주", WEEK),
    ("months", 30 * DAY),
    ("month", 30 * DAY),
    ("개월", 30 * DAY),
    ("달", 30 * DAY),
];

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;
pub const WEEK: i64 = 7 * DAY;

/// English and Korean number words.
pub const NUMBER_WORDS: &[(&str, u32)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("twelve", 12),
    ("a couple", 2),
    ("a few", 3),
    ("한", 1),
    ("두", 2),
    ("세", 3),
    ("네", 4),
    ("다섯", 5),
    ("여섯", 6),
    ("일곱", 7),
    ("여덟", 8),
    ("아홉", 9),
    ("열", 10),
];

/// Korean counters after a number: "3개", "세 대", "2건".
pub const COUNTERS: &[&str] = &["개", "대", "건", "곳", "가지", "명"];

/// Threshold words: English before the number, Korean after it.
pub const ABOVE_BEFORE: &str = "above|over|more than|greater than|higher than|exceeding|exceeds|exceed|at least|\
    beyond|past|>|>=|larger than|bigger than|north of";
pub const BELOW_BEFORE: &str = "below|under|less than|lower than|smaller than|at most|<|<=|beneath|south of";
pub const ABOVE_AFTER: &str = "이상|초과|넘는|넘은|넘게|넘어|넘|보다 높|보다 큰|보다 많|or more|or higher|and above|\
    and up|or above|plus";
pub const BELOW_AFTER: &str = "이하|미만|안 되는|안되는|보다 낮|보다 작|보다 적|or less|or lower|and below|or below";

/// English words the spelling fixer should know besides the cue and word lists (the domain's, then
/// common words, so "provide" is not "fixed" into "provider").
pub const VOCAB_EXTRA: &[&str] = &[
    "able|about|above|across|act|action|actually|add|after|again|against|ago|all|almost|alone|along|\
     already|also|always|among|amount|another|answer|anyone|anything|anyway|apart|appear|apply|area|\
     around|ask|asked|asking|back|bad|basic|because|become|before|begin|behind|being|below|best|better|\
     between|big|bit|both|brief|bring|build|busy|but|buy|call|came|can|care|case|cause|certain|chance|\
     change|check|choose|clear|close|come|coming|common|complete|consider|continue|could|couple|course|\
     current|cut|data|date|deal|decide|detail|did|different|do|does|doing|done|down|during|each|early|\
     easy|either|else|end|enough|entire|even|ever|every|exact|example|expect|explain|fact|far|fast|feel|\
     few|find|fine|first|fix|follow|for|form|found|free|from|full|further|gave|get|give|given|glad|go|\
     goes|going|gone|good|got|great|group|guess|had|happy|hard|has|have|having|hello|help|her|here|high|\
     him|his|hold|hope|how|however|idea|important|include|including|indeed|info|information|inside|\
     instead|into|issue|item|its|itself|just|keep|kind|knew|know|known|large|last|late|later|least|leave|\
     left|less|let|level|like|likely|line|little|live|long|look|looking|lot|low|made|main|major|make|\
     making|many|matter|may|maybe|mean|means|meant|might|mind|more|most|mostly|move|much|must|my|name|\
     near|nearly|need|never|new|next|nice|none|normal|not|note|nothing|notice|now|number|of|off|often|\
     okay|old|once|one|only|open|or|order|other|others|our|out|over|own|part|particular|past|per|perhaps|\
     place|plan|please|point|possible|pretty|probably|problem|provide|provided|put|quick|quickly|quite|\
     rather|reach|read|ready|real|really|reason|recent|recently|regarding|remember|report|request|require|\
     rest|result|return|right|run|running|same|say|saw|see|seem|seen|send|sense|set|several|shall|share|\
     short|should|show|side|similar|simple|since|single|small|so|some|someone|something|sometimes|soon|\
     sorry|sort|start|state|still|stop|such|suggest|summary|support|suppose|sure|take|taken|talk|tell|\
     than|thank|that|their|them|then|there|these|they|thing|think|this|those|though|through|thus|time|\
     today|together|too|took|top|total|toward|true|try|trying|turn|under|understand|until|update|upon|us|\
     use|used|useful|using|usual|usually|value|very|view|want|wanted|was|way|we|well|went|were|what|\
     whatever|when|where|whether|which|while|who|whole|whom|whose|why|will|wish|with|within|without|\
     wonder|work|world|would|wrong|yes|yet|you|your|yourself",
    "the|a|an|my|our|your|is|are|was|were|be|been|am|do|does|did|have|has|had|of|on|in|at|to|for|with|by|\
     from|and|or|not|no|yes|it|its|this|that|these|those|there|here|what|which|who|whom|when|where|why|how|\
     me|we|you|they|them|all|any|some|every|each|please|can|could|would|should|will|shall|may|might|right|\
     now|currently|current|just|only|also|too|very|so|much|many|more|less|than|then|about|into|out|up|\
     again|still|give|show|tell|list|see|look|let|us|get|got|need|needs|want|know|like|one|ones|thing|\
     things|anything|something|nothing|lot|bit|quick|quickly|hey|hi|hello|thanks|thank|same|other|another|\
     else|either|whole|entire|kind|sort|type|types|per|percent|day|days|hour|hours|minute|minutes|week|\
     weeks|month|months|today|yesterday|ago|last|past|since|until|till|during|within|while|later|soon|\
     next|first|second|third|again|ever|usage|utilization|utilisation|used|using|server|servers|\
     running|reporting|responding|anymore|currently|number|numbers|value|values|percent|please|fleet",
    "cpu|memory|disk|network|load|storage|space|traffic|bandwidth|processor|ram|uptime|critical|warning|\
     offline|online|healthy|maintenance|down|unreachable|dead|production|staging|development|database|\
     backup|security|monitoring|cache|firewall|agent|agents|simulated|static|manual|europe|america|asia|\
     average|maximum|minimum|threshold|percent|yesterday|overnight|weekly|daily|hourly|recently|lately|\
     linux|ubuntu|debian|windows|centos|docker|kubernetes|nginx|postgres|mysql|java|python|node|apache|\
     main|primary|app|application|prod|sql|mail|file|proxy|load|balancer|cluster|region|zone|hosted|\
     hours|gb|mb|tb|kb|ms|sec|seconds|tell|about|doing|going|give|overview|instead|ones|them|those|\
     failing|failed|passing|pass|fails|succeeding|broken|working|responding|alive|expire|expires|expiring|\
     one|two|three|four|five|six|seven|eight|nine|ten|twelve|couple|few",
];

/// Every word list of this module (for the vocabularies).
pub fn all_word_specs() -> impl Iterator<Item = &'static str> {
    let pairs = |list: &'static [(&'static str, &'static str)]| list.iter().flat_map(|(a, b)| [*a, *b]);
    METRIC_WORDS
        .iter()
        .map(|(_, w)| *w)
        .chain(pairs(&STATUS_WORDS))
        .chain(pairs(&TYPE_WORDS))
        .chain(pairs(&ENV_WORDS))
        .chain(pairs(&PROVIDER_WORDS))
        .chain(pairs(&REGION_WORDS))
        .chain(pairs(&SOURCE_WORDS))
        .chain(pairs(TOKEN_ALIASES))
        .chain([ABOVE_BEFORE, BELOW_BEFORE, ABOVE_AFTER, BELOW_AFTER])
        .chain(VOCAB_EXTRA.iter().copied())
}
