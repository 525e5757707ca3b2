"""Our own stable codes for staff tables the national standards list without numeric codes.

``data/reference/staff_codes.csv`` lists the 中小学 titles (人社部发〔2015〕79号), the 高校 titles
(GB/T 8561 series 010) and the teacher qualification types (《教师资格条例》第四条) by name only;
backbone-teacher levels, establishment status and administrative ranks are in no loaded table.
The codes below are the platform's, fixed once: never renumber them (stored rows hold them).
"""

from __future__ import annotations

# 专业技术职务: 1x = 中小学教师 (2015 unified series), 2x = 高等学校教师, 90 = none yet.
TITLES: tuple[tuple[str, str], ...] = (
    ("11", "正高级教师"), ("12", "高级教师"), ("13", "一级教师"), ("14", "二级教师"), ("15", "三级教师"),
    ("21", "教授"), ("22", "副教授"), ("23", "讲师"), ("24", "助教"),
    ("90", "未评（聘）职称"),
)
TITLE_GRADE: dict[str, str] = {
    "11": "正高级", "12": "副高级", "13": "中级", "14": "助理级", "15": "员级",
    "21": "正高级", "22": "副高级", "23": "中级", "24": "初级", "90": "",
}
# Titles of the pre-2015 K-12 series as files still write them (中学高级教师 → 高级教师 …, as
# 人社部发〔2015〕79号 mapped them) are synonyms in data/reference/code_synonyms.csv (key staff_title),
# like the short forms of the lists below (staff_qualification, backbone_level, establishment,
# administrative_rank).
# The order in which a promotion may move (a title event must go up, within one series).
TITLE_RANK: dict[str, int] = {"15": 1, "14": 2, "13": 3, "12": 4, "11": 5, "24": 2, "23": 3, "22": 4, "21": 5,
                              "90": 0}

# 教师资格种类, items (1)–(7) of 《教师资格条例》第四条.
QUALIFICATIONS: tuple[tuple[str, str], ...] = (
    ("1", "幼儿园教师资格"), ("2", "小学教师资格"), ("3", "初级中学教师资格"), ("4", "高级中学教师资格"),
    ("5", "中等职业学校教师资格"), ("6", "中等职业学校实习指导教师资格"), ("7", "高等学校教师资格"),
)

# 骨干教师 level (county, city, province recognition).
BACKBONE: tuple[tuple[str, str], ...] = (("0", "否"), ("1", "县级骨干教师"), ("2", "市级骨干教师"), ("3", "省级骨干教师"))

ESTABLISHMENT: tuple[tuple[str, str], ...] = (("1", "在编"), ("2", "非在编"))

# 职级: leadership levels of 《中华人民共和国公务员法》 (2018) 第十八条, as bureaus record them.
RANKS: tuple[tuple[str, str], ...] = (
    ("11", "厅局级正职"), ("12", "厅局级副职"), ("21", "县处级正职"), ("22", "县处级副职"),
    ("31", "乡科级正职"), ("32", "乡科级副职"), ("41", "科员"), ("42", "办事员"), ("99", "其他"),
)

# Post categories (staff_category_k12) that count in the staff headcount; 代课/兼任 do not.
HEADCOUNT_CATEGORIES = frozenset({"1", "2", "3", "4", "5"})
FULL_TIME_TEACHER = "1"

# 任教学科 as 基础基424 counts full-time teachers: by the main subject, the first one a record names
# ("语文、书法" → 语文). The record keeps the subjects as typed; this classification is for statistics.
TEACHING_SUBJECTS: tuple[tuple[str, str], ...] = (
    ("01", "道德与法治"), ("02", "语文"), ("03", "数学"), ("04", "外语"), ("05", "科学"), ("06", "物理"),
    ("07", "化学"), ("08", "生物"), ("09", "历史"), ("10", "地理"), ("11", "信息技术"), ("12", "体育与健康"),
    ("13", "音乐"), ("14", "美术"), ("15", "艺术"), ("16", "劳动与综合实践"), ("17", "心理健康"),
    ("18", "学前教育"), ("19", "特殊教育"), ("99", "其他"),
)
# How the first subject of a record begins → its subject code. Longer beginnings come first where
# one begins another (生活语文 is special education, not 语文).
SUBJECT_BEGINNINGS: tuple[tuple[str, str], ...] = (
    ("生活语文", "19"), ("生活数学", "19"), ("生活适应", "19"), ("康复", "19"), ("特殊教育", "19"),
    ("道德与法治", "01"), ("思想品德", "01"), ("思想政治", "01"), ("品德", "01"), ("政治", "01"),
    ("语文", "02"), ("数学", "03"), ("英语", "04"), ("外语", "04"), ("日语", "04"), ("俄语", "04"),
    ("科学", "05"), ("物理", "06"), ("化学", "07"), ("生物", "08"), ("历史", "09"), ("地理", "10"),
    ("信息技术", "11"), ("信息科技", "11"), ("体育", "12"), ("音乐", "13"), ("美术", "14"), ("艺术", "15"),
    ("舞蹈", "15"), ("劳动", "16"), ("综合实践", "16"), ("通用技术", "16"), ("心理", "17"), ("学前教育", "18"),
)
UNCLASSIFIED_SUBJECT = "99"
# 优质均衡 indicator 3 counts full-time teachers of 体育 and 艺术 (美术、音乐).
PE_AND_ART_SUBJECTS = frozenset({"12", "13", "14", "15"})
