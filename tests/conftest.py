"""Fixtures: a database (SQLite file per test, or the PostgreSQL database named by
APPROVALS_DATABASE_URL, emptied before each test), a controlled clock, an engine,
and the demo seed."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import Actor, Database, Engine, FixedClock
from engine.commands import CompleteTask, StartCase
from cli.demo import seed
from engine.people import actor_for
from engine.read.queries import ready_tasks
from engine.timelimits.workdays import seed_from_chinesecalendar

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "bpmn"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("APPROVALS_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes():
    """Hashing stays real, with a low work factor so that seeding is fast."""
    from engine import people

    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


@pytest.fixture(scope="session")
def _shared_pg():
    db = Database(PG_URL)
    db.drop_schema()  # the schema may be an older one from an earlier run
    db.create_schema()
    yield db
    db.dispose()


@pytest.fixture
def db(request, tmp_path):
    if ON_POSTGRES:
        shared = request.getfixturevalue("_shared_pg")
        shared.reset_for_tests()
        yield shared
    else:
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
        database.create_schema()
        yield database
        database.dispose()


@pytest.fixture
def clock():
    return FixedClock("2026-03-02T09:00:00+08:00")


@pytest.fixture
def engine(db, clock):
    return Engine(db, clock)


@pytest.fixture
def seeded(db, clock):
    with db.transaction() as session:
        seed(session, clock.now())
        seed_from_chinesecalendar(session)
    return db


@pytest.fixture
def actors(seeded):
    from engine.store.models import User

    with seeded.reader() as session:
        return {n: actor_for(session, n) for n in session.scalars(select(User.username))}


class Flow:
    """Small helpers that read like the steps of a case."""

    def __init__(self, engine: Engine, db: Database, actors: dict[str, Actor]):
        self.engine, self.db, self.actors = engine, db, actors

    def start(self, item="GENERAL", applicant="张三", data=None):
        return self.engine.execute(StartCase(item=item, applicant=applicant, data=data or {}),
                                   Actor.applicant(applicant))

    def task_of(self, username: str, number: str | None = None):
        with self.db.reader() as session:
            tasks = [t for t in ready_tasks(session, self.actors[username]) if number is None or t.case.number == number]
        assert tasks, f"{username} has no ready task"
        return tasks[0]

    def complete(self, username: str, data: dict, opinion: str = "", number: str | None = None):
        task = self.task_of(username, number)
        return self.engine.execute(CompleteTask(task=task.id, data=data, opinion=opinion), self.actors[username])


@pytest.fixture
def flow(engine, seeded, actors):
    return Flow(engine, seeded, actors)
