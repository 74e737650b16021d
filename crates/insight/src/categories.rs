//! Categories and the categorizer: the organization's rules first (merchant keyword ->
//! category), then the built-in Korean merchant dictionary, then the statement's own industry
//! column (업종), else uncategorized. Matching ignores spaces and ASCII case; among the
//! keywords found, the longest wins (`이마트24` is a convenience store, `이마트` a grocery).

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Serialize;

/// The categories: (id, Korean, English).
pub const CATEGORIES: &[(&str, &str, &str)] = &[
    ("cafe", "카페·베이커리", "Cafés & bakeries"),
    ("convenience", "편의점", "Convenience stores"),
    ("dining", "외식", "Dining"),
    ("delivery", "배달앱", "Delivery apps"),
    ("grocery", "마트·식료품", "Groceries"),
    ("online_shopping", "온라인쇼핑", "Online shopping"),
    ("fashion_beauty", "패션·뷰티", "Fashion & beauty"),
    ("transport", "교통", "Transport"),
    ("car", "주유·차량", "Fuel & car"),
    ("telecom", "통신", "Telecom"),
    ("subscription", "구독·디지털", "Subscriptions & digital"),
    ("health", "의료·건강", "Health"),
    ("education", "교육", "Education"),
    ("culture", "문화·여가", "Culture & leisure"),
    ("travel", "여행·숙박", "Travel & stays"),
    ("living", "생활·공과금", "Living & utilities"),
    (UNCATEGORIZED, "미분류", "Uncategorized"),
];

/// The category of what nothing matched.
pub const UNCATEGORIZED: &str = "uncategorized";

/// Whether `id` is a category.
pub fn is_category(id: &str) -> bool {
    CATEGORIES.iter().any(|(c, _, _)| *c == id)
}

/// A category's label in Korean (`ko`) or English.
pub fn label(id: &str, korean: bool) -> &str {
    CATEGORIES
        .iter()
        .find(|(c, _, _)| *c == id)
        .map_or(id, |(_, ko, en)| if korean { ko } else { en })
}

