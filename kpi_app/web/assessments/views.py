"""City data entry: assessments, category forms, city profile, import and export.

Thin views: each parses the request, authorises through `services.permissions`, validates
its form and calls the service that owns the work (`services.values`, `services.city_facts`,
`services.data_io`). Pages work without JavaScript; static/js/entry.js only adds a live
computed-value preview and a warning before leaving a form with unsaved changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from kpi_app.catalogue import Category
from kpi_app.extensions import login_manager
from kpi_app.models import Assessment, IndicatorValue
from kpi_app.services import (
    city_facts,
    data_io,
    due_dates,
    evidence,
    permissions,
    values,
    workflow,
)
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.numbers import format_number
from kpi_app.web import import_steps
from kpi_app.web.assessments import forms

bp = Blueprint("assessments", __name__, url_prefix="/assessments")

EXPORT_FORMATS = ("csv", "xlsx", "json")
PENDING_SESSION_KEY = "pending_imports"


@bp.before_request
def require_login() -> ResponseReturnValue | None:
    """Every page here shows unpublished data: log in first (Flask-Login's redirect)."""
    if not current_user.is_authenticated:
        redirect_to_login: ResponseReturnValue = login_manager.unauthorized()
        return redirect_to_login
    return None


def _assessment_for_viewing(assessment_id: int) -> Assessment:
    assessment = values.get_assessment(assessment_id)
    if assessment is None:
        abort(404)
    if not permissions.can_view_assessment(current_user, assessment):
        abort(403, description=_("You may not see this assessment."))
    return assessment


def _assessment_for_editing(assessment_id: int) -> Assessment:
    return import_steps.require_value_editing(current_user, _assessment_for_viewing(assessment_id))


def category_slug(category: Category) -> str:
    return category.id.lower().replace(": ", "-")


def _category(slug: str) -> Category:
    try:
        return current_catalogue().category(slug.replace("-", ": "))
    except KeyError:
        abort(404)


def _submit_url(assessment: Assessment) -> str | None:
    """The verification workflow's submit endpoint, when that module is installed."""
    endpoint = "verification.submit"
    if endpoint not in current_app.view_functions:
        return None
    rule = next(iter(current_app.url_map.iter_rules(endpoint)))
    arguments = sorted(rule.arguments)
    if len(arguments) != 1:
        return None
    parameters: dict[str, Any] = {arguments[0]: assessment.id}
    return url_for(endpoint, **parameters)


def _template_context(assessment: Assessment) -> dict[str, Any]:
    return {
        "assessment": assessment,
        "can_edit": permissions.can_edit_values(current_user, assessment),
        "category_slug": category_slug,
    }


def _submitted_and_valid(form: Any, domain_check: Callable[[], bool]) -> bool:
    """Run the field checks and the domain checks together, so all errors show at once."""
    if not form.is_submitted():
        return False
    fields_ok = form.validate()
    return bool(domain_check() and fields_ok)


# ----- index and opening a year -----------------------------------------------------------


@bp.route("/")
def index() -> ResponseReturnValue:
    form = _open_form()
    return render_template(
        "assessments/index.html",
        assessments=values.visible_assessments(current_user),
        form=form,
    )


def _open_form() -> forms.OpenAssessmentForm | None:
    cities = values.cities_user_may_open(current_user)
    if not cities:
        return None
    form = forms.OpenAssessmentForm()
    form.city.choices = [SelectChoice(str(city.id), city.name) for city in cities]
    return form


@bp.route("/open", methods=["POST"])
def open_year() -> ResponseReturnValue:
    form = _open_form()
    if form is None:
        abort(403, description=_("Only a city's editors or coordinators open reporting years."))
    if form.validate_on_submit():
        city = next(c for c in values.cities_user_may_open(current_user) if c.id == form.city.data)
        year_text = (form.year.data or "").strip()
        try:
            if not year_text.isdigit():
                raise values.ValuesError(_("Enter a year such as 2025."))
            assessment = values.open_assessment(city, int(year_text), current_user)
        except values.ValuesError as error:
            form.year.errors = [*form.year.errors, str(error)]
        else:
            flash(_("Reporting year %(year)s opened.", year=assessment.year), "success")
            return redirect(url_for("assessments.show", assessment_id=assessment.id))
    return render_template(
        "assessments/index.html",
        assessments=values.visible_assessments(current_user),
        form=form,
    ), 400


# ----- one assessment -----------------------------------------------------------------------


@bp.route("/<int:assessment_id>")
def show(assessment_id: int) -> ResponseReturnValue:
    assessment = _assessment_for_viewing(assessment_id)
    progress = values.assessment_progress(assessment)
    gaps = workflow.submission_gaps(assessment)
    return render_template(
        "assessments/show.html",
        progress=progress,
        facts=city_facts.facts_for(assessment.city_id, assessment.year),
        submit_url=_submit_url(assessment),
        queries_url=_queries_url(assessment),
        gaps=gaps,
        gap_count=sum(len(gap.items) for gap in gaps),
        banner=workflow.status_banner(assessment),
        due=due_dates.summary(assessment),
        status_text=workflow.status_label(assessment.status),
        item_anchor=_item_anchor,
        **_template_context(assessment),
    )


def _item_anchor(code: str, data_point: str) -> str:
    """The id of an item's fieldset on its category form."""
    parts = code.lower().replace(":", " ").split()
    if data_point:
        parts.append(data_point.lower())
    return "item_" + "_".join(parts)


def _queries_url(assessment: Assessment) -> str | None:
    endpoint = "verification.city_queries"
    if endpoint not in current_app.view_functions:
        return None
    rule = next(iter(current_app.url_map.iter_rules(endpoint)))
    arguments = sorted(rule.arguments)
    parameters: dict[str, Any] = {arguments[0]: assessment.id}
    return url_for(endpoint, **parameters) if len(arguments) == 1 else None


@bp.route("/<int:assessment_id>/categories/<slug>", methods=["GET", "POST"])
def category(assessment_id: int, slug: str) -> ResponseReturnValue:
    assessment = _assessment_for_viewing(assessment_id)
    chosen = _category(slug)
    if request.method == "POST":
        _assessment_for_editing(assessment_id)
    state = values.category_state(assessment, chosen)
    form_class = forms.category_form_class(current_catalogue(), chosen)
    if request.method == "POST":
        form = form_class()
    else:
        form = form_class(formdata=None, data=forms.initial_data(state))
    conflicts: list[values.Conflict] = []
    if _submitted_and_valid(form, lambda: forms.check_form(form, state)):
        entries, readings = forms.read_entries(form, state)
        try:
            result = values.save_entries(assessment, entries, current_user)
        except values.ValuesError as error:
            abort(403, description=str(error))
        conflicts = result.conflicts
        saved = set(result.saved)
        for reading in (r for r in readings if r.key in saved):
            flash(
                _(
                    "%(label)s, %(field)s: “%(text)s” was read as %(value)s (%(how)s).",
                    label=reading.label,
                    field=reading.field,
                    text=reading.text,
                    value=reading.value,
                    how=reading.how,
                ),
                "info",
            )
        if not conflicts:
            flash(_("Saved: %(count)s item(s) changed.", count=len(result.saved)), "success")
            return redirect(url_for("assessments.category", assessment_id=assessment.id, slug=slug))
        flash(_("Some values were changed by someone else: see below."), "warning")
        forms.refresh_versions(form, conflicts)
        state = values.category_state(assessment, chosen)
    status = 409 if conflicts else (400 if request.method == "POST" else 200)
    order = list(current_catalogue().categories)
    position = next(n for n, c in enumerate(order) if c.id == chosen.id)
    return render_template(
        "assessments/category.html",
        progress=values.assessment_progress(assessment),
        previous_category=order[position - 1] if position > 0 else None,
        next_category=order[position + 1] if position + 1 < len(order) else None,
        position=position + 1,
        category_count=len(order),
        category=chosen,
        slug=slug,
        state=state,
        form=form,
        conflicts={(c.code, c.data_point): c for c in conflicts},
        field_names={(code, point): name for name, code, point in form.item_fields},
        plain=format_number,
        evidence_files=evidence.for_assessment(assessment.id),
        **_template_context(assessment),
    ), status


# ----- city profile -------------------------------------------------------------------------


@bp.route("/<int:assessment_id>/profile", methods=["GET", "POST"])
def profile(assessment_id: int) -> ResponseReturnValue:
    assessment = _assessment_for_viewing(assessment_id)
    if request.method == "POST":
        _assessment_for_editing(assessment_id)
        form = forms.FactsForm()
    else:
        stored = city_facts.facts_for(assessment.city_id, assessment.year)
        start = stored or city_facts.previous_facts(assessment.city_id, assessment.year)
        form = forms.FactsForm(
            formdata=None, data=forms.facts_initial(city_facts.facts_input(start))
        )
        if stored is None and start is not None:
            flash(
                _("Pre-filled from %(year)s: check and save the figures.", year=start.year),
                "info",
            )
    if _submitted_and_valid(form, form.check):
        result = city_facts.save_facts(assessment, form.facts_input(), current_user)
        message = _("City profile saved.")
        if result.values_updated:
            message += " " + _(
                "%(count)s KPI value(s) that used the old figures were recomputed.",
                count=result.values_updated,
            )
        flash(message, "success")
        return redirect(url_for("assessments.show", assessment_id=assessment.id))
    return render_template(
        "assessments/profile.html", form=form, **_template_context(assessment)
    ), (400 if request.method == "POST" else 200)


# ----- export -------------------------------------------------------------------------------


@bp.route("/<int:assessment_id>/export.<fmt>")
def export(assessment_id: int, fmt: str) -> ResponseReturnValue:
    assessment = _assessment_for_viewing(assessment_id)
    if fmt not in EXPORT_FORMATS:
        abort(404)
    content, mimetype, filename = data_io.export_bytes(assessment, fmt)
    response = Response(content, content_type=mimetype)  # verbatim: one charset
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ----- import -------------------------------------------------------------------------------


@bp.route("/<int:assessment_id>/import", methods=["GET", "POST"])
def upload(assessment_id: int) -> ResponseReturnValue:
    assessment = _assessment_for_editing(assessment_id)
    form = forms.UploadForm()
    if form.validate_on_submit():
        try:
            step = import_steps.check_upload(
                assessment, form.file.data, current_user, data_io, PENDING_SESSION_KEY
            )
        except data_io.UploadRejected as error:
            form.file.errors = [*form.file.errors, str(error)]
        else:
            return _preview_page(assessment, step)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "assessments/import.html", form=form, **_template_context(assessment)
    ), status


