"""The shape of the synthetic population, as data with its sources: the 2020 census age pyramid
and sex ratios, marriage, children, living arrangement, economic status, disability, dementia and
计划生育特殊家庭 shares (published, or marked as assumed), Tianjin's district populations and how
communities are weighted and placed, surnames and given names of the generation, and mobile number
prefixes. Kept apart from the code that draws from it, so each share is read and changed in one place."""

from __future__ import annotations

from yanglao.registry.enums import DisabilityCategory, EconomicStatus

# --- the shape of the population -----------------------------------------------------------------
# Age pyramid of China's population aged 60+, 7th national census (2020, 第七次全国人口普查), in 5-year
# bands: 60-69 ≈ 55.8 %, 70-79 ≈ 30.6 %, 80+ 13.56 % (35.80 of 264.02 million), 90+ ≈ 2 %. The split
# inside each decade is read off the census tables and rounded; 100+ is capped at 104 here (assumed).
AGE_BANDS = [  # (first age, last age + 1, share %)
    (60, 65, 27.8),
    (65, 70, 28.0),
    (70, 75, 18.8),
    (75, 80, 11.8),
    (80, 85, 7.7),
    (85, 90, 3.9),
    (90, 95, 1.5),
    (95, 100, 0.4),
    (100, 105, 0.05),
]
# Men per 100 women by band, 2020 census shape (women outlive men: ~100 at 60-64, ~40 at 95+); rounded.
SEX_RATIO = [101, 98, 96, 92, 84, 73, 58, 45, 33]
# Share with a spouse by band, 2020 census shape (≈ 88 % at 60-64 falling to < 20 % at 90+); men are
# more often married than women at every age (women are widowed earlier), ± 8 points here (assumed).
MARRIED = [0.88, 0.84, 0.77, 0.67, 0.52, 0.36, 0.22, 0.14, 0.08]
MARRIED_SEX_GAP = 0.08
UNMARRIED = {True: 0.025, False: 0.005}  # never married, by male; mostly rural men (census shape)
DIVORCED = 0.06  # of the others without a spouse: ~1.5 % of elders divorced (census shape, rounded)
# Of married elders, the share registered together with a spouse who is also 60+ (a 2-person couple).
COUPLED = 0.60
# Children ever born, by decade of age (cohorts born 1955-65 often had 1-2, those born before 1945 3-5);
# shape of the census fertility questions, values assumed. Columns: 0, 1, 2, 3, 4, 5.
CHILDREN = {
    60: [0.02, 0.43, 0.36, 0.13, 0.04, 0.02],
    70: [0.02, 0.16, 0.32, 0.28, 0.14, 0.08],
    80: [0.02, 0.08, 0.20, 0.28, 0.22, 0.20],
}
UNMARRIED_CHILDLESS = 0.90  # never-married elders without children (assumed)
# Living arrangement. National surveys (CLASS, census household tables) put elders living alone at
# ~13-15 % and "empty nest" (alone or as a couple only) at roughly half; our "empty nest" is the couple
# only, ~40 %. Probabilities below are assumed and tuned to those totals.
EMPTY_NEST_COUPLE = 0.62  # a couple living on its own
EMPTY_NEST_MARRIED_SINGLE = 0.45  # a married elder whose spouse is under 60 or not registered here
ALONE_WITHOUT_SPOUSE = 0.60  # widowed, divorced or never married, with children
ALONE_GUGUA = 0.85  # no spouse and no children
LEFT_BEHIND_RURAL = 0.10  # children working away from a village household (assumed)
# Economic status (assumed, configurable only here: a demo, not a policy). 特困 comes mostly from
# 孤寡 elders (特困人员: no income and no one legally bound to support them).
DESTITUTE_GUGUA = 0.50
DESTITUTE_OTHER = 0.002
ECONOMIC = [  # the rest of the hardship scale, share of all elders
    (EconomicStatus.SUBSISTENCE, 0.03),
    (EconomicStatus.NEAR_SUBSISTENCE, 0.01),
    (EconomicStatus.LOW_INCOME, 0.03),
]
RURAL_HARDSHIP = 1.6  # hardship is more common in villages (assumed factor)
# Disability certificate (残疾人证) holders, rising with age, ≈ 6 % of elders overall (assumed from the
# 2006 second national disability sample survey: about half of disabled people are 60+).
DISABILITY_BY_DECADE = {60: 0.045, 70: 0.07, 80: 0.10, 90: 0.12}
DISABILITY_CATEGORY = [  # assumed shares among certificate holders aged 60+
    (DisabilityCategory.PHYSICAL, 0.48),
    (DisabilityCategory.VISUAL, 0.15),
    (DisabilityCategory.HEARING, 0.14),
    (DisabilityCategory.MENTAL, 0.07),
    (DisabilityCategory.INTELLECTUAL, 0.05),
    (DisabilityCategory.SPEECH, 0.01),
    (DisabilityCategory.MULTIPLE, 0.10),
]
DISABILITY_GRADE = [0.12, 0.25, 0.28, 0.35]  # grades 1-4 (1 most severe), assumed
# Dementia: 6.0 % of Chinese aged 60+ (Jia et al., Lancet Public Health 2020), rising steeply with age;
# the decade values are assumed to give ~5-6 % overall.
DEMENTIA_BY_DECADE = {60: 0.025, 70: 0.06, 80: 0.13, 90: 0.25}
# 计划生育特殊家庭 (the only child died or is severely disabled): ~1 % of elders; parents of only
# children born after 1980 are in their 60s and 70s now. Of those, the child died in 60 % (assumed).
SPECIAL_FAMILY_OF_ONE_CHILD = 0.035
SPECIAL_FAMILY_CHILD_DIED = 0.60
# Mobile phone, falling with age (assumed; ~70 % overall).
MOBILE_BY_DECADE = {60: 0.82, 70: 0.66, 80: 0.42, 90: 0.20}
HUKOU_ELSEWHERE = 0.10  # household registration in another community of the district (人户分离, assumed)

