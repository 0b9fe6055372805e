import sys

import pytest

import cortado


@pytest.fixture
def clock() -> cortado.ManualClock:
    return cortado.ManualClock()


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> list:
    """Collects what callbacks report through sys.unraisablehook during the test."""
    caught: list = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: caught.append((u.exc_type, u.exc_value, u.object)))
    return caught
