"""Replay speed: the shipped histories replayed in a fresh in-memory engine each.

    python bench/replay.py [--quick] [--rounds N]

For every history in tests/histories: commands per history, replays per second and
milliseconds per replayed command. The baseline, measured in the same run, is
recording the same case live (the scenario run through the engine on a SQLite file,
with seeding), so the ratio says what a replay costs against the original work.
Prints figures, then one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Database, people  # noqa: E402
from engine.replay import Replayer, load_history  # noqa: E402
from tests.histories.scenarios import HERE, SCENARIOS, record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds (under 30 seconds)")
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 20)
    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"

    histories = {p.stem: load_history(p.read_bytes()) for p in sorted(HERE.glob("*.json"))}
    replayer = Replayer()
    for history in histories.values():  # parse each process once, as a batch replay would
        assert replayer.replay(history).same
    rows = []
    for name, history in histories.items():
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            result = replayer.replay(history)
            times.append(time.perf_counter() - start)
            assert result.same, result.summary()
        replay_s = statistics.median(times)
        record_s = None
        if name in SCENARIOS:
            with tempfile.TemporaryDirectory() as tmp:
                db = Database(f"sqlite:///{tmp}/record.db")
                db.create_schema()
                start = time.perf_counter()
                record(db, name)
                record_s = time.perf_counter() - start
                db.dispose()
        commands = len(history["commands"])
        rows.append({"history": name, "commands": commands, "replays_per_s": round(1 / replay_s, 1),
                     "ms_per_command": round(replay_s / commands * 1000, 2),
                     "record_ms": round(record_s * 1000, 1) if record_s else None,
                     "replay_vs_record": round(replay_s / record_s, 2) if record_s else None})

    total_commands = sum(r["commands"] for r in rows)
    total_replay = sum(r["commands"] / (r["replays_per_s"] * r["commands"]) for r in rows)
    compared = [r for r in rows if r["replay_vs_record"] is not None]
    print(f"{'history':<28}{'commands':>9}{'replays/s':>11}{'ms/command':>12}{'vs live':>9}")
    for r in rows:
        print(f"{r['history']:<28}{r['commands']:>9}{r['replays_per_s']:>11}{r['ms_per_command']:>12}"
              f"{r['replay_vs_record'] if r['replay_vs_record'] is not None else '-':>9}")
    summary = {
        "bench": "replay", "histories": len(rows), "rounds": rounds,
        "commands_per_history": {r["history"]: r["commands"] for r in rows},
        "histories_per_s": round(len(rows) / total_replay, 1),
        "ms_per_command": round(total_replay / total_commands * 1000, 2),
        "replay_vs_live_recording": round(statistics.median(r["replay_vs_record"] for r in compared), 2),
    }
    print(f"{summary['histories_per_s']} histories/s, {summary['ms_per_command']} ms per replayed command; "
          f"a replay costs {summary['replay_vs_live_recording']}× recording the case live (median)")
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
