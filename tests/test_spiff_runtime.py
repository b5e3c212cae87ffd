"""SpiffWorkflow's clock and ids are controlled by the running command."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions import timer

from engine.clock import CHINA_TZ
from engine.runtime.spiff import IdSource, OutsideCommandError, command_scope

KEY = "7f1d3c7e-1111-4222-8333-944445555666"


def test_spiff_timer_module_reads_the_command_time():
    at = datetime(2026, 10, 1, 9, 0, tzinfo=CHINA_TZ)
    with command_scope(at, KEY, 1):
        assert timer.datetime.now(timezone.utc) == at
        # a duration timer computes its due time from the command's time
        due = timer.datetime.now(timezone.utc) + timer.TimerEventDefinition.get_timedelta_from_start(
            timer.TimerEventDefinition.parse_iso_duration("PT2H"), at)
        assert due == datetime(2026, 10, 1, 11, 0, tzinfo=CHINA_TZ)


def test_spiff_may_not_read_the_clock_outside_a_command():
    with pytest.raises(OutsideCommandError):
        timer.datetime.now(timezone.utc)


def test_ids_depend_only_on_case_key_and_command_number():
    a, b, c = IdSource(KEY, 3), IdSource(KEY, 3), IdSource(KEY, 4)
    first = [a(), a()]
    assert first == [b(), b()] and first[0] != first[1]
    assert c() not in first
