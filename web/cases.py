"""The case view: tasks and the timeline of the history."""
from __future__ import annotations

from flask import Blueprint, g, render_template
from sqlalchemy import select

from engine.errors import NotAllowed
from engine.models import Task
from engine.queries import case_dict, case_history, get_case, history_dict

from .auth import login_required

bp = Blueprint("cases", __name__, url_prefix="/cases")

OVERSIGHT_ROLES = {"supervisor", "admin"}


@bp.route("/<number>")
@login_required
def show(number: str):
    from . import get_db

    with get_db().reader() as session:
        case = get_case(session, number)
        departments = set(session.scalars(select(Task.department_id).where(Task.case_id == case.id)))
        departments.add(case.item.department_id)
        if g.actor.department_id not in departments and not (g.actor.roles & OVERSIGHT_ROLES):
            raise NotAllowed("您所在的部门没有参与办理该办件")
        out = case_dict(session, case)
        history = [history_dict(h) for h in case_history(session, case)]
    return render_template("case.html", case=out, history=history)
