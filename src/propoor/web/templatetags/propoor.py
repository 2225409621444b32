"""Template filters: numbers, money, dates and areas the way China reads them.

- money: ``¥12,345.60`` (:func:`propoor.core.money.format_cny`)
- dates: ``2026年11月29日`` in Chinese, ``2026-11-29`` in English
- percentages: one decimal, ``12.3%``
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django import template
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from propoor.core.money import format_cny
from propoor.insights.explanation import IndicatorLine
from propoor.web import labels

register = template.Library()

DASH = "—"


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


@register.filter
def cny(value: Decimal | int | str | None) -> str:
    """``¥12,345.60``; a dash for None."""
    if value is None or value == "":
        return DASH
    return format_cny(Decimal(value))


def _ratio(value: object) -> Fraction | None:
    if value is None or value == "":
        return None
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(str(value))
    return Fraction(str(value))  # int, Decimal, "1/3"


@register.filter
def pct(value: object) -> str:
    """A ratio (0.123, Fraction(1, 8), "1/8") as a percentage with one decimal."""
    ratio = _ratio(value)
    if ratio is None:
        return DASH
    percent = Decimal(ratio.numerator * 100) / Decimal(ratio.denominator)
    return f"{percent.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


@register.filter
def dec(value: object, places: int = 3) -> str:
    """A ratio as a decimal number with ``places`` places (M0 = 0.123)."""
    ratio = _ratio(value)
    if ratio is None:
        return DASH
    number = Decimal(ratio.numerator) / Decimal(ratio.denominator)
    return str(number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP))


@register.filter
def num(value: int | Decimal | None) -> str:
    """Thousands grouped with commas: ``12,345``."""
    if value is None or value == "":
        return DASH
    return f"{value:,}"


@register.filter
def localdate(value: date | datetime | None) -> str:
    """``2026年11月29日`` in Chinese, ``2026-11-29`` otherwise (Asia/Shanghai)."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    if _chinese():
        return f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()


@register.filter
def localdatetime(value: datetime | None) -> str:
    """``2026年11月29日 14:05`` in Chinese, ``2026-11-29 14:05`` otherwise."""
    if value is None:
        return DASH
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{localdate(local)} {local:%H:%M}"


@register.filter
def areaname(value: object) -> str:
    """A division's name in the page's language (``name_en`` when English and set)."""
    if value is None:
        return DASH
    name = str(getattr(value, "name", value))
    name_en = str(getattr(value, "name_en", "") or "")
    if not _chinese() and name_en:
        return name_en
    return name


@register.filter
def yesno_mark(value: bool | None) -> str:
    """✓ / ✗ / — for a three-valued test."""
    if value is None:
        return DASH
    return "✓" if value else "✗"


# --- labels ---------------------------------------------------------------------------


@register.simple_tag
def choice_label(field: str, value: object) -> str:
    """``{% choice_label "relation" m.relation %}`` → 户主 / Head."""
    return labels.choice_label(field, value)


@register.simple_tag
def guarantee_label(line: object) -> str:
    """A guarantee line's label in the page's language (the kernel gives both)."""
    name = str(getattr(line, "name", line))
    zh = str(getattr(line, "label_zh", "") or "")
    en = str(getattr(line, "label_en", "") or "")
    if name in labels.GUARANTEES:
        return str(labels.GUARANTEES[name])
    return (zh if _chinese() else en) or name


@register.simple_tag
def condition_label(name: object) -> str:
    """An exit condition the household failed, by its code."""
    text = str(name)
    return str(labels.CONDITIONS.get(text, text))


@register.simple_tag
def dimension_label(name: str) -> str:
    return str(labels.DIMENSIONS.get(name, name))


@register.simple_tag
def standard_label(name: str, title: str = "") -> str:
    return str(labels.STANDARDS.get(name, title or name))


@register.simple_tag
def column_label(column: str) -> str:
    return str(labels.COLUMNS.get(column, column))


@register.simple_tag
def indicator_label(line: object) -> str:
    zh = str(getattr(line, "label_zh", "") or "")
    en = str(getattr(line, "label_en", "") or "")
    return (zh if _chinese() else en) or str(getattr(line, "name", ""))


def _value_text(column: str, value: object) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, str):
        return labels.choice_label(column, value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@register.simple_tag
def indicator_value(line: IndicatorLine) -> str:
    """The household's value, with choice codes shown as their labels."""
    return _value_text(line.column, line.value)


@register.simple_tag
def indicator_cutoff(line: IndicatorLine) -> str:
    """``< 13``; ``in`` lists and booleans shown with labels."""
    if line.op and line.threshold is not None:
        threshold = line.threshold
        if isinstance(threshold, list | tuple):
            shown = "、".join(_value_text(line.column, v) for v in threshold)
            word = _("one of") if line.op == "in" else _("none of")
            return f"{word} {shown}"
        if line.op == "==":
            return _value_text(line.column, threshold)
        if line.op == "!=":
            return f"≠ {_value_text(line.column, threshold)}"
        return f"{line.op} {_value_text(line.column, threshold)}"
    return line.cut_off or DASH


@register.simple_tag
def intervention_name(intervention: object) -> str:
    name = str(getattr(intervention, "name", "") or "")
    name_en = str(getattr(intervention, "name_en", "") or "")
    if not _chinese() and name_en:
        return name_en
    return name or name_en


@register.simple_tag
def plan_reason(item: object) -> str:
    reason = str(getattr(item, "reason", "") or "")
    reason_en = str(getattr(item, "reason_en", "") or "")
    if not _chinese() and reason_en:
        return reason_en
    return reason or reason_en
