"""Selectors as text: the `labelSelector` and `fieldSelector` strings of Kubernetes' list queries.

`parse_label_selector` reads `app=web,tier!=db,env in (a,b),!legacy` into the `LabelSelector` the
workloads use, so a query and a ReplicaSet's selector match labels with the same code
(`LabelSelector.matches`). The grammar, tokens and messages follow apimachinery's `labels.Parse`:
`=` and `==` become `In` with one value and `!=` becomes `NotIn` (both also match a pod without
the key, as in Kubernetes); keys must be qualified names and values label values.

`parse_field_selector` reads `metadata.name=web,status.phase!=Running` into `FieldRequirement`s, as
apimachinery's `fields.ParseSelector` does: terms split on unescaped commas, the first `!=`, `==` or
`=` splits a term, `\\,` `\\=` `\\\\` escape values, and nothing is trimmed. Which fields exist is
each resource's business, not this module's.

Traps: `>` and `<` (Kubernetes' numeric comparisons) are refused, the selector model has no such
operator; an empty string is a valid selector that matches everything.
"""

from __future__ import annotations

import enum

import attrs

from controller.model.validation.meta import (
    FieldError,
    invalid,
    label_value_problems,
    qualified_name_problems,
)
from controller.model.workloads import LabelSelector, LabelSelectorRequirement, SelectorOperator


class SelectorSyntaxError(ValueError):
    """A selector string that does not parse; the message says where and why."""


class _Token(enum.Enum):
    IDENTIFIER = "identifier"
    IN = "in"
    NOT_IN = "notin"
    NOT = "!"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    GREATER = ">"
    LESS = "<"
    OPEN = "("
    CLOSE = ")"
    COMMA = ","
    END = "end of string"


_SYMBOLS = {
    "!=": _Token.NOT_EQUALS,
    "==": _Token.DOUBLE_EQUALS,
    "!": _Token.NOT,
    "=": _Token.EQUALS,
    ">": _Token.GREATER,
    "<": _Token.LESS,
    "(": _Token.OPEN,
    ")": _Token.CLOSE,
    ",": _Token.COMMA,
}
_SPECIAL = frozenset("=!(),<>")
_WHITESPACE = frozenset(" \t\r\n")
_KEYWORDS = {"in": _Token.IN, "notin": _Token.NOT_IN}
_EXACT = {
    _Token.EQUALS: SelectorOperator.IN,
    _Token.DOUBLE_EQUALS: SelectorOperator.IN,
    _Token.NOT_EQUALS: SelectorOperator.NOT_IN,
}
_SETS = {_Token.IN: SelectorOperator.IN, _Token.NOT_IN: SelectorOperator.NOT_IN}

Lexeme = tuple[_Token, str]


def _lex(text: str) -> list[Lexeme]:
    """Every token of `text`, ending with END; identifiers run to whitespace or a symbol."""
    tokens: list[Lexeme] = []
    i = 0
    while i < len(text):
        if text[i] in _WHITESPACE:
            i += 1
        elif text[i] in _SPECIAL:
            symbol = text[i : i + 2] if text[i : i + 2] in _SYMBOLS else text[i]
            tokens.append((_SYMBOLS[symbol], symbol))
            i += len(symbol)
        else:
            start = i
            while i < len(text) and text[i] not in _WHITESPACE and text[i] not in _SPECIAL:
                i += 1
            word = text[start:i]
            tokens.append((_KEYWORDS.get(word, _Token.IDENTIFIER), word))
    tokens.append((_Token.END, ""))
    return tokens


