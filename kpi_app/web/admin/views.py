"""Administration views. Coordinators manage cities, cycles and verifier assignment; only
administrators manage accounts. Every route checks services.permissions first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from kpi_app.extensions import login_manager
from kpi_app.models import Assessment, User
from kpi_app.services import accounts, cities, due_dates, permissions, todo, workflow
from kpi_app.services import benchmark_sets as benchmark_service
from kpi_app.services.catalogue import benchmark_sets
from kpi_app.services.workflow import WorkflowDenied, WorkflowError
from kpi_app.web.admin.forms import (
    ROLE_LABELS,
    ActionForm,
    AssessmentForm,
    AssignForm,
    BenchmarkChoiceForm,
    BenchmarkDiffForm,
    BenchmarkImportForm,
    CityForm,
    DueDatesForm,
    UserForm,
)
from kpi_app.web.verification.forms import options

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def require_coordination() -> ResponseReturnValue | None:
    """The whole area is for coordinators and administrators (others: login, or 403)."""
    if not current_user.is_authenticated:
        to_login: ResponseReturnValue = login_manager.unauthorized()
        return to_login
    if not permissions.can_coordinate(current_user):
        abort(403)
    return None


def _admin_only() -> None:
    if not permissions.can_administer(current_user):
        abort(403)


@bp.context_processor
def template_helpers() -> dict[str, Any]:
    return {
        "status_label": workflow.status_label,
        "role_label": lambda role: str(ROLE_LABELS.get(role, role)),
    }


def _run(step: Callable[[], Any], success: str) -> bool:
    try:
        step()
    except WorkflowDenied:
        abort(403)
    except (WorkflowError, cities.CityError) as error:
        flash(str(error), "error")
        return False
    flash(success, "success")
    return True


@bp.route("/")
def index() -> str:
    return render_template(
        "admin/index.html",
        items=todo.todo_for(current_user),
        assessments=accounts.list_assessments(),
    )


# --- accounts (administrators) ------------------------------------------------------------


@bp.route("/users")
def users() -> str:
    _admin_only()
    return render_template(
        "admin/users.html", users=accounts.list_users(), action_form=ActionForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
def user_new() -> Any:
    _admin_only()
    form = UserForm()
    form.city.choices = options([("", "—"), *((c.slug, c.name) for c in cities.list_cities())])
    if form.validate_on_submit():
        created: list[tuple[User, str]] = []
        if _run(
            lambda: created.append(
                accounts.create_account(
                    current_user,
                    email=form.email.data or "",
                    role=form.role.data or "",
                    name=form.name.data or "",
                    city_slug=form.city.data or None,
                    country_iso2=(form.country.data or "").upper() or None,
                    can_see_unpublished=bool(form.can_see_unpublished.data),
                )
            ),
            _("Account created."),
        ):
            user, password = created[0]
            return _show_password_once(user, password)
    status = 400 if form.is_submitted() else 200  # still here after a POST: it failed
    return render_template("admin/user_new.html", form=form), status


def _show_password_once(user: User, password: str) -> Response:
    """Render the generated password in this response only; it is never stored readable."""
    response = Response(render_template("admin/password.html", user=user, password=password))
    response.headers["Cache-Control"] = "no-store"
    return response


def _target_user(user_id: int) -> User:
    user = accounts.get_user(user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def user_deactivate(user_id: int) -> Response:
    _admin_only()
    user = _target_user(user_id)
    _run(lambda: accounts.set_active(user, False, current_user), _("Account deactivated."))
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
def user_activate(user_id: int) -> Response:
    _admin_only()
    user = _target_user(user_id)
    _run(lambda: accounts.set_active(user, True, current_user), _("Account re-activated."))
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/grant", methods=["POST"])
def user_grant(user_id: int) -> Response:
    _admin_only()
    user = _target_user(user_id)
    grant = not user.can_see_unpublished
    _run(
        lambda: accounts.set_unpublished_grant(user, grant, current_user),
        _("Access to unpublished data granted.") if grant else _("Access withdrawn."),
    )
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
def user_reset_password(user_id: int) -> Response:
    _admin_only()
    user = _target_user(user_id)
    password = accounts.reset_password(user, current_user)
    return _show_password_once(user, password)


@bp.route("/users/<int:user_id>/reset-two-factor", methods=["POST"])
def user_reset_two_factor(user_id: int) -> Response:
    _admin_only()
    user = _target_user(user_id)
    _run(
        lambda: accounts.reset_two_factor(user, current_user),
        _("Second factor removed: the account sets it up again at its next login."),
    )
    return redirect(url_for("admin.users"))


# --- cities and cycles (coordinators) ----------------------------------------------------


@bp.route("/cities")
def city_list() -> str:
    return render_template("admin/cities.html", cities=cities.list_cities())


@bp.route("/cities/new", methods=["GET", "POST"])
def city_new() -> Any:
    form = CityForm()
    if form.validate_on_submit() and _run(
        lambda: cities.create_city(
            form.slug.data or "",
            form.name.data or "",
            form.country.data or "",
            population=form.population.data,
            area_km2=float(form.area_km2.data) if form.area_km2.data is not None else None,
            actor=current_user,
        ),
        _("City registered."),
    ):
        return redirect(url_for("admin.city_list"))
    status = 400 if form.is_submitted() else 200  # still here after a POST: it failed
    return render_template("admin/city_new.html", form=form), status


@bp.route("/assessments/new", methods=["GET", "POST"])
def assessment_new() -> Any:
    form = AssessmentForm()
    choices = cities.list_cities()
    form.city.choices = options([(c.slug, c.name) for c in choices])
    if form.validate_on_submit():
        city = next((c for c in choices if c.slug == form.city.data), None)
        if city is None:
            abort(400)
        if _run(
            lambda: workflow.open_assessment(city, int(form.year.data or 0), current_user),
            _("Assessment opened. The city's editors can start entering values."),
        ):
            return redirect(url_for("admin.index"))
    status = 400 if form.is_submitted() else 200  # still here after a POST: it failed
    return render_template("admin/assessment_new.html", form=form), status


def _assessment(assessment_id: int) -> Assessment:
    assessment = workflow.get_assessment(assessment_id)
    if assessment is None:
        abort(404)
    return assessment


@bp.route("/assessments/<int:assessment_id>/verifiers", methods=["GET", "POST"])
def verifiers(assessment_id: int) -> Any:
    assessment = _assessment(assessment_id)
    form = AssignForm()
    candidates = [v for v in workflow.active_verifiers() if v not in assessment.verifiers]
    form.verifier.choices = options([(str(v.id), v.name or v.email) for v in candidates])
    if form.validate_on_submit():
        chosen = next((v for v in candidates if str(v.id) == form.verifier.data), None)
        if chosen is None:
            abort(400)
        if _run(
            lambda: workflow.assign_verifier(assessment, chosen, current_user),
            _("Verifier assigned."),
        ):
            return redirect(url_for("admin.verifiers", assessment_id=assessment.id))
    status = 400 if form.is_submitted() else 200  # still here after a POST: it failed
    return _render_verifiers(assessment, candidates, form=form, status=status)


def _render_verifiers(
    assessment: Assessment,
    candidates: list[User],
    *,
    form: AssignForm | None = None,
    due_form: DueDatesForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The coordinator's assignment page: verifiers and due dates of one assessment."""
    if form is None:
        form = AssignForm(formdata=None)
        form.verifier.choices = options([(str(v.id), v.name or v.email) for v in candidates])
    summary = due_dates.summary(assessment)
    if due_form is None:
        due_form = DueDatesForm(
            formdata=None,
            entry_due=summary.entry.due,
            verification_due=summary.verification.due,
        )
    return (
        render_template(
            "admin/verifiers.html",
            a=assessment,
            form=form,
            candidates=candidates,
            action_form=ActionForm(),
            due_form=due_form,
            due=summary,
            reminder_days=due_dates.reminder_days(),
        ),
        status,
    )