/// The built-in merchant dictionary: category -> merchant keywords (brands, chains, and words
/// that name a kind of shop). Short Latin keywords (`CU`, `KT`) match only at the start of a
/// merchant name.
pub const MERCHANTS: &[(&str, &[&str])] = &[
    (
        "cafe",
        &[
            "스타벅스",
            "투썸플레이스",
            "이디야",
            "메가커피",
            "메가엠지씨커피",
            "컴포즈커피",
            "빽다방",
            "할리스",
            "커피빈",
            "폴바셋",
            "엔제리너스",
            "탐앤탐스",
            "파스쿠찌",
            "카페베네",
            "더벤티",
            "커피에반하다",
            "매머드커피",
            "블루보틀",
            "공차",
            "쥬씨",
            "배스킨라빈스",
            "던킨",
            "파리바게뜨",
            "뚜레쥬르",
            "설빙",
            "요거프레소",
            "드롭탑",
            "달콤커피",
            "빈브라더스",
            "테라로사",
            "노티드",
            "크리스피크림",
            "팀홀튼",
            "STARBUCKS",
            "커피",
            "카페",
            "베이커리",
            "제과",
        ],
    ),
    (
        "convenience",
        &[
            "GS25",
            "지에스25",
            "CU",
            "씨유",
            "세븐일레븐",
            "이마트24",
            "미니스톱",
            "코리아세븐",
            "비지에프리테일",
            "편의점",
        ],
    ),
    (
        "delivery",
        &[
            "배달의민족",
            "배민",
            "우아한형제들",
            "요기요",
            "쿠팡이츠",
            "땡겨요",
            "위대한상상",
            "배달특급",
        ],
    ),
    (
        "dining",
        &[
            "맥도날드",
            "버거킹",
            "롯데리아",
            "KFC",
            "맘스터치",
            "서브웨이",
            "써브웨이",
            "쉐이크쉑",
            "노브랜드버거",
            "프랭크버거",
            "도미노피자",
            "피자헛",
            "파파존스",
            "미스터피자",
            "피자알볼로",
            "교촌",
            "BBQ",
            "비비큐",
            "BHC",
            "굽네치킨",
            "네네치킨",
            "페리카나",
            "처갓집",
            "호식이두마리",
            "푸라닭",
            "60계",
            "김밥천국",
            "본죽",
            "한솥",
            "본도시락",
            "아웃백",
            "빕스",
            "VIPS",
            "애슐리",
            "계절밥상",
            "새마을식당",
            "한신포차",
            "홍콩반점",
            "역전할머니맥주",
            "신전떡볶이",
            "엽기떡볶이",
            "죠스떡볶이",
            "청년다방",
            "이삭토스트",
            "봉구스밥버거",
            "명랑핫도그",
            "샐러디",
            "쿠우쿠우",
            "원할머니보쌈",
            "놀부",
            "채선당",
            "서가앤쿡",
            "고봉민김밥",
            "바르다김선생",
            "투다리",
            "하남돼지집",
            "명륜진사갈비",
            "스시로",
            "식당",
            "치킨",
            "피자",
            "분식",
            "국밥",
            "갈비",
            "횟집",
            "고깃집",
            "포차",
            "주점",
            "김밥",
        ],
    ),
    (
        "grocery",
        &[
            "이마트",
            "홈플러스",
            "롯데마트",
            "코스트코",
            "트레이더스",
            "하나로마트",
            "노브랜드",
            "GS더프레시",
            "롯데슈퍼",
            "이마트에브리데이",
            "킴스클럽",
            "마켓컬리",
            "컬리",
            "오아시스마켓",
            "메가마트",
            "탑마트",
            "정육점",
            "마트",
            "슈퍼",
            "농협",
            "청과",
            "반찬",
        ],
    ),
    (
        "online_shopping",
        &[
            "쿠팡",
            "네이버페이",
            "네이버쇼핑",
            "11번가",
            "십일번가",
            "G마켓",
            "지마켓",
            "옥션",
            "위메프",
            "티몬",
            "SSG닷컴",
            "SSG.COM",
            "쓱닷컴",
            "롯데온",
            "무신사",
            "29CM",
            "지그재그",
            "에이블리",
            "브랜디",
            "오늘의집",
            "알리익스프레스",
            "ALIEXPRESS",
            "테무",
            "TEMU",
            "아마존",
            "AMAZON",
            "아이허브",
            "IHERB",
            "인터파크",
            "예스24",
            "알라딘",
            "카카오페이",
            "토스페이",
            "페이코",
            "스마일페이",
            "당근마켓",
            "번개장터",
            "텐바이텐",
            "하프클럽",
            "더현대닷컴",
            "신세계몰",
            "롯데홈쇼핑",
            "GS샵",
            "CJ온스타일",
            "현대홈쇼핑",
            "홈앤쇼핑",
            "NS홈쇼핑",
            "공영쇼핑",
            "홈쇼핑",
        ],
    ),
    (
        "fashion_beauty",
        &[
            "올리브영",
            "롭스",
            "아리따움",
            "이니스프리",
            "더페이스샵",
            "미샤",
            "에뛰드",
            "시코르",
            "세포라",
            "유니클로",
            "자라",
            "ZARA",
            "H&M",
            "에잇세컨즈",
            "탑텐",
            "스파오",
            "나이키",
            "NIKE",
            "아디다스",
            "ADIDAS",
            "뉴발란스",
            "무인양품",
            "ABC마트",
            "폴햄",
            "지오다노",
            "롯데백화점",
            "현대백화점",
            "신세계백화점",
            "갤러리아",
            "AK플라자",
            "준오헤어",
            "박승철헤어",
            "리안헤어",
            "미용실",
            "헤어",
            "네일",
            "뷰티",
            "화장품",
            "백화점",
        ],
    ),
    (
        "transport",
        &[
            "카카오T",
            "카카오택시",
            "택시",
            "티머니",
            "코레일",
            "KTX",
            "SRT",
            "에스알",
            "지하철",
            "고속버스",
            "시외버스",
            "버스",
            "한국도로공사",
            "하이패스",
            "쏘카",
            "그린카",
            "타다",
            "우버",
            "UBER",
            "서울교통공사",
            "캐시비",
            "레일플러스",
            "따릉이",
            "킥고잉",
            "씽씽",
            "주차",
        ],
    ),
    (
        "car",
        &[
            "GS칼텍스",
            "SK에너지",
            "SK주유소",
            "S-OIL",
            "에쓰오일",
            "현대오일뱅크",
            "오일뱅크",
            "알뜰주유소",
            "주유소",
            "충전소",
            "세차",
            "카센터",
            "타이어",
            "스피드메이트",
            "블루핸즈",
            "오토큐",
            "자동차",
        ],
    ),
    (
        "telecom",
        &[
            "SKT",
            "SK텔레콤",
            "KT",
            "케이티",
            "LG유플러스",
            "LGU+",
            "유플러스",
            "알뜰폰",
            "SK브로드밴드",
            "헬로모바일",
            "티플러스",
            "통신요금",
        ],
    ),
    (
        "subscription",
        &[
            "넷플릭스",
            "NETFLIX",
            "유튜브",
            "YOUTUBE",
            "구글",
            "GOOGLE",
            "애플",
            "APPLE",
            "디즈니플러스",
            "티빙",
            "웨이브",
            "왓챠",
            "쿠팡플레이",
            "멜론",
            "지니뮤직",
            "벅스",
            "스포티파이",
            "SPOTIFY",
            "밀리의서재",
            "리디",
            "네이버플러스",
            "마이크로소프트",
            "MICROSOFT",
            "어도비",
            "ADOBE",
            "OPENAI",
            "챗GPT",
            "카카오",
        ],
    ),
    (
        "health",
        &[
            "병원",
            "의원",
            "치과",
            "한의원",
            "약국",
            "안과",
            "피부과",
            "정형외과",
            "내과",
            "소아과",
            "이비인후과",
            "산부인과",
            "검진",
            "헬스",
            "피트니스",
            "필라테스",
            "요가",
            "휘트니스",
            "크로스핏",
            "의료",
        ],
    ),
    (
        "education",
        &[
            "학원",
            "교습소",
            "어학원",
            "메가스터디",
            "에듀윌",
            "해커스",
            "야나두",
            "클래스101",
            "패스트캠퍼스",
            "인프런",
            "대학교",
            "유치원",
            "어린이집",
            "웅진",
            "구몬",
            "눈높이",
            "교육",
        ],
    ),
    (
        "culture",
        &[
            "CGV",
            "롯데시네마",
            "메가박스",
            "인터파크티켓",
            "예스24티켓",
            "교보문고",
            "영풍문고",
            "노래방",
            "코인노래",
            "PC방",
            "피씨방",
            "볼링",
            "당구",
            "골프",
            "골프존",
            "에버랜드",
            "롯데월드",
            "서울랜드",
            "아쿠아리움",
            "미술관",
            "박물관",
            "넥슨",
            "엔씨소프트",
            "닌텐도",
            "플레이스테이션",
            "STEAM",
            "서점",
            "공연",
            "영화",
        ],
    ),
    (
        "travel",
        &[
            "대한항공",
            "아시아나",
            "제주항공",
            "진에어",
            "티웨이",
            "에어부산",
            "이스타항공",
            "야놀자",
            "여기어때",
            "에어비앤비",
            "AIRBNB",
            "아고다",
            "AGODA",
            "부킹닷컴",
            "BOOKING.COM",
            "호텔스닷컴",
            "익스피디아",
            "트립닷컴",
            "하나투어",
            "모두투어",
            "인터파크투어",
            "마이리얼트립",
            "클룩",
            "호텔",
            "모텔",
            "펜션",
            "리조트",
            "콘도",
            "게스트하우스",
            "면세점",
            "항공",
        ],
    ),
    (
        "living",
        &[
            "다이소",
            "한국전력",
            "한전",
            "도시가스",
            "수도요금",
            "관리비",
            "아파트관리",
            "크린토피아",
            "세탁",
            "이케아",
            "IKEA",
            "한샘",
            "까사미아",
            "모던하우스",
            "자주",
            "꽃집",
            "동물병원",
            "우체국",
            "삼성화재",
            "현대해상",
            "DB손해보험",
            "KB손해보험",
            "보험",
            "국민연금",
            "건강보험",
            "공과금",
        ],
    ),
];

