// Korean and English: follows the browser's language until the user switches, and remembers the
// choice. `t(key, vars)` looks a string up (English when Korean lacks it); a string second argument
// is the fallback for keys made from server data (types, metrics). Static text in index.html carries
// data-i18n attributes.

const KEY = 'openmanager.lang';
const listeners = new Set();
let current = 'en';

const en = {
  skip: 'Skip to content', signout: 'Sign out', 'lang.switch': 'Switch language', 'theme.dark': 'Dark theme',
  'nav.label': 'Main', 'nav.fleet': 'Fleet', 'nav.alerts': 'Alerts', 'nav.assistant': 'Assistant', 'nav.system': 'Budget & AI',
  'conn.live': 'Live', 'conn.connecting': 'Reconnecting…', 'conn.off': 'Offline',
  'signin.title': 'Sign in', 'signin.help': 'Paste an API token with the read scope. It stays in this browser only.',
  'signin.token': 'API token', 'signin.submit': 'Sign in', 'signin.rejected': 'The server did not accept this token.',
  'signin.unreachable': 'The server cannot be reached. Try again.', 'signin.expired': 'Your token is no longer accepted. Sign in again.',
  'fleet.title': 'Fleet', 'fleet.none': 'No server matches the filters.', 'fleet.firing': '{n} firing',
  'filter.search': 'Search', 'filter.status': 'Status', 'filter.type': 'Type', 'filter.source': 'Source', 'filter.sort': 'Sort', 'filter.all': 'All',
  'sort.status': 'Status', 'sort.name': 'Name', 'sort.cpu': 'CPU',
  'sum.total': 'Servers', 'sum.online': 'Online', 'sum.warning': 'Warning', 'sum.critical': 'Critical', 'sum.offline': 'Offline', 'sum.alerts': 'Firing alerts',
  'status.online': 'Online', 'status.warning': 'Warning', 'status.critical': 'Critical', 'status.offline': 'Offline', 'status.maintenance': 'Maintenance', 'status.unknown': 'Unknown',
  'source.self': 'This host', 'source.agent': 'Agent', 'source.simulated': 'Simulated', 'source.static': 'Registered',
  'type.web': 'Web', 'type.api': 'API', 'type.database': 'Database', 'type.cache': 'Cache', 'type.monitoring': 'Monitoring', 'type.backup': 'Backup', 'type.security': 'Security', 'type.firewall': 'Firewall', 'type.other': 'Other',
  'm.cpu': 'CPU', 'm.memory': 'Memory', 'm.disk': 'Disk', 'm.network': 'Net', 'm.netIn': 'In', 'm.netOut': 'Out', 'm.uptime': 'Up',
  'svc.running': 'running', 'svc.stopped': 'stopped',
  'd.back': 'Fleet', 'd.time': 'Time', 'd.live': 'Live (1 s)', 'd.history': 'History', 'd.range': 'Range', 'd.system': 'System', 'd.disks': 'Disks',
  'd.interfaces': 'Network interfaces', 'd.processes': 'Top processes', 'd.services': 'Services', 'd.alerts': 'Alerts', 'd.analyse': 'Ask the assistant about this server',
  'd.analysis.health': 'Health check', 'd.analysis.anomaly': 'Anomalies', 'd.analysis.forecast': 'CPU trend', 'd.analysis.pending': 'Still running; try again in a moment.',
  'd.liveChart': 'CPU, memory and disk, last five minutes', 'd.liveNet': 'Network, last five minutes', 'd.historyChart': 'CPU, memory and disk history', 'd.historyNet': 'Network history',
  'd.chartsFailed': 'Charts could not be loaded.', 'd.resolution': '{n} points, one per {s} s', 'd.noHistory': 'No history for this range yet.', 'd.notFound': 'This server does not exist (any more).',
  'd.os': 'OS', 'd.kernel': 'Kernel', 'd.procCount': 'Processes', 'd.load': 'Load 1/5/15', 'd.specs': 'Size', 'd.env': 'Environment', 'd.updated': 'Updated', 'd.cores': 'CPU cores',
  'd.mount': 'Mount', 'd.used': 'Used', 'd.iface': 'Interface', 'd.rx': 'Received', 'd.tx': 'Sent', 'd.errors': 'Errors', 'd.procName': 'Name',
  'ai.title': 'Assistant', 'ai.question': 'Question', 'ai.placeholder': 'Ask about your servers, e.g. which server uses the most CPU?', 'ai.send': 'Ask', 'ai.auto': 'auto',
  'ai.answers': 'Answers', 'ai.thinking': 'Thinking…', 'ai.engine': 'Engine', 'ai.cache': 'Cache', 'ai.cache.hit': 'hit', 'ai.cache.miss': 'miss', 'ai.cache.bypass': 'bypass',
  'ai.fallback': 'fallback engine answered', 'ai.intent': 'intent', 'ai.attempts': 'Attempts', 'ai.steps': 'Thinking steps ({n})', 'ai.cut': 'The answer was cut off.',
  'ai.failed': 'No answer.', 'ai.failedMsg': 'No answer: {msg}', 'ai.limited': 'Too many questions; wait a moment.',
  'ai.example1': 'Which server has the highest CPU?', 'ai.example2': 'Summarize the fleet status', 'ai.example3': 'Which alerts are firing?',
  'ai.prompt.health': 'Analyse the health of server {name}', 'ai.prompt.anomaly': 'Is anything unusual on server {name}?', 'ai.prompt.forecast': 'What is the CPU trend of {name} over the last hour?',
  'alerts.title': 'Alerts', 'alerts.firing': 'Firing', 'alerts.recent': 'Recent (all states)', 'alerts.severity': 'Severity', 'alerts.none': 'No alerts.',
  'alerts.noneForServer': 'No alerts for this server.', 'alerts.unavailable': 'Alerts are not available on this server yet.', 'alerts.ack': 'Acknowledge',
  'alerts.acked': 'acknowledged', 'alerts.explain': 'Explain', 'alerts.ackedBy': 'acknowledged by {who}', 'alerts.silence': 'Silence', 'alerts.since': 'since {when}', 'alerts.resolvedAt': 'resolved {when}', 'alerts.new': 'New alert',
  'alerts.for': 'For', 'alerts.hours': '{n} h', 'alerts.scope': 'Scope', 'alerts.thisServer': 'This rule on this server', 'alerts.allServers': 'This rule everywhere',
  'alerts.comment': 'Comment', 'alerts.silenced': 'Silenced until {when}.',
  'astate.pending': 'pending', 'astate.firing': 'firing', 'astate.resolved': 'resolved',
  'sev.critical': 'Critical', 'sev.warning': 'Warning', 'sev.info': 'Info',
  'metric.cpu': 'CPU', 'metric.memory': 'Memory', 'metric.disk': 'Disk', 'metric.load1': 'Load', 'metric.networkIn': 'Network in', 'metric.networkOut': 'Network out',
  'metric.egressMonth': 'Egress this month', 'metric.offline': 'Offline', 'metric.aiErrorRate': 'AI error rate', 'metric.responseTime': 'Response time',
  'metric.storeFailing': 'Store failing', 'metric.tlsRenewalFailing': 'TLS renewal failing', 'metric.check.up': 'Check up (1/0)',
  'metric.check.latency': 'Check latency', 'metric.check.cert_days': 'Check certificate days left', 'rules.check': 'Check', 'rules.anyCheck': 'any check',
  'rules.title': 'Rules', 'rules.new': 'New rule', 'rules.none': 'No rules.', 'rules.name': 'Name', 'rules.metric': 'Metric', 'rules.op': 'Comparison', 'rules.threshold': 'Threshold',
  'rules.clear': 'Clear below/above (optional)', 'rules.window': 'Window', 'rules.window.latest': 'Latest sample', 'rules.window.average': 'Average over',
  'rules.windowSeconds': 'Average seconds', 'rules.for': 'Hold for (s)', 'rules.servers': 'Servers (ids, comma separated)', 'rules.anyServer': 'any server',
  'rules.repeat': 'Repeat every (s)', 'rules.enabled': 'Enabled', 'rules.enabledFor': 'Enable {name}', 'rules.condition': 'Condition', 'rules.avg': 'avg {s} s', 'rules.forN': 'for {s} s',
  'silences.title': 'Silences', 'silences.none': 'No silences.', 'silences.matchers': 'Matches', 'silences.ends': 'Ends', 'silences.rule': 'rule', 'silences.server': 'server', 'silences.everything': 'everything',
  'channels.title': 'Notification channels', 'channels.new': 'New channel', 'channels.none': 'No channels.', 'channels.kind': 'Kind', 'channels.target': 'Target', 'channels.test': 'Send test',
  'channels.sent': 'Test sent to {name}.', 'channels.url': 'URL', 'channels.secret': 'Signing secret (optional)', 'channels.botToken': 'Bot token', 'channels.chatId': 'Chat id',
  'channels.baseUrl': 'Server URL (optional)', 'channels.topic': 'Topic', 'channels.token': 'Access token (optional)',
  'system.title': 'Budget and AI gateway', 'budget.title': 'Free-tier budget', 'budget.unavailable': 'The budget is not available on this server yet.',
  'budget.egress': 'Egress this month', 'budget.vm': 'VM hours', 'budget.disk': 'Disk', 'budget.cpu': 'CPU share', 'budget.memory': 'Memory', 'budget.ai': 'AI today',
  'budget.of': '{used} of {limit}', 'budget.projected': 'projected {v} ({p})', 'budget.cpuShare': 'average {avg} of {sus} sustained', 'budget.burst': 'burst {v}',
  'budget.left': '{n} left of {of}', 'budget.noLimit': 'no daily limit', 'budget.tokens': '{n} tokens', 'budget.month': 'Month {start} – {end}',
  'tls.title': 'HTTPS certificate', 'tls.mode': 'Mode', 'tls.state': 'State', 'tls.notAfter': 'Expires',
  'gw.title': 'AI gateway', 'gw.chain': 'Chain', 'gw.cache': 'Cache', 'gw.cacheLine': '{rate} hits ({hits} hits, {misses} misses, {entries} entries)', 'gw.queue': 'Queue',
  'gw.queries': 'Queries', 'gw.queriesLine': '{n} answered, {ok} success, {ms} ms average', 'gw.engines': 'Engines', 'gw.engine': 'Engine', 'gw.health': 'Health', 'gw.circuit': 'Circuit',
  'gw.quota': 'Quota left', 'gw.latency': 'p50 / p90 / p99 ms', 'gw.requests': 'Requests', 'gw.errors': 'Errors', 'gw.exhausted': 'exhausted for today', 'gw.perMin': '/min', 'gw.perDay': '/day',
  'gw.circuit.closed': 'closed', 'gw.circuit.open': 'open', 'gw.circuit.half_open': 'half-open',
  'gw.health.up': 'up', 'gw.health.down': 'down', 'gw.health.degraded': 'degraded', 'gw.health.not_configured': 'not configured',
  'nav.checks': 'Checks', 'checks.title': 'Checks', 'checks.list': 'Service checks', 'checks.new': 'New check', 'checks.none': 'No checks yet.',
  'checks.name': 'Name', 'checks.kind': 'Kind', 'checks.target': 'Target', 'checks.state': 'State', 'checks.latencyCol': 'Latency',
  'checks.uptime': 'Uptime 24h / 7d / 30d / 90d', 'checks.error': 'Last error', 'checks.chart': 'Chart', 'checks.run': 'Run now', 'checks.edit': 'Edit', 'checks.delete': 'Delete',
  'checks.ran': 'Ran {name}.', 'checks.saved': 'Saved {name}.', 'checks.confirmDelete': 'Delete the check {name}?', 'checks.editTitle': 'Edit {name}',
  'checks.interval': 'Interval (s)', 'checks.timeout': 'Timeout (ms)', 'checks.retries': 'Retries', 'checks.runOn': 'Runs on (hub, agent:<id>)', 'checks.enabled': 'Enabled',
  'checks.method': 'Method', 'checks.expectStatus': 'Expected status', 'checks.keyword': 'Body keyword', 'checks.follow': 'Follow redirects', 'checks.verify': 'Verify TLS',
  'checks.record': 'Record type', 'checks.expect': 'Expected value', 'checks.resolver': 'Resolver', 'checks.warnDays': 'Warn days before expiry',
  'checks.hint.http': 'Target: a URL, e.g. https://example.com/health', 'checks.hint.tcp': 'Target: host:port', 'checks.hint.ping': 'Target: a host name or address',
  'checks.hint.dns': 'Target: the name to resolve', 'checks.hint.tls': 'Target: host:port of a TLS service',
  'checks.latency': 'Latency, last hour', 'checks.latencyOf': 'Latency of {name}, last hour',
  'checks.s.up': 'Up', 'checks.s.down': 'Down', 'checks.s.pending': 'Pending', 'checks.s.maintenance': 'Maintenance', 'checks.s.unknown': 'Unknown',
  'maint.title': 'Maintenance windows', 'maint.none': 'No maintenance windows.', 'maint.name': 'Title', 'maint.start': 'Start', 'maint.end': 'End',
  'maint.servers': 'Server ids', 'maint.checks': 'Check ids', 'maint.add': 'Add window', 'maint.added': 'Maintenance window added.', 'maint.when': 'When', 'maint.covers': 'Covers',
  'maint.weekly': 'weekly {days} at {start} UTC for {n} min',
  'maint.repeat': 'Weekly', 'maint.weeklyTitle': 'Every week (UTC), from start on, until end if set', 'maint.until': 'until {end}', 'maint.at': 'At (UTC)', 'maint.minutes': 'Minutes',
  'maint.day.mon': 'Mon', 'maint.day.tue': 'Tue', 'maint.day.wed': 'Wed', 'maint.day.thu': 'Thu', 'maint.day.fri': 'Fri', 'maint.day.sat': 'Sat', 'maint.day.sun': 'Sun',
  'sp.title': 'Status page', 'sp.enabled': 'Public', 'sp.pageTitle': 'Title', 'sp.servers': 'Servers shown', 'sp.checks': 'Checks shown', 'sp.preview': 'Open the status page', 'sp.saved': 'Status page saved.',
  'sp.incidents': 'Incidents', 'sp.noIncidents': 'No incidents.', 'sp.note': 'Note for the status page', 'sp.addNote': 'Add note', 'sp.noteAdded': 'Note added.',
  notAvailable: 'Not available on this server yet.', loading: 'Loading…', loadFailed: 'Could not load: {msg}', failed: 'Failed: {msg}', invalid: 'Not valid: {msg}',
  none: 'None', more: 'More', save: 'Save', cancel: 'Cancel', edit: 'Edit', delete: 'Delete', confirmDelete: 'Really delete?',
};

