"""AutoThrottle's value object and its delay rule (pure: no network)."""

from __future__ import annotations

import pytest

from sessionpool import AutoThrottle
from sessionpool._autothrottle import next_delay

THROTTLE = AutoThrottle(target_concurrency=2.0, start_delay=1.0, max_delay=10.0)


def test_a_success_moves_the_delay_halfway_toward_latency_over_target() -> None:
    # target = 0.4 / 2 = 0.2; halfway from 1.0 is 0.6
    assert next_delay(THROTTLE, 1.0, 0.4, "ok", 0.0) == pytest.approx(0.6)


def test_a_slower_host_gets_the_higher_figure_at_once() -> None:
    assert next_delay(THROTTLE, 0.1, 4.0, "ok", 0.0) == pytest.approx(2.0)


def test_a_failure_doubles_the_delay_and_never_lowers_it() -> None:
    assert next_delay(THROTTLE, 1.0, 0.01, "failed", 0.0) == pytest.approx(2.0)
    assert next_delay(THROTTLE, 0.0, 0.6, "failed", 0.0) == pytest.approx(0.3)


def test_another_status_never_lowers_the_delay() -> None:
    assert next_delay(THROTTLE, 1.0, 0.01, "other", 0.0) == pytest.approx(1.0)
    assert next_delay(THROTTLE, 1.0, 6.0, "other", 0.0) == pytest.approx(3.0)


def test_the_delay_stays_between_the_floor_and_max_delay() -> None:
    assert next_delay(THROTTLE, 0.0, 0.0, "ok", 0.5) == pytest.approx(0.5)
    assert next_delay(THROTTLE, 9.0, 100.0, "ok", 0.0) == pytest.approx(10.0)
    assert next_delay(THROTTLE, 8.0, 0.0, "failed", 0.0) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"target_concurrency": 0}, ValueError, "AutoThrottle.target_concurrency must be a finite number > 0"),
        ({"target_concurrency": "1"}, TypeError, "AutoThrottle.target_concurrency must be a number > 0"),
        ({"start_delay": -1}, ValueError, "AutoThrottle.start_delay"),
        ({"max_delay": 0}, ValueError, "AutoThrottle.max_delay"),
        ({"start_delay": 5, "max_delay": 2}, ValueError, "must not exceed AutoThrottle.max_delay"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(fields: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        AutoThrottle(**fields)  # type: ignore[arg-type]