/// Words of a statement's industry column (업종) -> category, for merchants nothing else knows.
pub const INDUSTRIES: &[(&str, &[&str])] = &[
    ("cafe", &["커피", "카페", "제과", "베이커리", "음료"]),
    ("convenience", &["편의점"]),
    (
        "dining",
        &[
            "음식",
            "한식",
            "중식",
            "일식",
            "양식",
            "분식",
            "주점",
            "치킨",
            "패스트푸드",
            "요식",
        ],
    ),
    ("grocery", &["슈퍼", "마트", "할인점", "식료품", "농수산"]),
    (
        "online_shopping",
        &[
            "통신판매",
            "전자상거래",
            "인터넷쇼핑",
            "온라인",
            "오픈마켓",
            "PG",
        ],
    ),
    (
        "fashion_beauty",
        &["의류", "화장품", "미용", "백화점", "잡화", "신발"],
    ),
    ("transport", &["택시", "교통", "철도", "버스", "주차"]),
    ("car", &["주유", "충전", "정비", "자동차"]),
    ("telecom", &["통신", "이동통신"]),
    (
        "subscription",
        &["디지털콘텐츠", "콘텐츠", "소프트웨어", "앱"],
    ),
    (
        "health",
        &["병원", "의원", "약국", "의료", "헬스", "스포츠센터"],
    ),
    ("education", &["학원", "교육", "서적"]),
    ("culture", &["영화", "레저", "노래", "공연", "게임", "오락"]),
    ("travel", &["숙박", "호텔", "여행", "항공"]),
    ("living", &["공과금", "보험", "생활", "가구", "세탁"]),
];

/// How a line got its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CategorySource {
    /// One of the organization's rules (or overrides, which are rules).
    Rule,
    /// The built-in merchant dictionary.
    Dictionary,
    /// The statement's industry column.
    Industry,
    /// Nothing matched.
    None,
}

