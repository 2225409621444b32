"""Build the shipped XLSForms from the definitions below.

Run ``python -m propoor.surveys.forms.build`` after editing a definition (and raise
the form's ``VERSION``): it rewrites ``household.xlsx`` and ``village.xlsx`` next to
this file. Every question is named after the registry field it fills (see
``surveys/README.md``); labels come in Simplified Chinese and English.

A row is ``q(type, name, zh, en, **columns)``; ``columns`` are further XLSForm
columns (``required``, ``relevant``, ``constraint``, ``default`` …), and ``msg``
gives the constraint message as ``(zh, en)``.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from propoor.surveys.forms import HOUSEHOLD_XLSX, VILLAGE_XLSX

ZH = "简体中文 (zh)"
EN = "English (en)"
# Workbook metadata is pinned so that a rebuild of unchanged definitions gives
# the same content.
PINNED_TIME = datetime(2025, 1, 1)  # noqa: DTZ001  (openpyxl stores naive times)

HOUSEHOLD_VERSION = "2025.1"
VILLAGE_VERSION = "2025.1"


@dataclass(frozen=True)
class Row:
    type: str
    name: str
    zh: str = ""
    en: str = ""
    columns: dict[str, str] = field(default_factory=dict)


def q(
    type_: str,
    name: str,
    zh: str = "",
    en: str = "",
    *,
    msg: tuple[str, str] | None = None,
    hint: tuple[str, str] | None = None,
    **columns: str,
) -> Row:
    extra = dict(columns)
    if hint is not None:
        extra[f"hint::{ZH}"], extra[f"hint::{EN}"] = hint
    if msg is not None:
        extra[f"constraint_message::{ZH}"], extra[f"constraint_message::{EN}"] = msg
    return Row(type_, name, zh, en, extra)


def end(type_: str) -> Row:
    return Row(type_, "")


def money(name: str, zh: str, en: str) -> Row:
    return q(
        "decimal",
        name,
        zh,
        en,
        required="yes",
        default="0",
        constraint=". >= 0 and . = round(., 2)",
        msg=(
            "金额不能为负数，最多两位小数",
            "An amount is not negative, 2 decimals at most",
        ),
    )


def count(name: str, zh: str, en: str, **columns: str) -> Row:
    return q(
        "integer",
        name,
        zh,
        en,
        required="yes",
        msg=("不能为负数", "Cannot be negative"),
        **{"default": "0", "constraint": ". >= 0", **columns},
    )


def yes_no(name: str, zh: str, en: str, **columns: str) -> Row:
    return q("select_one yes_no", name, zh, en, required="yes", **columns)


def area(name: str, zh: str, en: str) -> Row:
    return q(
        "decimal",
        name,
        zh,
        en,
        required="yes",
        default="0",
        constraint=". >= 0",
        msg=("不能为负数", "Cannot be negative"),
    )


# ---------------------------------------------------------------------------
# Choice lists: names are the registry's choice values (a test holds them to it).

CHOICES: dict[str, Sequence[tuple[str, str, str]]] = {
    "yes_no": (("yes", "是", "Yes"), ("no", "否", "No")),
    "category": (
        ("ordinary", "一般贫困户", "Ordinary poor household"),
        ("dibao", "低保贫困户", "Minimum-living-allowance household"),
        ("tekun", "特困供养户", "Extreme-poverty support household"),
    ),
    "cause": (
        ("illness", "因病", "Illness"),
        ("disability", "因残", "Disability"),
        ("schooling", "因学", "Schooling costs"),
        ("disaster", "因灾", "Disaster"),
        ("lack_land", "缺土地", "Lack of land"),
        ("lack_water", "缺水", "Lack of water"),
        ("lack_skills", "缺技术", "Lack of skills"),
        ("lack_labour", "缺劳力", "Lack of labour"),
        ("lack_capital", "缺资金", "Lack of capital"),
        ("poor_transport", "交通条件落后", "Poor transport"),
        ("lack_drive", "自身发展动力不足", "Lack of own drive"),
        ("other", "其他", "Other"),
    ),
    "relation": (
        ("head", "户主", "Head"),
        ("spouse", "配偶", "Spouse"),
        ("child", "子女", "Child"),
        ("parent", "父母", "Parent"),
        ("grandchild", "孙子女", "Grandchild"),
        ("sibling", "兄弟姐妹", "Sibling"),
        ("other", "其他", "Other"),
    ),
    "labour": (
        ("full", "普通劳动力", "Full labour"),
        ("partial", "弱劳动力或半劳动力", "Partial labour"),
        ("none", "无劳动力", "No labour capacity"),
        ("student", "在校生", "In school"),
    ),
    "health": (
        ("healthy", "健康", "Healthy"),
        ("chronic", "长期慢性病", "Chronic illness"),
        ("serious", "患有大病", "Serious illness"),
        ("disabled", "残疾", "Disabled"),
    ),
    "schooling": (
        ("none", "文盲或半文盲", "No schooling"),
        ("primary", "小学", "Primary school"),
        ("junior", "初中", "Junior secondary"),
        ("senior", "高中或中专", "Senior secondary"),
        ("college", "大专及以上", "College or above"),
    ),
    "housing_structure": (
        ("concrete", "钢混或砖混", "Reinforced concrete / brick-concrete"),
        ("brick_wood", "砖木", "Brick and wood"),
        ("earth_wood", "土木", "Earth and wood"),
        ("other", "其他（简易房）", "Other (makeshift)"),
    ),
    "housing_grade": (
        ("A", "A级（安全）", "A (safe)"),
        ("B", "B级（基本安全）", "B (mostly safe)"),
        ("C", "C级（局部危险）", "C (partly dangerous)"),
        ("D", "D级（整体危险）", "D (dangerous)"),
    ),
    "quality": (
        ("1", "1 很差", "1 very poor"),
        ("2", "2 差", "2 poor"),
        ("3", "3 一般", "3 fair"),
        ("4", "4 好", "4 good"),
        ("5", "5 很好", "5 very good"),
    ),
    "cooking_fuel": (
        ("electricity", "电", "Electricity"),
        ("gas", "燃气（液化气、天然气、沼气）", "Gas (LPG, natural gas, biogas)"),
        ("coal", "煤", "Coal"),
        ("wood", "柴草", "Wood or straw"),
        ("dung", "畜粪", "Dung"),
    ),
    "sanitation": (
        ("flush", "水冲式厕所", "Flush toilet"),
        ("improved_pit", "卫生旱厕", "Improved pit latrine"),
        ("unimproved", "简易旱厕", "Unimproved latrine"),
        ("none", "无厕所", "No toilet"),
    ),
    "internet": (
        ("none", "不能上网", "No internet"),
        ("mobile", "手机流量", "Mobile data"),
        ("broadband", "宽带", "Broadband"),
    ),
    "experience": (
        ("none", "从未网购或网销", "Never used e-commerce"),
        ("bought", "网上买过东西", "Has bought online"),
        ("sold", "网上卖过东西", "Has sold online"),
    ),
    "skill": (
        ("planting", "种植", "Planting"),
        ("livestock", "养殖", "Livestock"),
        ("construction", "建筑", "Construction"),
        ("driving", "驾驶", "Driving"),
        ("cooking", "厨艺", "Cooking"),
        ("sewing", "缝纫", "Sewing"),
        ("electrician", "电工", "Electrician"),
        ("handicraft", "手工艺", "Handicraft"),
        ("ecommerce", "电商", "E-commerce"),
    ),
    "wish": (
        ("ecommerce-own-shop", "开设自营网店", "Open an own online shop"),
        (
            "ecommerce-cooperative",
            "通过合作社线上销售",
            "Sell online via a cooperative",
        ),
        ("ecommerce-station", "通过村级服务站代销", "Sell via the service station"),
        ("training-ecommerce", "电商技能培训", "E-commerce skills training"),
        ("production-specialty", "特色种养殖项目", "Specialty crop or livestock"),
        ("tourism-farmstay", "乡村旅游", "Rural tourism"),
        ("credit-microloan", "扶贫小额信贷", "Micro-credit"),
        ("insurance-production", "特色产业保险", "Production insurance"),
        ("employment-transfer", "转移就业", "Job placement"),
        ("education-support", "教育资助", "Education support"),
        ("relocation", "易地扶贫搬迁", "Relocation"),
        ("ecological-ranger", "生态护林员", "Ecological forest ranger"),
        ("safety-net", "社会保障兜底", "Social-security safety net"),
        ("medical-assistance", "医疗救助", "Medical assistance"),
        ("housing-renovation", "危房改造", "Dangerous-house renovation"),
    ),
    "terrain": (
        ("plain", "平原", "Plain"),
        ("hill", "丘陵", "Hill"),
        ("mountain", "山区", "Mountain"),
    ),
    "coverage": (
        ("none", "未覆盖", "None"),
        ("partial", "部分覆盖", "Partial"),
        ("full", "全覆盖", "Full"),
    ),
}

VILLAGE_CODE = q(
    "text",
    "village_code",
    "村代码（12位统计用区划代码）",
    "Village code (12-digit statistical division code)",
    required="yes",
    constraint="regex(., '^[0-9]{12}$')",
    msg=("村代码为12位数字", "A village code has 12 digits"),
)

# ---------------------------------------------------------------------------
# The household questionnaire: identification, members, every snapshot indicator.

HOUSEHOLD: list[Row] = [
    q("start", "start"),
    q("end", "end"),
    q("today", "surveyed_on"),
    q(
        "begin_group",
        "identification",
        "农户识别",
        "Household",
        appearance="field-list",
    ),
    VILLAGE_CODE,
    yes_no("new_household", "是否新增农户？", "Is this a new household?"),
    q(
        "text",
        "household_number",
        "农户编号",
        "Household number",
        required="yes",
        relevant="${new_household} = 'no'",
        constraint="regex(., '^[0-9]{12}-[0-9]{4}$')",
        msg=("编号格式：村代码-4位序号", "Format: village code-4 digits"),
    ),
    q(
        "text",
        "head_name",
        "户主姓名",
        "Head's name",
        required="yes",
        relevant="${new_household} = 'yes'",
    ),
    q("text", "address", "住址", "Address", relevant="${new_household} = 'yes'"),
    q("text", "phone", "联系电话", "Phone", relevant="${new_household} = 'yes'"),
    q(
        "select_one category",
        "category",
        "贫困户属性",
        "Category",
        required="yes",
        default="ordinary",
        relevant="${new_household} = 'yes'",
    ),
    q("select_one cause", "main_cause", "主要致贫原因", "Main cause of poverty"),
    q(
        "select_multiple cause",
        "secondary_causes",
        "次要致贫原因（最多两项）",
        "Secondary causes (two at most)",
        relevant="${main_cause} != ''",
        constraint="count-selected(.) <= 2 and not(selected(., ${main_cause}))",
        msg=(
            "最多两项，且不同于主要原因",
            "Two at most, and not the main cause",
        ),
    ),
    q(
        "integer",
        "year",
        "调查年度",
        "Survey year",
        required="yes",
        default="format-date(today(), '%Y')",
        constraint=". >= 2010 and . <= 2100",
        msg=("年度在2010至2100之间", "A year between 2010 and 2100"),
    ),
    end("end_group"),
    q(
        "begin_repeat",
        "members",
        "家庭成员",
        "Household members",
        hint=(
            "新增农户登记全部成员；年度调查只登记新增成员",
            "A new household: every member; a yearly survey: new members only",
        ),
    ),
    q("text", "name", "姓名", "Name", required="yes"),
    q(
        "text",
        "id_number",
        "身份证号",
        "Resident ID number",
        required="yes",
        constraint="regex(., '^[0-9]{17}[0-9Xx]$')",
        msg=("身份证号为18位", "An ID number has 18 characters"),
    ),
    q(
        "integer",
        "age",
        "年龄（周岁）",
        "Age (years)",
        required="yes",
        constraint=". >= 0 and . <= 120",
        msg=("年龄在0至120岁之间", "An age between 0 and 120"),
    ),
    q("select_one relation", "relation", "与户主关系", "Relation", required="yes"),
    q("select_one labour", "labour", "劳动能力", "Labour capacity", required="yes"),
    q("select_one health", "health", "健康状况", "Health", required="yes"),
    q("select_one schooling", "schooling", "文化程度", "Schooling", required="yes"),
    yes_no("in_school", "是否在校生", "In school?"),
    q("text", "skills", "技能（选填）", "Skills (optional)"),
    end("end_repeat"),
    q("begin_group", "income", "收入与支出（元/年）", "Income and costs (yuan a year)"),
    money("income_wages", "工资性收入", "Wages"),
    money("income_business", "生产经营性收入", "Business income"),
    money("income_ecommerce", "其中：电商收入", "of which earned online"),
    money("income_property", "财产性收入", "Property income"),
    money("income_transfers", "转移性收入", "Transfers"),
    money("costs", "生产经营性支出", "Production and operating costs"),
    money("spending_medical", "医疗支出", "Medical spending"),
    money("spending_disaster", "灾害损失支出", "Disaster spending"),
    end("end_group"),
    q("begin_group", "guarantees", "两不愁三保障", "Two no-worries, three guarantees"),
    yes_no("food_secure", "不愁吃", "Food secure"),
    yes_no("clothing_secure", "不愁穿", "Clothing secure"),
    count("school_age_children", "义务教育阶段儿童人数", "School-age children"),
    count(
        "children_out_of_school",
        "其中失学辍学人数",
        "of whom out of school",
        constraint=". >= 0 and . <= ${school_age_children}",
    ),
    yes_no("medical_insured", "全家参加基本医疗保险", "Every member medically insured"),
    yes_no("medical_care_access", "看病有保障", "Access to medical care"),
    q(
        "select_one housing_structure",
        "housing_structure",
        "住房结构",
        "Housing structure",
        required="yes",
    ),
    q(
        "select_one housing_grade",
        "housing_grade",
        "危房鉴定等级",
        "Housing safety grade",
        required="yes",
    ),
    yes_no("safe_water", "饮水安全", "Safe drinking water"),
    q(
        "select_one quality",
        "water_quality",
        "饮水质量",
        "Water quality",
        required="yes",
    ),
    q("select_one quality", "wall_quality", "墙体质量", "Wall quality", required="yes"),
    end("end_group"),
    q("begin_group", "living", "生活条件", "Living conditions"),
    yes_no("electricity", "通生活用电", "Electricity"),
    q(
        "select_one cooking_fuel",
        "cooking_fuel",
        "做饭燃料",
        "Cooking fuel",
        required="yes",
    ),
    q("select_one sanitation", "sanitation", "厕所", "Sanitation", required="yes"),
    yes_no("undernourished_member", "有营养不良成员", "An undernourished member"),
    yes_no("child_death_5y", "近5年有儿童死亡", "A child died in the last 5 years"),
    count(
        "max_schooling_years",
        "成员最高受教育年限",
        "Most years of schooling of a member",
        constraint=". >= 0 and . <= 30",
    ),
    end("end_group"),
    q("begin_group", "assets", "家庭资产", "Assets", appearance="field-list"),
    yes_no("has_radio", "收音机", "Radio"),
    yes_no("has_tv", "电视机", "Television"),
    yes_no("has_telephone", "电话或手机", "Telephone or mobile phone"),
    yes_no("has_computer", "电脑", "Computer"),
    yes_no("has_bicycle", "自行车", "Bicycle"),
    yes_no("has_motorbike", "摩托车或电动车", "Motorbike"),
    yes_no("has_refrigerator", "冰箱", "Refrigerator"),
    yes_no("has_car", "汽车", "Car"),
    end("end_group"),
    q("begin_group", "land", "土地（亩）", "Land (mu)", appearance="field-list"),
    area("land_cultivated", "耕地", "Cultivated land"),
    area("land_forest", "林地", "Forest land"),
    area("land_orchard", "园地", "Orchard"),
    area("land_pond", "养殖水面", "Fish pond"),
    end("end_group"),
    q("begin_group", "labour_group", "人口与劳动力", "People and labour"),
    count(
        "size",
        "家庭人口数",
        "Household size",
        constraint=". >= 1",
        default="1",
    ),
    count("labourers_full", "普通劳动力人数", "Full labourers"),
    count("labourers_partial", "弱或半劳动力人数", "Partial labourers"),
    count("members_ill_or_disabled", "患病或残疾人数", "Ill or disabled members"),
    yes_no("head_female", "户主为女性", "Female head"),
    yes_no("head_elderly", "户主为老人（65岁以上）", "Elderly head (over 65)"),
    yes_no("head_child", "户主为未成年人", "Child head"),
    q("select_multiple skill", "skills", "家庭成员技能", "Skills in the household"),
    end("end_group"),
    q("begin_group", "market", "销售能力", "Ability to sell"),
    count("smartphones", "智能手机数", "Smartphones"),
    q("select_one internet", "internet", "上网方式", "Internet", required="yes"),
    area("km_to_road", "距硬化路（公里）", "Km to a paved road"),
    area("km_to_market", "距集市（公里）", "Km to a market"),
    q(
        "select_one experience",
        "ecommerce_experience",
        "电商经历",
        "E-commerce experience",
        required="yes",
    ),
    end("end_group"),
    q("begin_group", "wishes_group", "发展意愿", "What the household wants"),
    q("select_multiple wish", "wishes", "希望得到的帮扶", "Support wished for"),
    q("text", "wishes_note", "本户意愿（原话）", "In the household's own words"),
    end("end_group"),
    q("begin_group", "house", "住房位置与照片", "The house"),
    q("geopoint", "location", "住房位置", "Location of the house"),
    q(
        "image",
        "house_photo",
        "住房照片",
        "Photo of the house",
        parameters="max-pixels=1600",
    ),
    end("end_group"),
]

# ---------------------------------------------------------------------------
# The village questionnaire: profile, infrastructure, resources.

VILLAGE: list[Row] = [
    q("start", "start"),
    q("end", "end"),
    q("today", "surveyed_on"),
    q("begin_group", "profile", "村情", "Profile", appearance="field-list"),
    VILLAGE_CODE,
    q("select_one terrain", "terrain", "地形", "Terrain", required="yes"),
    count("population", "户籍人口", "Registered population"),
    area("km_to_county_seat", "距县城（公里）", "Km to the county seat"),
    area("km_to_paved_road", "距硬化路（公里）", "Km to a paved road"),
    end("end_group"),
    q("begin_group", "infrastructure", "基础设施", "Infrastructure"),
    q("select_one coverage", "broadband", "宽带覆盖", "Broadband", required="yes"),
    q("select_one coverage", "mobile_4g", "4G覆盖", "4G coverage", required="yes"),
    yes_no("has_service_station", "村级电商服务站", "E-commerce service station"),
    yes_no("has_logistics_point", "物流网点", "Logistics point"),
    yes_no("has_cold_storage", "冷库", "Cold storage"),
    end("end_group"),
    q("begin_group", "resources", "资源", "Resources", appearance="field-list"),
    yes_no("landscape", "自然风光", "Landscape"),
    yes_no("folk_culture", "民俗文化", "Folk culture"),
    yes_no("orchards", "果园", "Orchards"),
    yes_no("vegetable_gardens", "菜园", "Vegetable gardens"),
    yes_no("fish_ponds", "鱼塘", "Fish ponds"),
    q("text", "specialty_products", "特色产品", "Specialty products"),
    end("end_group"),
    q("geopoint", "location", "村委会位置", "Location of the village office"),
    q(
        "image",
        "village_photo",
        "村貌照片",
        "Photo of the village",
        parameters="max-pixels=1600",
    ),
]

SURVEY_COLUMNS = (
    "type",
    "name",
    f"label::{ZH}",
    f"label::{EN}",
    f"hint::{ZH}",
    f"hint::{EN}",
    "required",
    "relevant",
    "constraint",
    f"constraint_message::{ZH}",
    f"constraint_message::{EN}",
    "appearance",
    "default",
    "parameters",
)


def workbook(
    rows: Sequence[Row],
    *,
    form_id: str,
    version: str,
    title_zh: str,
    title_en: str,
    lists: Sequence[str],
) -> bytes:
    """The XLSForm as .xlsx bytes: survey, choices and settings sheets."""
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    extra = sorted({k for row in rows for k in row.columns} - set(SURVEY_COLUMNS))
    columns = (*SURVEY_COLUMNS, *extra)  # e.g. a "registry" mapping column
    survey.append(columns)
    for row in rows:
        cells = {
            "type": row.type,
            "name": row.name,
            f"label::{ZH}": row.zh,
            f"label::{EN}": row.en,
            **row.columns,
        }
        survey.append([cells.get(column, "") or None for column in columns])
    choices = book.create_sheet("choices")
    choices.append(("list_name", "name", f"label::{ZH}", f"label::{EN}"))
    for list_name in lists:
        for name, zh, en in CHOICES[list_name]:
            choices.append((list_name, name, zh, en))
    settings = book.create_sheet("settings")
    settings.append(("form_id", "version", "form_title", "default_language", "name"))
    settings.append((form_id, version, f"{title_zh} {title_en}", ZH, form_id))
    book.properties.creator = "ProPoor"
    book.properties.created = PINNED_TIME
    book.properties.modified = PINNED_TIME
    out = io.BytesIO()
    book.save(out)
    return _pinned(out.getvalue())


def _pinned(xlsx: bytes) -> bytes:
    """The same workbook with every zip entry dated PINNED_TIME (reproducible)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            pinned = zipfile.ZipInfo(info.filename, PINNED_TIME.timetuple()[:6])
            pinned.compress_type = zipfile.ZIP_DEFLATED
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified"
                data = re.sub(
                    rb"<dcterms:modified([^>]*)>[^<]*<",
                    rb"<dcterms:modified\1>2025-01-01T00:00:00Z<",
                    data,
                )
            target.writestr(pinned, data)
    return out.getvalue()


