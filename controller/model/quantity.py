"""Kubernetes resource quantities (`250m`, `64Mi`, `1e3`, `0.5`), parsed exactly.

Kubernetes accepts a signed decimal number followed by a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal
suffix (n u m "" k M G T P E) or a decimal exponent (e3, E-2). We keep the text the user wrote (so it
is echoed back unchanged) and the exact value as a Fraction, so `0.1` CPU is 100 millicores and not
99.99999. Negative quantities are refused: no resource here may be negative.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import attrs

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_PATTERN = re.compile(
    r"^(?P<number>\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE](?P<exp>[+-]?[0-9]+))?$"
)


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


@attrs.frozen
class Quantity:
    """A parsed quantity: `text` as written, `value` exact (in base units: cores, bytes)."""

    text: str
    value: Fraction

    @classmethod
    def parse(cls, text: str | int | float) -> Quantity:
        """Parse a quantity; ints and floats (YAML `memory: 1000`) are accepted as numbers."""
        if isinstance(text, bool):
            raise QuantityError(f"quantity must be a string or a number, not {text!r}")
        raw = str(text).strip() if isinstance(text, int | float) else text
        match = _PATTERN.match(raw)
        if not match:
            raise QuantityError(
                f"quantities must match the regular expression "
                f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {raw!r}"
            )
        number = Fraction(match["number"].lstrip("+"))
        if match["exp"] is not None:
            exponent = int(match["exp"])
            if abs(exponent) > 30:
                raise QuantityError(f"quantity exponent out of range: {raw!r}")
            value = number * Fraction(10) ** exponent
        else:
            suffix = match["suffix"] or ""
            value = number * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])
        return cls(text=raw, value=value)

    @classmethod
    def of_cpu(cls, cores: Fraction) -> Quantity:
        """A cpu amount as Kubernetes prints it: whole cores bare (`1`), else millicores (`500m`)."""
        if cores.denominator == 1:
            return cls(text=str(cores.numerator), value=cores)
        return cls(text=f"{math.ceil(cores * 1000)}m", value=cores)

    @classmethod
    def of_bytes(cls, count: Fraction) -> Quantity:
        """A memory amount as Kubernetes prints it: the largest binary suffix that divides it
        exactly (`96Mi`), else plain bytes."""
        whole = math.ceil(count)
        for suffix, size in reversed(_BINARY.items()):
            if whole and whole % size == 0:
                return cls(text=f"{whole // size}{suffix}", value=count)
        return cls(text=str(whole), value=count)

    def millis(self) -> int:
        """The value in thousandths, rounded up as Kubernetes does (`0.0001` CPU -> 1m)."""
        return math.ceil(self.value * 1000)

    def whole(self) -> int:
        """The value rounded up to a whole unit (bytes for memory)."""
        return math.ceil(self.value)

    def __str__(self) -> str:
        return self.text
