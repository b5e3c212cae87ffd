"""Printed official documents (文书): one A4 page per document, for those who may read the case.

The engine decides what a document says and whether it exists yet
(``engine.read.documents``); a route only finds the case, asks and renders.
"""
from __future__ import annotations

from flask import Blueprint, g, render_template, url_for

from engine.errors import NotFound
from engine.read.documents import RECEIPT, document_list, document_view
from engine.read.views import readable_case
from engine.store.enums import DocumentKind

from .auth import login_required
from .context import get_db

bp = Blueprint("documents", __name__, url_prefix="/cases/<number>/documents")

#: the template of each kind (the two refusals share the layout of their remedies)
TEMPLATES = {RECEIPT: "receipt.html", DocumentKind.ACCEPTANCE_NOTICE: "acceptance_notice.html",
             DocumentKind.REFUSAL_NOTICE: "refusal.html", DocumentKind.SUPPLEMENT_NOTICE: "supplement_notice.html",
             DocumentKind.GRANT_DECISION: "grant_decision.html", DocumentKind.DENIAL_DECISION: "refusal.html"}


def case_documents(number: str) -> list[dict]:
    """The documents a page links to (the case page, the acceptance step's page)."""
    with get_db().reader() as session:
        return document_list(session, readable_case(session, g.actor, number))


@bp.route("/<kind>")
@bp.route("/<kind>/<int:n>")
@login_required
def show(number: str, kind: str, n: int = 1):
    with get_db().reader() as session:
        case = readable_case(session, g.actor, number)
        try:
            doc = document_view(session, case, kind, n)
        except NotFound as exc:  # not issued (yet): say so, with the way back to the case
            back = {"url": url_for("cases.show", number=case.number, _anchor="documents"), "label": "返回办件"}
            return render_template("error.html", message=exc.message, back=back), 404
    return render_template(f"documents/{TEMPLATES[kind]}", doc=doc, applicant=doc["application"]["applicant"])