@bp.route("/<int:assessment_id>/import/confirm", methods=["POST"])
def confirm_import(assessment_id: int) -> ResponseReturnValue:
    assessment = _assessment_for_editing(assessment_id)
    return import_steps.confirm_response(
        assessment,
        forms.ConfirmImportForm(),
        current_user,
        data_io,
        PENDING_SESSION_KEY,
        again_url=url_for("assessments.upload", assessment_id=assessment.id),
        done_url=url_for("assessments.show", assessment_id=assessment.id),
        preview=lambda step: _preview_page(assessment, step),
    )


def _preview_page(assessment: Assessment, step: import_steps.Step) -> ResponseReturnValue:
    return render_template(
        "assessments/import_preview.html",
        report=step.report,
        conflicts=step.conflicts,
        filename=step.upload.filename,
        notes=step.upload.notes,
        confirm=forms.ConfirmImportForm(formdata=None, data={"token": step.token}),
        token=step.token,
        **_template_context(assessment),
    ), step.status


# ----- evidence files (issue 15) ------------------------------------------------------------


def _value_for_viewing(value_id: int) -> IndicatorValue:
    """A value the user may see; any other is 404 (its existence is not revealed)."""
    item = workflow.get_value(value_id)
    if item is None or not permissions.can_view_assessment(current_user, item.assessment):
        abort(404)
    return item


