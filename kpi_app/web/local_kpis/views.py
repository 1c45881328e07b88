"""Local KPIs: a city's definitions (coordinators, or its editors when allowed), the values
form of an assessment with the verifiers' decisions, exports, and the city page's block.

Every view asks :mod:`kpi_app.services.local_kpis` (which authorises through
:mod:`kpi_app.services.permissions`). Unknown cities, codes and assessments answer 404;
a logged-in user without the right answers 403.
"""

from __future__ import annotations

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
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from kpi_app.models import Assessment, City
from kpi_app.services import (
    data_io,
    local_kpi_import,
    local_kpi_reports,
    local_kpis,
    permissions,
    reports,
    workflow,
)
from kpi_app.services.local_kpis import LocalKpiError, NotAllowed
from kpi_app.web import import_steps
from kpi_app.web.assessments.forms import ConfirmImportForm, UploadForm
from kpi_app.web.local_kpis.forms import (
    DIRECTION_LABELS,
    VALUE_TYPE_LABELS,
    VERIFIED_PAIRS,
    DecisionForm,
    PolicyForm,
    definition_form_class,
    definition_input,
    field_prefix,
    fill_definition,
    fill_values,
    value_inputs,
    values_form_class,
)
from kpi_app.web.verification.forms import options

bp = Blueprint("local_kpis", __name__)
#: Pending local imports of this session (token → assessment id), apart from the U4SSC ones,
#: so that a U4SSC preview can never be confirmed as a local one or the other way round.
PENDING_SESSION_KEY = "pending_local_imports"


def _lang() -> str:
    return str(get_locale() or "en")


def _languages() -> dict[str, str]:
    return dict(current_app.config["LANGUAGES"])


def _city(slug: str) -> City:
    city = local_kpis.find_city(slug)
    if city is None:
        abort(404)
    return city


def _assessment(assessment_id: int) -> Assessment:
    assessment = workflow.get_assessment(assessment_id)
    if assessment is None or not permissions.can_view_assessment(current_user, assessment):
        abort(404)
    return assessment


@bp.app_context_processor
def local_block_helper() -> dict[str, Any]:
    """``local_kpi_block()`` for the city page layout: the "Local KPIs" block, apart."""
    return {"local_kpi_block": city_page_block}


def city_page_block() -> Markup:
    """The local block of the city page being shown (empty elsewhere or without any)."""
    if request.endpoint != "dashboards.city":
        return Markup("")
    args = request.view_args or {}
    block = local_kpi_reports.city_block(
        str(args.get("slug", "")),
        args.get("year"),
        current_user,
        request.args.get("source"),
        _lang(),
    )
    if block is None:
        return Markup("")
    return Markup(
        render_template(
            "local_kpis/_city_block.html",
            block=block,
            wheel=local_kpi_reports.wheel_svg(block),
            band_labels=reports.translated_band_labels(),
        )
    )


# --- definitions ------------------------------------------------------------------------


@bp.route("/cities/<slug>/local-kpis")
@login_required
def definitions(slug: str) -> str:
    city = _city(slug)
    if not local_kpis.can_see_definitions(current_user, city):
        abort(403)
    policy = PolicyForm(editors_may_define=local_kpis.editors_may_define(city))
    return render_template(
        "local_kpis/definitions.html",
        city=city,
        kpis=local_kpis.city_kpis(city),
        can_define=local_kpis.can_define(current_user, city),
        can_coordinate=permissions.can_coordinate(current_user),
        policy=policy,
        lang=_lang(),
        direction_labels=DIRECTION_LABELS,
        value_type_labels=VALUE_TYPE_LABELS,
        text_in=local_kpis.text_in,
    )


@bp.route("/cities/<slug>/local-kpis/policy", methods=["POST"])
@login_required
def policy(slug: str) -> ResponseReturnValue:
    city = _city(slug)
    if not permissions.can_coordinate(current_user):
        abort(403)
    form = PolicyForm()
    if form.validate_on_submit():
        local_kpis.set_policy(city, bool(form.editors_may_define.data), current_user)
        flash(_("Saved."), "success")
    return redirect(url_for("local_kpis.definitions", slug=slug))


