"""Input validation, input files and Citizen Lab test lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorscope.probe import testlists
from censorscope.probe.inputs import InputError, parse_input, read_input_file, validate_inputs
from censorscope.probe.testlists import available_lists, load_test_list, parse_test_list


def test_valid_urls_are_normalised_but_input_kept() -> None:
    item = parse_input("  HTTPS://WWW.Example.ORG:8443/a?b=1#frag ")
    assert item.input == "HTTPS://WWW.Example.ORG:8443/a?b=1#frag"
    assert item.url == "https://www.example.org:8443/a?b=1"


def test_idna_host_becomes_punycode() -> None:
    assert parse_input("http://bücher.example/").url == "http://xn--bcher-kva.example/"
    assert parse_input("http://[2001:db8::1]/").url == "http://[2001:db8::1]/"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ftp://example.org/", "only http:// and https://"),
        ("example.org", "no scheme"),
        ("http:///path", "no host"),
        ("http://exa mple.org/", "spaces"),
        ("http://example.org:99999/", "not a valid URL"),
        ("", "empty"),
    ],
)
def test_malformed_urls_have_clear_reasons(raw: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        parse_input(raw)
    assert reason in info.value.reason


def test_validate_skips_bad_keeps_good_and_dedups() -> None:
    good, bad = validate_inputs(["http://a.org/", "nope", "http://a.org/", "https://b.org/"])
    assert [g.input for g in good] == ["http://a.org/", "https://b.org/"]
    assert [b.url for b in bad] == ["nope"]


def test_input_file_ignores_comments_and_blanks(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text("# my list\nhttp://a.org/\n\n  https://b.org/#x  \n# end\n")
    assert read_input_file(path) == ["http://a.org/", "https://b.org/#x"]


def test_bundled_lists_load_with_categories() -> None:
    assert {"global", "az", "am"} <= set(available_lists())
    az = load_test_list("AZ")
    assert len(az) > 50
    news = load_test_list("az", categories=("news",))
    assert news and all(e.category_code == "NEWS" for e in news)
    assert len(news) < len(az)
    assert all(parse_input(e.url) for e in news[:20])


def test_csv_path_and_bad_lists(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("url,category_code,category_description,date_added,source,notes\n"
                    "http://x.org/,HUMR,Human Rights,2020-01-01,me,\n")
    assert [e.url for e in load_test_list(str(path))] == ["http://x.org/"]
    with pytest.raises(testlists.TestListError, match="no bundled test list 'xx'"):
        load_test_list("xx")
    with pytest.raises(testlists.TestListError, match="missing column"):
        parse_test_list("a,b\n1,2\n")


def test_bundled_snapshot_keeps_attribution() -> None:
    from importlib import resources

    readme = resources.files("censorscope.data").joinpath("test-lists/README.md").read_text()
    assert "Citizen Lab test lists, citizenlab/test-lists @ 7f01e430, CC BY-NC-SA 4.0" in readme
    licence = resources.files("censorscope.data").joinpath("test-lists/LICENSE-CC-BY-NC-SA-4.0.md")
    assert licence.is_file()
