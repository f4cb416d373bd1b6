"""``censorscope lists`` and the strict loading of Citizen Lab test lists.

Real files: the bundled snapshot and CSVs written to a temporary folder (a "newer copy" with
its own legend, and broken lists whose errors must name the file and line).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from censorscope.cli.main import cli
from censorscope.probe import testlists
from censorscope.probe.budget import CATEGORY_PRIORITY
from censorscope.probe.sources import gather_inputs, list_inputs
from censorscope.probe.testlists import (
    category_legend,
    load_list,
    load_test_list,
    split_codes,
)

HEADER = "url,category_code,category_description,date_added,source,notes\n"


def _bundled_rows(name: str) -> list[dict[str, str]]:
    path = resources.files("censorscope.data").joinpath(f"test-lists/{name}.csv")
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_legend_has_every_code_of_the_bundled_lists_and_a_priority_for_each() -> None:
    legend = category_legend()
    assert legend["NEWS"].name == "News Media" and "BBC" in legend["NEWS"].description
    assert legend["HUMR"].replaces == ("HUMR", "MINR", "WOMR", "MINF")
    for name in ("global", "az", "am", "ru", "ir", "tr", "cn"):
        assert {r["category_code"] for r in _bundled_rows(name)} <= set(legend), name
    assert set(CATEGORY_PRIORITY) == set(legend), "every category has a documented weight"


def test_stats_counts_per_category_and_list_like_the_csv(tmp_path: Path) -> None:
    code, out = _run("lists", "stats", "az", "global", "--json")
    assert code == 0, out
    data = json.loads(out)
    for name in ("az", "global"):
        expected = Counter(r["category_code"] for r in _bundled_rows(name))
        assert data["lists"][name]["categories"] == dict(sorted(expected.items()))
        assert data["lists"][name]["urls"] == len(_bundled_rows(name))
    assert data["urls"] == len(_bundled_rows("az")) + len(_bundled_rows("global"))
    assert data["categories"]["NEWS"]["name"] == "News Media"
    code, text = _run("lists", "stats", "az", "--category", "NEWS,GRP")
    assert code == 0, text
    az = Counter(r["category_code"] for r in _bundled_rows("az"))
    news = [line for line in text.splitlines() if line.startswith("NEWS ")]
    assert news and news[0].split()[-1] == str(az["NEWS"])
    assert text.splitlines()[-1].split()[-1] == str(az["NEWS"] + az["GRP"])
    code, every = _run("lists", "stats")
    assert code == 0 and "global" in every.splitlines()[0] and "ru" in every.splitlines()[0]


def test_show_entries_with_list_and_line_and_category_filter() -> None:
    code, out = _run("lists", "show", "AZ", "-c", "news", "-c", "GRP", "--json")
    assert code == 0, out
    entries = json.loads(out)
    rows = _bundled_rows("az")
    expected = [(i + 2, r["url"]) for i, r in enumerate(rows)
                if r["category_code"] in ("NEWS", "GRP")]
    assert [(e["line"], e["url"]) for e in entries] == expected
    assert {e["list"] for e in entries} == {"az"}
    code, text = _run("lists", "show", "az", "--category", "NEWS")
    first = next(r for r in rows if r["category_code"] == "NEWS")
    assert code == 0 and f"NEWS\t{first['url']}" in text


def test_probe_lists_is_the_same_group_and_lists_names_the_bundled_ones() -> None:
    code, out = _run("probe", "lists")
    assert code == 0 and f"az       {len(_bundled_rows('az')):5} URLs" in out
    code, same = _run("lists")
    assert same == out
    code, shown = _run("probe", "lists", "show", "am", "-c", "NEWS")
    assert code == 0 and "am:" in shown
    code, legend = _run("lists", "categories")
    assert code == 0 and any(line.startswith("NEWS   100 News Media") for line in
                             legend.splitlines())


def test_a_newer_copy_by_path_uses_the_legend_beside_it(tmp_path: Path) -> None:
    (tmp_path / "az.csv").write_text(
        HEADER + "https://new.example/,NEWCAT,New thing,2027-01-01,me,\n"
                 "https://news.example/,NEWS,News Media,2027-01-01,me,\n")
    with pytest.raises(testlists.TestListError, match=r"az.csv:2: unknown category code 'NEWCAT'"):
        load_list(str(tmp_path / "az.csv"))
    bundled = (resources.files("censorscope.data")
               .joinpath("test-lists/00-LEGEND-new_category_codes.csv").read_text())
    (tmp_path / "00-LEGEND-new_category_codes.csv").write_text(
        bundled.rstrip("\n") + "\nNew Thing,NEWCAT,,Something new\n")
    loaded = load_list(str(tmp_path / "az.csv"))
    assert [e.category_code for e in loaded.entries] == ["NEWCAT", "NEWS"]
    code, out = _run("lists", "stats", str(tmp_path / "az.csv"), "--json")
    assert code == 0 and json.loads(out)["categories"]["NEWCAT"] == {"name": "New Thing",
                                                                     "urls": 1}


@pytest.mark.parametrize(("body", "where", "message"), [
    ("url,category\nhttp://a.org/,NEWS\n", "bad.csv:1", "missing column(s) category_code"),
    (HEADER + "http://a.org/,NEWS,,,,\nftp://b.org/,NEWS,,,,\n", "bad.csv:3",
     "bad url 'ftp://b.org/': scheme 'ftp'"),
    (HEADER + "http://a.org/,NEWS,,,,\n\"http://b.org/\",GRP,\"two\nlines\",,,\n"
     "http://c.org/,XYZ,,,,\n", "bad.csv:5", "unknown category code 'XYZ'"),
    (HEADER + ",NEWS,,,,\n", "bad.csv:2", "no url"),
    (HEADER + "http://a.org/,NEWS,,,,,extra\n", "bad.csv:2", "more fields than the header"),
])
def test_bad_lists_name_file_and_line_and_nothing_is_measured(
    tmp_path: Path, body: str, where: str, message: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(body)
    with pytest.raises(testlists.TestListError) as info:
        load_test_list(str(bad))
    assert str(info.value).startswith(str(tmp_path / where)) and message in str(info.value)
    out = tmp_path / "out.jsonl"
    code, text = _run("probe", "run", "--test-list", str(bad), "-o", str(out), "--no-progress")
    assert code == 2 and where in text and message in text
    assert not out.exists(), "nothing measured from a half-valid list"
    code, text = _run("lists", "show", str(bad))
    assert code == 2 and where in text


def test_categories_comma_separated_repeated_and_unknown_codes(tmp_path: Path) -> None:
    assert split_codes(("grp,NEWS", " news ", "HUMR")) == ("GRP", "NEWS", "HUMR")
    items = list_inputs(["az"], ("GRP,NEWS",))
    rows = _bundled_rows("az")
    assert [i.input for i in items] == [r["url"] for r in rows
                                        if r["category_code"] in ("GRP", "NEWS")]
    assert {i.category_code for i in items} == {"GRP", "NEWS"}
    both = gather_inputs([], [], ["az", "global"], ("NEWS",))
    assert len(both) == sum(1 for r in rows if r["category_code"] == "NEWS") + sum(
        1 for r in _bundled_rows("global") if r["category_code"] == "NEWS")
    out = tmp_path / "out.jsonl"
    code, text = _run("probe", "run", "-l", "AZ", "--category", "GRP,NEWZ", "-o", str(out))
    assert code == 2 and "unknown category code(s) NEWZ; known codes: ALDR, ANON" in text
    assert not out.exists()
    code, text = _run("lists", "show", "az", "-c", "FOO")
    assert code == 2 and "unknown category code(s) FOO" in text
