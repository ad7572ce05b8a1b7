"""Selector strings: every label operator, whitespace, the errors, and field selector terms."""

from __future__ import annotations

import pytest

from controller.model.selector_text import (
    FieldRequirement,
    SelectorSyntaxError,
    parse_field_selector,
    parse_label_selector,
)
from controller.model.workloads import LabelSelectorRequirement, SelectorOperator

IN, NOT_IN = SelectorOperator.IN, SelectorOperator.NOT_IN
EXISTS, ABSENT = SelectorOperator.EXISTS, SelectorOperator.DOES_NOT_EXIST


def requirements(text: str) -> list[tuple[str, SelectorOperator, tuple[str, ...]]]:
    selector = parse_label_selector(text)
    assert not selector.match_labels
    return [(r.key, r.operator, r.values) for r in selector.match_expressions]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app=web", [("app", IN, ("web",))]),
        ("app==web", [("app", IN, ("web",))]),
        ("app!=web", [("app", NOT_IN, ("web",))]),
        ("env in (a,b)", [("env", IN, ("a", "b"))]),
        ("env notin (a)", [("env", NOT_IN, ("a",))]),
        ("tier", [("tier", EXISTS, ())]),
        ("!tier", [("tier", ABSENT, ())]),
        ("example.com/team=x", [("example.com/team", IN, ("x",))]),
        ("app=", [("app", IN, ("",))]),
        ("env in (a,)", [("env", IN, ("a", ""))]),
        ("app=in", [("app", IN, ("in",))]),
        (
            "app=web,tier!=db,env in (a,b),!legacy,canary",
            [
                ("app", IN, ("web",)),
                ("tier", NOT_IN, ("db",)),
                ("env", IN, ("a", "b")),
                ("legacy", ABSENT, ()),
                ("canary", EXISTS, ()),
            ],
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "requirements",
)
def test_every_operator(text: str, expected: list[object]) -> None:
    assert requirements(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "  app = web ,  env  in  ( a , b ) , ! old ",
        "app=web,env in(a,b),!old",
        "\tapp==web\n,env in (a,b),!old",
    ],
)
def test_whitespace_between_tokens_does_not_matter(text: str) -> None:
    assert requirements(text) == [
        ("app", IN, ("web",)),
        ("env", IN, ("a", "b")),
        ("old", ABSENT, ()),
    ]


@pytest.mark.parametrize("text", ["", "   "], ids=["empty", "blank"])
def test_an_empty_selector_selects_everything(text: str) -> None:
    selector = parse_label_selector(text)
    assert selector.empty
    assert selector.matches({})
    assert selector.matches({"app": "web"})


def test_matching_is_the_workloads_own() -> None:
    """`!=` and `notin` also hold when the key is absent, as in Kubernetes."""
    selector = parse_label_selector("app=web,tier!=db,env notin (prod)")
    assert selector.match_expressions[1] == LabelSelectorRequirement("tier", NOT_IN, ("db",))
    assert selector.matches({"app": "web"})
    assert selector.matches({"app": "web", "tier": "front", "env": "dev"})
    assert not selector.matches({"app": "web", "tier": "db"})
    assert not selector.matches({"app": "web", "env": "prod"})
    assert not selector.matches({"app": "api"})
    assert not selector.matches({})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("env in ()", "values set can't be empty"),
        ("env in a", "found 'a', expected: '('"),
        ("env in (a b)", "found 'b', expected: ',' or ')'"),
        ("env in (a", "found '', expected: ',', ')' or identifier"),
        ("app=web tier", "found 'tier', expected: ',' or 'end of string'"),
        ("app=web,", "found '', expected: identifier after ','"),
        (",app", "found ',', expected: !, identifier, or 'end of string'"),
        ("app=(x)", "found '(', expected: identifier"),
        ("in=x", "found 'in', expected: identifier"),
        ("!", "found '', expected: identifier"),
        ("app>1", "operator '>' is not supported"),
        ("app<1", "operator '<' is not supported"),
        ("app ! x", "found '!', expected: in, notin, =, ==, !="),
        ("-app=x", 'key: Invalid value: "-app"'),
        ("app=a b", "found 'b', expected: ',' or 'end of string'"),
        ("app=-x-", 'values[0]: Invalid value: "-x-"'),
        ("app in (ok,no/pe)", 'values[1]: Invalid value: "no/pe"'),
        ("a/b/c", 'key: Invalid value: "a/b/c"'),
    ],
)
def test_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(SelectorSyntaxError) as info:
        parse_label_selector(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metadata.name=web", [FieldRequirement("metadata.name", "web")]),
        ("metadata.name==web", [FieldRequirement("metadata.name", "web")]),
        ("status.phase!=Running", [FieldRequirement("status.phase", "Running", equals=False)]),
        ("spec.nodeName=", [FieldRequirement("spec.nodeName", "")]),
        (
            "metadata.name=web,metadata.namespace!=kube-system",
            [
                FieldRequirement("metadata.name", "web"),
                FieldRequirement("metadata.namespace", "kube-system", equals=False),
            ],
        ),
        ("reason=a\\,b\\=c\\\\d", [FieldRequirement("reason", "a,b=c\\d")]),
        ("a=b,,", [FieldRequirement("a", "b")]),
        ("", []),
    ],
    ids=lambda v: (v or "empty") if isinstance(v, str) else "requirements",
)
def test_field_selector_terms(text: str, expected: list[FieldRequirement]) -> None:
    assert list(parse_field_selector(text)) == expected


def test_field_selector_takes_the_first_operator_and_trims_nothing() -> None:
    assert parse_field_selector("a!=b") == (FieldRequirement("a", "b", equals=False),)
    assert parse_field_selector("a =b") == (FieldRequirement("a ", "b"),)


def test_field_requirement_matching() -> None:
    assert FieldRequirement("f", "x").matches("x")
    assert not FieldRequirement("f", "x").matches("y")
    assert FieldRequirement("f", "x", equals=False).matches("y")
    assert not FieldRequirement("f", "x", equals=False).matches("x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metadata.name", "can't understand 'metadata.name'"),
        ("a=b,c", "can't understand 'c'"),
        ("a=b=c", "unescaped '='"),
        ("a=b\\x", "invalid escape sequence"),
        ("a=b\\", "unterminated escape sequence"),
    ],
)
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorSyntaxError) as info:
        parse_field_selector(text)
    assert message in str(info.value)