class _LabelParser:
    """apimachinery's recursive-descent parser; `values=True` reads `in`/`notin` as plain words."""

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.position = 0

    def peek(self, *, values: bool = False) -> Lexeme:
        return self._as_value(self.tokens[self.position], values)

    def take(self, *, values: bool = False) -> Lexeme:
        token = self.peek(values=values)
        self.position = min(self.position + 1, len(self.tokens) - 1)
        return token

    @staticmethod
    def _as_value(token: Lexeme, values: bool) -> Lexeme:
        if values and token[0] in (_Token.IN, _Token.NOT_IN):
            return (_Token.IDENTIFIER, token[1])
        return token

    def selector(self) -> tuple[LabelSelectorRequirement, ...]:
        """Requirements separated by commas, up to the end of the string."""
        found: list[LabelSelectorRequirement] = []
        kind, literal = self.peek(values=True)
        if kind is _Token.END:
            return ()
        if kind not in (_Token.IDENTIFIER, _Token.NOT):
            raise SelectorSyntaxError(
                f"found '{literal}', expected: !, identifier, or 'end of string'"
            )
        while True:
            found.append(self.requirement())
            kind, literal = self.take(values=True)
            if kind is _Token.END:
                return tuple(found)
            if kind is not _Token.COMMA:
                raise SelectorSyntaxError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self.peek(values=True)
            if kind not in (_Token.IDENTIFIER, _Token.NOT):
                raise SelectorSyntaxError(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> LabelSelectorRequirement:
        try:
            return self._requirement()
        except SelectorSyntaxError as problem:
            raise SelectorSyntaxError(f"unable to parse requirement: {problem}") from None

    def _requirement(self) -> LabelSelectorRequirement:
        negated = self.peek()[0] is _Token.NOT
        if negated:
            self.take()
        kind, key = self.take()
        if kind is not _Token.IDENTIFIER:
            raise SelectorSyntaxError(f"found '{key}', expected: identifier")
        _check([invalid("key", key, p) for p in qualified_name_problems(key)])
        if negated:
            return LabelSelectorRequirement(key, SelectorOperator.DOES_NOT_EXIST)
        if self.peek()[0] in (_Token.END, _Token.COMMA):
            return LabelSelectorRequirement(key, SelectorOperator.EXISTS)
        kind, literal = self.take()
        if kind in _SETS:
            values = self.value_set()
            if not values:
                raise SelectorSyntaxError(
                    "values: Invalid value: []: for 'in', 'notin' operators, values set can't be "
                    "empty"
                )
            return LabelSelectorRequirement(key, _SETS[kind], _checked_values(values))
        if kind in _EXACT:
            return LabelSelectorRequirement(key, _EXACT[kind], _checked_values((self.value(),)))
        if kind in (_Token.GREATER, _Token.LESS):
            raise SelectorSyntaxError(f"operator '{literal}' is not supported")
        raise SelectorSyntaxError(f"found '{literal}', expected: in, notin, =, ==, !=")

    def value(self) -> str:
        """The value after `=`, `==` or `!=`; none at all means the empty value."""
        if self.peek(values=True)[0] in (_Token.END, _Token.COMMA):
            return ""
        kind, literal = self.take(values=True)
        if kind is not _Token.IDENTIFIER:
            raise SelectorSyntaxError(f"found '{literal}', expected: identifier")
        return literal

    def value_set(self) -> tuple[str, ...]:
        """`(a, b)`; an empty slot between commas is the empty value, as in Kubernetes."""
        kind, literal = self.take(values=True)
        if kind is not _Token.OPEN:
            raise SelectorSyntaxError(f"found '{literal}', expected: '('")
        values: list[str] = []
        expecting_value = True
        while True:
            kind, literal = self.take(values=True)
            if kind is _Token.IDENTIFIER and expecting_value:
                values.append(literal)
                expecting_value = False
            elif kind is _Token.COMMA:
                if expecting_value:
                    values.append("")
                expecting_value = True
            elif kind is _Token.CLOSE:
                if expecting_value and values:
                    values.append("")
                return tuple(dict.fromkeys(values))
            elif kind is _Token.IDENTIFIER:
                raise SelectorSyntaxError(f"found '{literal}', expected: ',' or ')'")
            else:
                raise SelectorSyntaxError(f"found '{literal}', expected: ',', ')' or identifier")


def _checked_values(values: tuple[str, ...]) -> tuple[str, ...]:
    _check(
        [
            invalid(f"values[{i}]", value, problem)
            for i, value in enumerate(values)
            for problem in label_value_problems(value)
        ]
    )
    return values


def _check(errors: list[FieldError]) -> None:
    if errors:
        raise SelectorSyntaxError("; ".join(str(e) for e in errors))


def parse_label_selector(text: str) -> LabelSelector:
    """`text` as a `LabelSelector` (all expressions, no matchLabels); raises SelectorSyntaxError."""
    return LabelSelector(match_expressions=_LabelParser(text).selector())


@attrs.frozen
class FieldRequirement:
    """One term of a field selector: `field=value` (or `==`), or `field!=value`."""

    field: str
    value: str
    equals: bool = True

    def matches(self, actual: str) -> bool:
        return (actual == self.value) is self.equals


_FIELD_OPERATORS = ("!=", "==", "=")
_ESCAPABLE = frozenset("\\,=")


def parse_field_selector(text: str) -> tuple[FieldRequirement, ...]:
    """`text` as requirements, all of which must hold; raises SelectorSyntaxError."""
    found: list[FieldRequirement] = []
    for term in _split_terms(text):
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise SelectorSyntaxError(f"invalid selector: '{text}'; can't understand '{term}'")
        field, operator, raw = split
        found.append(FieldRequirement(field, _unescape(raw), equals=operator != "!="))
    return tuple(found)


def _split_terms(text: str) -> list[str]:
    """Terms between the commas that no backslash escapes."""
    terms: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """The field, the first operator, and the raw value; None without an operator."""
    for i in range(len(term)):
        for operator in _FIELD_OPERATORS:
            if term.startswith(operator, i):
                return term[:i], operator, term[i + len(operator) :]
    return None


def _unescape(raw: str) -> str:
    out: list[str] = []
    escaped = False
    for char in raw:
        if escaped:
            if char not in _ESCAPABLE:
                raise SelectorSyntaxError(
                    f"invalid field selector: invalid escape sequence: \\{char}"
                )
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise SelectorSyntaxError(
                f"invalid field selector: unescaped {char!r} in value {raw!r}"
            )
        else:
            out.append(char)
    if escaped:
        raise SelectorSyntaxError("invalid field selector: unterminated escape sequence")
    return "".join(out)
