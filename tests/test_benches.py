"""The benchmarks keep running: a change that breaks one (as the applicant policy once broke the
throughput bench) fails here, not when someone next measures."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.parametrize("bench", ["engine_throughput", "replay", "pages", "stats"])
def test_a_quick_bench_run_ends_with_one_json_line(bench, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{bench}.py"), "--quick"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(ROOT),
                                                                          "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert isinstance(json.loads(done.stdout.strip().splitlines()[-1]), dict)

