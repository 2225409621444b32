from __future__ import annotations

import json
from pathlib import Path

import pytest

from propoor.cli.mpi import main

CASE_A_CSV = """household,x1,x2,x3,x4,village
a,13.1,14,4,1,y
b,15.2,7,5,0,x
c,12.5,10,1,0,y
d,20,11,3,1,x
"""

CASE_A_TOML = """k = "1/2"

[[indicators]]
name = "d1"
column = "x1"
weight = 0.25
deprived_if = "< 13"

[[indicators]]
name = "d2"
column = "x2"
weight = "1/4"
deprived_if = "< 12"

[[indicators]]
name = "d3"
column = "x3"
weight = "1/4"
deprived_if = "< 3"

[[indicators]]
name = "d4"
column = "x4"
weight = "1/4"
deprived_if = "< 1"
"""


def _files(tmp_path: Path, csv: str = CASE_A_CSV, toml: str = CASE_A_TOML) -> list[str]:
    data = tmp_path / "data.csv"
    standard = tmp_path / "standard.toml"
    data.write_text(csv, encoding="utf-8")
    standard.write_text(toml, encoding="utf-8")
    return [str(data), "--standard", str(standard)]


def _indicators(
    censored: list[float], contributions: list[float], uncensored: list[float]
) -> dict[str, dict[str, float]]:
    return {
        f"d{j + 1}": {
            "weight": 0.25,
            "uncensored_headcount": uncensored[j],
            "censored_headcount": censored[j],
            "contribution": contributions[j],
        }
        for j in range(4)
    }


def test_case_a_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given Case A and its standard with k = 1/2
    argv = _files(tmp_path)

    # when run with --format json
    status = main([*argv, "--format", "json"])

    # then the published values are printed
    out = capsys.readouterr()
    assert (status, out.err) == (0, "")
    assert json.loads(out.out) == {
        "n": 4,
        "q": 2,
        "k": 0.5,
        "H": 0.5,
        "A": 0.75,
        "M0": 0.375,
        "indicators": _indicators(
            censored=[0.25, 0.5, 0.25, 0.5],
            contributions=[1 / 6, 1 / 3, 1 / 6, 1 / 3],
            uncensored=[0.25, 0.75, 0.25, 0.5],
        ),
    }


@pytest.mark.parametrize(
    ("k", "h", "a", "m0"),
    [("1/4", 0.75, 7 / 12, 7 / 16), ("0.75", 0.25, 1.0, 0.25)],
)
def test_k_option_overrides_the_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    k: str,
    h: float,
    a: float,
    m0: float,
) -> None:
    status = main([*_files(tmp_path), "--k", k, "--format", "json"])

    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert (result["H"], result["A"], result["M0"]) == (h, a, m0)


