"""The organisation (engine/commands/organisation.py, engine/organisation.py): every rule of the
department tree, of users, roles, deactivation with reassignment, password resets and AB岗, each
change recorded in administration_acts; the case history records a reassigned task."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli.main import main as cli
from engine import Actor, NotAllowed
from engine.commands import (AddDepartment, AddUser, ClaimTask, DeactivateDepartment, DeactivateUser, DelegateTask,
                             EditUser, MoveDepartment, ReactivateDepartment, ReactivateUser, ReassignTask,
                             RenameDepartment, ResetPassword, SetBackup)
from engine.errors import ApprovalError, BadInput, Conflict
from engine.organisation import deactivate_user, department_tree, list_users, team_view, user_view
from engine.people import actor_for, authenticate, change_password
from engine.read.queries import case_history
from engine.read.views import history_view
from engine.store.models import AdministrationAct, Case, Department, HistoryEntry, LoginFailure, Message, Task, User
from web import create_app

from .helpers import csrf_of, login


def acts(db):
    with db.reader() as session:
        return [(a.command, a.actor, a.inputs, a.payload) for a in session.scalars(
            select(AdministrationAct).order_by(AdministrationAct.id))]


def user(db, username):
    with db.reader() as session:
        row = session.scalar(select(User).where(User.username == username))
        return {"active": row.active, "roles": row.role_codes, "department": row.department.code,
                "name": row.display_name, "backup": row.backup.username if getattr(row, "backup", None) else row.backup_id,
                "away": row.away, "must_change": row.must_change_password}


def entry_case(session, entry):
    return session.get(Case, entry.case_id)


def refused(flow, command, actor="admin", error=ApprovalError):
    before = acts(flow.db)
    with pytest.raises(error) as exc:
        flow.engine.execute(command, flow.actors[actor] if isinstance(actor, str) else actor)
    assert acts(flow.db) == before, "a refused change records nothing"
    return exc.value.message


# ---------------------------------------------------------------- departments

def test_an_administrator_adds_a_department_under_a_parent_and_the_act_is_recorded(flow):
    row = flow.engine.execute(AddDepartment(code="xz2", name="某乡人民政府", parent="county", level="township"),
                              flow.actors["admin"])
    assert row.code == "xz2"
    tree = {d["code"]: d for d in department_tree_of(flow.db)}
    assert tree["xz2"]["parent"] == "county" and tree["xz2"]["depth"] == tree["county"]["depth"] + 1
    assert tree["xz2"]["path"] == ["某市人民政府", "某县人民政府", "某乡人民政府"]
    (act,) = acts(flow.db)
    assert act == ("add_department", "admin", {"code": "xz2", "name": "某乡人民政府", "parent": "county",
                                               "level": "township", "official_name": ""},
                   {"department": "xz2", "name": "某乡人民政府", "parent": "county"})


def department_tree_of(db):
    with db.reader() as session:
        return department_tree(session)


@pytest.mark.parametrize("command, message", [
    (AddDepartment(code="", name="某部门"), "部门代码不能为空"),
    (AddDepartment(code="a b", name="某部门"), "只能包含字母"),
    (AddDepartment(code="x1", name="  "), "部门名称不能为空"),
    (AddDepartment(code="scjg", name="另一个局"), "部门代码 scjg 已存在"),
    (AddDepartment(code="x1", name="市民政局", parent="city"), "已有名为“市民政局”的部门"),
    (AddDepartment(code="x1", name="某部门", parent="nowhere"), "上级部门 nowhere 不存在"),
    (AddDepartment(code="x1", name="某部门", parent="village", level="city"), "高于上级部门"),
    (AddDepartment(code="x1", name="某部门", level="galaxy"), "层级 galaxy 无效"),
    (RenameDepartment(code="mz", name="市民政局", official_name="某市民政局"), "名称没有变化"),
    (RenameDepartment(code="mz", name=""), "部门名称不能为空"),
    (RenameDepartment(code="mz", name="市卫生健康委员会"), "已有名为“市卫生健康委员会”的部门"),
    (MoveDepartment(code="county", parent="village"), "会形成循环"),
    (MoveDepartment(code="county", parent="county"), "会形成循环"),
    (MoveDepartment(code="county", parent="city"), "上级部门没有变化"),
    (MoveDepartment(code="township", parent="village"), "会形成循环"),
    (DeactivateDepartment(code="scjg"), "在岗人员"),
    (DeactivateDepartment(code="county"), "下级部门"),
    (ReactivateDepartment(code="mz"), "没有停用"),
])
def test_bad_department_changes_are_refused_in_chinese_with_nothing_changed(flow, command, message):
    assert message in refused(flow, command)


def test_a_department_is_renamed_moved_deactivated_and_reactivated(flow):
    admin = flow.actors["admin"]
    flow.engine.execute(RenameDepartment(code="village", name="某村党群服务中心", official_name="某村党群服务中心"), admin)
    flow.engine.execute(AddDepartment(code="town2", name="另一镇人民政府", parent="county", level="township"), admin)
    flow.engine.execute(MoveDepartment(code="village", parent="town2"), admin)
    tree = {d["code"]: d for d in department_tree_of(flow.db)}
    assert tree["village"]["parent"] == "town2" and tree["village"]["name"] == "某村党群服务中心"
    flow.engine.execute(DeactivateDepartment(code="village"), admin)
    assert "已停用" in refused(flow, AddUser(username="cunyuan", display_name="村员", department="village",
                                             roles=("window_clerk",)))
    assert "已停用" in refused(flow, AddDepartment(code="zu", name="村民小组", parent="village"))
    flow.engine.execute(DeactivateDepartment(code="town2"), admin)  # its only sub-department is inactive
    assert "请先启用上级部门" in refused(flow, ReactivateDepartment(code="village"))
    assert [c for c, *_ in acts(flow.db)] == ["rename_department", "add_department", "move_department",
                                              "deactivate_department", "deactivate_department"]


def test_deactivating_a_department_lists_what_blocks_it(flow):
    admin = flow.actors["admin"]
    message = refused(flow, DeactivateDepartment(code="scjg"), error=Conflict)
    assert "在岗人员 4 人" in message and "赵负责" in message and "主管事项" in message
    flow.engine.execute(AddDepartment(code="empty", name="空部门", parent="city"), admin)
    flow.engine.execute(AddUser(username="kong", display_name="孔空", department="empty", roles=("reviewer",)), admin)
    assert "在岗人员 1 人（孔空）" in refused(flow, DeactivateDepartment(code="empty"), error=Conflict)
    flow.engine.execute(DeactivateUser(username="kong"), admin)
    flow.engine.execute(DeactivateDepartment(code="empty"), admin)
    assert "已停用" in refused(flow, DeactivateDepartment(code="empty"))
    assert "已停用" in refused(flow, ReactivateUser(username="kong"))
    flow.engine.execute(ReactivateDepartment(code="empty"), admin)
    flow.engine.execute(ReactivateUser(username="kong"), admin)
    assert [c for c, *_ in acts(flow.db)] == ["add_department", "add_user", "deactivate_user", "deactivate_department",
                                              "reactivate_department", "reactivate_user"]


def test_a_department_with_waiting_tasks_cannot_be_deactivated(flow):
    admin = flow.actors["admin"]
    flow.engine.execute(AddDepartment(code="solo", name="独立科室", parent="city"), admin)
    case = flow.start()
    with flow.db.transaction() as session:  # its task waits in the new department, as a process there would
        row = session.scalar(select(Task).where(Task.case_id == case.id, Task.state == "ready"))
        row.department_id = session.scalar(select(Department.id).where(Department.code == "solo"))
    assert "待办 1 件" in refused(flow, DeactivateDepartment(code="solo"), error=Conflict)


# ---------------------------------------------------------------- users

def test_an_administrator_adds_a_user_with_a_temporary_password_that_must_be_changed(flow):
    created, temporary = flow.engine.execute(
        AddUser(username="xin", display_name="辛新", department="mz", roles=("reviewer", "审查员"),
                temporary_password=True), flow.actors["admin"])
    assert created.username == "xin" and len(temporary) >= 12
    assert user(flow.db, "xin")["roles"] == ["reviewer"] and user(flow.db, "xin")["must_change"]
    (act,) = acts(flow.db)
    assert act[0] == "add_user" and "password" not in act[2] and temporary not in str(act)
    assert act[3] == {"user": "xin", "department": "mz", "roles": ["reviewer"], "password": "temporary"}
    with flow.db.transaction() as session:
        assert authenticate(session, "xin", temporary) is not None
        change_password(session, "xin", temporary, "新的密码12345", "新的密码12345", at=flow.engine.now())
    assert not user(flow.db, "xin")["must_change"]


@pytest.mark.parametrize("command, message", [
    (AddUser(username="shencha", display_name="重名", department="scjg", roles=("reviewer",)), "登录名 shencha 已被使用"),
    (AddUser(username="", display_name="无名", department="scjg", roles=("reviewer",)), "登录名不能为空"),
    (AddUser(username="张三", display_name="张三", department="scjg", roles=("reviewer",)), "登录名 张三 无效"),
    (AddUser(username="x1", display_name=" ", department="scjg", roles=("reviewer",)), "姓名不能为空"),
    (AddUser(username="x1", display_name="某某", department="", roles=("reviewer",)), "请选择部门"),
    (AddUser(username="x1", display_name="某某", department="nowhere", roles=("reviewer",)), "部门 nowhere 不存在"),
    (AddUser(username="x1", display_name="某某", department="scjg", roles=()), "请至少选择一个角色"),
    (AddUser(username="x1", display_name="某某", department="scjg", roles=("king",)), "未知角色 king"),
    (EditUser(username="shencha", display_name="李审查", department="scjg", roles=("reviewer",)), "没有需要保存的修改"),
    (EditUser(username="shencha", display_name="", department="scjg", roles=("reviewer",)), "姓名不能为空"),
    (EditUser(username="nobody", display_name="某", department="scjg", roles=("reviewer",)), "用户 nobody 不存在"),
    (EditUser(username="admin", display_name="钱管理", department="zwfw", roles=("designer",)), "最后一位管理员"),
    (DeactivateUser(username="admin"), "不能停用自己的账号"),
    (ResetPassword(username="nobody"), "用户 nobody 不存在"),
    (ReactivateUser(username="shencha"), "没有停用"),
])
def test_bad_user_changes_are_refused_in_chinese_with_nothing_changed(flow, command, message):
    assert message in refused(flow, command)


def test_the_last_administrator_cannot_be_deactivated(flow):
    admin = flow.actors["admin"]
    flow.engine.execute(AddUser(username="admin2", display_name="二管理", department="zwfw", roles=("admin",)), admin)
    with flow.db.reader() as session:
        second = actor_for(session, "admin2")
    flow.engine.execute(DeactivateUser(username="admin"), second)
    assert "最后一位管理员" in refused(flow, DeactivateUser(username="admin2"), actor=Actor.system("cli"))


def test_edit_moves_a_user_and_unties_ab_pairs_that_no_longer_hold(flow):
    admin = flow.actors["admin"]
    flow.engine.execute(SetBackup(username="shencha", backup="shencha_b", away=True), flow.actors["shencha"])
    assert user(flow.db, "shencha")["away"]
    flow.engine.execute(EditUser(username="shencha_b", display_name="卫审查", department="mz", roles=("reviewer",)), admin)
    assert user(flow.db, "shencha_b")["department"] == "mz"
    assert not user(flow.db, "shencha")["away"]  # its backup left: back, and told
    with flow.db.reader() as session:
        told = session.scalar(select(Message.title).join(User, Message.user_id == User.id)
                              .where(User.username == "shencha", Message.kind == "backup"))
    assert "B 岗已被取消" in told
    assert acts(flow.db)[-1][3]["untied_backups"] == ["shencha"]


# ---------------------------------------------------------------- deactivation with reassignment

def test_deactivating_a_user_reassigns_each_open_task_in_its_case_history(flow):
    admin = flow.actors["admin"]
    claimed, delegated = flow.start(), flow.start()
    for case in (claimed, delegated):
        flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    flow.engine.execute(ClaimTask(task=flow.task_of("shencha", claimed.number).id), flow.actors["shencha"])
    flow.engine.execute(DelegateTask(task=flow.task_of("shencha", delegated.number).id, to="fuzeren"),
                        flow.actors["shencha"])
    with flow.db.reader() as session:
        view = user_view(session, "shencha")
    assert [(t["case"], t["candidates"]) for t in view["tasks"]] == [
        (claimed.number, [("shencha_b", "卫审查")]), (delegated.number, [("shencha_b", "卫审查")])]
    assert "未改派" in refused(flow, DeactivateUser(username="shencha"), error=Conflict)
    with pytest.raises(BadInput, match="请为每件待办选择改派对象"):
        deactivate_user(flow.engine, admin, "shencha", {view["tasks"][0]["id"]: "shencha_b"})
    with pytest.raises(BadInput, match="不是 市市场监督管理局 的审查员"):
        flow.engine.execute(ReassignTask(task=view["tasks"][0]["id"], holder="shencha", to="chuangkou"), admin)
    result = deactivate_user(flow.engine, admin, "shencha", {t["id"]: "shencha_b" for t in view["tasks"]},
                             reason="调离")
    assert result["user"] == "shencha" and not user(flow.db, "shencha")["active"]
    with flow.db.reader() as session:
        tasks = {t.case.number: t for t in session.scalars(select(Task).where(Task.state == "ready", Task.role == "reviewer"))}
        assert tasks[claimed.number].assignee.username == "shencha_b"
        assert tasks[delegated.number].delegated_by.username == "shencha_b"  # comes back to the new holder
        assert tasks[delegated.number].assignee.username == "fuzeren"
        entry = session.scalar(select(HistoryEntry).where(HistoryEntry.command == "reassign_task")
                               .order_by(HistoryEntry.id).limit(1))
        assert entry.actor == "admin" and entry.inputs["holder"] == "shencha" and entry.inputs["to"] == "shencha_b"
        assert entry.inputs["reason"] == "人员停用：调离"
        shown = [h for h in history_view(session, entry_case(session, entry)) if h["what"] == "改派"]
        assert shown[0]["details"] == "由 李审查 改派给 卫审查" and shown[0]["said"] == "人员停用：调离"
        assert shown[0]["who"] == "钱管理"
    assert acts(flow.db)[-1][0] == "deactivate_user"
    with flow.db.transaction() as session:
        assert authenticate(session, "shencha", "demo123") is None


def test_the_last_holder_of_a_role_with_waiting_tasks_cannot_leave(flow):
    flow.start()  # waits at scjg's window, and chuangkou is its only 窗口受理员
    message = refused(flow, DeactivateUser(username="chuangkou"), error=Conflict)
    assert "将没有在岗的窗口受理员" in message and "1 件待办" in message
    assert "将没有在岗的窗口受理员" in refused(flow, EditUser(username="chuangkou", display_name="王窗口",
                                                            department="scjg", roles=("reviewer",)), error=Conflict)


def test_a_task_goes_back_to_the_shared_inbox_and_only_from_its_holder(flow):
    case = flow.start()
    flow.complete("chuangkou", {"acceptance": "accept"}, number=case.number)
    task = flow.task_of("shencha", case.number).id
    flow.engine.execute(ClaimTask(task=task), flow.actors["shencha"])
    assert "不在 卫审查 名下" in refused(flow, ReassignTask(task=task, holder="shencha_b", to="shencha"), error=BadInput)
    assert "只有管理员" in refused(flow, ReassignTask(task=task, holder="shencha", to="shencha_b"), actor="fuzeren",
                                  error=NotAllowed)
    flow.engine.execute(ReassignTask(task=task, holder="shencha", to=""), flow.actors["admin"])
    with flow.db.reader() as session:
        assert session.get(Task, task).assignee_id is None
        assert [e.command for e in case_history(session, case)][-1] == "reassign_task"


# ---------------------------------------------------------------- passwords

def test_a_password_reset_is_shown_once_never_recorded_and_clears_the_throttle(flow):
    with flow.db.transaction() as session:
        session.add(LoginFailure(key="user:shencha", failures=9, last_failure_at=flow.engine.now(),
                                 blocked_until=flow.engine.now()))
    temporary = flow.engine.execute(ResetPassword(username="shencha"), flow.actors["admin"])
    assert len(temporary) == 12 and temporary.isalnum()
    (act,) = acts(flow.db)
    assert act == ("reset_password", "admin", {"username": "shencha"}, {"user": "shencha"})
    assert user(flow.db, "shencha")["must_change"]
    with flow.db.transaction() as session:
        assert session.get(LoginFailure, "user:shencha") is None
        assert authenticate(session, "shencha", "demo123") is None
        assert authenticate(session, "shencha", temporary) is not None
        with pytest.raises(BadInput, match="至少 8 个字符"):  # the usual rules still hold
            change_password(session, "shencha", temporary, "short", "short", at=flow.engine.now())
    with flow.db.transaction() as session:
        with pytest.raises(BadInput, match="与当前密码相同"):
            change_password(session, "shencha", temporary, temporary, temporary, at=flow.engine.now())
    assert "只有管理员" in refused(flow, ResetPassword(username="shencha"), actor="fuzeren", error=NotAllowed)


# ---------------------------------------------------------------- AB岗

def test_a_head_sets_backups_for_their_own_staff_only(flow):
    flow.engine.execute(SetBackup(username="shencha", backup="shencha_b"), flow.actors["fuzeren"])
    assert user(flow.db, "shencha")["backup"] is not None
    assert "只有本人、市民政局 的负责人或管理员" in refused(
        flow, SetBackup(username="mz_shencha", backup=""), actor="fuzeren", error=NotAllowed)
    assert "只有本人" in refused(flow, SetBackup(username="shencha", backup=""), actor="shencha_b", error=NotAllowed)
    assert "没有与 李审查 相同的岗位角色" in refused(flow, SetBackup(username="shencha", backup="chuangkou"),
                                                    actor="fuzeren")
    assert "B 岗须为本部门" in refused(flow, SetBackup(username="shencha", backup="mz_shencha"), actor="admin")
    assert "还没有指定 B 岗" in refused(flow, SetBackup(username="chuangkou", backup="", away=True), actor="fuzeren")
    with flow.db.reader() as session:
        team = team_view(session, "scjg")
    row = next(r for r in team["staff"] if r["username"] == "shencha")
    assert row["backup"] == "shencha_b" and row["options"] == [("shencha_b", "卫审查")]
    assert [(c, a) for c, a, *_ in acts(flow.db)] == [("set_backup", "fuzeren")]


def test_the_user_list_searches_and_filters(flow):
    with flow.db.reader() as session:
        assert {u["username"] for u in list_users(session, text="审查", department="scjg")["users"]} == {
            "shencha", "shencha_b"}
        assert [u["username"] for u in list_users(session, text="shencha_")["users"]] == ["shencha_b"]
        assert {u["username"] for u in list_users(session, role="head", department="mz")["users"]} == {"mz_fuzeren"}
        assert list_users(session, active="no")["total"] == 0


# ---------------------------------------------------------------- the command line goes through the same commands

def test_the_command_line_adds_departments_and_users_through_the_recorded_commands(seeded):
    runner = CliRunner()
    url = seeded.url

    def run(*args, ok=True):
        result = runner.invoke(cli, ["--db", url, *args])
        assert (result.exit_code == 0) == ok, result.output
        return result

    run("department", "add", "xz3", "某街道办事处", "--parent", "county", "--level", "township")
    run("user", "add", "jd", "--role", "window_clerk", "--department", "xz3", "--display-name", "街道窗口",
        "--password", "jd-password")
    assert "登录名 jd 已被使用" in run("user", "add", "jd", "--role", "reviewer", "--department", "xz3", ok=False).output
    assert "会形成循环" in run("department", "move", "county", "--parent", "xz3", ok=False).output
    run("user", "backup", "shencha", "--to", "shencha_b")
    reset = run("user", "reset-password", "jd")
    assert "临时密码" in reset.output
    run("user", "deactivate", "jd")
    # an applicant's online-hall account (the demo's), after they showed their ID at the window
    assert "临时密码" in run("applicant", "reset-password", "110105198803152024").output
    assert "没有证件号码为" in run("applicant", "reset-password", "110105198803150000", ok=False).output
    assert [(c, a) for c, a, *_ in acts(seeded)] == [
        ("add_department", "system:cli"), ("add_user", "system:cli"), ("set_backup", "system:cli"),
        ("reset_password", "system:cli"), ("deactivate_user", "system:cli"), ("reset_applicant_password", "system:cli")]


# ---------------------------------------------------------------- the pages: who may open them, what a bad form says

@pytest.fixture
def web(seeded, engine):
    return create_app({"TESTING": True, "SECRET_KEY": "test"}, db=seeded, clock=engine.clock)


def test_only_administrators_open_the_organisation_and_heads_only_their_own_team(web, seeded):
    reviewer = login(web.test_client(), "shencha")
    assert reviewer.get("/admin/org/").status_code == 403
    assert reviewer.get("/admin/org/users").status_code == 403
    assert "只有部门负责人或管理员" in reviewer.get("/team").get_data(as_text=True)
    head = login(web.test_client(), "fuzeren")
    page = head.get("/team?department=mz").get_data(as_text=True)
    assert "市市场监督管理局" in page and "吴负责" not in page  # their own department, whatever is asked
    answer = head.post("/team", data={"csrf_token": csrf_of(page), "username": "mz_shencha", "backup": "",
                                      "department": "mz"})
    assert answer.status_code == 400 and "市民政局 的负责人" in answer.get_data(as_text=True)
    admin = login(web.test_client(), "admin")
    assert "吴负责" in admin.get("/team?department=mz").get_data(as_text=True)


def test_bad_organisation_forms_say_why_in_chinese_and_keep_what_was_typed(web, seeded):
    admin = login(web.test_client(), "admin")
    token = csrf_of(admin.get("/admin/org/users").get_data(as_text=True))
    answer = admin.post("/admin/org/users", data={"csrf_token": token, "username": "xin", "display_name": "  ",
                                                  "department": "mz", "roles": ["reviewer"]})
    assert answer.status_code == 400 and "姓名不能为空" in answer.get_data(as_text=True)
    assert 'value="xin"' in answer.get_data(as_text=True)
    answer = admin.post("/admin/org/users/admin", data={"csrf_token": token, "act": "deactivate"})
    assert answer.status_code == 400 and "不能停用自己的账号" in answer.get_data(as_text=True)
    answer = admin.post("/admin/org/departments/county", data={"csrf_token": token, "act": "move", "parent": "village"})
    assert answer.status_code == 400 and "会形成循环" in answer.get_data(as_text=True)
    assert admin.post("/admin/org/departments/county", data={"csrf_token": token, "act": "?"}).status_code == 400
    assert admin.get("/admin/org/departments/nowhere").status_code == 404
    assert admin.get("/admin/org/users/nobody").status_code == 404
    assert acts(seeded) == []


def test_a_temporary_password_leads_every_page_to_choosing_ones_own(web, seeded, engine):
    temporary = engine.execute(ResetPassword(username="shencha"), Actor.system("cli"))
    client = login(web.test_client(), "shencha", temporary)
    for path in ("/", "/cases/search", "/me/", "/admin/org/"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/password/new"), path
    page = client.get("/password/new").get_data(as_text=True)
    assert "设置新密码" in page and "待办" not in page  # no way round it
    answer = client.post("/password/new", data={"csrf_token": csrf_of(page), "current": "wrong", "new": "abcdefgh1",
                                                "repeat": "abcdefgh1"})
    assert answer.status_code == 400 and "当前密码不正确" in answer.get_data(as_text=True)
    answer = client.post("/password/new", data={"csrf_token": csrf_of(page), "current": temporary,
                                                "new": "abcdefgh1", "repeat": "abcdefgh1"})
    assert answer.status_code == 302 and client.get("/").status_code == 200
    assert client.get("/password/new").status_code == 302  # done: nothing to choose any more
