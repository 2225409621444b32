"""ECharts options for the dashboard, built from the selector's dataclass.

Only presentation happens here: labels in the page's language, numbers rounded for
display. The options are serialised into the page with ``json_script`` and drawn by
``static/propoor/charts.js``. Option values are JSON only (no JavaScript functions);
``charts.js`` adds value formatters for series carrying a ``unit``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from propoor.households.models import Cause, ItemStatus, Status

if TYPE_CHECKING:
    from propoor.insights.selectors import AreaRow, CountyDashboard

Option = dict[str, object]

# A palette readable on white and for the most common colour-vision deficiencies.
INCIDENCE_COLOR = "#c0392b"
M0_COLOR = "#2f6f9f"
BAR_COLOR = "#3b7d4f"
PLAN_COLORS = {
    ItemStatus.PLANNED: "#9aa5b1",
    ItemStatus.IN_PROGRESS: "#e0a526",
    ItemStatus.DONE: "#3b7d4f",
    ItemStatus.DROPPED: "#c7c7c7",
}
STATUS_COLORS = {
    Status.REGISTERED: "#9aa5b1",
    Status.IDENTIFIED: "#c0392b",
    Status.IN_PLAN: "#e0a526",
    Status.EXITED: "#3b7d4f",
    Status.MONITORED: "#2f6f9f",
    Status.RETURNED: "#7b1f1f",
    Status.NOT_POOR: "#8fbf9f",
}
ROW_HEIGHT = 44  # pixels per category with two bars
MAX_VISIBLE_ROWS = 14  # more than this: scroll inside the chart


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def _percent(value: Fraction | None) -> float | None:
    if value is None:
        return None
    return round(float(value) * 100, 1)


def _point(value: float | None, places: int, unit: str = "") -> Option | None:
    """A bar with its label written out: ``57.1%`` (not ``57.1`` or ``90``)."""
    if value is None:
        return None
    return {"value": value, "label": {"formatter": f"{value:.{places}f}{unit}"}}


def _ratio(value: Fraction | None) -> float | None:
    if value is None:
        return None
    return round(float(value), 3)


def _name(row: AreaRow) -> str:
    if not _chinese() and row.name_en:
        return row.name_en
    return row.name


def _cause_label(code: str) -> str:
    """The short label: ``因病`` in Chinese, ``Illness`` in English."""
    try:
        label = str(Cause(code).label)
    except ValueError:
        return code
    return label.split(" (", 1)[0]


def _grid() -> Option:
    return {"left": 8, "right": 48, "top": 40, "bottom": 8, "containLabel": True}


def _area_chart(rows: tuple[AreaRow, ...], *, with_m0: bool) -> Option:
    names = [_name(r) for r in rows]
    series: list[Option] = [
        {
            "name": _("Poverty incidence (%)"),
            "type": "bar",
            "xAxisIndex": 0,
            "data": [_point(_percent(r.incidence), 1, "%") for r in rows],
            "itemStyle": {"color": INCIDENCE_COLOR},
            "label": {"show": True, "position": "right", "formatter": "{c}%"},
            "barMaxWidth": 18,
            "unit": "%",
            "decimals": 1,
        }
    ]
    x_axes: list[Option] = [
        {
            "type": "value",
            "position": "bottom",
            "axisLabel": {"formatter": "{value}%"},
            "splitLine": {"lineStyle": {"type": "dashed"}},
        }
    ]
    if with_m0:
        series.append(
            {
                "name": _("MPI M0"),
                "type": "bar",
                "xAxisIndex": 1,
                "data": [_point(_ratio(r.m0), 3) for r in rows],
                "decimals": 3,
                "itemStyle": {"color": M0_COLOR},
                "label": {"show": True, "position": "right"},
                "barMaxWidth": 18,
            }
        )
        x_axes.append(
            {"type": "value", "position": "top", "splitLine": {"show": False}}
        )
    option: Option = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0, "left": "center"},
        "grid": {**_grid(), "top": 64 if with_m0 else 40},
        "xAxis": x_axes,
        "yAxis": {
            "type": "category",
            "data": names,
            "inverse": True,
            "axisLabel": {"overflow": "break"},
        },
        "series": series,
        "codes": [r.code for r in rows],
    }
    if len(rows) > MAX_VISIBLE_ROWS:
        option["dataZoom"] = [
            {
                "type": "slider",
                "yAxisIndex": 0,
                "right": 0,
                "width": 14,
                "startValue": 0,
                "endValue": MAX_VISIBLE_ROWS - 1,
                "zoomLock": True,
                "showDetail": False,
                "brushSelect": False,
            },
            {
                "type": "inside",
                "yAxisIndex": 0,
                "zoomOnMouseWheel": False,
                "moveOnMouseWheel": True,
                "moveOnMouseMove": True,
            },
        ]
    return option


def _height(count: int, *, with_m0: bool) -> int:
    rows = min(count, MAX_VISIBLE_ROWS)
    per_row = ROW_HEIGHT if with_m0 else ROW_HEIGHT * 2 // 3
    return max(200, (96 if with_m0 else 64) + rows * per_row)


def _simple_bars(
    labels: list[str], values: list[object], *, unit: str = "", color: str = BAR_COLOR
) -> Option:
    series: Option = {
        "type": "bar",
        "data": values,
        "itemStyle": {"color": color},
        "label": {
            "show": True,
            "position": "right",
            "formatter": "{c}" + unit,
        },
        "barMaxWidth": 18,
    }
    if unit:
        series["unit"] = unit
        series["decimals"] = 1
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {**_grid(), "top": 8},
        "xAxis": {
            "type": "value",
            "axisLabel": {"formatter": "{value}" + unit, "hideOverlap": True},
            "splitLine": {"lineStyle": {"type": "dashed"}},
            "splitNumber": 4,
            **({} if unit else {"minInterval": 1}),
        },
        "yAxis": {
            "type": "category",
            "data": labels,
            "inverse": True,
            "axisLabel": {"overflow": "break"},
        },
        "series": [series],
    }


def _bars_height(count: int, *, wrap: bool = False) -> int:
    return 48 + (40 if wrap else 30) * count


def dashboard_charts(board: CountyDashboard) -> dict[str, Option]:
    """The dashboard's charts by name: ``{"option": ..., "height": px}`` each.

    A chart with nothing to show is left out; the page says so instead.
    """
    charts: dict[str, Option] = {}
    with_m0 = board.headline.m0 is not None
    if board.townships:
        charts["townships"] = {
            "option": _area_chart(board.townships, with_m0=with_m0),
            "height": _height(len(board.townships), with_m0=with_m0),
        }
    if board.villages:
        charts["villages"] = {
            "option": _area_chart(board.villages, with_m0=with_m0),
            "height": _height(len(board.villages), with_m0=with_m0),
        }
    if board.causes:
        charts["causes"] = {
            "option": _simple_bars(
                [_cause_label(c.cause) for c in board.causes],
                [c.households for c in board.causes],
            ),
            "height": _bars_height(len(board.causes)),
        }
    if board.contributions:
        zh = _chinese()
        charts["contributions"] = {
            "option": _simple_bars(
                [
                    (c.label_zh if zh else c.label_en) or c.indicator
                    for c in board.contributions
                ],
                [_point(_percent(c.contribution), 1, "%") for c in board.contributions],
                unit="%",
            ),
            "height": _bars_height(len(board.contributions), wrap=True),
        }
    if board.plan.total:
        plan = board.plan
        parts = [
            (ItemStatus.PLANNED, plan.planned),
            (ItemStatus.IN_PROGRESS, plan.in_progress),
            (ItemStatus.DONE, plan.done),
            (ItemStatus.DROPPED, plan.dropped),
        ]
        charts["plan"] = {
            "option": {
                "tooltip": {"trigger": "item"},
                "series": [
                    {
                        "type": "pie",
                        "radius": ["45%", "75%"],
                        "center": ["50%", "50%"],
                        "avoidLabelOverlap": True,
                        "label": {"formatter": "{c}"},
                        "data": [
                            {
                                "name": str(status.label),
                                "value": count,
                                "itemStyle": {"color": PLAN_COLORS[status]},
                            }
                            for status, count in parts
                            if count
                        ],
                    }
                ],
            },
            "height": 240,
        }
    if board.statuses:
        charts["statuses"] = {
            "option": _simple_bars(
                [str(Status(s.status).label) for s in board.statuses],
                [
                    {
                        "value": s.households,
                        "itemStyle": {"color": STATUS_COLORS[s.status]},
                    }
                    for s in board.statuses
                ],
            ),
            "height": _bars_height(len(board.statuses)),
        }
    return charts