def test_group_by(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given Case A split into villages x (b, d) and y (a, c)
    argv = _files(tmp_path)

    status = main([*argv, "--group-by", "village", "--format", "json"])

    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert (result["H"], result["M0"]) == (0.5, 0.375)
    assert list(result["groups"]) == ["x", "y"]
    assert result["groups"]["x"] == {
        "n": 2,
        "q": 1,
        "k": 0.5,
        "H": 0.5,
        "A": 0.5,
        "M0": 0.25,
        "indicators": _indicators(
            censored=[0.0, 0.5, 0.0, 0.5],
            contributions=[0.0, 0.5, 0.0, 0.5],
            uncensored=[0.0, 1.0, 0.0, 0.5],
        ),
    }
    assert (result["groups"]["y"]["A"], result["groups"]["y"]["M0"]) == (1.0, 0.5)


def test_table_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(_files(tmp_path))

    assert status == 0
    assert capsys.readouterr().out == (
        "all households\n"
        "  n = 4, q = 2, k = 1/2\n"
        "  H  = 1/2 (0.5000)\n"
        "  A  = 3/4 (0.7500)\n"
        "  M0 = 3/8 (0.3750)\n"
        "  indicator  weight  uncensored    censored      contribution\n"
        "  d1         1/4     1/4 (0.2500)  1/4 (0.2500)  1/6 (0.1667)\n"
        "  d2         1/4     3/4 (0.7500)  1/2 (0.5000)  1/3 (0.3333)\n"
        "  d3         1/4     1/4 (0.2500)  1/4 (0.2500)  1/6 (0.1667)\n"
        "  d4         1/4     1/2 (0.5000)  1/2 (0.5000)  1/3 (0.3333)\n"
    )


def test_case_b_float_weights_are_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the R package's Case B with weights 0.4, 0.3, 0.3 and k = 0.33
    csv = "education,health,water\n1,0,1\n0,1,0\n1,1,1\n1,1,1\n0,0,1\n"
    toml = "k = 0.33\n" + "".join(
        f'[[indicators]]\nname = "{n}"\nweight = {w}\ndeprived_if = "== 1"\n'
        for n, w in [("education", 0.4), ("health", 0.3), ("water", 0.3)]
    )

    status = main([*_files(tmp_path, csv, toml), "--format", "json"])

    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert (result["H"], result["A"], result["M0"]) == (0.6, 0.9, 0.54)


# --- bad input -------------------------------------------------------------------


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    status = main(argv)

    out = capsys.readouterr()
    assert status == 2
    assert out.out == ""
    assert out.err == f"propoor mpi: error: {message}\n"


def test_missing_data_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _files(tmp_path)
    argv[0] = str(tmp_path / "nope.csv")

    _fails(capsys, argv, f"cannot read the data {tmp_path / 'nope.csv'}: no such file")


def test_missing_standard_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _files(tmp_path)
    argv[2] = str(tmp_path / "nope.toml")

    _fails(
        capsys, argv, f"cannot read the standard {tmp_path / 'nope.toml'}: no such file"
    )


def test_missing_standard_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fails(
        capsys,
        _files(tmp_path)[:1],
        "the following arguments are required: --standard",
    )


def test_unknown_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = CASE_A_TOML.replace('column = "x4"', 'column = "x9"')

    _fails(
        capsys,
        _files(tmp_path, toml=toml),
        "unknown column 'x9' (indicator 'd4'); "
        "the data has: household, x1, x2, x3, x4, village",
    )


def test_unknown_group_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fails(
        capsys,
        [*_files(tmp_path), "--group-by", "county"],
        "unknown --group-by column 'county'; "
        "the data has: household, x1, x2, x3, x4, village",
    )


def test_non_numeric_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = CASE_A_CSV.replace("c,12.5,10", "c,12.5,ten")

    _fails(
        capsys,
        _files(tmp_path, csv=csv),
        "column 'x2' has a non-numeric value on line 4: 'ten'",
    )


def test_empty_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = CASE_A_CSV.replace("d,20,", "d,,")

    _fails(capsys, _files(tmp_path, csv=csv), "column 'x1' is empty on line 5")


def test_weights_not_summing_to_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = CASE_A_TOML.replace("weight = 0.25", "weight = 0.2")

    _fails(
        capsys,
        _files(tmp_path, toml=toml),
        "the weights must sum to exactly 1, they sum to 19/20",
    )


@pytest.mark.parametrize(("k", "shown"), [("0", "0"), ("1.5", "3/2"), ("-1/3", "-1/3")])
def test_k_outside_zero_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], k: str, shown: str
) -> None:
    _fails(
        capsys,
        [*_files(tmp_path), f"--k={k}"],
        f"k must be in (0, 1], not {shown}",
    )


def test_k_not_a_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fails(
        capsys,
        [*_files(tmp_path), "--k", "half"],
        "--k must be a number like 0.25 or a fraction like 1/6, not 'half'",
    )


def test_k_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _files(tmp_path, toml=CASE_A_TOML.replace('k = "1/2"', ""))

    _fails(capsys, argv, f"no poverty cut-off: give --k or set k in {argv[2]}")


def test_bad_deprived_if(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = CASE_A_TOML.replace('deprived_if = "< 3"', 'deprived_if = "below 3"')

    _fails(
        capsys,
        _files(tmp_path, toml=toml),
        "indicator 'd3': cannot read the condition 'below 3': expected an operator "
        "(<, <=, >, >=, ==, !=, in, not in) followed by a value, like '< 13'",
    )


def test_ordering_against_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = CASE_A_TOML.replace('deprived_if = "< 3"', 'deprived_if = "< three"')

    _fails(
        capsys,
        _files(tmp_path, toml=toml),
        "indicator 'd3': '<' needs a number, not 'three'",
    )


def test_invalid_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _files(tmp_path, toml="k = \n")

    status = main(argv)

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"propoor mpi: error: {argv[2]} is not valid TOML: ")


def test_text_and_boolean_conditions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a text column and a true/false column
    csv = "fuel,power\nwood,true\ngas,TRUE\ndung,no\n"
    toml = (
        'k = "1/2"\n'
        '[[indicators]]\nname = "fuel"\nweight = "1/2"\n'
        'deprived_if = "in wood, dung, coal"\n'
        '[[indicators]]\nname = "power"\nweight = "1/2"\ndeprived_if = "== false"\n'
    )

    status = main([*_files(tmp_path, csv, toml), "--format", "json"])

    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert (result["q"], result["H"]) == (2, 2 / 3)
    assert result["indicators"]["power"]["uncensored_headcount"] == 1 / 3


def test_value_that_is_not_true_or_false(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = "power\ntrue\nmaybe\n"
    toml = (
        'k = 1\n[[indicators]]\nname = "power"\nweight = 1\ndeprived_if = "== false"\n'
    )

    _fails(
        capsys,
        _files(tmp_path, csv, toml),
        "column 'power' has a value that is not true or false on line 3: 'maybe'",
    )


def test_help_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--help"])

    assert status == 0
    assert capsys.readouterr().out.startswith("usage: propoor mpi ")
