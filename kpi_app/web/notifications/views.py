"""The notifications list (/notifications), mark-as-read, and the unread count in the header."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from kpi_app.models import Notification
from kpi_app.services import notifications

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.app_context_processor
def inject_unread() -> dict[str, object]:
    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        return notifications.unread_count(current_user._get_current_object())

    return {"unread_notifications": unread_notifications}


def _link(note: Notification) -> str | None:
    if note.assessment_id is None:
        return None
    return url_for(notifications.link_endpoint(note.kind), assessment_id=note.assessment_id)


@bp.route("/")
@login_required
def index() -> str:
    user = current_user._get_current_object()
    return render_template(
        "notifications/index.html",
        items=[
            (note, notifications.message_text(note.kind, note.params), _link(note))
            for note in notifications.for_user(user)
        ],
        form=FlaskForm(),
    )


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int) -> Response:
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not notifications.mark_read(current_user._get_current_object(), notification_id):
        flash(_("That notification is already read or is not yours."), "info")
    return redirect(url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def mark_all_read() -> Response:
    if not FlaskForm().validate_on_submit():
        abort(400)
    count = notifications.mark_read(current_user._get_current_object())
    flash(_("%(n)d notifications marked as read.", n=count), "success")
    return redirect(url_for("notifications.index"))
