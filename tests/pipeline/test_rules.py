"""The rule vocabulary (``censorscope.pipeline.rules``): one rule type, families with versions.

Rule ids are unique across families, every family has a version (the ones verdicts are stored
under are pinned here), every rule speaks the verdict vocabulary (outcomes, layers, mechanisms
of the taxonomy), and every rule id the code can conclude with is in the table of the family
whose scorer concludes it: the calls are read from the sources (literal rule ids; the few
computed ones are listed here), and the runtime refuses any other (``RuleFamily.rule``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from censorscope.model.verdict import LAYERS, MECHANISMS, OUTCOMES
from censorscope.pipeline import rules as rules_module
from censorscope.pipeline.analyze import mechanisms as wc_mechanisms
from censorscope.pipeline.rules import (
    CIRCUMVENTION,
    DNS_CONSISTENCY,
    FALLBACK,
    FAMILIES,
    MESSAGING,
    MIDDLEBOX,
    PROBES,
    RULES_BY_ID,
    SERVICE,
    THROTTLING,
    TLS_SNI,
    WEB_CONNECTIVITY,
    RuleFamily,
    family_of,
    rule,
)
from censorscope.pipeline.scorers import SCORERS, support

SRC = Path(__file__).resolve().parents[2] / "src" / "censorscope" / "pipeline"

# The scorer module → the family its ``decide`` is bound to.
MODULE_FAMILY = {
    "messaging": MESSAGING,
    "circumvention": CIRCUMVENTION,
    "probes": PROBES,
    "middlebox": MIDDLEBOX,
    "fallback": FALLBACK,
    "dns_consistency": DNS_CONSISTENCY,
    "service": SERVICE,
    "tls_sni": TLS_SNI,
    "throttling": THROTTLING,
}

# The Web Connectivity modules that conclude with rules (``layer_verdict``, ``rule_id=``).
WC_MODULES = ("dns", "endpoints", "http", "web", "analyzer")

# Rule ids chosen at run time, per (module, function): every id the function can pass.
COMPUTED = {
    ("analyze/dns.py", "_answers"): {"dns.tls_consistent", "dns.answer_matches_ctrl",
                                     "dns.answer_asn_matches_ctrl"},
    ("analyze/web.py", "score_web_connectivity"): {"web.ok", "web.insufficient"},  # ``_pick``
    ("scorers/messaging.py", "score_whatsapp"): {"whatsapp.registration.failed",
                                                 "whatsapp.web.failed"},
    ("scorers/probes.py", "_failure_verdict"): {"urlgetter.interference",
                                                "urlgetter.failed_other"},
}

# The versions stored verdicts are keyed by: a bump changes its line here on purpose.
STORED_VERSIONS = {
    "web_connectivity": "cs-wc-2",
    "messaging": "cs-messaging-2",
    "circumvention": "cs-tests-1",
    "probes": "cs-tests-1",
    "middlebox": "cs-tests-1",
    "fallback": "cs-tests-1",
    "dns_consistency": "cs-dnsc-1",
    "service": "cs-service-1",
    "tls_sni": "cs-tlssni-1",
    "throttling": "cs-throttling-1",
}


def family_of_test(test_name: str) -> RuleFamily:
    """The family whose rules score ``test_name``."""
    if test_name == "web_connectivity":
        return WEB_CONNECTIVITY
    return MODULE_FAMILY[SCORERS[test_name].__module__.rsplit(".", 1)[1]]


def test_rule_ids_are_unique_across_families() -> None:
    ids = [r.rule_id for f in FAMILIES for r in f.rules]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert set(RULES_BY_ID) == set(ids)
    for f in FAMILIES:
        for r in f.rules:
            assert family_of(r.rule_id) is f and rule(r.rule_id) is r


def test_rule_ids_are_stable_shaped() -> None:
    for f in FAMILIES:
        for r in f.rules:
            assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+", r.rule_id), r.rule_id
    wc_prefixes = {"dns", "tcp", "tls", "http", "throttle", "web", "registry"}
    assert {r.rule_id.split(".")[0] for r in WEB_CONNECTIVITY.rules} == wc_prefixes


def test_every_family_has_a_version_and_one_entry() -> None:
    declared = [v for v in vars(rules_module).values() if isinstance(v, RuleFamily)]
    assert {id(f) for f in declared} == {id(f) for f in FAMILIES}
    assert len({f.name for f in FAMILIES}) == len(FAMILIES)
    for f in FAMILIES:
        assert re.fullmatch(r"cs-[a-z]+-[0-9]+", f.version), f.name
        assert f.rules and f.scope, f.name
    assert {f.name: f.version for f in FAMILIES} == STORED_VERSIONS


def test_rules_speak_the_verdict_vocabulary() -> None:
    for f in FAMILIES:
        for r in f.rules:
            assert r.outcome is None or r.outcome in OUTCOMES, r
            assert r.layer is None or r.layer == "*" or r.layer in LAYERS, r
            assert r.mechanism is None or r.mechanism == "*" or r.mechanism in MECHANISMS, r
            assert r.when.strip(), r
            # only a Web Connectivity layer rule may yield no verdict (a layer without data)
            if r.outcome is None:
                assert f is WEB_CONNECTIVITY and r.rule_id.endswith(".no_data"), r


def test_mechanisms_from_failures_are_in_the_taxonomy() -> None:
    """A ``"*"`` mechanism is filled from the failure; every name those maps give is known."""
    from_scorers = {m for by_failure in support._BY_LAYER.values() for m in by_failure.values()}
    tls = set(wc_mechanisms._TLS.values())
    from_wc = ({*wc_mechanisms._DNS.values(), *wc_mechanisms._TCP.values(), *tls,
                *wc_mechanisms._HTTP.values(), "tls.mitm", "throttle.sni", "throttle.ip"}
               | {f"{m}.sni" for m in tls})
    assert from_scorers | from_wc <= MECHANISMS, sorted((from_scorers | from_wc) - MECHANISMS)


def test_a_family_refuses_another_familys_rule() -> None:
    assert MESSAGING.rule("telegram.ok") is RULES_BY_ID["telegram.ok"]
    assert MESSAGING.rule("test.no_data") is RULES_BY_ID["test.no_data"]  # shared
    with pytest.raises(KeyError):
        MESSAGING.rule("tor.ok")
    with pytest.raises(KeyError):
        WEB_CONNECTIVITY.rule("test.no_data")
    with pytest.raises(KeyError):
        rule("dns.no_such_rule")


def _concluded(path: Path) -> tuple[set[str], set[str]]:
    """(literal rule ids concluded in ``path``, the functions computing one) from the calls
    ``decide(subject, ctx, ID, …)``, ``layer_verdict(ID, …)`` and ``….verdict(…, rule_id=ID)``
    (the same keyword in ``return "ID", None`` tuples of ``web._pick`` is a literal too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    literal: set[str] = set()
    computed: set[str] = set()

    def take(arg: ast.expr, where: str) -> None:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            literal.add(arg.value)
        elif isinstance(arg, ast.IfExp):
            take(arg.body, where)
            take(arg.orelse, where)
        elif not (isinstance(arg, ast.Attribute) and arg.attr == "rule_id"):
            computed.add(where)  # ``decisive.rule_id`` is a layer verdict's rule

    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else "")
            if name == "decide" and len(node.args) >= 3:
                take(node.args[2], fn.name)
            elif name == "layer_verdict" and node.args:
                take(node.args[0], fn.name)
            for kw in node.keywords:
                if kw.arg == "rule_id" and name == "verdict":
                    take(kw.value, fn.name)
        if fn.name == "_pick":  # web: the measurement rule when no layer decides
            for node in ast.walk(fn):
                if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
                    take(node.value.elts[0], fn.name)
    return literal, computed