@bp.route("/assessments/<int:assessment_id>/due-dates", methods=["POST"])
def due_dates_form(assessment_id: int) -> ResponseReturnValue:
    """Set the data-entry and verification due dates (either may be left empty)."""
    assessment = _assessment(assessment_id)
    form = DueDatesForm()
    candidates = [v for v in workflow.active_verifiers() if v not in assessment.verifiers]
    if form.validate_on_submit():
        try:
            changed = due_dates.set_due_dates(
                assessment,
                current_user,
                entry_due=form.entry_due.data,
                verification_due=form.verification_due.data,
            )
        except WorkflowDenied:
            abort(403)
        except due_dates.DueDateError as error:
            field = getattr(form, error.field)
            field.errors = [*field.errors, str(error)]
        else:
            flash(
                _("Due dates saved.") if changed else _("The due dates were already these."),
                "success" if changed else "info",
            )
            return redirect(url_for("admin.verifiers", assessment_id=assessment.id, _anchor="due"))
    return _render_verifiers(assessment, candidates, due_form=form, status=400)


@bp.route("/assessments/<int:assessment_id>/verifiers/<int:user_id>/remove", methods=["POST"])
def verifier_remove(assessment_id: int, user_id: int) -> Response:
    assessment = _assessment(assessment_id)
    verifier = _target_user(user_id)
    _run(
        lambda: workflow.unassign_verifier(assessment, verifier, current_user),
        _("Verifier removed from this assessment."),
    )
    return redirect(url_for("admin.verifiers", assessment_id=assessment.id))


