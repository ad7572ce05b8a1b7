from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.model.quantity import Quantity, QuantityError

BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Fraction(1, 4)),
        ("64Mi", Fraction(67108864)),
        ("1e3", Fraction(1000)),
        ("1E3", Fraction(1000)),
        ("1e-3", Fraction(1, 1000)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("1.", Fraction(1)),
        ("1.5Gi", Fraction(1610612736)),
        ("2k", Fraction(2000)),
        ("1E", Fraction(10**18)),
        ("100n", Fraction(1, 10**7)),
        ("+2", Fraction(2)),
        ("0", Fraction(0)),
    ],
)
def test_parse_exact_values(text: str, value: Fraction) -> None:
    quantity = Quantity.parse(text)
    assert quantity.value == value
    assert quantity.text == text
    assert str(quantity) == text


def test_millis_and_whole() -> None:
    assert Quantity.parse("250m").millis() == 250
    assert Quantity.parse("0.5").millis() == 500
    assert Quantity.parse("0.1").millis() == 100
    assert Quantity.parse("0.0001").millis() == 1  # rounded up, as Kubernetes does
    assert Quantity.parse("64Mi").whole() == 67108864
    assert Quantity.parse("1500m").whole() == 2


def test_numbers_from_yaml_are_accepted() -> None:
    assert Quantity.parse(1000).value == 1000
    assert Quantity.parse(1000).text == "1000"
    assert Quantity.parse(0.5).millis() == 500
    assert Quantity.parse(0.5).text == "0.5"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "-1",
        "-250m",
        "1.2.3",
        "1Ki2",
        " 1",
        "1 Mi",
        "1e31",
        "Mi",
        ".",
        "1mi",
        "1KI",
        "0x10",
        "1e",
        "one",
    ],
)
def test_invalid_quantities_raise(text: str) -> None:
    with pytest.raises(QuantityError):
        Quantity.parse(text)


@pytest.mark.parametrize("value", [True, False, -1, -0.5, float("nan"), float("inf")])
def test_invalid_numbers_raise(value: float) -> None:
    with pytest.raises(QuantityError):
        Quantity.parse(value)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(BINARY)))
def test_binary_suffixes(n: int, suffix: str) -> None:
    assert Quantity.parse(f"{n}{suffix}").value == n * BINARY[suffix]


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(DECIMAL)))
def test_decimal_suffixes_equal_exponents(n: int, suffix: str) -> None:
    exponent = len(str(DECIMAL[suffix])) - 1
    assert Quantity.parse(f"{n}{suffix}").value == Quantity.parse(f"{n}e{exponent}").value


@given(st.integers(min_value=0, max_value=10**9))
def test_millicores_round_trip(n: int) -> None:
    assert Quantity.parse(f"{n}m").millis() == n


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_ordering_follows_numbers(a: int, b: int) -> None:
    left, right = Quantity.parse(f"{a}m"), Quantity.parse(f"{b}Mi")
    assert (left.value < right.value) == (Fraction(a, 1000) < b * 2**20)


@given(st.decimals(min_value=0, max_value=10**6, allow_nan=False, places=3))
def test_decimal_text_is_exact(number: object) -> None:
    text = f"{number:f}"
    assert Quantity.parse(text).value == Fraction(text)
