//! The one message catalog: every UI label in Korean and English.
//!
//! The language comes from the `adpool_lang` cookie (set by the toggle), else from
//! `Accept-Language`, else Korean. Templates call `t("key")`.

use axum::http::HeaderMap;

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 한국어
    Ko,
    /// English
    En,
}

/// The cookie that remembers the toggle.
pub const LANG_COOKIE: &str = "adpool_lang";

impl Lang {
    /// The code used in cookies and `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }

    /// Reads a code; unknown codes are `None`.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().get(..2) {
            Some("ko") => Some(Lang::Ko),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language (for the toggle).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ko => Lang::En,
            Lang::En => Lang::Ko,
        }
    }

    /// Picks the language of a request.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        if let Some(lang) = crate::auth::cookie(headers, LANG_COOKIE)
            .as_deref()
            .and_then(Lang::parse)
        {
            return lang;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // Take the first language we speak, in the client's order of preference.
        let mut ranked: Vec<(f32, Lang)> = accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::parse(pieces.next()?)?;
                let quality = pieces
                    .find_map(|p| p.trim().strip_prefix("q=")?.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((quality, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map_or(Lang::Ko, |(_, lang)| *lang)
    }
}

/// (key, 한국어, English)
const CATALOG: &[(&str, &str, &str)] = &[
    (
        "app.tagline",
        "광고 운영과 커머스 마케팅을 한 곳에서",
        "Ad operations and commerce marketing in one place",
    ),
    ("nav.dashboard", "대시보드", "Dashboard"),
    ("nav.inventory", "인벤토리", "Inventory"),
    ("nav.campaigns", "캠페인", "Campaigns"),
    ("nav.cpc", "CPC 광고", "CPC Ads"),
    ("nav.reports", "리포트", "Reports"),
    ("nav.shops", "쇼핑몰", "Shops"),
    ("nav.insights", "인사이트", "Insights"),
    ("nav.admin", "관리", "Admin"),
    ("nav.jobs", "작업", "Jobs"),
    ("nav.notifications", "알림", "Notifications"),
    ("nav.logout", "로그아웃", "Log out"),
    ("nav.language", "English", "한국어"),
    ("login.title", "로그인", "Sign in"),
    ("login.email", "이메일", "Email"),
    ("login.password", "비밀번호", "Password"),
    ("login.submit", "로그인", "Sign in"),
    (
        "login.failed",
        "이메일 또는 비밀번호가 올바르지 않습니다.",
        "Invalid email or password.",
    ),
    (
        "login.throttled",
        "로그인 시도가 너무 많습니다. 잠시 후 다시 시도하세요.",
        "Too many failed sign-ins. Try again later.",
    ),
    (
        "login.rate_limited",
        "이 주소에서 로그인 시도가 너무 잦습니다. 1분 후 다시 시도하세요.",
        "Too many sign-in attempts from this address. Try again in a minute.",
    ),
    (
        "login.expired",
        "양식이 만료되었습니다. 다시 시도하세요.",
        "The form expired. Please try again.",
    ),
    ("dashboard.title", "대시보드", "Dashboard"),
    ("dashboard.welcome", "환영합니다", "Welcome"),
    ("dashboard.sections", "기능", "Capabilities"),
    ("dashboard.recent_jobs", "최근 작업", "Recent jobs"),
    ("dashboard.unread", "읽지 않은 알림", "Unread notifications"),
    ("dashboard.organization", "조직", "Organization"),
    ("dashboard.role", "역할", "Role"),
    (
        "section.coming",
        "이 기능은 아직 준비 중입니다. 해당 이슈가 반영되면 이 화면에 나타납니다.",
        "This capability has not landed yet; it will appear here when its issue is done.",
    ),
    (
        "section.inventory.desc",
        "벤더 예측 → 표준 → 유닛 인벤토리, 수동 보정",
        "Vendor forecasts → standard → unit inventory, manual correction",
    ),
    (
        "section.campaigns.desc",
        "3단계 분배 구매, 재고 차감, 캠페인 상태, 제안서",
        "3-level purchase split, inventory deduction, campaign status, proposals",
    ),
    (
        "section.cpc.desc",
        "광고주 온보딩, 선불 잔액, 랭킹, 클릭 과금, 전환 귀속",
        "Advertiser onboarding, prepaid balance, ranking, click charging, attribution",
    ),
    (
        "section.reports.desc",
        "광고 로그 분석: 성과, 요청, 디맨드, 매체 리포트",
        "Ad-log analytics: performance, request, demand and media reports",
    ),
    (
        "section.shops.desc",
        "카페24, 스마트스토어, 에이블리 동기화와 매출 대시보드",
        "Cafe24, SmartStore and Ably sync with a sales dashboard",
    ),
    (
        "section.insights.desc",
        "카드 거래 분석, 고객 세그먼트, AI 마케팅 메시지",
        "Card-spending analysis, customer segments, AI marketing messages",
    ),
    ("admin.title", "관리", "Admin"),
    ("admin.users", "사용자", "Users"),
    ("admin.organization", "조직 설정", "Organization"),
    ("admin.tokens", "API 토큰", "API tokens"),
    ("admin.schedules", "예약 작업", "Schedules"),
    ("admin.deployment", "배포 구성", "Deployment"),
    (
        "deployment.intro",
        "이 프로세스의 역할과 데이터베이스, 스케일아웃 엔진(Redis, NATS JetStream)의 연결 상태와 처리 대기량입니다. 지금 확인한 값입니다.",
        "This process's role, its database and the scale-out engines (Redis, NATS JetStream) with their health and backlogs, checked now.",
    ),
    ("deployment.value", "값", "Value"),
    ("deployment.ok", "정상", "OK"),
    ("deployment.check", "확인 필요", "Check"),
    ("deployment.role", "프로세스 역할", "Process role"),
    ("deployment.database", "데이터베이스", "Database"),
    (
        "deployment.redis",
        "Redis (CPC 핫 상태)",
        "Redis (CPC hot state)",
    ),
    (
        "deployment.redis_off",
        "Redis 미사용: 프로세스마다 자체 순위와 CTR",
        "Redis not configured: each process keeps its own rankings and CTR",
    ),
    ("deployment.namespace", "네임스페이스", "Namespace"),
    (
        "deployment.rankings",
        "게시된 순위 (생성 시각, 개수)",
        "Published rankings (built at, count)",
    ),
    (
        "deployment.nats",
        "NATS JetStream (이벤트)",
        "NATS JetStream (events)",
    ),
    (
        "deployment.nats_off",
        "NATS 미사용: 클릭과 주문은 받은 프로세스가 직접 기록",
        "NATS not configured: the process that gets a click or order writes it",
    ),
    (
        "deployment.backlog_clicks",
        "정산 대기 클릭 (ad-events)",
        "Clicks waiting to be settled (ad-events)",
    ),
    (
        "deployment.backlog_orders",
        "귀속 대기 주문 (order.completed)",
        "Orders waiting for attribution (order.completed)",
    ),
    (
        "deployment.backlog_changes",
        "순위 재계산 대기 (campaign-events)",
        "Changes waiting for a ranking build (campaign-events)",
    ),
    ("admin.new_user", "사용자 추가", "Add user"),
    ("admin.create", "추가", "Create"),
    ("admin.save", "저장", "Save"),
    ("admin.disable", "비활성화", "Disable"),
    ("admin.enable", "활성화", "Enable"),
    ("admin.revoke", "폐기", "Revoke"),
    ("admin.saved", "저장되었습니다.", "Saved."),
    (
        "admin.token_once",
        "이 토큰은 지금 한 번만 표시됩니다. 안전한 곳에 복사해 두세요.",
        "This token is shown only now. Copy it somewhere safe.",
    ),
    ("admin.new_token", "토큰 발급", "Create token"),
    (
        "admin.webhook",
        "웹훅 URL (알림을 JSON으로 전송)",
        "Webhook URL (notifications are POSTed as JSON)",
    ),
    ("field.name", "이름", "Name"),
    ("field.email", "이메일", "Email"),
    ("field.role", "역할", "Role"),
    ("field.password", "비밀번호", "Password"),
    ("field.status", "상태", "Status"),
    ("field.created", "생성", "Created"),
    ("field.last_login", "최근 로그인", "Last login"),
    ("field.last_used", "최근 사용", "Last used"),
    ("field.kind", "종류", "Kind"),
    ("field.state", "상태", "State"),
    ("field.progress", "진행률", "Progress"),
    ("field.attempts", "시도", "Attempts"),
    ("field.run_at", "실행 예정", "Run at"),
    ("field.error", "오류", "Error"),
    ("field.result", "결과", "Result"),
    ("field.payload", "입력", "Payload"),
    ("field.cron", "주기 (KST)", "Cron (KST)"),
    ("field.next_run", "다음 실행", "Next run"),
    ("field.last_run", "최근 실행", "Last run"),
    ("field.prefix", "접두어", "Prefix"),
    ("status.active", "활성", "Active"),
    ("status.disabled", "비활성", "Disabled"),
    ("status.revoked", "폐기됨", "Revoked"),
    ("status.paused", "일시중지", "Paused"),
    ("role.admin", "관리자", "Admin"),
    ("role.operator", "운영자", "Operator"),
    ("role.advertiser", "광고주", "Advertiser"),
    ("role.analyst", "분석가", "Analyst"),
    ("jobs.title", "작업", "Jobs"),
    ("jobs.empty", "작업이 없습니다.", "No jobs."),
    ("jobs.retry", "다시 실행", "Retry"),
    ("jobs.cancel", "취소", "Cancel"),
    ("jobs.all", "전체", "All"),
    ("state.queued", "대기", "Queued"),
    ("state.running", "실행 중", "Running"),
    ("state.succeeded", "완료", "Succeeded"),
    ("state.failed", "실패", "Failed"),
    ("state.cancelled", "취소됨", "Cancelled"),
    ("notifications.title", "알림", "Notifications"),
    (
        "notifications.empty",
        "알림이 없습니다.",
        "No notifications.",
    ),
    ("notifications.mark_read", "읽음", "Mark read"),
    ("notifications.mark_all", "모두 읽음", "Mark all read"),
    ("error.title", "오류", "Error"),
    ("error.back", "대시보드로", "Back to dashboard"),
    ("common.never", "없음", "never"),
    (
        "inventory.title",
        "포캐스트 풀 인벤토리",
        "Forecast-pool inventory",
    ),
    ("inventory.months", "월별 현황", "Months"),
    ("inventory.month", "월", "Month"),
    ("inventory.forecast_rows", "예측 행", "Forecast rows"),
    ("inventory.standard_rows", "표준 인벤토리", "Standard rows"),
    ("inventory.unit_rows", "유닛 인벤토리", "Unit rows"),
    ("inventory.standard", "표준 인벤토리", "Standard inventory"),
    ("inventory.unit", "유닛 인벤토리", "Unit inventory"),
    ("inventory.confirmed", "확정됨", "Confirmed"),
    ("inventory.unconfirmed", "확정 필요", "Needs confirmation"),
    ("inventory.not_built", "미생성", "Not built"),
    ("inventory.confirm", "확정", "Confirm"),
    (
        "inventory.confirm_needed",
        "이 달은 확정되지 않았습니다. 검토 후 확정해야 유닛 인벤토리를 생성할 수 있습니다.",
        "This month is not confirmed. Review it and confirm before building unit inventory.",
    ),
    ("inventory.build_standard", "표준 생성", "Build standard"),
    ("inventory.build_unit", "유닛 생성", "Build unit"),
    (
        "inventory.empty",
        "아직 예측 데이터가 없습니다. 아래에서 벤더 예측 파일을 업로드하세요.",
        "No forecast yet. Upload a vendor forecast below.",
    ),
    ("inventory.upload", "예측 파일 업로드", "Upload a forecast"),
    ("inventory.file", "CSV 또는 XLSX 파일", "CSV or XLSX file"),
    ("inventory.import", "가져오기", "Import"),
    ("inventory.upload_help", "첫 줄(헤더):", "Header:"),
    ("inventory.imported", "가져오기 완료", "Imported"),
    ("inventory.rows", "행", "rows"),
    ("inventory.new_media", "새 매체", "New media"),
    ("inventory.new_meta_ids", "새 meta_id", "New meta_ids"),
    (
        "inventory.rejected",
        "파일 전체가 거부되었습니다. 아무것도 변경되지 않았습니다.",
        "The whole file was refused; nothing was changed.",
    ),
    ("inventory.row", "행", "Row"),
    ("inventory.column", "열", "Column"),
    ("inventory.value", "값", "Value"),
    ("inventory.reason", "사유", "Reason"),
    (
        "inventory.more_errors",
        "건의 오류가 더 있습니다",
        "more errors",
    ),
    (
        "inventory.part_mapping",
        "파트 → 플랫폼 매핑",
        "Part → platform mapping",
    ),
    ("inventory.part", "파트", "Part"),
    ("inventory.platform", "플랫폼", "Platform"),
    ("inventory.media", "매체", "Media"),
    ("inventory.filter", "필터", "Filter"),
    (
        "inventory.bulk_percent",
        "필터된 행을 예측의 N%로 설정",
        "Set the filtered rows to N% of forecast",
    ),
    ("inventory.apply", "적용", "Apply"),
    ("inventory.forecast_qty", "예측량", "Forecast"),
    ("inventory.qty", "판매 수량", "Sellable qty"),
    ("inventory.change_rate", "전월 대비", "vs last month"),
    ("inventory.total", "합계", "Total"),
    ("inventory.audit", "수정 이력", "Corrections"),
    (
        "inventory.no_audit",
        "수정 이력이 없습니다.",
        "No corrections yet.",
    ),
    ("inventory.old", "이전", "Before"),
    ("inventory.new", "이후", "After"),
    ("inventory.note", "메모", "Note"),
    ("inventory.rows_changed", "변경된 행:", "Rows changed:"),
    ("inventory.reserved", "예약", "Reserved"),
    ("inventory.available", "가용", "Available"),
    ("inventory.availability", "가용률", "Availability"),
    ("inventory.oversold", "초과 판매", "Oversold"),
    (
        "inventory.oversold_help",
        "재생성 후 총량이 이미 예약된 수량보다 적은 날입니다. 판매는 유지됩니다.",
        "Days whose new total is below what is already reserved; no sale is dropped.",
    ),
    (
        "inventory.no_unit",
        "유닛 인벤토리가 없습니다. 표준 인벤토리를 확정하고 유닛을 생성하세요.",
        "No unit inventory. Confirm the standard inventory and build unit inventory.",
    ),
    ("catalog.title", "카탈로그", "Catalog"),
    ("catalog.products", "상품", "Products"),
    ("catalog.groups", "타겟팅 그룹", "Targeting groups"),
    ("catalog.owners", "방송사 (CO)", "Content owners"),
    ("catalog.code", "코드", "Code"),
    ("catalog.type", "유형", "Type"),
    ("catalog.ad_type", "광고 유형", "Ad type"),
    ("catalog.kind", "구분", "Kind"),
    ("catalog.weight", "비중", "Weight"),
    ("catalog.members", "구성 meta_id", "Members"),
    (
        "catalog.members_help",
        "구성 meta_id (한 줄에 하나, 매체/meta_id)",
        "Members (one per line, MEDIA/META_ID)",
    ),
    ("catalog.edit", "수정", "Edit"),
    ("catalog.none", "없음", "None yet"),
    ("catalog.add_product", "상품 추가", "Add product"),
    ("catalog.add_group", "그룹 추가", "Add group"),
    ("booking.title", "구매 (부킹)", "Bookings"),
    (
        "booking.help",
        "구매는 CLI 또는 API로 실행합니다:",
        "Purchases are made from the CLI or the API:",
    ),
    ("booking.product", "상품", "Product"),
    ("booking.amount", "금액", "Amount"),
    ("booking.period", "기간", "Period"),
    ("booking.policy", "정책", "Policy"),
    ("booking.impressions", "예약 노출", "Booked impressions"),
    ("booking.shortage", "부족", "Short"),
    (
        "booking.tree",
        "분배 트리 (플랫폼 → 그룹 → CO → 일자)",
        "Split tree (platform → group → CO → days)",
    ),
    (
        "booking.cancel",
        "구매 취소 (예약 해제)",
        "Cancel (release inventory)",
    ),
    ("booking_state.booked", "예약됨", "Booked"),
    ("booking_state.cancelled", "취소됨", "Cancelled"),
    ("campaign.name", "이름", "Name"),
    ("campaign.advertiser", "광고주", "Advertiser"),
    ("campaign.budget", "총 예산", "Total budget"),
    ("campaign.lines_amount", "라인 합계", "Lines total"),
    ("campaign.ads", "광고 소재", "Ads"),
    ("campaign.new", "캠페인 만들기", "New campaign"),
    ("campaign.start", "시작일", "Start"),
    ("campaign.end", "종료일", "End"),
    ("campaign.lines", "라인 (구매)", "Lines (purchases)"),
    ("campaign.line", "라인", "Line"),
    ("campaign.add_line", "라인 추가", "Add line"),
    ("campaign.book", "구매 실행", "Book"),
    ("campaign.dry_run", "미리 계산", "Dry run"),
    ("campaign.creative", "소재 URL", "Creative URL"),
    ("campaign.add_ad", "소재 추가", "Add ad"),
    ("campaign.proposal", "제안서 다운로드", "Download proposal"),
    (
        "campaign.status_rule",
        "캠페인 상태는 소재 상태로 정해집니다: 오류 > 집행 중 > 일시중지 > 예약 > 검수 대기 > 반려 > 작성 중. 모든 소재가 종료되어야 종료입니다.",
        "A campaign's status comes from its ads: ERROR > LIVE > PAUSED > SCHEDULED > PENDING_REVIEW > REJECTED > DRAFT; COMPLETED only when every ad is.",
    ),
    ("cstatus.DRAFT", "작성 중", "Draft"),
    ("cstatus.REJECTED", "반려", "Rejected"),
    ("cstatus.PENDING_REVIEW", "검수 대기", "Pending review"),
    ("cstatus.SCHEDULED", "예약", "Scheduled"),
    ("cstatus.PAUSED", "일시중지", "Paused"),
    ("cstatus.LIVE", "집행 중", "Live"),
    ("cstatus.ERROR", "오류", "Error"),
    ("cstatus.COMPLETED", "종료", "Completed"),
    ("pacing.title", "페이싱", "Pacing"),
    (
        "pacing.to_date",
        "어제까지 집행 / 예약",
        "Delivered / booked up to yesterday",
    ),
    ("pacing.booked", "예약 누적", "Booked (cumulative)"),
    ("pacing.delivered", "집행 누적", "Delivered (cumulative)"),
    ("pacing.not_started", "시작 전", "Not started"),
    ("pacing.behind", "지연", "Behind"),
    ("pacing.on_track", "정상", "On track"),
    ("pacing.ahead", "초과", "Ahead"),
    ("admin.signing", "웹훅 서명 키", "Webhook signing secret"),
    (
        "admin.signing_help",
        "캠페인 상태 변경 웹훅은 X-Adpool-Signature: sha256=HMAC-SHA256(키, \"타임스탬프.본문\") 으로 서명됩니다. 수신 측에서 이 키로 검증하세요.",
        "Campaign status webhooks carry X-Adpool-Signature: sha256=HMAC-SHA256(secret, \"timestamp.body\"). Verify them with this secret.",
    ),
    ("admin.rotate", "키 재발급", "Rotate secret"),
    ("weekday.0", "월", "Mon"),
    ("weekday.1", "화", "Tue"),
    ("weekday.2", "수", "Wed"),
    ("weekday.3", "목", "Thu"),
    ("weekday.4", "금", "Fri"),
    ("weekday.5", "토", "Sat"),
    ("weekday.6", "일", "Sun"),
    ("cpc.active_campaigns", "진행 중 캠페인", "Active campaigns"),
    ("cpc.ad", "광고", "Ad"),
    ("cpc.add_ad", "상품 광고 추가", "Add product ad"),
    ("cpc.adjust", "잔액 조정", "Adjust balance"),
    ("cpc.ads", "상품 광고", "Product ads"),
    ("cpc.advertisers", "광고주", "Advertisers"),
    ("cpc.approve", "승인", "Approve"),
    ("cpc.ad_review.review", "심사 중", "In review"),
    ("cpc.ad_review.approved", "승인됨", "Approved"),
    ("cpc.ad_review.rejected", "반려됨", "Rejected"),
    (
        "cpc.ad_review_help",
        "승인된 캠페인에 새로 추가한 광고는 심사 후에 노출됩니다.",
        "An ad added to an approved campaign serves once it is reviewed.",
    ),
    ("cpc.balance", "잔액", "Balance"),
    ("cpc.balance_after", "처리 후 잔액", "Balance after"),
    ("cpc.bid", "입찰가(CPC)", "Bid (CPC)"),
    ("cpc.business_name", "상호", "Business name"),
    ("cpc.campaigns", "CPC 캠페인", "CPC campaigns"),
    ("cpc.category", "카테고리", "Category"),
    ("cpc.clicks", "클릭", "Clicks"),
    ("cpc.closing", "기말 잔액", "Closing balance"),
    ("cpc.contact", "담당자", "Contact"),
    ("cpc.contact_email", "담당자 이메일", "Contact email"),
    ("cpc.contact_name", "담당자 이름", "Contact name"),
    ("cpc.contact_phone", "담당자 전화", "Contact phone"),
    ("cpc.conversions", "전환", "Conversions"),
    ("cpc.daily_budget", "일 예산", "Daily budget"),
    (
        "cpc.daily_chart",
        "일별 광고비 · 매출",
        "Daily spend and revenue",
    ),
    ("cpc.date", "날짜", "Date"),
    ("cpc.end", "종료", "End"),
    ("cpc.from", "시작일", "From"),
    ("cpc.image_url", "이미지 URL", "Image URL"),
    ("cpc.impressions", "노출", "Impressions"),
    ("cpc.in_review", "심사 대기 캠페인", "Campaigns in review"),
    ("cpc.invalid", "무효 클릭", "Invalid clicks"),
    (
        "cpc.join_link",
        "광고주 가입 링크",
        "Advertiser sign-up link",
    ),
    ("cpc.kind", "구분", "Kind"),
    ("cpc.kind.adjustment", "조정", "Adjustment"),
    ("cpc.kind.charge", "클릭 과금", "Charge"),
    ("cpc.kind.refund", "환불", "Refund"),
    ("cpc.kind.topup", "충전", "Top-up"),
    ("cpc.landing_url", "랜딩 URL", "Landing URL"),
    ("cpc.ledger", "잔액 원장", "Ledger"),
    (
        "cpc.ledger_help",
        "원장은 추가만 됩니다. 잔액은 언제나 원장 합계와 같습니다 (adpool ads ledger verify).",
        "The ledger is append-only; the balance always equals the sum of its entries (adpool ads ledger verify).",
    ),
    ("cpc.live", "실시간 (이 프로세스)", "Live (this process)"),
    ("cpc.live_ctr", "5분 CTR", "5-minute CTR"),
    ("cpc.memo", "메모", "Memo"),
    ("cpc.new_campaign", "새 CPC 캠페인", "New CPC campaign"),
    (
        "cpc.no_pending",
        "심사 대기 광고주가 없습니다.",
        "No advertisers waiting for review.",
    ),
    ("cpc.not_ranked", "순위 밖", "not ranked"),
    ("cpc.opening", "기초 잔액", "Opening balance"),
    (
        "cpc.origins",
        "허용 Origin (공백 구분, 비우면 모두)",
        "Allowed origins (space separated, empty: any)",
    ),
    ("cpc.pause", "일시중지", "Pause"),
    ("cpc.pending", "심사 대기", "pending"),
    (
        "cpc.pending_help",
        "가입 신청이 접수되었습니다. 관리자 심사 후 충전과 캠페인 등록이 가능합니다.",
        "Your sign-up is in review. Once approved you can top up and register campaigns.",
    ),
    ("cpc.placements", "지면", "Placements"),
    ("cpc.price_now", "현재 단가(최대)", "Price now (max)"),
    ("cpc.product", "상품", "Product"),
    ("cpc.queries", "광고 요청", "ad queries"),
    (
        "cpc.ranking_help",
        "점수 = 입찰가 × 예측 CTR(베타 사전분포 + 최근 5분 가중). 단가는 일반화 2차 가격(다음 순위를 유지하는 최저 CPC, 최저가 이상, 입찰가 이하).",
        "Score = bid × predicted CTR (Beta prior, recent 5-minute windows weighted). Price is the generalized second price: the lowest CPC that keeps the slot, at least the reserve, at most the bid.",
    ),
    ("cpc.rankings", "순위표", "rankings"),
    ("cpc.reason", "사유", "Reason"),
    (
        "cpc.registration_number",
        "사업자등록번호",
        "Business registration no.",
    ),
    ("cpc.reject", "반려", "Reject"),
    (
        "cpc.rejected_help",
        "가입이 반려되었습니다",
        "Your sign-up was rejected",
    ),
    ("cpc.report", "성과 리포트", "Report"),
    ("cpc.resume", "재개", "Resume"),
    ("cpc.revenue", "매출", "Revenue"),
    ("cpc.review_queue", "광고주 심사", "Advertiser review"),
    ("cpc.settlement", "일별 정산", "Daily settlement"),
    (
        "cpc.settlement_help",
        "정산은 원장에서 계산합니다: 기초 + 충전 − 과금 + 환불 + 조정 = 기말 (KST 기준).",
        "Built from the ledger: opening + top-ups − charges + refunds + adjustments = closing (KST days).",
    ),
    ("cpc.sign_up", "광고주 가입", "Advertiser sign-up"),
    (
        "cpc.sign_up_help",
        "사업자 정보를 입력하면 관리자 심사 후 광고를 시작할 수 있습니다.",
        "Enter your business details; an admin reviews them before you can advertise.",
    ),
    ("cpc.signed_up", "신청일", "Signed up"),
    ("cpc.sites", "사이트 (API 키)", "Sites (API keys)"),
    (
        "cpc.sites_help",
        "쇼핑몰 프론트엔드가 GET /serve/ads 에 이 키(X-Adpool-Key)로 광고를 요청합니다. 키는 만들 때 한 번만 보입니다.",
        "Shop front ends call GET /serve/ads with the site key (X-Adpool-Key). A key is shown once, when created.",
    ),
    ("cpc.spend", "광고비", "Spend"),
    ("cpc.spend_today", "오늘 광고비", "Spend today"),
    ("cpc.spent_today", "오늘 소진", "Spent today"),
    ("cpc.title", "상품명", "Title"),
    ("cpc.to", "종료일", "To"),
    ("cpc.top_up", "충전", "Top up"),
    ("cpc.top_up_memo", "입금 확인 번호 등", "payment reference"),
    ("cpc.total", "합계", "Total"),
    ("cpc.when", "시각", "When"),
    ("cpc.revoked", "폐기됨", "revoked"),
    (
        "cpc.join_done",
        "가입 신청이 접수되었습니다. 심사가 끝나면 이 이메일로 로그인할 수 있습니다.",
        "application received; once it is reviewed you can sign in with this email.",
    ),
    (
        "cpc.join_rate_limited",
        "가입 신청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
        "Too many sign-ups from this address; try again later.",
    ),
    ("cpc.state.pending", "심사 대기", "Pending"),
    ("cpc.state.approved", "승인", "Approved"),
    ("cpc.state.rejected", "반려", "Rejected"),
    ("cpc.cstate.review", "심사 중", "In review"),
    ("cpc.cstate.rejected", "반려", "Rejected"),
    ("cpc.cstate.active", "진행 중", "Active"),
    ("cpc.cstate.paused", "일시중지", "Paused"),
    ("cpc.cstate.ended", "종료", "Ended"),
    ("logs.open", "열기", "Open"),
    ("logs.report.ad-performance", "광고 성과", "Ad performance"),
    ("logs.report.ad-request", "광고 요청", "Ad requests"),
    ("logs.report.demand", "디맨드", "Demand"),
    ("logs.report.media", "매체", "Media"),
    ("logs.sources", "로그 소스", "Log sources"),
    ("logs.source", "소스", "Source"),
    ("logs.done", "완료 파일", "Files done"),
    ("logs.events", "이벤트", "Events"),
    ("logs.waiting", "대기", "Waiting"),
    ("logs.quarantined", "격리", "Quarantined"),
    ("logs.failed", "실패", "Failed"),
    ("logs.skipped", "제외", "Skipped"),
    (
        "logs.no_sources",
        "아직 분석한 로그가 없습니다.",
        "No logs analyzed yet.",
    ),
    (
        "logs.cli_help",
        "CLI: adpool logs analyze --source 폴더|s3://버킷/경로 · 실패 목록: adpool logs failed · 재처리: adpool logs retry --source 소스",
        "CLI: adpool logs analyze --source FOLDER|s3://bucket/prefix · failed files: adpool logs failed · reprocess: adpool logs retry --source SOURCE",
    ),
    (
        "logs.problems",
        "격리 · 실패 파일",
        "Quarantined and failed files",
    ),
    (
        "insight.intro",
        "카드·거래 내역을 올리면 카테고리별 소비, 추세, 고객 세그먼트를 분석하고 마케팅 메시지를 씁니다.",
        "Upload card or transaction histories: spend by category, trends, customer segments, and marketing messages written from them.",
    ),
    ("insight.source", "데이터", "Data"),
    ("insight.source.statement", "카드 명세서", "Card statements"),
    ("insight.source.shop", "내 쇼핑몰 주문", "My shop orders"),
    (
        "insight.source_help",
        "'내 쇼핑몰 주문' 은 연결된 쇼핑몰의 주문 (고객이 있는 결제 완료 주문, 실결제 금액, 상품 카테고리) 을 지금 상태 그대로 가져와 고객 세그먼트와 메시지를 만듭니다.",
        "'My shop orders' takes your stores' orders as they are now (paid orders with a customer, net paid, product categories) and builds customer segments and messages from them.",
    ),
    ("insight.span", "거래 기간", "Transactions from"),
    ("insight.upload", "거래 내역 올리기", "Upload a statement"),
    ("insight.mapping", "열 매핑", "Column mapping"),
    (
        "insight.auto_layout",
        "자동 인식",
        "Recognise automatically",
    ),
    ("insight.preview", "미리보기", "Preview"),
    (
        "insight.upload_help",
        "CSV·XLSX·XLS·TXT, UTF-8·CP949(EUC-KR)·UTF-16 모두 가능. 롯데·KB국민·신한·현대·삼성카드 양식은 자동 인식되고, 그 밖의 양식은 열을 한 번 지정하면 저장해 다시 씁니다. 가져오기 전에 미리 봅니다.",
        "CSV, XLSX, XLS or TXT in UTF-8, CP949 (EUC-KR) or UTF-16. Lotte, KB, Shinhan, Hyundai and Samsung card layouts are recognised; map any other layout once and it is remembered. You see a preview before anything is imported.",
    ),
    ("insight.new_analysis", "새 분석", "New analysis"),
    ("insight.from", "시작일", "From"),
    ("insight.to", "종료일", "To"),
    ("insight.analyze", "분석 시작", "Analyze"),
    (
        "insight.analyze_help",
        "날짜를 비우면 전체 기간을 분석합니다. 백그라운드 작업으로 실행되며 끝나면 알림을 보냅니다.",
        "Leave the days empty for every transaction. It runs in the background; you are notified when it is ready.",
    ),
    ("insight.analyses", "분석", "Analyses"),
    ("insight.period", "기간", "Period"),
    ("insight.requested", "요청 시각", "Requested"),
    (
        "insight.no_analyses",
        "아직 분석이 없습니다.",
        "No analyses yet.",
    ),
    (
        "insight.uncategorized",
        "미분류 가맹점",
        "Uncategorized merchants",
    ),
    ("insight.merchant", "가맹점", "Merchant"),
    ("insight.spend", "지출", "Spend"),
    ("insight.set_category", "카테고리 지정", "Set category"),
    (
        "insight.all_categorized",
        "모든 가맹점이 분류되었습니다.",
        "Every merchant has a category.",
    ),
    ("insight.rules", "분류 규칙", "Category rules"),
    ("insight.keyword", "가맹점 키워드", "Merchant keyword"),
    ("insight.category", "카테고리", "Category"),
    ("insight.remove", "삭제", "Remove"),
    (
        "insight.no_rules",
        "규칙이 없습니다: 내장 가맹점 사전(440여 개)과 업종으로 분류합니다.",
        "No rules: the built-in dictionary of 440 merchant keywords and the industry column decide.",
    ),
    ("insight.add_rule", "규칙 추가", "Add rule"),
    (
        "insight.rules_help",
        "규칙은 내장 사전보다 우선하며, 저장하면 모든 거래가 다시 분류됩니다.",
        "Rules win over the built-in dictionary; saving one recategorizes every transaction.",
    ),
    ("insight.uploads", "올린 파일", "Uploaded files"),
    ("insight.file", "파일", "File"),
    ("insight.layout", "양식", "Layout"),
    ("insight.encoding", "인코딩", "Encoding"),
    ("insight.lines", "건수", "Lines"),
    ("insight.new", "신규", "New"),
    ("insight.duplicates", "중복", "Duplicates"),
    ("insight.imported_at", "가져온 시각", "Imported"),
    (
        "insight.no_uploads",
        "아직 거래 내역이 없습니다.",
        "No transactions yet.",
    ),
    ("insight.recent", "최근 거래", "Recent transactions"),
    ("insight.day", "일자", "Day"),
    ("insight.amount", "금액", "Amount"),
    ("insight.months", "개월", "-month installments"),
    ("insight.partial_month", "일부 기간", "part of the month:"),
    ("insight.day_count", "일", " days"),
    (
        "insight.partial_month_help",
        "분석 기간이 달의 일부만 담은 달은 전월 대비 증감을 계산하지 않습니다.",
        "A month the range covers only in part gets no change against the month before.",
    ),
    (
        "insight.mappings",
        "저장된 열 매핑",
        "Saved column mappings",
    ),
    (
        "insight.no_mappings",
        "저장된 매핑이 없습니다.",
        "No saved mappings.",
    ),
    (
        "insight.layouts_known",
        "자동 인식: 롯데카드, KB국민카드, 신한카드, 현대카드, 삼성카드, adpool(date, merchant, amount).",
        "Recognised: Lotte, KB Kookmin, Shinhan, Hyundai, Samsung cards, and adpool's own (date, merchant, amount).",
    ),
    (
        "insight.ai_on",
        "AI 메시지: 설정된 엔드포인트 사용 (실패 시 내장 작성기)",
        "AI messages: the configured endpoint (the built-in writer if it fails)",
    ),
    (
        "insight.ai_off",
        "AI 엔드포인트 미설정: 내장 작성기가 분석 결과로 메시지를 씁니다.",
        "No AI endpoint configured: the built-in writer writes from the analysis.",
    ),
    ("insight.map_columns", "열 지정", "Map the columns"),
    (
        "insight.map_help",
        "알려진 카드사 양식이 아닙니다. 각 항목이 어느 열인지 골라 주세요. 이름을 붙여 저장하면 같은 양식은 다음부터 자동으로 읽습니다.",
        "This is not a known card layout. Choose the column of each field; the mapping is saved under its name and used for files like this from now on.",
    ),
    ("insight.header_row", "머리글 행", "header row"),
    ("insight.sheets", "시트", "sheets"),
    ("insight.mapping_name", "매핑 이름", "Mapping name"),
    (
        "insight.save_mapping",
        "저장하고 미리보기",
        "Save and preview",
    ),
    ("insight.field.date", "일자", "Date"),
    ("insight.field.merchant", "가맹점", "Merchant"),
    ("insight.field.amount", "금액", "Amount"),
    ("insight.field.industry", "업종", "Industry"),
    ("insight.field.cancel", "취소 여부", "Cancelled"),
    (
        "insight.field.installment",
        "할부 개월",
        "Installment months",
    ),
    ("insight.field.customer", "고객 번호", "Customer id"),
    ("insight.field.card", "카드", "Card"),
    ("insight.field.approval", "승인번호", "Approval no."),
    (
        "insight.totals_skipped",
        "합계·소계·안내 행 제외",
        "totals, subtotals and notes skipped",
    ),
    ("insight.columns", "읽은 열", "Columns"),
    (
        "insight.rejected_help",
        "읽을 수 없는 줄이 있어 가져올 수 없습니다. 파일을 고쳐 다시 올려 주세요. 아무것도 바뀌지 않았습니다",
        "Some lines cannot be read, so nothing can be imported. Fix the file and upload it again; nothing was changed",
    ),
    ("insight.import", "가져오기", "Import"),
    ("insight.cancel", "취소", "Cancel"),
    ("insight.first_lines", "처음 20줄", "First 20 lines"),
    ("insight.row", "행", "Row"),
    ("insight.duplicate", "이미 가져옴", "already imported"),
    ("insight.analysis", "분석", "Analysis"),
    (
        "insight.running",
        "분석 중입니다. 이 페이지는 자동으로 새로 고쳐집니다.",
        "Analyzing; this page refreshes itself.",
    ),
    ("insight.purchases", "구매", "Purchases"),
    ("insight.cancelled", "취소", "cancelled"),
    (
        "insight.imported",
        "{name}: 새 거래 {new}건을 가져왔습니다 (이미 있던 거래 {duplicates}건, 합계·안내 행 {skipped}줄 제외).",
        "{name}: {new} new transactions, {duplicates} already imported, {skipped} totals rows skipped",
    ),
    ("insight.line_kind.purchase", "구매", "purchase"),
    ("insight.line_kind.cancelled", "취소", "cancelled"),
    ("insight.line_kind.refund", "환불", "refund"),
    ("insight.refunds", "환불", "refunds"),
    ("insight.average", "건당 평균", "Average purchase"),
    ("insight.merchants", "가맹점", "merchants"),
    (
        "insight.installment_share",
        "할부 비중",
        "Paid in installments",
    ),
    (
        "insight.uncategorized_share",
        "미분류 비중",
        "Uncategorized",
    ),
    (
        "insight.by_category",
        "카테고리별 지출",
        "Spend by category",
    ),
    ("insight.by_month", "월별 지출", "Spend by month"),
    ("insight.month", "월", "Month"),
    ("insight.change", "전월 대비", "vs previous"),
    ("insight.top_merchants", "많이 쓴 가맹점", "Top merchants"),
    (
        "insight.mom",
        "카테고리 전월 대비",
        "Categories, last month vs the one before",
    ),
    ("insight.previous_month", "전월", "Previous"),
    ("insight.last_month", "최근 월", "Last"),
    (
        "insight.one_month",
        "비교하려면 두 달 이상의 거래가 필요합니다.",
        "Two months of transactions are needed to compare.",
    ),
    (
        "insight.segments",
        "고객 세그먼트 (RFM)",
        "Customer segments (RFM)",
    ),
    ("insight.segment", "세그먼트", "Segment"),
    ("insight.customers", "고객 수", "Customers"),
    ("insight.avg_spend", "1인 평균", "Average spend"),
    ("insight.frequency", "평균 구매 횟수", "Average purchases"),
    ("insight.recency", "최근 구매", "Last purchase"),
    ("insight.days", "일 전", "d ago"),
    ("insight.top_categories", "주요 카테고리", "Top categories"),
    (
        "insight.rfm_help",
        "최근성(R)·빈도(F)·금액(M)을 5분위로 1~5점 매겨 묶었습니다.",
        "Recency, frequency and monetary value scored 1-5 by quintile, then grouped.",
    ),
    (
        "insight.no_segments",
        "거래에 고객 번호가 없어 세그먼트를 만들 수 없습니다 (카드 명세서는 한 사람의 거래입니다).",
        "No customer ids in these transactions, so no segments (a card statement is one person's).",
    ),
    ("insight.messages", "마케팅 메시지", "Marketing messages"),
    ("insight.audience", "대상", "Audience"),
    ("insight.everyone", "전체 고객", "Everyone"),
    ("insight.channel", "채널", "Channel"),
    ("insight.channel.sms", "SMS (90바이트)", "SMS (90 bytes)"),
    (
        "insight.channel.lms",
        "LMS (2,000바이트)",
        "LMS (2,000 bytes)",
    ),
    ("insight.channel.kakao", "카카오톡", "KakaoTalk"),
    ("insight.channel.push", "앱 푸시", "Push"),
    ("insight.tone", "어조", "Tone"),
    ("insight.tone.friendly", "친근하게", "Friendly"),
    ("insight.tone.formal", "정중하게", "Formal"),
    ("insight.tone.playful", "재치 있게", "Playful"),
    ("insight.tone.urgent", "긴급하게", "Urgent"),
    ("insight.language", "언어", "Language"),
    ("insight.count", "개수", "How many"),
    ("insight.write", "메시지 쓰기", "Write messages"),
    ("insight.edited", "수정됨", "edited"),
    ("insight.copy", "복사", "Copy"),
    ("insight.unit.bytes", "바이트 (EUC-KR)", "bytes (EUC-KR)"),
    ("insight.unit.chars", "자", "characters"),
    (
        "insight.no_messages",
        "아직 쓴 메시지가 없습니다.",
        "No messages yet.",
    ),
    ("shops.period", "기간", "Period"),
    ("shops.period.day", "일", "Day"),
    ("shops.period.week", "주", "Week"),
    ("shops.period.month", "월", "Month"),
    ("shops.period.year", "년", "Year"),
    ("shops.day", "기준일", "Day"),
    ("shops.store", "쇼핑몰", "Store"),
    ("shops.all_stores", "전체 쇼핑몰", "All stores"),
    ("shops.show", "보기", "Show"),
    ("shops.revenue", "매출", "Revenue"),
    ("shops.orders", "주문 수", "Orders"),
    ("shops.aov", "객단가", "Average order value"),
    (
        "shops.previous",
        "이전 기간 같은 날수",
        "Previous period, same days",
    ),
    (
        "shops.no_previous",
        "이전 기간 매출 없음",
        "no previous sales",
    ),
    (
        "shops.revenue_by_period",
        "기간별 매출 (플랫폼별)",
        "Revenue by period and platform",
    ),
    ("shops.by_platform", "플랫폼별", "By platform"),
    ("shops.platform", "플랫폼", "Platform"),
    ("shops.by_category", "카테고리별", "By category"),
    ("shops.category", "카테고리", "Category"),
    ("shops.uncategorised", "(미분류)", "(uncategorised)"),
    ("shops.top_products", "상위 상품", "Top products"),
    ("shops.product", "상품", "Product"),
    ("shops.quantity", "수량", "Quantity"),
    ("shops.by_period", "기간별", "By period"),
    ("shops.no_sales", "매출 없음", "No sales"),
    ("shops.stores", "쇼핑몰 계정", "Stores"),
    ("shops.mall_id", "쇼핑몰 ID", "Mall id"),
    ("shops.credentials", "API 자격 증명", "API credentials"),
    (
        "shops.saved",
        "저장됨 (표시되지 않음)",
        "saved (never shown)",
    ),
    ("shops.last_run", "최근 동기화", "Last run"),
    (
        "shops.no_stores",
        "등록된 쇼핑몰이 없습니다.",
        "No stores yet.",
    ),
    ("shops.add_store", "쇼핑몰 등록", "Register a store"),
    ("shops.store_name", "이름", "Name"),
    (
        "shops.credentials_help",
        "Cafe24: 쇼핑몰 ID 만 입력하고 등록한 뒤 'Cafe24 연결' 을 누르세요 (직접 등록한 Cafe24 앱이 있을 때만 client_id / client_secret 입력). 네이버는 커머스API센터 애플리케이션의 client_id / client_secret 이 필요합니다. 저장 시 AES-256-GCM 으로 암호화되며 다시 표시되지 않습니다. 에이블리는 판매자센터 주문 내보내기 파일을 업로드합니다.",
        "Cafe24: enter the mall id only, register, then press 'Connect to Cafe24' (client_id / client_secret only for your own Cafe24 app). Naver needs the client_id / client_secret of your Commerce API Center application. They are encrypted with AES-256-GCM when saved and never shown again. Ably stores upload the seller centre's order export.",
    ),
    (
        "shops.store_sales",
        "이 쇼핑몰의 매출 보기",
        "Sales of this store",
    ),
    (
        "shops.ably_upload",
        "에이블리 주문 내보내기 업로드",
        "Upload an Ably order export",
    ),
    ("shops.import", "가져오기", "Import"),
    ("shops.sync_now", "지금 동기화", "Sync now"),
    ("shops.connect", "Cafe24 연결", "Connect to Cafe24"),
    (
        "shops.connect_help",
        "Cafe24 에서 adpool 앱의 주문·상품·카테고리·쿠폰·쇼핑몰 정보 읽기 권한을 승인하면 연결됩니다. 발급된 토큰은 암호화되어 저장됩니다.",
        "Approve adpool's app in Cafe24 (read orders, products, categories, coupons and the mall's shops) to connect; the tokens it issues are stored encrypted.",
    ),
    ("shops.health", "연결 상태", "Connection"),
    (
        "shops.connected",
        "{name} 이(가) Cafe24 에 연결되었습니다.",
        "{name} is connected to Cafe24.",
    ),
    (
        "shops.registered",
        "{name} 을(를) 등록했습니다.",
        "{name} registered.",
    ),
    (
        "shops.optional_for_cafe24",
        "Cafe24 는 비워 두어도 됩니다",
        "optional for Cafe24",
    ),
    (
        "shops.health_last_success",
        "마지막으로 성공한 동기화·가져오기: {when}",
        "Last successful sync or import: {when}",
    ),
    (
        "shops.health_never",
        "아직 성공한 동기화가 없습니다.",
        "No sync has succeeded yet.",
    ),
    (
        "shops.health_scope",
        "권한 {scope} 이(가) 승인되지 않았습니다. 다시 연결하여 허용하세요.",
        "The scope {scope} was not granted: connect again and allow it.",
    ),
    (
        "shops.health_expires",
        "연결 만료: {when} (KST). 매일 동기화되면 자동으로 연장됩니다.",
        "The connection expires {when} (KST); every daily sync renews it.",
    ),
    (
        "shops.health_own_app",
        "이 쇼핑몰이 직접 등록한 Cafe24 앱으로 연결되어 있습니다.",
        "Connected through the store's own Cafe24 app.",
    ),
    (
        "shops.health_deployment_app",
        "운영자가 등록한 adpool Cafe24 앱으로 연결되어 있습니다.",
        "Connected through the deployment's adpool Cafe24 app.",
    ),
    (
        "shops.health_ip",
        "네이버가 이 서버의 주소를 거부했습니다 (GW.IP_NOT_ALLOWED). 커머스API센터의 애플리케이션 설정에서 API 호출 IP 에 {address} 를 등록하세요. 자격 증명 문제가 아닙니다.",
        "Naver refused this server's address (GW.IP_NOT_ALLOWED): register {address} as an API caller IP in your application in the Commerce API Center. The credentials are fine.",
    ),
    (
        "shops.health_address_unknown",
        "이 서버의 외부 IP 주소 (운영자에게 문의하거나 outbound_ip_address 설정)",
        "this server's outbound IP address (ask your operator, or set outbound_ip_address)",
    ),
    (
        "shops.note_missing_scope",
        "권한 {scope} 이(가) 없어 {step} 을(를) 읽지 못했습니다. 주문은 동기화되었습니다. 다시 연결하여 허용하세요.",
        "{step} could not be read without the scope {scope}; the orders synced. Connect again and allow it.",
    ),
    (
        "shops.note_shop_skipped",
        "원화로 판매하지 않는 쇼핑몰은 합산하지 않았습니다: {shop}",
        "A shop that does not sell in won was not added up: {shop}",
    ),
    (
        "shops.note_catalog_failed",
        "상품 정보 일부를 읽지 못했습니다 (주문은 동기화됨): {detail}",
        "Part of the catalog could not be read (the orders synced): {detail}",
    ),
    (
        "shops.line_statuses",
        "주문 상품 상태",
        "Order lines by status",
    ),
    (
        "shops.unknown_statuses",
        "이 파일에 adpool 이 모르는 주문상태가 있습니다. 의미를 추측하면 매출이 틀려지므로 아무것도 가져오지 않았습니다:",
        "The file has order statuses adpool does not know; guessing would put wrong figures in sales, so nothing was imported:",
    ),
    (
        "shops.accept_unknown",
        "확인했습니다. 이 상태의 행은 '알 수 없음' 으로 보관하고 매출에서 빼고 가져오기 (파일을 다시 선택하세요)",
        "I checked: keep those lines as 'unknown', leave them out of sales, and import (choose the file again)",
    ),
    ("shops.lines", "상품 주문", "Lines"),
    ("shops.is_sale", "매출 포함", "In sales"),
    (
        "shops.unknown_help",
        "알 수 없는 상태 코드는 매출에 넣지 않고 그대로 보관합니다. 플랫폼 문서에서 의미를 확인해 주세요.",
        "An unknown status code is kept as it is and left out of sales until its meaning is known.",
    ),
    (
        "shops.net_paid_help",
        "매출은 실결제 금액입니다: 구매자가 상품에 실제로 지불한 금액 (상품 할인·쿠폰 차감 후, 배송비 제외). 취소·반품 완료, 미입금 주문은 포함하지 않습니다.",
        "Sales are net paid: what buyers paid for the goods (after item discounts and coupons, without shipping). Completed cancellations and returns and unpaid orders are not included.",
    ),
    ("order_status.unpaid", "입금 전", "unpaid"),
    ("order_status.paid", "결제 완료", "paid"),
    ("order_status.preparing", "상품 준비 중", "preparing"),
    ("order_status.shipping", "배송 중", "shipping"),
    ("order_status.delivered", "배송 완료", "delivered"),
    ("order_status.confirmed", "구매 확정", "purchase confirmed"),
    ("order_status.exchanged", "교환", "exchanged"),
    (
        "order_status.replacement",
        "교환 발송 상품",
        "exchange replacement",
    ),
    (
        "order_status.cancel_requested",
        "취소 요청",
        "cancellation requested",
    ),
    (
        "order_status.return_requested",
        "반품 요청",
        "return requested",
    ),
    ("order_status.cancelled", "취소 완료", "cancelled"),
    ("order_status.returned", "반품 완료", "returned"),
    ("order_status.unknown", "알 수 없는 상태", "unknown status"),
    (
        "shops.synced_through",
        "주문 동기화 완료일",
        "orders synced through",
    ),
    (
        "shops.sync_help",
        "매일 08:00 (KST) 자동으로 동기화됩니다. 주문 상태는 주문 후 몇 주 동안 바뀌므로 (배송 완료, 구매 확정, 취소, 반품) 매번 최근 {days}일의 주문을 다시 읽으며, 같은 주문은 중복되지 않습니다.",
        "Syncs every day at 08:00 KST. Orders change for weeks after they are placed (delivered, confirmed, cancelled, returned), so every sync rereads the last {days} days of orders; the same order never counts twice.",
    ),
    (
        "shops.ably_help",
        "판매자센터의 주문 내보내기 (CSV 또는 XLSX): 주문번호, 주문일시, 상품코드, 상품명, 수량, 결제금액, 주문상태 열. 잘못된 행이 하나라도 있으면 아무것도 가져오지 않고 모든 행의 오류를 보여 줍니다. 같은 파일을 다시 올려도 중복되지 않습니다.",
        "The seller centre's order export (CSV or XLSX) with the columns 주문번호, 주문일시, 상품코드, 상품명, 수량, 결제금액, 주문상태. One bad row imports nothing and every bad row is listed; uploading the same file again never duplicates.",
    ),
    (
        "shops.runs",
        "동기화 · 가져오기 이력",
        "Sync and import history",
    ),
    ("shops.kind", "종류", "Kind"),
    ("shops.kind.sync", "동기화", "sync"),
    ("shops.kind.import", "파일 가져오기", "import"),
    ("shops.started", "시작", "Started"),
    ("shops.fetched", "수신", "Fetched"),
    ("shops.inserted", "신규", "New"),
    ("shops.updated", "갱신", "Updated"),
    ("shops.detail", "내용", "Detail"),
    ("shops.no_runs", "아직 이력이 없습니다.", "No runs yet."),
    ("logs.analyze_now", "지금 분석", "Analyze now"),
    ("logs.retry", "재처리", "Retry"),
    (
        "logs.add_source",
        "소스 추가 (폴더 또는 S3 버킷)",
        "Add a source (folder or S3 bucket)",
    ),
    ("logs.hourly", "매시간 분석", "Analyze every hour"),
    (
        "logs.folder_roots",
        "이 조직이 분석할 수 있는 서버 폴더",
        "Server folders this organization may analyze",
    ),
    ("logs.s3_credentials", "S3 접근 정보", "S3 credentials"),
    (
        "logs.refused.folder_outside_roots",
        "{source}: 이 조직이 분석할 수 있는 폴더 밖입니다. 아래에 표시된 폴더 안의 경로를 입력하세요.",
        "{source}: outside the folders this organization may analyze; enter a path inside the folders listed below.",
    ),
    (
        "logs.refused.no_s3_credentials",
        "{source}: 이 조직의 S3 접근 정보가 없습니다. 관리자가 아래 'S3 접근 정보'를 먼저 저장하세요.",
        "{source}: this organization has no S3 credentials; an admin saves them under 'S3 credentials' below first.",
    ),
    (
        "outbound.not_http",
        "{url}: http:// 또는 https:// 주소가 아닙니다.",
        "{url}: not an http:// or https:// URL.",
    ),
    (
        "outbound.not_public",
        "{host}: {address} 는 인터넷 공개 주소가 아닙니다. 내부 주소는 배포 설정(outbound_allowed_hosts)에 등록된 것만 쓸 수 있습니다.",
        "{host}: {address} is not a public internet address; private hosts must be listed in the deployment's outbound_allowed_hosts.",
    ),
    (
        "outbound.unresolvable",
        "{host}: 이 이름을 찾을 수 없습니다 ({message}).",
        "{host}: this name does not resolve ({message}).",
    ),
    (
        "logs.s3_help",
        "s3:// 소스는 이 조직의 접근 키로만 읽습니다. 비밀 키는 암호화해 저장하며 다시 보여 주지 않습니다.",
        "s3:// sources are read with this organization's own keys only. The secret is stored encrypted and never shown again.",
    ),
    (
        "logs.s3_endpoint",
        "엔드포인트 (비우면 AWS)",
        "Endpoint (empty: AWS)",
    ),
    ("logs.s3_region", "리전", "Region"),
    ("logs.s3_access_key_id", "액세스 키 ID", "Access key ID"),
    (
        "logs.s3_secret_access_key",
        "비밀 액세스 키",
        "Secret access key",
    ),
    (
        "logs.s3_saved",
        "S3 접근 정보를 저장했습니다.",
        "S3 credentials saved.",
    ),
    (
        "logs.s3_removed",
        "S3 접근 정보를 삭제했습니다.",
        "S3 credentials removed.",
    ),
    ("logs.s3_saved_key", "저장된 키", "Saved key"),
    ("logs.s3_remove", "접근 정보 삭제", "Remove credentials"),
    (
        "logs.s3_remove_confirm",
        "S3 접근 정보를 삭제할까요? 이 조직의 s3:// 소스는 다시 저장할 때까지 분석되지 않습니다.",
        "Remove the S3 credentials? This organization's s3:// sources will not be analyzed until they are saved again.",
    ),
    ("logs.file", "파일", "File"),
    ("logs.line", "줄", "Line"),
    ("logs.error", "사유", "Reason"),
    ("logs.metadata", "메타데이터", "Metadata"),
    ("logs.media", "매체", "Media"),
    ("logs.inventory", "인벤토리", "Inventory"),
    (
        "logs.edit_metadata",
        "메타데이터 편집 (CSV 붙여넣기)",
        "Edit metadata (paste CSV)",
    ),
    (
        "logs.metadata_help",
        "adpool logs metadata import 와 같은 형식입니다. 잘못된 행이 있으면 아무것도 바뀌지 않습니다.",
        "Same format as adpool logs metadata import; a bad row changes nothing.",
    ),
    ("logs.trend", "일별 추이", "Daily trend"),
    ("logs.rows", "행", "rows"),
    ("logs.first_rows", "처음", "showing the first"),
    (
        "logs.money_help",
        "금액은 원 단위 소수 셋째 자리까지 정확하게 (밀리원 정수) 집계합니다. 날짜는 KST 기준입니다.",
        "Money is exact to 3 decimals of a won (integer milli-won); dates are KST.",
    ),
];

/// Why a URL the user typed may not be called, in `lang`, as the error of `field`.
pub(crate) fn outbound_refusal(
    lang: Lang,
    field: &str,
    error: &adpool_outbound::OutboundError,
) -> crate::AppError {
    use adpool_outbound::OutboundError;
    let message = match error {
        OutboundError::NotHttp(url) => translate(lang, "outbound.not_http").replace("{url}", url),
        OutboundError::NotPublic { host, address } => translate(lang, "outbound.not_public")
            .replace("{host}", host)
            .replace("{address}", &address.to_string()),
        OutboundError::Unresolvable { host, message } => translate(lang, "outbound.unresolvable")
            .replace("{host}", host)
            .replace("{message}", message),
    };
    crate::AppError::Validation {
        field: field.to_owned(),
        message,
    }
}

/// A log-source error in `lang` where the catalog has it (refusals, refused endpoints).
pub(crate) fn log_source_error(lang: Lang, error: adpool_logs::LogsError) -> crate::AppError {
    match &error {
        adpool_logs::LogsError::Refused {
            source_url,
            refusal,
        } => crate::AppError::Validation {
            field: "source".into(),
            message: translate(lang, refusal.key()).replace("{source}", source_url),
        },
        adpool_logs::LogsError::Outbound { field, error } => outbound_refusal(lang, field, error),
        _ => error.into(),
    }
}

/// The label for `key` in `lang`; the key itself when missing (visible, so it gets fixed).
pub fn translate(lang: Lang, key: &str) -> String {
    CATALOG
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, ko, en)| match lang {
            Lang::Ko => (*ko).to_owned(),
            Lang::En => (*en).to_owned(),
        })
        .unwrap_or_else(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn catalog_keys_are_unique_and_complete() {
        let mut keys: Vec<&str> = CATALOG.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "duplicate catalog key");
        assert!(
            CATALOG
                .iter()
                .all(|(_, ko, en)| !ko.is_empty() && !en.is_empty())
        );
    }

    #[test]
    fn every_key_used_by_a_template_is_in_the_catalog() {
        for (name, source) in crate::render::TEMPLATE_SOURCES {
            for piece in source.split("t(\"").skip(1) {
                let key = piece.split('"').next().unwrap_or_default();
                // `t("state." ~ job.state)` builds keys at run time: check the family exists.
                let known = if key.ends_with('.') {
                    CATALOG.iter().any(|(k, _, _)| k.starts_with(key))
                } else {
                    CATALOG.iter().any(|(k, _, _)| *k == key)
                };
                assert!(known, "template {name} uses unknown key {key}");
            }
        }
    }

    #[test]
    fn language_follows_cookie_then_accept_language() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::from_headers(&headers), Lang::Ko);
        headers.insert(
            "accept-language",
            HeaderValue::from_static("fr-FR, en-US;q=0.8, ko;q=0.5"),
        );
        assert_eq!(Lang::from_headers(&headers), Lang::En);
        headers.insert("cookie", HeaderValue::from_static("adpool_lang=ko"));
        assert_eq!(Lang::from_headers(&headers), Lang::Ko);
        assert_eq!(translate(Lang::En, "nav.inventory"), "Inventory");
        assert_eq!(translate(Lang::Ko, "nav.inventory"), "인벤토리");
        for role in adpool_accounts::Role::ALL {
            assert_ne!(
                translate(Lang::En, &format!("role.{}", role.as_str())),
                format!("role.{}", role.as_str())
            );
        }
        for status in adpool_commerce::OrderStatus::ALL {
            assert_ne!(
                translate(Lang::Ko, &format!("order_status.{}", status.as_str())),
                format!("order_status.{}", status.as_str())
            );
        }
        for state in adpool_jobs::JobState::ALL {
            assert_ne!(
                translate(Lang::En, &format!("state.{}", state.as_str())),
                format!("state.{}", state.as_str())
            );
        }
    }
}
