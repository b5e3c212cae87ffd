"""The demo cases behind the shipped histories in this folder.

    python -m tests.histories.scenarios        # re-record every history JSON here

Each scenario drives one case of a demo process through the engine on a controlled
clock and sweeps deadlines the way the timer job would; the case is then exported.
``test_histories.py`` checks that recording them again — on SQLite or PostgreSQL —
gives exactly the shipped files, and the conftest here replays every JSON file in the
folder as a test. A tester adds a regression test by exporting a real case here:
``approvals case export CASE -o tests/histories/NAME.json``.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Callable

from engine import Actor, Database, Engine, FixedClock
from engine.commands import (ClaimTask, CompleteTask, CorrectCaseData, DecideExtension, ExtendDeadline,
                             ReceiveSupplement, ReleaseTask, RequestExtension, RequestSupplement, ResumeCase,
                             ReturnTask, RewindCase, SkipTask, StartCase, SuspendCase, SuspendClocks, TakeBackTask,
                             TerminateCase)
from cli.demo import seed
from engine.deploy import set_time_policy
from engine.people import actor_for
from engine.read.queries import get_case, ready_tasks
from engine.replay import export_case
from engine.timelimits.schedule import Schedule, import_schedule
from engine.timelimits.workdays import seed_from_chinesecalendar
from timers import sweep

HERE = Path(__file__).resolve().parent
NAMESPACE = uuid.UUID("6f1c2d1e-5b1a-4c53-9d8e-2f7b9a0c4e11")


class Story:
    """One case told step by step: who does what, when."""

    def __init__(self, db: Database, name: str):
        self.db, self.name = db, name
        self.clock = FixedClock("2026-03-02T09:00:00+08:00")
        self.engine = Engine(db, self.clock)
        self.number = ""

    def at(self, when: str) -> "Story":
        self.clock.set(when if "+" in when else f"{when}+08:00")
        return self

    def actor(self, username: str) -> Actor:
        with self.db.reader() as session:
            return actor_for(session, username)

    def start(self, item: str = "GENERAL", applicant: str = "张三", data: dict | None = None) -> "Story":
        key = str(uuid.uuid5(NAMESPACE, self.name))
        case = self.engine.execute(StartCase(item=item, applicant=applicant, data=data or {}, key=key),
                                   Actor.applicant(applicant))
        self.number = case.number
        return self

    def task(self, username: str) -> int:
        with self.db.reader() as session:
            tasks = [t for t in ready_tasks(session, self.actor(username)) if t.case.number == self.number]
        assert tasks, f"{username} has nothing to do on {self.number}"
        return tasks[0].id

    def complete(self, username: str, data: dict | None = None, opinion: str = "") -> "Story":
        self.engine.execute(CompleteTask(task=self.task(username), data=data or {}, opinion=opinion),
                            self.actor(username))
        return self

    def do(self, username: str, command) -> "Story":
        self.engine.execute(command, self.actor(username))
        return self

    def sweep(self, when: str, failing: int = 0) -> "Story":
        self.at(when)
        report = sweep(self.engine)
        assert len(report.failed) == failing, report.failed
        return self

    def deploy(self, fixture: str, item: str, name: str) -> "Story":
        """A test diagram from tests/fixtures as an item of 市市场监督管理局."""
        from engine.deploy import deploy

        with self.db.transaction() as session:
            deploy(session, (HERE.parent / "fixtures" / fixture).read_bytes(), fixture, item,
                   deployed_by="test", at=self.clock.now(), department_code="scjg", item_name=name)
        return self


def straight_grant(s: Story):
    s.start(data={"shop": "小吃店"})
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"}, "材料齐全")
    s.at("2026-03-04T15:00").complete("shencha", {"review_result": "pass"}, "符合条件")
    s.at("2026-03-05T09:30").complete("fuzeren", {"decision": "grant"}, "同意")


def refused_at_acceptance(s: Story):
    s.start()
    s.at("2026-03-03T11:00").complete("chuangkou", {"acceptance": "refuse"}, "不属于本机关职权范围")


def supplement_then_deny(s: Story):
    s.start()
    s.at("2026-03-03T10:00").do("chuangkou", RequestSupplement(case=s.number, materials=("营业执照副本", "场所平面图"),
                                                                 note="请于 30 日内补正"))
    s.sweep("2026-03-12T08:00")  # nothing fires while the applicant gathers materials
    s.at("2026-03-16T14:00").do("chuangkou", ReceiveSupplement(case=s.number))
    s.at("2026-03-17T09:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-20T16:00").complete("shencha", {"review_result": "fail"}, "场所不符合要求")
    s.at("2026-03-23T10:00").complete("fuzeren", {"decision": "deny"}, "不予许可")


def deemed_acceptance(s: Story):
    s.start()
    s.sweep("2026-03-07T08:00").sweep("2026-03-10T08:00")
    s.at("2026-03-11T10:00").complete("shencha", {"review_result": "pass"})
    s.at("2026-03-12T10:00").complete("fuzeren", {"decision": "grant"})


def inspection_pause(s: Story):
    s.start()
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-04T11:00").do("shencha", SuspendClocks(case=s.number, kind="inspection", days=7,
                                                         reason="委托第三方检验"))
    s.sweep("2026-03-16T09:00")  # the declared 7 working days are over: clocks resume
    s.at("2026-03-17T10:00").complete("shencha", {"review_result": "pass"})
    s.at("2026-03-18T10:00").complete("fuzeren", {"decision": "grant"})


def extension(s: Story):
    s.start()
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-06T10:00").complete("shencha", {"review_result": "pass"})
    s.at("2026-03-09T10:00").do("fuzeren", ExtendDeadline(case=s.number, reason="需组织现场核查"))
    s.at("2026-03-10T10:00").complete("fuzeren", {"decision": "grant"})


def cards_and_escalation(s: Story):
    s.start()
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    for day in ("03-07", "03-10", "03-14", "03-17", "03-18", "03-19", "03-31"):
        s.sweep(f"2026-{day}T08:00")
    s.at("2026-03-31T10:00").complete("shencha", {"review_result": "pass"}, "逾期审查完毕")
    s.at("2026-04-01T10:00").complete("fuzeren", {"decision": "grant"})


def item_deemed_approval(s: Story):
    with s.db.transaction() as session:
        set_time_policy(session, "GENERAL", {"statutory_days": 20, "deemed_approval": True})
    s.start()
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-05T10:00").complete("shencha", {"review_result": "pass"})
    s.sweep("2026-03-11T08:00").sweep("2026-03-31T08:00")


def claim_and_release(s: Story):
    s.start()
    task = s.task("chuangkou")
    s.at("2026-03-02T09:30").do("chuangkou", ClaimTask(task=task))
    s.at("2026-03-02T09:40").do("chuangkou", ReleaseTask(task=task))
    s.at("2026-03-02T09:50").do("chuangkou", ClaimTask(task=task))
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})


def backup_stands_in(s: Story):
    from engine.people import set_away, set_backup

    with s.db.transaction() as session:
        set_backup(session, "shencha", "shencha_b")
    s.start()
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-02T11:00").do("shencha", ClaimTask(task=s.task("shencha")))
    with s.db.transaction() as session:
        set_away(session, "shencha", True)  # 李审查 is away: 卫审查 stands in (AB岗)
    s.at("2026-03-03T10:00").complete("shencha_b", {"review_result": "pass"}, "代李审查办理")
    s.at("2026-03-04T10:00").complete("fuzeren", {"decision": "grant"})


def returned_and_taken_back(s: Story):
    s.start()
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-03T10:00").complete("shencha", {"review_result": "pass"})
    s.at("2026-03-04T10:00").do("fuzeren", ReturnTask(task=s.task("fuzeren"), to="review", reason="现场核查记录不全"))
    review = s.task("shencha")
    s.at("2026-03-05T10:00").complete("shencha", {"review_result": "pass"}, "已补充核查记录")
    s.at("2026-03-05T10:30").do("shencha", TakeBackTask(task=review))
    s.at("2026-03-05T11:00").complete("shencha", {"review_result": "pass"}, "核查记录已补全")
    s.at("2026-03-06T10:00").complete("fuzeren", {"decision": "grant"})


def joint_parallel(s: Story):
    s.start(item="JOINT", applicant="某养老服务有限公司")
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-03T10:00").complete("ws_shencha", {"ws_result": "agree"}, "同意")
    s.at("2026-03-04T10:00").complete("mz_shencha", {"mz_result": "agree"}, "同意")
    s.at("2026-03-05T10:00").complete("fuzeren", {"decision": "grant"})
    s.at("2026-03-06T10:00").complete("chuangkou", {}, "已送达")


def joint_department_defaults(s: Story):
    s.start(item="JOINT", applicant="某养老服务有限公司")
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-03T10:00").complete("ws_shencha", {"ws_result": "agree"}, "同意")
    s.sweep("2026-03-05T08:00").sweep("2026-03-06T08:00")  # 民政 says nothing: deemed agreed
    s.at("2026-03-06T15:00").complete("mz_shencha", {}, "经核查，同意。")
    s.at("2026-03-09T10:00").complete("fuzeren", {"decision": "grant"})
    s.at("2026-03-10T10:00").complete("chuangkou", {}, "已送达")


def provisional_year(s: Story):
    s.at("2026-12-10T09:00").start()
    s.at("2026-12-10T10:00").complete("chuangkou", {"acceptance": "accept"})
    # 元旦 (a fixed date) was already counted as provisional; the made-up 4 January moves the deadline.
    schedule = Schedule(2027, "测试用 2027 年安排", [(__import__("datetime").date(2027, 1, 1), "元旦"),
                                                    (__import__("datetime").date(2027, 1, 4), "测试")], [])
    s.at("2026-12-15T09:00")
    import_schedule(s.engine, schedule, "admin")
    s.at("2026-12-16T10:00").complete("shencha", {"review_result": "pass"})
    s.at("2026-12-17T10:00").complete("fuzeren", {"decision": "grant"})


def deemed_step_fails(s: Story):
    """The review may be deemed agreed, but the gateway after it needs the reviewer's score:
    each firing fails, is recorded in the history and retried, and after 8 attempts the
    deadline is given up and the administrators are told; the reviewer then decides by hand."""
    s.deploy("deemed_gateway.bpmn", "SCORED", "评分审查")
    s.start(item="SCORED")
    for hour in range(8, 23, 2):  # due when 4 March is over; retried after 1, 2, 4 … 64 minutes
        s.sweep(f"2026-03-05T{hour:02d}:00", failing=1)
    s.at("2026-03-06T10:00").complete("shencha", {"review_result": "pass", "score": 75}, "评分 75，合格")


def joint_extension(s: Story):
    """联办件: the reviewer asks, the head of the city government approves 15 more days (art. 42)."""
    s.start(item="JOINT", applicant="某养老服务有限公司")
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-20T10:00").do("ws_shencha", RequestExtension(case=s.number, reason="需组织专家论证"))
    s.at("2026-03-20T15:00").do("fushizhang", DecideExtension(case=s.number, approve=True, note="同意延期"))
    s.at("2026-03-23T10:00").complete("ws_shencha", {"ws_result": "agree"}, "同意")
    s.at("2026-03-24T10:00").complete("mz_shencha", {"mz_result": "agree"}, "同意")


def second_notice(s: Story):
    """A second one-time notice after the supplement, only for a defect in what was supplied."""
    s.start()
    s.at("2026-03-03T10:00").do("chuangkou", RequestSupplement(case=s.number, materials=("营业执照副本", "场所平面图")))
    s.at("2026-03-09T10:00").do("chuangkou", ReceiveSupplement(case=s.number))
    s.at("2026-03-10T10:00").do("chuangkou", RequestSupplement(case=s.number, materials=("场所平面图",),
                                                                 note="平面图未标注面积"))
    s.at("2026-03-12T10:00").do("chuangkou", ReceiveSupplement(case=s.number))
    s.at("2026-03-12T11:00").complete("chuangkou", {"acceptance": "accept"})


def administrator_operations(s: Story):
    """An administrator suspends the case (the sweep finds nothing due while it stands still),
    resumes it (deadlines pushed by five working days), moves it back to 受理, skips the stuck
    受理 with the value the gateway needs, corrects a form value, and finally terminates it."""
    s.start()
    s.at("2026-03-02T10:00").complete("chuangkou", {"acceptance": "accept"})
    s.at("2026-03-03T09:00").do("admin", SuspendCase(case=s.number, reason="申请人涉诉，待法院裁定"))
    s.sweep("2026-03-10T08:00")
    s.at("2026-03-10T09:00").do("admin", ResumeCase(case=s.number, reason="法院已裁定"))
    s.at("2026-03-10T10:00").do("admin", RewindCase(case=s.number, to="accept_application", reason="受理材料有误"))
    s.at("2026-03-10T11:00").do("admin", SkipTask(task=s.task("chuangkou"), reason="窗口人员离岗",
                                                  data={"acceptance": "accept"}))
    s.at("2026-03-10T12:00").do("admin", CorrectCaseData(case=s.number, data={"review_result": "pass"},
                                                         reason="口头确认审查通过"))
    s.at("2026-03-11T09:00").do("admin", TerminateCase(case=s.number, reason="申请人已注销"))


SCENARIOS: dict[str, Callable[[Story], None]] = {f.__name__: f for f in (
    straight_grant, refused_at_acceptance, supplement_then_deny, deemed_acceptance, inspection_pause,
    extension, cards_and_escalation, item_deemed_approval, claim_and_release, backup_stands_in,
    returned_and_taken_back, joint_parallel,
    joint_department_defaults, provisional_year, deemed_step_fails, joint_extension, second_notice,
    administrator_operations)}


def record(db: Database, name: str) -> dict:
    """Run one scenario on an empty, seeded database and export its case."""
    with db.transaction() as session:
        seed(session, FixedClock("2026-03-01T09:00:00+08:00").now())
        seed_from_chinesecalendar(session)
    story = Story(db, name)
    SCENARIOS[name](story)
    with db.reader() as session:
        return export_case(session, get_case(session, story.number))


def dump(history: dict) -> str:
    return json.dumps(history, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main() -> None:
    import tempfile

    from engine import people

    people.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    with tempfile.TemporaryDirectory() as tmp:
        for name in SCENARIOS:
            db = Database(f"sqlite:///{tmp}/{name}.db")
            db.create_schema()
            (HERE / f"{name}.json").write_text(dump(record(db, name)), encoding="utf-8")
            db.dispose()
            print(f"recorded {name}.json")


if __name__ == "__main__":
    main()
