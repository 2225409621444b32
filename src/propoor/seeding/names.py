"""Chinese names and their pinyin, built from syllable lists.

Every syllable carries its toneless pinyin so that an English name can be spelled
without a dictionary: 龙潭村 → "Longtan Village". Pinyin joins the syllables of a
place name and puts an apostrophe before a syllable that starts with a, o or e
(西安 → Xi'an), as the official romanisation of place names does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (hanzi, pinyin) pairs.
Syllable = tuple[str, str]

# Common surnames in rural Yunnan (Han and the surnames Yi, Bai and Hani families
# commonly register), with rough weights; the order of the first ones follows the
# provincial frequency (杨 and 李 lead in Yunnan). The weights are assumptions.
SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("李", "Li", 90),
    ("杨", "Yang", 90),
    ("张", "Zhang", 70),
    ("王", "Wang", 65),
    ("刘", "Liu", 40),
    ("陈", "Chen", 35),
    ("赵", "Zhao", 30),
    ("罗", "Luo", 30),
    ("周", "Zhou", 22),
    ("段", "Duan", 20),
    ("马", "Ma", 20),
    ("普", "Pu", 18),
    ("黄", "Huang", 18),
    ("何", "He", 18),
    ("字", "Zi", 15),
    ("吴", "Wu", 15),
    ("朱", "Zhu", 14),
    ("胡", "Hu", 13),
    ("徐", "Xu", 12),
    ("高", "Gao", 12),
    ("孙", "Sun", 10),
    ("郭", "Guo", 10),
    ("施", "Shi", 10),
    ("鲁", "Lu", 10),
    ("毕", "Bi", 9),
    ("苏", "Su", 9),
    ("董", "Dong", 9),
    ("自", "Zi", 8),
    ("起", "Qi", 8),
    ("沈", "Shen", 8),
    ("余", "Yu", 8),
    ("尹", "Yin", 8),
    ("范", "Fan", 7),
    ("邓", "Deng", 7),
    ("许", "Xu", 7),
    ("谢", "Xie", 7),
    ("熊", "Xiong", 6),
    ("韩", "Han", 6),
    ("付", "Fu", 6),
    ("杜", "Du", 6),
    ("保", "Bao", 5),
    ("者", "Zhe", 5),
    ("金", "Jin", 5),
    ("严", "Yan", 5),
)

# Given-name characters by generation: people born before 1980 mostly carry the
# older characters, the younger ones the newer fashion.
_MALE_OLD: tuple[Syllable, ...] = (
    ("国", "guo"),
    ("建", "jian"),
    ("明", "ming"),
    ("华", "hua"),
    ("军", "jun"),
    ("强", "qiang"),
    ("志", "zhi"),
    ("文", "wen"),
    ("海", "hai"),
    ("林", "lin"),
    ("平", "ping"),
    ("东", "dong"),
    ("春", "chun"),
    ("云", "yun"),
    ("福", "fu"),
    ("贵", "gui"),
    ("荣", "rong"),
    ("德", "de"),
    ("成", "cheng"),
    ("永", "yong"),
    ("兴", "xing"),
    ("光", "guang"),
    ("忠", "zhong"),
    ("学", "xue"),
    ("金", "jin"),
    ("宝", "bao"),
    ("龙", "long"),
    ("祥", "xiang"),
    ("昌", "chang"),
    ("发", "fa"),
    ("顺", "shun"),
    ("有", "you"),
    ("才", "cai"),
    ("洪", "hong"),
    ("家", "jia"),
    ("绍", "shao"),
    ("正", "zheng"),
    ("开", "kai"),
    ("富", "fu"),
    ("寿", "shou"),
)
_MALE_NEW: tuple[Syllable, ...] = (
    ("伟", "wei"),
    ("斌", "bin"),
    ("涛", "tao"),
    ("浩", "hao"),
    ("宇", "yu"),
    ("鹏", "peng"),
    ("俊", "jun"),
    ("杰", "jie"),
    ("磊", "lei"),
    ("鑫", "xin"),
    ("博", "bo"),
    ("子", "zi"),
    ("轩", "xuan"),
    ("睿", "rui"),
    ("泽", "ze"),
    ("晨", "chen"),
    ("航", "hang"),
    ("凯", "kai"),
    ("阳", "yang"),
    ("然", "ran"),
    ("铭", "ming"),
    ("宏", "hong"),
    ("毅", "yi"),
    ("辰", "chen"),
    ("逸", "yi"),
    ("豪", "hao"),
    ("天", "tian"),
    ("一", "yi"),
    ("嘉", "jia"),
    ("锦", "jin"),
)
_FEMALE_OLD: tuple[Syllable, ...] = (
    ("秀", "xiu"),
    ("英", "ying"),
    ("兰", "lan"),
    ("芳", "fang"),
    ("珍", "zhen"),
    ("桂", "gui"),
    ("凤", "feng"),
    ("梅", "mei"),
    ("玉", "yu"),
    ("琼", "qiong"),
    ("丽", "li"),
    ("娟", "juan"),
    ("艳", "yan"),
    ("红", "hong"),
    ("萍", "ping"),
    ("霞", "xia"),
    ("燕", "yan"),
    ("莲", "lian"),
    ("芬", "fen"),
    ("琴", "qin"),
    ("仙", "xian"),
    ("翠", "cui"),
    ("菊", "ju"),
    ("美", "mei"),
    ("花", "hua"),
    ("春", "chun"),
    ("会", "hui"),
    ("存", "cun"),
    ("粉", "fen"),
    ("香", "xiang"),
)
_FEMALE_NEW: tuple[Syllable, ...] = (
    ("敏", "min"),
    ("静", "jing"),
    ("婷", "ting"),
    ("慧", "hui"),
    ("佳", "jia"),
    ("欣", "xin"),
    ("雪", "xue"),
    ("娇", "jiao"),
    ("蓉", "rong"),
    ("雨", "yu"),
    ("涵", "han"),
    ("怡", "yi"),
    ("悦", "yue"),
    ("诗", "shi"),
    ("梓", "zi"),
    ("萱", "xuan"),
    ("思", "si"),
    ("琪", "qi"),
    ("馨", "xin"),
    ("瑶", "yao"),
    ("可", "ke"),
    ("晴", "qing"),
    ("妍", "yan"),
    ("露", "lu"),
    ("倩", "qian"),
)

# Place names: a first syllable and a landform, or a surname + 家 + landform.
_PLACE_FIRST: tuple[Syllable, ...] = (
    ("龙", "long"),
    ("石", "shi"),
    ("大", "da"),
    ("小", "xiao"),
    ("新", "xin"),
    ("上", "shang"),
    ("下", "xia"),
    ("中", "zhong"),
    ("东", "dong"),
    ("西", "xi"),
    ("南", "nan"),
    ("北", "bei"),
    ("白", "bai"),
    ("黑", "hei"),
    ("青", "qing"),
    ("红", "hong"),
    ("松", "song"),
    ("竹", "zhu"),
    ("梨", "li"),
    ("桃", "tao"),
    ("马", "ma"),
    ("牛", "niu"),
    ("羊", "yang"),
    ("鹿", "lu"),
    ("凤", "feng"),
    ("云", "yun"),
    ("花", "hua"),
    ("金", "jin"),
    ("银", "yin"),
    ("三", "san"),
    ("五", "wu"),
    ("双", "shuang"),
    ("老", "lao"),
    ("高", "gao"),
    ("清", "qing"),
    ("安", "an"),
    ("平", "ping"),
    ("太", "tai"),
    ("永", "yong"),
    ("长", "chang"),
    ("万", "wan"),
    ("兴", "xing"),
    ("团", "tuan"),
    ("海", "hai"),
    ("麦", "mai"),
    ("茶", "cha"),
    ("柏", "bai"),
    ("杉", "shan"),
    ("桂", "gui"),
    ("岔", "cha"),
    ("干", "gan"),
    ("温", "wen"),
    ("乌", "wu"),
    ("宝", "bao"),
    ("瓦", "wa"),
    ("碧", "bi"),
    ("沙", "sha"),
    ("鱼", "yu"),
    ("者", "zhe"),
    ("阿", "a"),
)
_PLACE_LANDFORM: tuple[Syllable, ...] = (
    ("山", "shan"),
    ("河", "he"),
    ("沟", "gou"),
    ("箐", "qing"),
    ("坝", "ba"),
    ("甸", "dian"),
    ("冲", "chong"),
    ("坡", "po"),
    ("岭", "ling"),
    ("岩", "yan"),
    ("塘", "tang"),
    ("田", "tian"),
    ("营", "ying"),
    ("寨", "zhai"),
    ("庄", "zhuang"),
    ("铺", "pu"),
    ("哨", "shao"),
    ("凹", "ao"),
    ("坪", "ping"),
    ("湾", "wan"),
    ("屯", "tun"),
    ("溪", "xi"),
    ("泉", "quan"),
    ("桥", "qiao"),
    ("林", "lin"),
    ("潭", "tan"),
    ("井", "jing"),
    ("峰", "feng"),
    ("谷", "gu"),
    ("关", "guan"),
    ("口", "kou"),
    ("街", "jie"),
    ("邑", "yi"),
    ("场", "chang"),
    ("厂", "chang"),
)
_JIA: Syllable = ("家", "jia")

# Ethnic townships (民族乡) are common in Yunnan.
ETHNIC_GROUPS: tuple[tuple[str, str], ...] = (
    ("彝族", "Yi"),
    ("苗族", "Miao"),
    ("白族", "Bai"),
    ("哈尼族", "Hani"),
    ("傣族", "Dai"),
    ("傈僳族", "Lisu"),
)


def pinyin_join(syllables: list[str]) -> str:
    """Join toneless syllables into a capitalised place name: long+tan → Longtan."""
    text = ""
    for position, syllable in enumerate(syllables):
        if position > 0 and syllable[:1] in {"a", "o", "e"}:
            text += "'"
        text += syllable
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class PlaceName:
    hanzi: str  # without the level word (村, 镇 …)
    pinyin: str  # "Longtan"


def place_names(
    rng: np.random.Generator, count: int, taken: set[str]
) -> list[PlaceName]:
    """``count`` distinct place names, none of them in ``taken`` (which grows)."""
    names: list[PlaceName] = []
    surnames = [(h, p.lower()) for h, p, _w in SURNAMES]
    while len(names) < count:
        if rng.random() < 0.22:
            first = surnames[int(rng.integers(len(surnames)))]
            parts = [
                first,
                _JIA,
                _PLACE_LANDFORM[int(rng.integers(len(_PLACE_LANDFORM)))],
            ]
        else:
            parts = [
                _PLACE_FIRST[int(rng.integers(len(_PLACE_FIRST)))],
                _PLACE_LANDFORM[int(rng.integers(len(_PLACE_LANDFORM)))],
            ]
        hanzi = "".join(h for h, _p in parts)
        if hanzi in taken:
            continue
        taken.add(hanzi)
        names.append(PlaceName(hanzi, pinyin_join([p for _h, p in parts])))
    return names


def person_names(
    rng: np.random.Generator,
    *,
    surname_index: np.ndarray,
    female: np.ndarray,
    born_before_1980: np.ndarray,
) -> list[str]:
    """A given name for each person, after the surname chosen by index.

    Seven in ten given names have two characters, the rest one.
    """
    n = len(surname_index)
    pools = (_MALE_OLD, _MALE_NEW, _FEMALE_OLD, _FEMALE_NEW)
    pool_of = female.astype(np.int64) * 2 + (~born_before_1980).astype(np.int64)
    two = rng.random(n) < 0.7
    first = rng.random(n)
    second = rng.random(n)
    names = []
    for i in range(n):
        pool = pools[pool_of[i]]
        given = pool[int(first[i] * len(pool))][0]
        if two[i]:
            given += pool[int(second[i] * len(pool))][0]
        names.append(SURNAMES[surname_index[i]][0] + given)
    return names


def surname_draw(rng: np.random.Generator, n: int) -> np.ndarray:
    weights = np.array([w for _h, _p, w in SURNAMES], dtype=np.float64)
    return rng.choice(len(SURNAMES), size=n, p=weights / weights.sum())


# Provinces by the first two digits of a division code: name, English name, western
# region (the 12 provinces of the Western Development programme), and a rough centre
# (latitude, longitude) used to place the synthetic county on a map.
PROVINCES: dict[str, tuple[str, str, bool, float, float]] = {
    "11": ("北京市", "Beijing", False, 40.2, 116.4),
    "12": ("天津市", "Tianjin", False, 39.3, 117.3),
    "13": ("河北省", "Hebei", False, 38.5, 115.5),
    "14": ("山西省", "Shanxi", False, 37.6, 112.3),
    "15": ("内蒙古自治区", "Inner Mongolia", True, 43.5, 113.0),
    "21": ("辽宁省", "Liaoning", False, 41.3, 122.6),
    "22": ("吉林省", "Jilin", False, 43.7, 126.2),
    "23": ("黑龙江省", "Heilongjiang", False, 47.9, 127.8),
    "31": ("上海市", "Shanghai", False, 31.2, 121.5),
    "32": ("江苏省", "Jiangsu", False, 32.9, 119.5),
    "33": ("浙江省", "Zhejiang", False, 29.2, 120.2),
    "34": ("安徽省", "Anhui", False, 31.8, 117.2),
    "35": ("福建省", "Fujian", False, 26.1, 118.0),
    "36": ("江西省", "Jiangxi", False, 27.6, 115.7),
    "37": ("山东省", "Shandong", False, 36.3, 118.2),
    "41": ("河南省", "Henan", False, 33.9, 113.6),
    "42": ("湖北省", "Hubei", False, 30.9, 112.3),
    "43": ("湖南省", "Hunan", False, 27.6, 111.7),
    "44": ("广东省", "Guangdong", False, 23.4, 113.4),
    "45": ("广西壮族自治区", "Guangxi", True, 23.8, 108.8),
    "46": ("海南省", "Hainan", False, 19.2, 109.8),
    "50": ("重庆市", "Chongqing", True, 30.0, 107.9),
    "51": ("四川省", "Sichuan", True, 30.6, 102.7),
    "52": ("贵州省", "Guizhou", True, 26.8, 106.9),
    "53": ("云南省", "Yunnan", True, 25.0, 101.9),
    "54": ("西藏自治区", "Xizang", True, 31.5, 88.4),
    "61": ("陕西省", "Shaanxi", True, 35.2, 108.9),
    "62": ("甘肃省", "Gansu", True, 36.0, 103.8),
    "63": ("青海省", "Qinghai", True, 35.7, 96.0),
    "64": ("宁夏回族自治区", "Ningxia", True, 37.3, 106.2),
    "65": ("新疆维吾尔自治区", "Xinjiang", True, 41.1, 85.2),
}

# Yunnan's prefecture-level divisions, by the first four digits.
YUNNAN_PREFECTURES: dict[str, tuple[str, str]] = {
    "5301": ("昆明市", "Kunming City"),
    "5303": ("曲靖市", "Qujing City"),
    "5304": ("玉溪市", "Yuxi City"),
    "5305": ("保山市", "Baoshan City"),
    "5306": ("昭通市", "Zhaotong City"),
    "5307": ("丽江市", "Lijiang City"),
    "5308": ("普洱市", "Pu'er City"),
    "5309": ("临沧市", "Lincang City"),
    "5323": ("楚雄彝族自治州", "Chuxiong Yi Autonomous Prefecture"),
    "5325": ("红河哈尼族彝族自治州", "Honghe Hani and Yi Autonomous Prefecture"),
    "5326": ("文山壮族苗族自治州", "Wenshan Zhuang and Miao Autonomous Prefecture"),
    "5328": ("西双版纳傣族自治州", "Xishuangbanna Dai Autonomous Prefecture"),
    "5329": ("大理白族自治州", "Dali Bai Autonomous Prefecture"),
    "5331": ("德宏傣族景颇族自治州", "Dehong Dai and Jingpo Autonomous Prefecture"),
    "5333": ("怒江傈僳族自治州", "Nujiang Lisu Autonomous Prefecture"),
    "5334": ("迪庆藏族自治州", "Diqing Tibetan Autonomous Prefecture"),
}