# --- benchmark sets (read-only information) ----------------------------------------------


@bp.route("/benchmarks", methods=["GET", "POST"])
def benchmarks() -> ResponseReturnValue:
    """Sets (built-in and imported), publications under other versions, import, choice, diff."""
    sets = benchmark_sets()
    import_form = BenchmarkImportForm(prefix="imp")
    choice_form = BenchmarkChoiceForm(prefix="choose")
    set_choices = options(
        [(set_id, f"{set_id} ({s.version})") for set_id, s in sorted(sets.items())]
    )
    open_assessments = benchmark_service.choosable_assessments()
    choice_form.benchmark_set.choices = set_choices
    choice_form.assessment.choices = options(
        [(str(a.id), f"{a.city.name} {a.year} ({a.benchmark_set})") for a in open_assessments]
    )
    diff_form = BenchmarkDiffForm(request.args, meta={"csrf": False})
    diff_form.old.choices = set_choices
    diff_form.new.choices = set_choices
    problems: list[str] = []
    status = 200
    if import_form.submit.data and import_form.validate_on_submit():
        upload = import_form.file.data
        try:
            outcome = benchmark_service.import_file(
                upload.read(),
                upload.filename or "upload",
                current_user,
                set_id=import_form.set_id.data or None,
                version=import_form.version.data or None,
                name=import_form.name.data or None,
                description=import_form.description.data or None,
            )
        except benchmark_service.BenchmarkSetError as error:
            flash(str(error), "error")
            problems = error.problems
            status = 400
        else:
            record = outcome.record
            if outcome.created:
                flash(_("Imported %(id)s version %(v)s.", id=record.set_id, v=record.version))
            elif outcome.replaced:
                flash(
                    _(
                        "Replaced %(id)s version %(v)s (no publication used it).",
                        id=record.set_id,
                        v=record.version,
                    )
                )
            else:
                flash(
                    _(
                        "%(id)s version %(v)s was already imported with this content.",
                        id=record.set_id,
                        v=record.version,
                    )
                )
            return redirect(url_for("admin.benchmarks"))
    elif import_form.submit.data:
        status = 400
    if choice_form.submit.data and choice_form.validate_on_submit():
        chosen = next(
            (a for a in open_assessments if str(a.id) == choice_form.assessment.data), None
        )
        if chosen is None:
            abort(404)
        try:
            changed = benchmark_service.choose(chosen, choice_form.benchmark_set.data, current_user)
        except benchmark_service.BenchmarkSetError as error:
            flash(str(error), "error")
            status = 400
        else:
            if changed:
                flash(
                    _(
                        "%(city)s %(year)d now uses %(set)s.",
                        city=chosen.city.name,
                        year=chosen.year,
                        set=choice_form.benchmark_set.data,
                    )
                )
            return redirect(url_for("admin.benchmarks"))
    elif choice_form.submit.data:
        status = 400
    diff = None
    if diff_form.submit.data and diff_form.validate():
        diff = benchmark_service.diff_sets(sets[diff_form.old.data], sets[diff_form.new.data])
    return (
        render_template(
            "admin/benchmarks.html",
            sets=sets,
            versions=benchmark_service.versions(),
            usage=benchmark_service.usage(),
            drift=benchmark_service.drift_report(),
            import_form=import_form,
            choice_form=choice_form,
            diff_form=diff_form,
            diff=diff,
            problems=problems,
        ),
        status,
    )