@pytest.mark.parametrize("module", sorted(MODULE_FAMILY) + list(WC_MODULES))
def test_every_rule_a_module_concludes_is_in_its_familys_table(module: str) -> None:
    family = MODULE_FAMILY.get(module, WEB_CONNECTIVITY)
    rel = f"scorers/{module}.py" if module in MODULE_FAMILY else f"analyze/{module}.py"
    source = (SRC / rel).read_text(encoding="utf-8")
    literal, computed = _concluded(SRC / rel)
    assert literal, rel
    assert {i for i in literal if not family.emits(i)} == set(), rel
    assert computed == {fn for (path, fn) in COMPUTED if path == rel}, rel
    for (path, _), ids in COMPUTED.items():
        if path == rel:
            assert all(family.emits(i) for i in ids), ids
            # each computed id is spelt out in the module (whole, or its suffix after a prefix)
            assert all(i in source or f".{i.split('.', 1)[1]}" in source for i in ids), ids


def test_every_rule_of_a_family_is_concluded_somewhere() -> None:
    """No dead rows: every rule of a family is concluded by that family's code."""
    by_family: dict[str, set[str]] = {f.name: set() for f in FAMILIES}
    for module in MODULE_FAMILY:
        literal, _ = _concluded(SRC / "scorers" / f"{module}.py")
        for i in literal:
            by_family[family_of(i).name].add(i)
    for module in WC_MODULES:
        literal, _ = _concluded(SRC / "analyze" / f"{module}.py")
        by_family["web_connectivity"] |= literal
    for ids in COMPUTED.values():
        for i in ids:
            by_family[family_of(i).name].add(i)
    for f in FAMILIES:
        missing = f.rule_ids - by_family[f.name]
        if f is WEB_CONNECTIVITY:  # the layers without data yield no verdict: never concluded
            missing -= {r.rule_id for r in f.rules if r.outcome is None}
        assert missing == set(), (f.name, sorted(missing))


def test_every_scorer_has_a_family() -> None:
    for name in SCORERS:
        family = family_of_test(name)
        assert family in FAMILIES
