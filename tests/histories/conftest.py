"""Every ``*.json`` history in this folder is a test: it must replay identically against the
process version it recorded. ``pytest tests/histories/NAME.json`` runs one."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ApprovalError
from engine.replay import Replayer, load_history

_replayer = Replayer()  # parsed definitions are shared between the histories


class ReplayDiverged(Exception):
    pass


HERE = Path(__file__).resolve().parent


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".json" and HERE in file_path.resolve().parents:
        return HistoryFile.from_parent(parent, path=file_path)
    return None


class HistoryFile(pytest.File):
    def collect(self):
        item = HistoryItem.from_parent(self, name=f"replay[{self.path.stem}]")
        item.add_marker(pytest.mark.slow)
        item.add_marker(pytest.mark.replay)
        yield item


class HistoryItem(pytest.Item):
    def runtest(self):
        try:
            history = load_history(self.path.read_bytes())
        except ApprovalError as exc:
            raise ReplayDiverged(f"{self.path.name}: {exc.message}") from None
        result = _replayer.replay(history)
        if not result.same:
            raise ReplayDiverged(result.summary())

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ReplayDiverged):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"replay {self.path.name}"
