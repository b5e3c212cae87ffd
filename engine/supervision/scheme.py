"""The assessment scheme (绩效考核方案) as data: ``schemes/default.yaml`` ships the scheme a
typical centre uses (base score, indicator weights, deductions and bonuses per event, the
centre's targets). A centre edits the YAML, not the code."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@lru_cache(maxsize=4)
def load_scheme(name: str = "default") -> dict[str, Any]:
    text = resources.files("engine.supervision").joinpath("schemes", f"{name}.yaml").read_text(encoding="utf-8")
    scheme = yaml.safe_load(text)
    for key in ("name", "base", "targets", "indicators", "deductions", "bonuses"):
        if key not in scheme:
            raise ValueError(f"assessment scheme {name}: missing {key}")
    return scheme


def targets() -> dict[str, float]:
    return dict(load_scheme()["targets"])
