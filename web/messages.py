"""The in-app message box (站内消息): warnings, cards, escalations."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from engine import alerts
from engine.read.queries import messages

from .auth import login_required
from .context import get_db, get_engine

bp = Blueprint("messages", __name__, url_prefix="/messages")


@bp.route("/")
@login_required
def index():
    with get_db().reader() as session:
        rows = messages(session, g.actor.user_id, unread_only=request.args.get("unread") == "1", actor=g.actor)
    return render_template("messages.html", messages=rows)


@bp.route("/read", methods=["POST"])
@login_required
def mark_read():
    """Mark one message (``id``) or all of the user's messages as read."""
    with get_db().transaction() as session:
        alerts.mark_read(session, g.actor.user_id, get_engine().now(), request.form.get("id", type=int))
    return redirect(url_for("messages.index"))