const ko = {
  skip: '본문으로 건너뛰기', signout: '로그아웃', 'lang.switch': '언어 바꾸기', 'theme.dark': '어두운 테마',
  'nav.label': '주 메뉴', 'nav.fleet': '서버', 'nav.alerts': '알림', 'nav.assistant': 'AI 비서', 'nav.system': '예산 · AI',
  'conn.live': '실시간', 'conn.connecting': '다시 연결 중…', 'conn.off': '연결 끊김',
  'signin.title': '로그인', 'signin.help': 'read 권한이 있는 API 토큰을 붙여 넣으세요. 토큰은 이 브라우저에만 저장됩니다.',
  'signin.token': 'API 토큰', 'signin.submit': '로그인', 'signin.rejected': '서버가 이 토큰을 받아들이지 않았습니다.',
  'signin.unreachable': '서버에 연결할 수 없습니다. 다시 시도하세요.', 'signin.expired': '토큰이 더 이상 유효하지 않습니다. 다시 로그인하세요.',
  'fleet.title': '서버 현황', 'fleet.none': '조건에 맞는 서버가 없습니다.', 'fleet.firing': '알림 {n}건',
  'filter.search': '검색', 'filter.status': '상태', 'filter.type': '유형', 'filter.source': '출처', 'filter.sort': '정렬', 'filter.all': '전체',
  'sort.status': '상태', 'sort.name': '이름', 'sort.cpu': 'CPU',
  'sum.total': '서버', 'sum.online': '정상', 'sum.warning': '경고', 'sum.critical': '심각', 'sum.offline': '오프라인', 'sum.alerts': '발생 중인 알림',
  'status.online': '정상', 'status.warning': '경고', 'status.critical': '심각', 'status.offline': '오프라인', 'status.maintenance': '점검 중', 'status.unknown': '알 수 없음',
  'source.self': '이 호스트', 'source.agent': '에이전트', 'source.simulated': '시뮬레이션', 'source.static': '수동 등록',
  'type.web': '웹', 'type.api': 'API', 'type.database': '데이터베이스', 'type.cache': '캐시', 'type.monitoring': '모니터링', 'type.backup': '백업', 'type.security': '보안', 'type.firewall': '방화벽', 'type.other': '기타',
  'm.cpu': 'CPU', 'm.memory': '메모리', 'm.disk': '디스크', 'm.network': '네트워크', 'm.netIn': '수신', 'm.netOut': '송신', 'm.uptime': '가동',
  'svc.running': '실행 중', 'svc.stopped': '중지됨',
  'd.back': '서버 현황', 'd.time': '시각', 'd.live': '실시간 (1초)', 'd.history': '기록', 'd.range': '기간', 'd.system': '시스템', 'd.disks': '디스크',
  'd.interfaces': '네트워크 인터페이스', 'd.processes': '상위 프로세스', 'd.services': '서비스', 'd.alerts': '알림', 'd.analyse': '이 서버에 대해 AI 비서에게 묻기',
  'd.analysis.health': '상태 점검', 'd.analysis.anomaly': '이상 징후', 'd.analysis.forecast': 'CPU 추세', 'd.analysis.pending': '분석이 아직 진행 중입니다. 잠시 후 다시 시도하세요.',
  'd.liveChart': '최근 5분 CPU, 메모리, 디스크', 'd.liveNet': '최근 5분 네트워크', 'd.historyChart': 'CPU, 메모리, 디스크 기록', 'd.historyNet': '네트워크 기록',
  'd.chartsFailed': '차트를 불러오지 못했습니다.', 'd.resolution': '{n}개 지점, {s}초 간격', 'd.noHistory': '이 기간의 기록이 아직 없습니다.', 'd.notFound': '이 서버는 (더 이상) 없습니다.',
  'd.os': '운영체제', 'd.kernel': '커널', 'd.procCount': '프로세스', 'd.load': '부하 1/5/15', 'd.specs': '사양', 'd.env': '환경', 'd.updated': '갱신', 'd.cores': 'CPU 코어',
  'd.mount': '마운트', 'd.used': '사용량', 'd.iface': '인터페이스', 'd.rx': '수신', 'd.tx': '송신', 'd.errors': '오류', 'd.procName': '이름',
  'ai.title': 'AI 비서', 'ai.question': '질문', 'ai.placeholder': '서버에 대해 물어보세요. 예: CPU 사용률이 가장 높은 서버는?', 'ai.send': '질문하기', 'ai.auto': '자동',
  'ai.answers': '답변', 'ai.thinking': '생각하는 중…', 'ai.engine': '엔진', 'ai.cache': '캐시', 'ai.cache.hit': '적중', 'ai.cache.miss': '미적중', 'ai.cache.bypass': '사용 안 함',
  'ai.fallback': '대체 엔진이 답변함', 'ai.intent': '의도', 'ai.attempts': '시도', 'ai.steps': '생각 단계 ({n})', 'ai.cut': '답변이 중간에 끊겼습니다.',
  'ai.failed': '답변이 없습니다.', 'ai.failedMsg': '답변 실패: {msg}', 'ai.limited': '질문이 너무 많습니다. 잠시 후 다시 시도하세요.',
  'ai.example1': 'CPU 사용률이 가장 높은 서버는?', 'ai.example2': '전체 서버 상태 요약해줘', 'ai.example3': '지금 발생 중인 알림은?',
  'ai.prompt.health': '{name} 서버 상태를 분석해줘', 'ai.prompt.anomaly': '{name} 서버에 이상 징후가 있어?', 'ai.prompt.forecast': '{name} 서버의 최근 1시간 CPU 추세는?',
  'alerts.title': '알림', 'alerts.firing': '발생 중', 'alerts.recent': '최근 (전체 상태)', 'alerts.severity': '심각도', 'alerts.none': '알림이 없습니다.',
  'alerts.noneForServer': '이 서버의 알림이 없습니다.', 'alerts.unavailable': '이 서버에서는 아직 알림 기능을 쓸 수 없습니다.', 'alerts.ack': '확인',
  'alerts.acked': '확인함', 'alerts.explain': '원인 설명', 'alerts.ackedBy': '{who} 확인함', 'alerts.silence': '무음', 'alerts.since': '{when}부터', 'alerts.resolvedAt': '{when} 해결', 'alerts.new': '새 알림',
  'alerts.for': '기간', 'alerts.hours': '{n}시간', 'alerts.scope': '범위', 'alerts.thisServer': '이 서버의 이 규칙', 'alerts.allServers': '모든 서버의 이 규칙',
  'alerts.comment': '메모', 'alerts.silenced': '{when}까지 무음으로 설정했습니다.',
  'astate.pending': '대기', 'astate.firing': '발생', 'astate.resolved': '해결',
  'sev.critical': '심각', 'sev.warning': '경고', 'sev.info': '정보',
  'metric.cpu': 'CPU', 'metric.memory': '메모리', 'metric.disk': '디스크', 'metric.load1': '부하', 'metric.networkIn': '네트워크 수신', 'metric.networkOut': '네트워크 송신',
  'metric.egressMonth': '이번 달 송신량', 'metric.offline': '오프라인', 'metric.aiErrorRate': 'AI 오류율', 'metric.responseTime': '응답 시간',
  'metric.storeFailing': '저장소 오류', 'metric.tlsRenewalFailing': 'TLS 갱신 실패', 'metric.check.up': '체크 정상 (1/0)',
  'metric.check.latency': '체크 지연 시간', 'metric.check.cert_days': '체크 인증서 남은 일수', 'rules.check': '체크', 'rules.anyCheck': '모든 체크',
  'rules.title': '규칙', 'rules.new': '새 규칙', 'rules.none': '규칙이 없습니다.', 'rules.name': '이름', 'rules.metric': '지표', 'rules.op': '비교', 'rules.threshold': '임계값',
  'rules.clear': '해제 임계값 (선택)', 'rules.window': '계산 방식', 'rules.window.latest': '최신 값', 'rules.window.average': '평균',
  'rules.windowSeconds': '평균 구간 (초)', 'rules.for': '지속 시간 (초)', 'rules.servers': '서버 (id, 쉼표로 구분)', 'rules.anyServer': '모든 서버',
  'rules.repeat': '반복 간격 (초)', 'rules.enabled': '사용', 'rules.enabledFor': '{name} 사용', 'rules.condition': '조건', 'rules.avg': '{s}초 평균', 'rules.forN': '{s}초 지속',
  'silences.title': '무음', 'silences.none': '무음 설정이 없습니다.', 'silences.matchers': '대상', 'silences.ends': '종료', 'silences.rule': '규칙', 'silences.server': '서버', 'silences.everything': '전체',
  'channels.title': '알림 채널', 'channels.new': '새 채널', 'channels.none': '채널이 없습니다.', 'channels.kind': '종류', 'channels.target': '대상', 'channels.test': '테스트 보내기',
  'channels.sent': '{name}에 테스트를 보냈습니다.', 'channels.url': 'URL', 'channels.secret': '서명 비밀값 (선택)', 'channels.botToken': '봇 토큰', 'channels.chatId': '채팅 id',
  'channels.baseUrl': '서버 URL (선택)', 'channels.topic': '토픽', 'channels.token': '액세스 토큰 (선택)',
  'system.title': '예산과 AI 게이트웨이', 'budget.title': '무료 등급 예산', 'budget.unavailable': '이 서버에서는 아직 예산 정보를 쓸 수 없습니다.',
  'budget.egress': '이번 달 송신량', 'budget.vm': 'VM 시간', 'budget.disk': '디스크', 'budget.cpu': 'CPU 할당', 'budget.memory': '메모리', 'budget.ai': '오늘 AI',
  'budget.of': '{limit} 중 {used}', 'budget.projected': '예상 {v} ({p})', 'budget.cpuShare': '지속 허용 {sus} 중 평균 {avg}', 'budget.burst': '버스트 {v}',
  'budget.left': '{of} 중 {n} 남음', 'budget.noLimit': '일일 한도 없음', 'budget.tokens': '토큰 {n}개', 'budget.month': '기간 {start} – {end}',
  'tls.title': 'HTTPS 인증서', 'tls.mode': '방식', 'tls.state': '상태', 'tls.notAfter': '만료',
  'gw.title': 'AI 게이트웨이', 'gw.chain': '순서', 'gw.cache': '캐시', 'gw.cacheLine': '적중률 {rate} (적중 {hits}, 미적중 {misses}, 항목 {entries})', 'gw.queue': '대기열',
  'gw.queries': '질문', 'gw.queriesLine': '{n}건 답변, 성공률 {ok}, 평균 {ms} ms', 'gw.engines': '엔진', 'gw.engine': '엔진', 'gw.health': '상태', 'gw.circuit': '서킷',
  'gw.quota': '남은 할당량', 'gw.latency': 'p50 / p90 / p99 ms', 'gw.requests': '요청', 'gw.errors': '오류', 'gw.exhausted': '오늘 할당량 소진', 'gw.perMin': '/분', 'gw.perDay': '/일',
  'gw.circuit.closed': '닫힘', 'gw.circuit.open': '열림', 'gw.circuit.half_open': '반열림',
  'gw.health.up': '정상', 'gw.health.down': '중단', 'gw.health.degraded': '저하', 'gw.health.not_configured': '설정 안 됨',
  'nav.checks': '점검', 'checks.title': '점검', 'checks.list': '서비스 점검', 'checks.new': '새 점검', 'checks.none': '아직 점검이 없습니다.',
  'checks.name': '이름', 'checks.kind': '종류', 'checks.target': '대상', 'checks.state': '상태', 'checks.latencyCol': '지연 시간',
  'checks.uptime': '가동률 24시간 / 7일 / 30일 / 90일', 'checks.error': '마지막 오류', 'checks.chart': '차트', 'checks.run': '지금 실행', 'checks.edit': '편집', 'checks.delete': '삭제',
  'checks.ran': '{name} 실행함.', 'checks.saved': '{name} 저장함.', 'checks.confirmDelete': '점검 {name}을(를) 삭제할까요?', 'checks.editTitle': '{name} 편집',
  'checks.interval': '간격 (초)', 'checks.timeout': '제한 시간 (ms)', 'checks.retries': '재시도', 'checks.runOn': '실행 위치 (hub, agent:<id>)', 'checks.enabled': '사용',
  'checks.method': '메서드', 'checks.expectStatus': '기대 상태 코드', 'checks.keyword': '본문 키워드', 'checks.follow': '리디렉션 따라가기', 'checks.verify': 'TLS 검증',
  'checks.record': '레코드 종류', 'checks.expect': '기대 값', 'checks.resolver': '리졸버', 'checks.warnDays': '만료 경고 일수',
  'checks.hint.http': '대상: URL (예: https://example.com/health)', 'checks.hint.tcp': '대상: 호스트:포트', 'checks.hint.ping': '대상: 호스트 이름 또는 주소',
  'checks.hint.dns': '대상: 조회할 이름', 'checks.hint.tls': '대상: TLS 서비스의 호스트:포트',
  'checks.latency': '지연 시간, 최근 1시간', 'checks.latencyOf': '{name} 지연 시간, 최근 1시간',
  'checks.s.up': '정상', 'checks.s.down': '장애', 'checks.s.pending': '대기', 'checks.s.maintenance': '점검 중', 'checks.s.unknown': '알 수 없음',
  'maint.title': '유지보수 기간', 'maint.none': '유지보수 기간이 없습니다.', 'maint.name': '제목', 'maint.start': '시작', 'maint.end': '끝',
  'maint.servers': '서버 id', 'maint.checks': '점검 id', 'maint.add': '기간 추가', 'maint.added': '유지보수 기간을 추가했습니다.', 'maint.when': '기간', 'maint.covers': '대상',
  'maint.weekly': '매주 {days} {start} UTC부터 {n}분',
  'maint.repeat': '매주 반복', 'maint.weeklyTitle': '매주 (UTC), 시작부터 (끝을 정하면 끝까지)', 'maint.until': '{end}까지', 'maint.at': '시각 (UTC)', 'maint.minutes': '분',
  'maint.day.mon': '월', 'maint.day.tue': '화', 'maint.day.wed': '수', 'maint.day.thu': '목', 'maint.day.fri': '금', 'maint.day.sat': '토', 'maint.day.sun': '일',
  'sp.title': '상태 페이지', 'sp.enabled': '공개', 'sp.pageTitle': '제목', 'sp.servers': '표시할 서버', 'sp.checks': '표시할 점검', 'sp.preview': '상태 페이지 열기', 'sp.saved': '상태 페이지를 저장했습니다.',
  'sp.incidents': '장애', 'sp.noIncidents': '장애가 없습니다.', 'sp.note': '상태 페이지에 남길 메모', 'sp.addNote': '메모 추가', 'sp.noteAdded': '메모를 추가했습니다.',
  notAvailable: '이 서버에서는 아직 쓸 수 없습니다.', loading: '불러오는 중…', loadFailed: '불러오지 못했습니다: {msg}', failed: '실패: {msg}', invalid: '올바르지 않습니다: {msg}',
  none: '없음', more: '더 보기', save: '저장', cancel: '취소', edit: '편집', delete: '삭제', confirmDelete: '정말 삭제할까요?',
};

const dicts = { en, ko };

export function lang() {
  return current;
}

function stored() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Picks the stored choice, else the first of the browser's languages we have, else English. */
export function initLang() {
  const choice = stored();
  const browser = (navigator.languages?.length ? navigator.languages : [navigator.language]).map((l) => String(l).slice(0, 2).toLowerCase());
  current = choice in dicts ? choice : browser.find((l) => l in dicts) ?? 'en';
  document.documentElement.lang = current;
  applyStatic();
}

export function setLang(l) {
  if (!(l in dicts) || l === current) return;
  current = l;
  try {
    localStorage.setItem(KEY, l);
  } catch {
    // The switch still holds for this page.
  }
  document.documentElement.lang = l;
  applyStatic();
  for (const fn of listeners) fn(l);
}

export function onLang(fn) {
  listeners.add(fn);
}

export function t(key, vars) {
  const s = dicts[current][key] ?? en[key];
  if (s == null) return typeof vars === 'string' ? vars : key;
  if (!vars || typeof vars !== 'object') return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

/** Translates the page's static text: data-i18n (text) and data-i18n-aria (aria-label). */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
}
