"""docs/analysis.md's rule tables are generated from ``censorscope.pipeline.rules``.

One table per rule family (Web Connectivity in §3, the scorer families in §5), each between
its own markers and headed by the family's rules version; the test fails when a table and the
code disagree, or a family has no table. Regenerate them with
``CENSORSCOPE_UPDATE_DOCS=1 .venv/bin/pytest tests/pipeline/test_rules_doc.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from censorscope.pipeline.rules import FAMILIES, RuleFamily

DOC = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"


def begin(family: RuleFamily) -> str:
    return f"<!-- rules-table:begin {family.name} (generated from censorscope.pipeline.rules) -->"


def end(family: RuleFamily) -> str:
    return f"<!-- rules-table:end {family.name} -->"


def rules_table(family: RuleFamily) -> str:
    lines = [
        f"Family `{family.name}`, rules version `{family.version}`: {family.scope}.",
        "",
        "| rule_id | layer | outcome | mechanism | when |",
        "|---|---|---|---|---|",
    ]
    for r in family.rules:
        layer = "(from the failure)" if r.layer == "*" else (r.layer or "")
        mechanism = "(from the failure)" if r.mechanism == "*" else (r.mechanism or "")
        lines.append(
            f"| `{r.rule_id}` | {layer} | {r.outcome or '(no verdict)'} | "
            f"{mechanism} | {r.when} |"
        )
    if family.shared:
        names = ", ".join(f"`{f.name}`" for f in family.shared)
        lines += ["", f"Its scorers may also conclude with the rules of {names}; those "
                  f"verdicts carry this family's version, `{family.version}`."]
    return "\n".join(lines)


def regenerated(text: str) -> str:
    """``text`` with every family's table regenerated between its markers."""
    for family in FAMILIES:
        b, e = begin(family), end(family)
        assert text.count(b) == 1 and text.count(e) == 1, (
            f"docs/analysis.md needs one table of the {family.name} rules: {b} … {e}")
        head, rest = text.split(b, 1)
        _, tail = rest.split(e, 1)
        text = f"{head}{b}\n{rules_table(family)}\n{e}{tail}"
    return text


def test_doc_has_a_table_per_family_and_no_other() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = re.findall(r"<!-- rules-table:begin (\S+) ", text)
    assert sorted(named) == sorted(f.name for f in FAMILIES)


def test_doc_rule_tables_match_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    current = regenerated(text)
    if os.environ.get("CENSORSCOPE_UPDATE_DOCS") == "1":
        DOC.write_text(current, encoding="utf-8")
    assert text == current


def test_doc_lists_every_web_connectivity_claim() -> None:
    from censorscope.pipeline.analyze.claims import WC_CLAIMS

    text = DOC.read_text(encoding="utf-8")
    start = text.index("**Evidence is data.** Every statement under a Web Connectivity")
    section = text[start:text.index("Each checker verifies its facts", start)]
    listed = set(re.findall(r"`([a-z0-9_]+\.[a-z0-9_]+)`", section))
    assert set(WC_CLAIMS) <= listed, sorted(set(WC_CLAIMS) - listed)