impl CategorySource {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            CategorySource::Rule => "rule",
            CategorySource::Dictionary => "dictionary",
            CategorySource::Industry => "industry",
            CategorySource::None => "none",
        }
    }
}

/// Merchant names as matched: no spaces, ASCII upper-cased.
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

struct Matcher {
    automaton: AhoCorasick,
    categories: Vec<String>,
    /// Short Latin keywords match only at the start.
    anchored: Vec<bool>,
}

impl Matcher {
    fn new(pairs: Vec<(String, String)>) -> Matcher {
        let keywords: Vec<String> = pairs.iter().map(|(k, _)| normalize(k)).collect();
        let anchored = keywords
            .iter()
            .map(|k| k.is_ascii() && k.len() <= 3)
            .collect();
        Matcher {
            automaton: AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&keywords)
                .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("empty")),
            categories: pairs.into_iter().map(|(_, c)| c).collect(),
            anchored,
        }
    }

    /// The category of the longest keyword found in `text` (normalized).
    fn find(&self, text: &str) -> Option<&str> {
        self.automaton
            .find_iter(text)
            .filter(|m| !self.anchored[m.pattern().as_usize()] || m.start() == 0)
            .max_by_key(|m| (m.len(), std::cmp::Reverse(m.start())))
            .map(|m| self.categories[m.pattern().as_usize()].as_str())
    }
}

/// Categorizes merchants with an organization's rules, the dictionary and industry words.
pub struct Categorizer {
    rules: Matcher,
    dictionary: Matcher,
    industries: Matcher,
}

impl std::fmt::Debug for Categorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Categorizer")
            .field("rules", &self.rules.categories.len())
            .finish_non_exhaustive()
    }
}

fn pairs(table: &[(&str, &[&str])]) -> Vec<(String, String)> {
    table
        .iter()
        .flat_map(|(category, words)| {
            words
                .iter()
                .map(|w| ((*w).to_owned(), (*category).to_owned()))
        })
        .collect()
}

impl Categorizer {
    /// A categorizer with `rules` (keyword, category) before the dictionary.
    pub fn new(rules: &[(String, String)]) -> Categorizer {
        Categorizer {
            rules: Matcher::new(rules.to_vec()),
            dictionary: Matcher::new(pairs(MERCHANTS)),
            industries: Matcher::new(pairs(INDUSTRIES)),
        }
    }

    /// The category of a merchant (with the statement's industry words, when it has them).
    pub fn categorize(&self, merchant: &str, industry: Option<&str>) -> (&str, CategorySource) {
        let name = normalize(merchant);
        if let Some(category) = self.rules.find(&name) {
            return (category, CategorySource::Rule);
        }
        if let Some(category) = self.dictionary.find(&name) {
            return (category, CategorySource::Dictionary);
        }
        if let Some(category) = industry.and_then(|i| self.industries.find(&normalize(i))) {
            return (category, CategorySource::Industry);
        }
        (UNCATEGORIZED, CategorySource::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_has_at_least_300_merchants_all_in_known_categories() {
        let count: usize = MERCHANTS.iter().map(|(_, words)| words.len()).sum();
        assert!(count >= 300, "{count} merchants");
        for (category, _) in MERCHANTS.iter().chain(INDUSTRIES) {
            assert!(is_category(category), "{category}");
        }
    }

    #[test]
    fn the_longest_keyword_wins_and_short_latin_keywords_are_anchored() {
        let c = Categorizer::new(&[]);
        assert_eq!(c.categorize("이마트24 역삼점", None).0, "convenience");
        assert_eq!(c.categorize("이마트 성수점", None).0, "grocery");
        assert_eq!(c.categorize("스타벅스 강남R점", None).0, "cafe");
        assert_eq!(c.categorize("CU 선릉역점", None).0, "convenience");
        assert_eq!(c.categorize("cu 선릉역점", None).0, "convenience");
        assert_eq!(c.categorize("(주)CUCKOO", None).0, UNCATEGORIZED);
        assert_eq!(c.categorize("카카오T 택시", None).0, "transport");
        assert_eq!(c.categorize("쿠팡이츠", None).0, "delivery");
        assert_eq!(c.categorize("쿠 팡", None).0, "online_shopping");
    }

    #[test]
    fn rules_beat_the_dictionary_and_industry_words_come_last() {
        let c = Categorizer::new(&[("스타벅스".into(), "living".into())]);
        assert_eq!(
            c.categorize("스타벅스 강남", None),
            ("living", CategorySource::Rule)
        );
        assert_eq!(
            c.categorize("행복한집", Some("일반한식")),
            ("dining", CategorySource::Industry)
        );
        assert_eq!(
            c.categorize("행복한집", None),
            (UNCATEGORIZED, CategorySource::None)
        );
    }
}