def _render_evidence(
    item: IndicatorValue, form: forms.EvidenceForm | None = None, status: int = 200
) -> ResponseReturnValue:
    assessment = item.assessment
    try:
        category = current_catalogue().indicator(item.code).category
        back = url_for(
            "assessments.category",
            assessment_id=assessment.id,
            slug=category.lower().replace(": ", "-"),
        )
    except KeyError:
        back = url_for("assessments.show", assessment_id=assessment.id)
    return render_template(
        "assessments/evidence.html",
        v=item,
        label=workflow.item_label(item),
        files=evidence.for_value(item),
        form=form or forms.EvidenceForm(formdata=None),
        remove_form=forms.RemoveEvidenceForm(formdata=None),
        back=back,
        max_size=evidence.human_size(evidence.max_bytes()),
        accept=evidence.ACCEPT,
        human_size=evidence.human_size,
        **_template_context(assessment),
    ), status


@bp.route("/values/<int:value_id>/evidence", methods=["GET", "POST"])
def value_evidence(value_id: int) -> ResponseReturnValue:
    item = _value_for_viewing(value_id)
    if request.method == "GET":
        return _render_evidence(item)
    if not permissions.can_edit_values(current_user, item.assessment):
        abort(403, description=_("You may not add evidence to this value now."))
    # This route alone accepts files up to the evidence limit (plus the form around them).
    request.max_content_length = evidence.max_bytes() + 64 * 1024
    form = forms.EvidenceForm()
    if not form.validate_on_submit():
        return _render_evidence(item, form, 400)
    upload = form.file.data
    try:
        data = upload.stream.read(evidence.max_bytes() + 1)
    finally:
        upload.close()  # a large upload is spooled to a temporary file: release it now
    try:
        added = evidence.attach(item, current_user, upload.filename or "", data)
    except evidence.EvidenceRejected as error:
        form.file.errors = [*form.file.errors, str(error)]
        return _render_evidence(item, form, 400)
    flash(_("Attached %(name)s.", name=added.filename), "success")
    return redirect(url_for("assessments.value_evidence", value_id=item.id))


