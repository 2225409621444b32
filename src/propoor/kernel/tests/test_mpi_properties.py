"""The vectorised, integer-numerator MPI equals a slow per-household reference."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from propoor.kernel.mpi import Indicator, MpiStandard, aggregate, scores

COMPARE: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Problem:
    values: list[list[int]]  # values[i][j]: household i, indicator j
    groups: list[str]
    ops: list[str]
    thresholds: list[int]
    weights: list[Fraction]
    k: Fraction


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    m = draw(st.integers(1, 6))
    n = draw(st.integers(0, 25))
    parts = draw(st.lists(st.integers(1, 40), min_size=m, max_size=m))
    weights = [Fraction(p, sum(parts)) for p in parts]
    q = draw(st.integers(1, 12))
    k = Fraction(draw(st.integers(1, q)), q)
    values = draw(
        st.lists(
            st.lists(st.integers(0, 3), min_size=m, max_size=m),
            min_size=n,
            max_size=n,
        )
    )
    groups = draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n))
    ops = draw(st.lists(st.sampled_from(sorted(COMPARE)), min_size=m, max_size=m))
    thresholds = draw(st.lists(st.integers(0, 3), min_size=m, max_size=m))
    return Problem(values, groups, ops, thresholds, weights, k)


def _standard(p: Problem) -> MpiStandard:
    return MpiStandard(
        indicators=tuple(
            Indicator(name=f"i{j}", column=f"x{j}", weight=w, op=op, threshold=t)
            for j, (w, op, t) in enumerate(
                zip(p.weights, p.ops, p.thresholds, strict=True)
            )
        ),
        k=p.k,
    )


def _frame(p: Problem) -> pl.DataFrame:
    m = len(p.weights)
    return pl.DataFrame(
        {f"x{j}": [row[j] for row in p.values] for j in range(m)} | {"group": p.groups},
        schema={f"x{j}": pl.Int64 for j in range(m)} | {"group": pl.String},
    )


def _reference(p: Problem, rows: list[int]) -> dict[str, object]:
    """Alkire–Foster straight from the definitions, one household at a time."""
    m = len(p.weights)
    g = [
        [int(COMPARE[p.ops[j]](p.values[i][j], p.thresholds[j])) for j in range(m)]
        for i in rows
    ]
    c = [sum((p.weights[j] * gi[j] for j in range(m)), Fraction(0)) for gi in g]
    poor = [ci >= p.k for ci in c]
    n = len(rows)
    q = sum(poor)
    h = Fraction(q, n) if n else Fraction(0)
    a = (
        sum((ci for ci, pi in zip(c, poor, strict=True) if pi), Fraction(0)) / q
        if q
        else Fraction(0)
    )
    m0 = h * a
    censored = [
        Fraction(sum(gi[j] for gi, pi in zip(g, poor, strict=True) if pi), n)
        if n
        else Fraction(0)
        for j in range(m)
    ]
    uncensored = [
        Fraction(sum(gi[j] for gi in g), n) if n else Fraction(0) for j in range(m)
    ]
    contribution = [
        p.weights[j] * censored[j] / m0 if m0 else Fraction(0) for j in range(m)
    ]
    return {
        "scores": c,
        "poor": poor,
        "n": n,
        "q": q,
        "H": h,
        "A": a,
        "M0": m0,
        "censored": censored,
        "uncensored": uncensored,
        "contribution": contribution,
    }


@settings(max_examples=300, deadline=None)
@given(problems())
def test_vectorised_mpi_matches_the_reference(p: Problem) -> None:
    # given a random deprivation problem
    standard, frame = _standard(p), _frame(p)
    expected = _reference(p, list(range(len(p.values))))

    # when scored and aggregated by the kernel
    scored = scores(frame, standard)
    summary = aggregate(frame, standard)

    # then every number equals the reference exactly
    assert [
        Fraction(x, standard.denominator) for x in scored["mpi_numerator"]
    ] == expected["scores"]
    assert scored["mpi_poor"].to_list() == expected["poor"]
    assert (summary.n, summary.q, summary.H, summary.A, summary.M0) == (
        expected["n"],
        expected["q"],
        expected["H"],
        expected["A"],
        expected["M0"],
    )
    assert [i.censored_headcount for i in summary.indicators] == expected["censored"]
    assert [i.uncensored_headcount for i in summary.indicators] == expected[
        "uncensored"
    ]
    assert [i.contribution for i in summary.indicators] == expected["contribution"]


@settings(max_examples=200, deadline=None)
@given(problems())
def test_grouped_mpi_matches_the_reference_per_group(p: Problem) -> None:
    standard, frame = _standard(p), _frame(p)

    groups = aggregate(frame, standard, group_by="group")

    assert list(groups) == sorted(set(p.groups))
    for key, summary in groups.items():
        rows = [i for i, g in enumerate(p.groups) if g == key]
        expected = _reference(p, rows)
        assert (summary.n, summary.q, summary.H, summary.A, summary.M0) == (
            expected["n"],
            expected["q"],
            expected["H"],
            expected["A"],
            expected["M0"],
        )
        assert [i.censored_headcount for i in summary.indicators] == expected[
            "censored"
        ]
        assert [i.contribution for i in summary.indicators] == expected["contribution"]
