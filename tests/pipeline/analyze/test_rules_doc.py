"""docs/analysis.md's Web Connectivity rule table is generated from ``rules.RULES``.

The test fails when the table and the code disagree; regenerate the table with
``CENSORSCOPE_UPDATE_DOCS=1 .venv/bin/pytest tests/pipeline/analyze/test_rules_doc.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from censorscope.pipeline.analyze.rules import RULES, RULES_VERSION

DOC = Path(__file__).resolve().parents[3] / "docs" / "analysis.md"
BEGIN = "<!-- rules-table:begin (generated from censorscope.pipeline.analyze.rules) -->"
END = "<!-- rules-table:end -->"


def rules_table() -> str:
    lines = [
        f"Rules version `{RULES_VERSION}`.",
        "",
        "| rule_id | layer | outcome | mechanism | when |",
        "|---|---|---|---|---|",
    ]
    for r in RULES:
        mechanism = "(from the failure)" if r.mechanism == "*" else (r.mechanism or "")
        lines.append(
            f"| `{r.rule_id}` | {r.layer or ''} | {r.outcome or '(no verdict)'} | "
            f"{mechanism} | {r.when} |"
        )
    return "\n".join(lines)


def test_rule_ids_are_unique_and_stable_shaped() -> None:
    ids = [r.rule_id for r in RULES]
    assert len(ids) == len(set(ids))
    families = {"dns", "tcp", "tls", "http", "throttle", "web", "registry"}
    assert all(i.split(".")[0] in families for i in ids)


def test_doc_rule_table_matches_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "docs/analysis.md lacks the rules-table markers"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    current = f"{head}{BEGIN}\n{rules_table()}\n{END}{tail}"
    if os.environ.get("CENSORSCOPE_UPDATE_DOCS") == "1":
        DOC.write_text(current, encoding="utf-8")
    assert text == current


def test_doc_lists_every_web_connectivity_claim() -> None:
    import re

    from censorscope.pipeline.analyze.claims import WC_CLAIMS

    text = DOC.read_text(encoding="utf-8")
    start = text.index("**Evidence is data.** Every statement under a Web Connectivity")
    section = text[start:text.index("Each checker verifies its facts", start)]
    listed = set(re.findall(r"`([a-z0-9_]+\.[a-z0-9_]+)`", section))
    assert set(WC_CLAIMS) <= listed, sorted(set(WC_CLAIMS) - listed)