@bp.route("/evidence/<int:evidence_id>/download")
def evidence_download(evidence_id: int) -> ResponseReturnValue:
    found = evidence.get(evidence_id)
    if found is None or not permissions.can_view_assessment(current_user, found.value.assessment):
        abort(404)
    if found.deleted_at is not None and not permissions.can_coordinate(current_user):
        abort(404)
    try:
        path = evidence.path_for(found.sha256)
        if not path.is_file():
            raise FileNotFoundError(path)
    except (ValueError, FileNotFoundError):
        abort(404, description=_("The stored file is missing; an administrator can restore it."))
    response = send_file(
        path,
        mimetype=found.media_type,
        as_attachment=True,
        download_name=found.filename,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/evidence/<int:evidence_id>/remove", methods=["POST"])
def remove_evidence(evidence_id: int) -> ResponseReturnValue:
    found = evidence.get(evidence_id)
    if found is None or not permissions.can_view_assessment(current_user, found.value.assessment):
        abort(404)
    if not forms.RemoveEvidenceForm().validate_on_submit():
        abort(400)
    evidence.remove(found, current_user)
    flash(_("Removed %(name)s (the file is kept in the audit trail).", name=found.filename), "info")
    return redirect(url_for("assessments.value_evidence", value_id=found.value_id))