# Resident population by district, Tianjin 7th census bulletin (2020), in 10,000s, rounded. Elders are
# spread over districts in proportion (the 60+ share differs a little by district: assumed equal).
# A district not listed here (another city) is weighted by its communities.
DISTRICT_POPULATION = {
    "120101": 35.5,
    "120102": 85.9,
    "120103": 82.2,
    "120104": 89.0,
    "120105": 64.8,
    "120106": 48.3,
    "120110": 85.7,
    "120111": 119.5,
    "120112": 92.8,
    "120113": 91.0,
    "120114": 115.1,
    "120115": 72.3,
    "120116": 206.7,
    "120117": 39.5,
    "120118": 78.7,
    "120119": 79.6,
}
# Inside a district an urban residents' committee (居委会, village code 0xx/1xx) is ~3x as populous as
# a village (村委会, 2xx/3xx); other codes (4xx: campuses, development zones) count as one (assumed).
URBAN_WEIGHT = 3.0
# A community's centre lies within this radius of its district's centroid: compact urban districts
# 1.5 km, rural ones up to 6 km; a home within ~250 m of its community's centre (assumed).
RADIUS_URBAN_KM = 1.5
RADIUS_RURAL_KM = 6.0
HOME_JITTER_KM = 0.25

# Surnames by frequency (Ministry of Public Security name report 2020, rounded %; the tail assumed).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任"
    "卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔"
)
SURNAME_TOP = [7.1, 7.0, 6.6, 5.4, 4.6, 3.1, 2.3, 2.3, 2.0, 1.9, 1.6, 1.5, 1.5, 1.3, 1.3, 1.2, 1.2, 1.1]
# Given names typical of people born 1920-1965 (generation names of the time), by sex.
_MALE_NAMES_TEXT = (
    "建国 建华 建军 建平 建民 国庆 国强 国华 国良 国栋 志强 志刚 志明 志勇 德明 德福 德胜 文华 文明 文斌 "
    "振华 振国 树林 树森 宝山 宝林 凤山 长江 长林 玉林 玉山 福生 福来 永庆 永利 永胜 学文 学军 广志 广明 "
    "明德 家宝 保国 卫国 卫东 新民 立新 援朝 跃进 胜利 红旗 金山 金生 铁柱 春生 春林 秋生 冬生 海生 海涛 "
    "世杰 世昌 连生 连成 富贵 庆丰 庆林 恩荣 俊峰 大勇 满仓 兴旺 忠诚 继承 少华 万里 有才 双喜 福海 成林 "
    "刚 强 勇 军 伟 明 斌 杰 涛 林 山 峰 华 平 辉 忠 诚 义 仁 礼"
)
MALE_NAMES = _MALE_NAMES_TEXT.split()
_FEMALE_NAMES_TEXT = (
    "秀英 桂英 秀兰 玉兰 桂兰 淑珍 凤兰 淑英 玉珍 淑兰 桂芝 秀珍 凤英 玉梅 秀云 桂珍 淑华 玉英 兰英 素珍 "
    "丽华 秀芳 凤芝 桂荣 秀荣 淑琴 玉芬 桂香 玉霞 红梅 秀梅 秀华 桂花 凤琴 凤霞 淑芬 淑贞 玉凤 玉华 玉芳 "
    "素芬 素兰 素云 美华 美兰 翠兰 翠英 翠萍 金凤 金兰 金花 春兰 春梅 冬梅 腊梅 雪梅 月英 月华 宝珍 宝琴 "
    "慧敏 惠芳 惠珍 丽娟 丽萍 亚萍 爱华 爱琴 爱珍 文英 文华 淑云 桂云 凤云 瑞英 瑞芳 巧云 彩霞 德珍 振英 "
    "英 兰 珍 芳 华 梅 萍 霞 琴 娟 敏 洁 静 红 燕 云 玲 芬 荣 凤"
)
FEMALE_NAMES = _FEMALE_NAMES_TEXT.split()
# Mobile number prefixes of the three operators (numbers issued since the 1990s).
MOBILE_PREFIXES = [
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 198, 199,
]  # fmt: skip