def _lists(rows: Sequence[Row]) -> list[str]:
    used: list[str] = []
    for row in rows:
        parts = row.type.split()
        select = len(parts) == 2 and parts[0] in {"select_one", "select_multiple"}
        if select and parts[1] not in used:
            used.append(parts[1])
    return used


def household_xlsx() -> bytes:
    return workbook(
        HOUSEHOLD,
        form_id="propoor_household",
        version=HOUSEHOLD_VERSION,
        title_zh="农户年度调查",
        title_en="Household survey",
        lists=_lists(HOUSEHOLD),
    )


def village_xlsx() -> bytes:
    return workbook(
        VILLAGE,
        form_id="propoor_village",
        version=VILLAGE_VERSION,
        title_zh="村情调查",
        title_en="Village survey",
        lists=_lists(VILLAGE),
    )


def main(target: Path | None = None) -> list[Path]:
    """Write both workbooks (into ``target`` or next to this file)."""
    written = []
    for path, data in (
        (HOUSEHOLD_XLSX, household_xlsx()),
        (VILLAGE_XLSX, village_xlsx()),
    ):
        out = path if target is None else target / path.name
        out.write_bytes(data)
        written.append(out)
    return written


if __name__ == "__main__":
    for path in main():
        print(f"wrote {path}")
