"""check_claim: the assertion that notebooks use for results that depend on rounding."""

import json

import numpy as np
import pytest

from coursepkg import ClaimError, check_claim
from coursepkg.claims import CLAIMS_LOG_VARIABLE


@pytest.fixture(autouse=True)
def no_claims_log(monkeypatch):
    monkeypatch.delenv(CLAIMS_LOG_VARIABLE, raising=False)


@pytest.mark.parametrize(
    "value, bounds",
    [
        (0.986, {"at_least": 0.98}),
        (0.98, {"at_least": 0.98}),  # bounds are inclusive
        (4.4e-4, {"at_most": 1e-3}),
        (1e-3, {"at_most": 1e-3}),
        (0.5, {"at_least": 0.5, "at_most": 0.5}),
        (np.float32(0.25), {"at_least": 0.0, "at_most": 1.0}),
        (np.int64(142), {"at_most": 200}),
        (3, {"at_least": 1}),
    ],
)
def test_a_claim_that_holds_returns_and_prints_nothing(value, bounds, capsys):
    assert check_claim("some result", value, **bounds) is None
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    "value, bounds, message",
    [
        (0.97, {"at_least": 0.98}, r"test accuracy = 0\.97; expected at least 0\.98, 0\.01 short"),
        (5.6e-3, {"at_most": 1e-3}, r"expected at most 0\.001, 0\.0046 over"),
        (2.0, {"at_least": 0.0, "at_most": 1.0}, r"expected at most 1, 1 over"),
        (float("nan"), {"at_least": 0.0}, r"the value is NaN"),
        (np.float64("nan"), {"at_most": 1.0}, r"the value is NaN"),
    ],
)
def test_a_claim_that_fails_names_claim_value_and_bound(value, bounds, message):
    with pytest.raises(ClaimError, match=message) as failure:
        check_claim("test accuracy", value, **bounds)
    assert "claim does not hold: test accuracy" in str(failure.value)
    assert isinstance(failure.value, AssertionError)  # fails a test like an assert would


def test_infinity_is_compared_like_any_number():
    with pytest.raises(ClaimError, match="expected at most 1"):
        check_claim("loss", float("inf"), at_most=1.0)
    check_claim("ratio", float("inf"), at_least=2.0)


@pytest.mark.parametrize(
    "value, what",
    [
        (np.array([0.99, 0.98]), r"got ndarray of shape \(2,\)"),
        (np.array([0.99]), r"got ndarray of shape \(1,\)"),
        ("0.99", "got str"),
        (True, "got bool"),
        (None, "got NoneType"),
        (1 + 2j, "got complex"),
    ],
)
def test_value_must_be_one_real_number(value, what):
    with pytest.raises(TypeError, match=f"value must be a real number, {what}"):
        check_claim("accuracy", value, at_least=0.5)


def test_bounds_are_checked():
    with pytest.raises(ValueError, match="give at_least, at_most or both"):
        check_claim("accuracy", 0.9)
    with pytest.raises(ValueError, match="at_least=0.9 is above at_most=0.8"):
        check_claim("accuracy", 0.85, at_least=0.9, at_most=0.8)
    with pytest.raises(ValueError, match="at_most must be finite"):
        check_claim("accuracy", 0.85, at_most=float("nan"))
    with pytest.raises(TypeError, match="at_least must be a real number"):
        check_claim("accuracy", 0.85, at_least="0.8")
    with pytest.raises(TypeError, match="non-empty string"):
        check_claim("  ", 0.85, at_least=0.8)


def test_every_check_is_logged_when_asked(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(CLAIMS_LOG_VARIABLE, str(log))
    check_claim("accuracy", 0.99, at_least=0.98)
    with pytest.raises(ClaimError):
        check_claim("MSE", 0.5, at_most=0.1)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records == [
        {"claim": "accuracy", "value": 0.99, "at_least": 0.98, "at_most": None, "held": True},
        {"claim": "MSE", "value": 0.5, "at_least": None, "at_most": 0.1, "held": False},
    ]


def test_nothing_is_written_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_claim("accuracy", 0.99, at_least=0.98)
    assert list(tmp_path.iterdir()) == []
