"""The tamper-evident history (``audit verify``), ``approvals check`` and backups.

The tamper tests act as an attacker with direct access to the database: they drop the
append-only triggers first (the fixture ``attacker`` puts them back afterwards, the PostgreSQL
database being shared by the session) and change, delete, reorder or empty the history.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from cli.demo import seed
from engine import Actor, Database, Engine, FixedClock
from engine.audit import entry_hash, genesis, verify
from engine.commands import CompleteTask, StartCase
from engine.people import actor_for
from engine.store import migrate
from engine.errors import BadInput
from engine.integrity import check
from engine.store.backup import backup, restore
from engine.runtime.spiff import COMPRESSED_DICT, decode_state, encode_state
from engine.store.models import Case, Deadline, HistoryEntry, Task

from . import migration_fixture
from .conftest import ON_POSTGRES, SEED_AT
from .helpers import ROOT
from .test_migrations import blank, database, upgrade_for_real  # noqa: F401  (fixtures)

SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS case_history_no_update BEFORE UPDATE ON case_history "
    "BEGIN SELECT RAISE(ABORT, 'case_history is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS case_history_no_delete BEFORE DELETE ON case_history "
    "BEGIN SELECT RAISE(ABORT, 'case_history is append-only'); END",
]
PG_TRIGGERS = [
    "DROP TRIGGER IF EXISTS case_history_append_only ON case_history",
    "DROP TRIGGER IF EXISTS case_history_no_truncate ON case_history",
    "CREATE TRIGGER case_history_append_only BEFORE UPDATE OR DELETE ON case_history "
    "FOR EACH ROW EXECUTE FUNCTION approvals_append_only()",
    "CREATE TRIGGER case_history_no_truncate BEFORE TRUNCATE ON case_history "
    "FOR EACH STATEMENT EXECUTE FUNCTION approvals_append_only()",
]


def sql(db: Database, *statements: str) -> None:
    with db.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


class Attacker:
    """Someone with write access to the database, who drops the append-only triggers first."""

    def __init__(self, db: Database):
        self.db = db

    def drop_triggers(self, *, truncate: bool = False) -> None:
        if self.db.is_sqlite:
            sql(self.db, "DROP TRIGGER case_history_no_update", "DROP TRIGGER case_history_no_delete")
        else:
            sql(self.db, "DROP TRIGGER case_history_append_only ON case_history",
                *(["DROP TRIGGER case_history_no_truncate ON case_history"] if truncate else []))

    def put_back(self) -> None:
        sql(self.db, *(SQLITE_TRIGGERS if self.db.is_sqlite else PG_TRIGGERS))


@pytest.fixture
def attacker(seeded):
    who = Attacker(seeded)
    yield who
    who.put_back()


def case_id(db: Database, number: str) -> int:
    with db.reader() as session:
        return session.scalar(select(Case.id).where(Case.number == number))


@pytest.fixture
def cases(flow):
    """Two cases: one concluded (4 entries), one accepted and waiting for review (2 entries)."""
    done = flow.start(applicant="张三").number
    flow.complete("chuangkou", {"acceptance": "accept"}, "材料齐全", number=done)
    flow.complete("shencha", {"review_result": "pass"}, "同意", number=done)
    flow.complete("fuzeren", {"decision": "grant"}, "准予", number=done)
    waiting = flow.start(applicant="李四").number
    flow.complete("chuangkou", {"acceptance": "accept"}, "材料齐全", number=waiting)
    return done, waiting


def only_finding(db: Database):
    with db.reader() as session:
        report = verify(session)
    assert len(report.findings) == 1, report.to_dict()
    return report.findings[0]


# ---------------------------------------------------------------- the hash chain

def test_every_entry_is_chained_and_the_case_keeps_the_head(seeded, cases):
    with seeded.reader() as session:
        report = verify(session)
        assert report.ok and report.cases == 2 and report.entries == 6
        for case in session.scalars(select(Case)):
            entries = session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                      .order_by(HistoryEntry.seq)).all()
            assert len({e.hash for e in entries}) == len(entries) and all(len(e.hash) == 64 for e in entries)
            assert case.history_head == entries[-1].hash


def test_history_stays_append_only_with_its_triggers(seeded, cases):
    for statement in ("UPDATE case_history SET actor = 'x'", "DELETE FROM case_history"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            sql(seeded, statement)


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has no TRUNCATE")
def test_postgres_refuses_truncate_of_the_history(seeded, cases):
    for statement in ("TRUNCATE case_history", "TRUNCATE cases CASCADE"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            sql(seeded, statement)
    with seeded.reader() as session:
        assert verify(session).entries == 6


def test_a_changed_entry_is_named(seeded, cases, attacker):
    done, _ = cases
    attacker.drop_triggers()
    sql(seeded, f"UPDATE case_history SET actor = 'shencha2' WHERE case_id = {case_id(seeded, done)} AND seq = 3")
    finding = only_finding(seeded)
    assert (finding.case, finding.seq) == (done, 3) and "内容与哈希值不符" in finding.what


def test_dropped_append_only_triggers_are_reported_even_when_every_chain_holds(seeded, cases, attacker):
    with seeded.reader() as session:
        assert verify(session).ok
    attacker.drop_triggers()
    with seeded.reader() as session:
        report = verify(session)
    assert not report.findings and not report.ok and report.missing_guards
    assert "触发器已被删除" in report.guards_message()


def test_a_changed_json_value_is_named(seeded, cases, attacker):
    done, _ = cases
    attacker.drop_triggers()
    change = ("json_set(payload, '$.opinion', '不同意')" if seeded.is_sqlite
              else "(payload::jsonb || '{\"opinion\": \"不同意\"}'::jsonb)::json")  # json since 0018
    sql(seeded, f"UPDATE case_history SET payload = {change} WHERE case_id = {case_id(seeded, done)} AND seq = 4")
    assert (only_finding(seeded).seq, only_finding(seeded).case) == (4, done)


def test_a_deleted_entry_is_named(seeded, cases, attacker):
    done, _ = cases
    attacker.drop_triggers()
    sql(seeded, f"DELETE FROM case_history WHERE case_id = {case_id(seeded, done)} AND seq = 2")
    finding = only_finding(seeded)
    assert (finding.case, finding.seq) == (done, 2) and "被删除" in finding.what


def test_a_deleted_last_entry_is_found_by_the_head_on_the_case(seeded, cases, attacker):
    done, _ = cases
    attacker.drop_triggers()
    sql(seeded, f"DELETE FROM case_history WHERE case_id = {case_id(seeded, done)} AND seq = 4")
    finding = only_finding(seeded)
    assert (finding.case, finding.seq) == (done, 4) and "末尾" in finding.what


def test_reordered_entries_are_named(seeded, cases, attacker):
    done, _ = cases
    attacker.drop_triggers()
    cid = case_id(seeded, done)
    sql(seeded, f"UPDATE case_history SET seq = -1 WHERE case_id = {cid} AND seq = 2",
        f"UPDATE case_history SET seq = 2 WHERE case_id = {cid} AND seq = 3",
        f"UPDATE case_history SET seq = 3 WHERE case_id = {cid} AND seq = -1")
    finding = only_finding(seeded)
    assert (finding.case, finding.seq) == (done, 2)


def test_an_emptied_history_is_found_for_every_case(seeded, cases, attacker):
    attacker.drop_triggers(truncate=True)
    sql(seeded, "DELETE FROM case_history" if seeded.is_sqlite else "TRUNCATE case_history")
    with seeded.reader() as session:
        report = verify(session)
    assert sorted((f.case, f.seq) for f in report.findings) == sorted([(cases[0], 1), (cases[1], 1)])
    assert all("末尾的记录被删除或历史表被清空" in f.what for f in report.findings)
    with seeded.reader() as session:
        assert verify(session, cases[1]).cases == 1 and not verify(session, cases[1]).ok


def test_a_rewritten_hash_is_found(seeded, cases, attacker):
    done, _ = cases
    attacker.drop_triggers()
    sql(seeded, f"UPDATE case_history SET hash = '{'0' * 64}' WHERE case_id = {case_id(seeded, done)} AND seq = 1")
    assert only_finding(seeded).seq == 1


def test_a_consistently_rewritten_chain_is_found_only_against_heads_kept_outside(seeded, cases, attacker):
    done, _ = cases
    with seeded.reader() as session:
        kept = verify(session).heads  # what the night's report saved elsewhere
    attacker.drop_triggers()
    cid = case_id(seeded, done)
    sql(seeded, f"UPDATE case_history SET actor = 'someone' WHERE case_id = {cid} AND seq = 2")
    with seeded.transaction() as session:  # the attacker knows the scheme and recomputes the chain
        case = session.get(Case, cid)
        previous = genesis(case.key)
        for entry in session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == cid).order_by(HistoryEntry.seq)):
            previous = entry_hash(previous, entry)
            session.execute(sa.update(HistoryEntry).where(HistoryEntry.id == entry.id).values(hash=previous))
        session.execute(sa.update(Case).where(Case.id == cid).values(history_head=previous))
    with seeded.reader() as session:
        assert not verify(session).findings  # the chain alone holds (only the dropped triggers show)
        report = verify(session, kept=kept)
    assert [(f.case, f.seq) for f in report.findings] == [(done, 4)] and "之外的链头" in report.findings[0].what
    kept["GONE-1"] = {"seq": 1, "hash": "0" * 64}
    with seeded.reader() as session:
        assert [f.case for f in verify(session, kept=kept).findings] == [done, "GONE-1"]


def test_the_chain_hashes_what_postgres_reads_back(seeded, flow):
    """JSONB turned 1e20 into 100000000000000000000 and reordered keys (the history's columns were JSONB
    before 0018, and its entries written then are hashed so): the hash is of what reads back."""
    flow.engine.execute(StartCase(item="GENERAL", applicant="王五", data={"z": 1e20, "a": {"b": 1.5, "a": [1, 2.0]}}),
                        Actor.applicant("王五"))
    with seeded.reader() as session:
        assert verify(session).ok


@pytest.mark.slow
def test_migration_0005_chains_the_entries_that_were_there(database):
    """Cases made at the baseline: the upgrade hashes their entries, and new commands chain on."""
    upgrade_for_real(database, migrate.BASELINE)
    with database.engine.begin() as connection:
        migration_fixture.load(connection)
    database.create_schema()
    with database.reader() as session:
        report = verify(session)
        assert report.ok and report.cases == 3 and report.entries == 1 + 2 + 4, report.to_dict()
        reviewing = session.scalar(select(Case).where(Case.number == migration_fixture.NUMBERS[1]))
        shencha = actor_for(session, "shencha")
        task = session.scalar(select(Task).where(Task.case_id == reviewing.id, Task.state == "ready"))
    Engine(database, FixedClock("2026-03-03T09:00:00+08:00")).execute(
        CompleteTask(task=task.id, data={"review_result": "pass"}, opinion="同意"), shencha)
    with database.reader() as session:
        assert verify(session).ok and verify(session).entries == 8
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # the triggers are back
        sql(database, "UPDATE case_history SET actor = 'x'")
    report = check(database)  # no inputs recorded at the baseline: not replayed, not wrong
    assert report.ok and set(report.not_replayable) == set(migration_fixture.NUMBERS), report.to_dict()


# ---------------------------------------------------------------- approvals check

def test_check_passes_on_clean_data(seeded, cases):
    report = check(seeded)
    assert report.ok and report.cases == 2, report.to_dict()


def test_check_finds_a_gap_in_seq(seeded, cases, attacker):
    done, waiting = cases
    attacker.drop_triggers()
    sql(seeded, f"DELETE FROM case_history WHERE case_id = {case_id(seeded, done)} AND seq = 2")
    report = check(seeded)
    assert {(p.case, p.kind) for p in report.problems} == {(done, "seq"), (done, "replay")}
    assert any("缺少第 2 条" in p.message for p in report.problems)


def test_check_finds_a_task_row_that_does_not_match_the_workflow(seeded, cases):
    _, waiting = cases
    sql(seeded, f"UPDATE tasks SET state = 'completed' WHERE case_id = {case_id(seeded, waiting)} AND state = 'ready'")
    report = check(seeded)
    kinds = {(p.case, p.kind) for p in report.problems}
    assert (waiting, "tasks") in kinds and all(case == waiting for case, _ in kinds)
    assert any("流程中就绪却没有待办任务行" in p.message for p in report.problems)


def test_check_finds_an_orphan_armed_deadline(seeded, cases):
    done, _ = cases
    with seeded.reader() as session:
        deadline = session.scalars(select(Deadline).where(Deadline.case_id == case_id(seeded, done),
                                                          Deadline.state == "cancelled")).first()
    sql(seeded, f"UPDATE deadlines SET state = 'armed' WHERE id = {deadline.id}")
    report = check(seeded)
    orphans = [p for p in report.problems if p.kind == "deadline"]
    assert len(orphans) == 1 and orphans[0].case == done and deadline.key in orphans[0].message


def test_check_finds_a_state_that_differs_from_replay(seeded, cases):
    _, waiting = cases
    sql(seeded, f"UPDATE cases SET card = 'red' WHERE id = {case_id(seeded, waiting)}")
    report = check(seeded)
    assert [(p.case, p.kind) for p in report.problems] == [(waiting, "replay")]
    assert "card" in report.problems[0].message


def test_check_finds_a_changed_document_number(seeded, cases):
    done, _ = cases
    sql(seeded, f"UPDATE documents SET number = number || '之一' WHERE case_id = {case_id(seeded, done)}")
    report = check(seeded)
    assert [(p.case, p.kind) for p in report.problems] == [(done, "replay")]
    assert "documents" in report.problems[0].message


def test_check_finds_a_changed_workflow_state(seeded, cases):
    done, _ = cases
    with seeded.transaction() as session:  # the state is stored compressed: change it as its JSON
        row = session.scalar(select(Case).where(Case.number == done))
        assert row.workflow_state.startswith(COMPRESSED_DICT)
        changed = decode_state(row.workflow_state).replace('"decision":"grant"', '"decision":"deny"')
        session.execute(update(Case).where(Case.id == row.id).values(workflow_state=encode_state(changed)))
    with seeded.reader() as session:
        assert '"decision":"deny"' in decode_state(session.scalar(select(Case.workflow_state).where(Case.number == done)))
    report = check(seeded)
    assert [(p.case, p.kind) for p in report.problems] == [(done, "replay")]
    assert "流程运行状态" in report.problems[0].message


# ---------------------------------------------------------------- backups

@pytest.mark.slow
@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's backup API; PostgreSQL uses pg_dump")
def test_a_backup_taken_while_commands_run_restores_to_a_consistent_database(tmp_path, clock):
    live = Database(f"sqlite:///{tmp_path / 'live.db'}")
    live.create_schema()
    with live.transaction() as session:
        seed(session, clock.now())
    engine = Engine(live, FixedClock(SEED_AT))
    started, stop = [], threading.Event()

    def write():
        n = 0
        while not stop.is_set() and n < 200:
            n += 1
            started.append(engine.execute(StartCase(item="GENERAL", applicant=f"申请人{n}", data={}),
                                          Actor.applicant(f"申请人{n}")).number)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(started) < 5:
            stop.wait(0.01)
        backup(live, tmp_path / "backup.db")
        while len(started) < 10 and writer.is_alive():
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join(30)
    restored = Database(f"sqlite:///{tmp_path / 'restored.db'}")
    result = restore(restored, tmp_path / "backup.db")
    assert 5 <= result.cases < len(started)
    with restored.reader() as session:
        assert verify(session).ok
    report = check(restored)
    assert report.ok and report.cases == result.cases, report.to_dict()
    with pytest.raises(BadInput, match="--force"):
        restore(restored, tmp_path / "backup.db")
    restored.dispose()
    live.dispose()


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite files")
def test_restore_refuses_what_is_not_an_approvals_database(tmp_path, db):
    target = Database(f"sqlite:///{tmp_path / 'target.db'}")
    (tmp_path / "text.db").write_text("不是数据库" * 1000)
    with pytest.raises(BadInput, match="不是 SQLite 数据库"):
        restore(target, tmp_path / "text.db")
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    sql(other, "CREATE TABLE t (x INTEGER)")
    other.dispose()
    with pytest.raises(BadInput, match="不是本系统的数据库"):
        restore(target, tmp_path / "other.db")
    with pytest.raises(BadInput, match="不存在"):
        restore(target, tmp_path / "missing.db")
    target.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL")
def test_backup_on_postgres_points_at_pg_dump(db, tmp_path):
    with pytest.raises(BadInput, match="pg_dump"):
        backup(db, tmp_path / "x.db")
    with pytest.raises(BadInput, match="pg_restore"):
        restore(db, tmp_path / "x.db")


@pytest.mark.slow
@pytest.mark.skipif(not ON_POSTGRES or not shutil.which("pg_dump"), reason="PostgreSQL and its client tools")
def test_pg_dump_and_pg_restore_as_documented_give_a_database_that_passes_both_checks(seeded, cases, tmp_path):
    """docs/operations.md: pg_dump --format=custom, pg_restore into a new database."""
    url = make_url(seeded.url)
    plain = url.set(drivername="postgresql")
    copy_name = f"{url.database}_restored"
    dump = tmp_path / "approvals.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", plain.render_as_string(hide_password=False)],
                   check=True, timeout=120)
    admin = Database(url.set(database="postgres").render_as_string(hide_password=False))
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{copy_name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{copy_name}"')
    restored = Database(url.set(database=copy_name).render_as_string(hide_password=False))
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
                        f"--dbname={plain.set(database=copy_name).render_as_string(hide_password=False)}", str(dump)],
                       check=True, timeout=120)
        with restored.reader() as session:
            assert verify(session).ok and verify(session).cases == 2
        assert check(restored).ok
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # the triggers came along
            sql(restored, "TRUNCATE case_history")
    finally:
        restored.dispose()
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{copy_name}"')
        admin.dispose()


# ---------------------------------------------------------------- the command line

def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "APPROVALS_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


@pytest.mark.slow
def test_command_line_check_verify_backup_restore(seeded, cases, attacker, tmp_path):
    done, waiting = cases
    url = seeded.url
    ok = cli(url, "audit", "verify", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"], ok.stderr
    assert json.loads(ok.stdout)["heads"][done]["seq"] == 4
    ok_heads = ok.stdout
    ok = cli(url, "check")
    assert ok.returncode == 0 and "全部一致" in ok.stdout, ok.stdout + ok.stderr
    if seeded.is_sqlite:
        made = cli(url, "backup", str(tmp_path / "b.db"))
        assert made.returncode == 0 and "已备份" in made.stdout, made.stderr
        again = cli(url, "restore", str(tmp_path / "b.db"))
        assert again.returncode == 1 and "--force" in again.stderr
        into = f"sqlite:///{tmp_path / 'new.db'}"
        assert cli(into, "restore", str(tmp_path / "b.db")).returncode == 0
        assert cli(into, "check").returncode == 0 and cli(into, "audit", "verify").returncode == 0
    else:
        refused = cli(url, "backup", str(tmp_path / "b.db"))
        assert refused.returncode == 1 and "pg_dump" in refused.stderr
    attacker.drop_triggers()
    sql(seeded, f"DELETE FROM case_history WHERE case_id = {case_id(seeded, waiting)} AND seq = 1")
    bad = cli(url, "audit", "verify")
    assert bad.returncode == 1 and f"{waiting}  不符" in bad.stdout and "第 1 条记录" in bad.stdout
    kept = tmp_path / "heads.json"
    kept.write_text(ok_heads, encoding="utf-8")
    bad = cli(url, "audit", "verify", waiting, "--against", str(kept), "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)["findings"][0]["seq"] == 1
    kept.write_text("{}", encoding="utf-8")
    wrong = cli(url, "audit", "verify", "--against", str(kept))
    assert wrong.returncode == 1 and "缺少 heads" in wrong.stderr
    bad = cli(url, "check", "--json")
    assert bad.returncode == 1
    assert {(p["case"], p["kind"]) for p in json.loads(bad.stdout)["problems"]} >= {(waiting, "seq")}
