"""The in-app message box (站内消息): warnings, cards, escalations."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlalchemy import update

from engine.store.models import Message
from engine.read.queries import messages

from .auth import login_required

bp = Blueprint("messages", __name__, url_prefix="/messages")


@bp.route("/")
@login_required
def index():
    from . import get_db

    with get_db().reader() as session:
        rows = messages(session, g.actor.user_id, unread_only=request.args.get("unread") == "1")
    return render_template("messages.html", messages=rows)


@bp.route("/read", methods=["POST"])
@login_required
def mark_read():
    """Mark one message (``id``) or all of the user's messages as read."""
    from . import get_db, get_engine

    query = update(Message).where(Message.user_id == g.actor.user_id, Message.read_at.is_(None))
    message_id = request.form.get("id", type=int)
    if message_id is not None:
        query = query.where(Message.id == message_id)
    with get_db().transaction() as session:
        session.execute(query.values(read_at=get_engine().now()))
    return redirect(url_for("messages.index"))