@bp.route("/cities/<slug>/local-kpis/new", methods=["GET", "POST"])
@login_required
def new(slug: str) -> ResponseReturnValue:
    city = _city(slug)
    if not local_kpis.can_define(current_user, city):
        abort(403)
    form = definition_form_class(_languages())()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            kpi = local_kpis.create_kpi(
                city, definition_input(form, _languages()), current_user, _languages()
            )
        except NotAllowed:
            abort(403)
        except LocalKpiError as error:
            problems = error.problems
        else:
            flash(_("Local KPI %(code)s defined.", code=kpi.full_code), "success")
            return redirect(url_for("local_kpis.definitions", slug=slug))
    return _definition_page(city, form, problems, None)


@bp.route("/cities/<slug>/local-kpis/<code>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, code: str) -> ResponseReturnValue:
    city = _city(slug)
    kpi = local_kpis.find_kpi(city, code)
    if kpi is None:
        abort(404)
    if not local_kpis.can_define(current_user, city):
        abort(403)
    form = definition_form_class(_languages())()
    if request.method == "GET":
        fill_definition(form, kpi, _languages())
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            changed = local_kpis.update_kpi(
                kpi, definition_input(form, _languages()), current_user, _languages()
            )
        except NotAllowed:
            abort(403)
        except LocalKpiError as error:
            problems = error.problems
        else:
            flash(_("Saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("local_kpis.definitions", slug=slug))
    return _definition_page(city, form, problems, kpi)


def _definition_page(city: City, form: Any, problems: list[str], kpi: Any) -> str:
    return render_template(
        "local_kpis/definition.html",
        city=city,
        form=form,
        problems=problems,
        kpi=kpi,
        languages=_languages(),
        example=local_kpis.full_code(city.slug, "WASTE-1"),
    )


# --- values and verification ------------------------------------------------------------


@bp.route("/assessments/<int:assessment_id>/local-kpis", methods=["GET", "POST"])
@login_required
def values(assessment_id: int) -> ResponseReturnValue:
    assessment = _assessment(assessment_id)
    kpis = local_kpis.city_kpis(assessment.city, active_only=True)
    can_edit = permissions.can_edit_values(current_user, assessment)
    form = values_form_class(kpis)()
    rows = local_kpis.values_of(assessment)
    problems: list[str] = []
    if request.method == "POST":
        if not can_edit:
            abort(403)
        if form.validate_on_submit():
            try:
                changed = local_kpis.save_values(assessment, value_inputs(form, kpis), current_user)
            except NotAllowed:
                abort(403)
            except LocalKpiError as error:
                problems = error.problems
            else:
                flash(_("%(n)d local KPI values saved.", n=changed), "success")
                return redirect(url_for("local_kpis.values", assessment_id=assessment_id))
    else:
        fill_values(form, kpis, rows)
    decision = DecisionForm()
    upload_form = UploadForm(formdata=None)
    reasons: list[tuple[str, object]] = list(workflow.verification_code_choices())
    decision.code.choices = options(reasons)
    return render_template(
        "local_kpis/values.html",
        assessment=assessment,
        kpis=kpis,
        form=form,
        rows=rows,
        problems=problems,
        can_edit=can_edit,
        can_verify=permissions.can_verify(current_user, assessment)
        and assessment.status.value == "in_review",
        can_define=local_kpis.can_define(current_user, assessment.city),
        decision=decision,
        upload_form=upload_form,
        reasons=reasons,
        verified_choices=VERIFIED_PAIRS,
        items_of=local_kpis.items_of,
        field_prefix=field_prefix,
        text_in=local_kpis.text_in,
        lang=_lang(),
    )


@bp.route("/assessments/<int:assessment_id>/local-kpis/decide", methods=["POST"])
@login_required
def decide(assessment_id: int) -> ResponseReturnValue:
    assessment = _assessment(assessment_id)
    if not permissions.can_verify(current_user, assessment):
        abort(403)
    form = DecisionForm()
    form.code.choices = options(list(workflow.verification_code_choices()))
    if form.validate_on_submit():
        row = local_kpis.get_value(int(form.value_id.data))
        if row is None or row.assessment_id != assessment.id:
            abort(404)
        try:
            local_kpis.decide(
                row, form.verified.data == "yes", form.code.data, form.note.data, current_user
            )
        except NotAllowed:
            abort(403)
        except LocalKpiError as error:
            flash(str(error), "error")
        else:
            flash(_("Decision recorded."), "success")
    else:
        flash(_("Choose a decision and a reason."), "error")
    return redirect(url_for("local_kpis.values", assessment_id=assessment_id))


@bp.route("/assessments/<int:assessment_id>/local-kpis/export.<fmt>")
def export_values(assessment_id: int, fmt: str) -> Response:
    """Live values for those who may see the assessment; the published copy for others."""
    assessment = workflow.get_assessment(assessment_id)
    if assessment is None or fmt not in local_kpi_reports.EXPORT_FORMATS:
        abort(404)
    if permissions.can_view_assessment(current_user, assessment):
        source = "published" if request.args.get("source") == "published" else "live"
    elif assessment.published_at is not None:
        source = "published"
    else:
        abort(404)
    data = local_kpi_reports.export(assessment, source, fmt, _lang())
    mimetype = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": reports.MIMETYPES["xlsx"],
        "json": "application/json",
    }[fmt]
    filename = f"{assessment.city.slug}-{assessment.year}-{source}-local-kpis.{fmt}"
    return Response(
        data,
        content_type=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- import (the U4SSC import's steps: upload → preview → confirm) ---------------------------


def _assessment_for_import(assessment_id: int) -> Assessment:
    return import_steps.require_value_editing(current_user, _assessment(assessment_id))


def _preview_page(assessment: Assessment, step: import_steps.Step) -> ResponseReturnValue:
    return render_template(
        "assessments/import_preview.html",
        assessment=assessment,
        report=step.report,
        conflicts=step.conflicts,
        filename=step.upload.filename,
        notes=step.upload.notes,
        confirm=ConfirmImportForm(formdata=None, data={"token": step.token}),
        token=step.token,
        upload_url=url_for("local_kpis.upload", assessment_id=assessment.id),
        confirm_url=url_for("local_kpis.confirm_import", assessment_id=assessment.id),
        back_url=url_for("local_kpis.values", assessment_id=assessment.id),
        back_label=_("Back to the local KPIs"),
    ), step.status


@bp.route("/assessments/<int:assessment_id>/local-kpis/import", methods=["GET", "POST"])
@login_required
def upload(assessment_id: int) -> ResponseReturnValue:
    """Upload local values (xlsx or CSV): checked whole, then previewed before anything is saved."""
    assessment = _assessment_for_import(assessment_id)
    form = UploadForm()
    if form.validate_on_submit():
        try:
            step = import_steps.check_upload(
                assessment, form.file.data, current_user, local_kpi_import, PENDING_SESSION_KEY
            )
        except data_io.UploadRejected as error:
            form.file.errors = [*form.file.errors, str(error)]
        else:
            return _preview_page(assessment, step)
    return render_template(
        "local_kpis/import.html",
        assessment=assessment,
        form=form,
        kpis=local_kpis.city_kpis(assessment.city, active_only=True),
    ), (400 if request.method == "POST" else 200)


@bp.route("/assessments/<int:assessment_id>/local-kpis/import/confirm", methods=["POST"])
@login_required
def confirm_import(assessment_id: int) -> ResponseReturnValue:
    assessment = _assessment_for_import(assessment_id)
    return import_steps.confirm_response(
        assessment,
        ConfirmImportForm(),
        current_user,
        local_kpi_import,
        PENDING_SESSION_KEY,
        again_url=url_for("local_kpis.upload", assessment_id=assessment.id),
        done_url=url_for("local_kpis.values", assessment_id=assessment.id),
        preview=lambda step: _preview_page(assessment, step),
    )
