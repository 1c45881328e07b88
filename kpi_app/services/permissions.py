"""Who may see and do what. Every view and API endpoint asks here; nothing decides elsewhere.

Roles: admin (everything), coordinator (the pilot programme: all cities, assignment, reopening,
publishing), verifier (the assessments assigned to them), city_editor (their own city),
viewer (published results; a Member State viewer sees its country's cities, unpublished ones
only when granted `can_see_unpublished`). Anonymous visitors see published results only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select

from kpi_app.models import Assessment, City, Country, Role, User, VerifierAssignment


def _user(user: Any) -> User | None:
    """Accept Flask-Login's current_user (anonymous or proxied) as well as a User."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user if isinstance(user, User) else user._get_current_object()


def is_assigned(user: User, assessment: Assessment) -> bool:
    return any(v.id == user.id for v in assessment.verifiers)


def can_view_assessment(user: Any, assessment: Assessment) -> bool:
    """May this user see the assessment's current (possibly unpublished) values?"""
    account = _user(user)
    if account is None:
        return False
    match account.role:
        case Role.ADMIN | Role.COORDINATOR:
            return True
        case Role.VERIFIER:
            return is_assigned(account, assessment)
        case Role.CITY_EDITOR:
            return account.city_id == assessment.city_id
        case Role.VIEWER:
            return bool(
                account.can_see_unpublished
                and account.country_iso2
                and assessment.city.country.iso2 == account.country_iso2
            )
    return False


def can_view_published(user: Any, assessment: Assessment) -> bool:
    """Published results are public; everything else needs can_view_assessment."""
    return assessment.published_at is not None or can_view_assessment(user, assessment)


def can_edit_values(user: Any, assessment: Assessment) -> bool:
    """City editors (and admins) edit while the assessment is a draft or returned."""
    account = _user(user)
    if account is None or not assessment.status.editable_by_city:
        return False
    if account.role is Role.ADMIN:
        return True
    return account.role is Role.CITY_EDITOR and account.city_id == assessment.city_id


def can_verify(user: Any, assessment: Assessment) -> bool:
    account = _user(user)
    if account is None:
        return False
    if account.role in (Role.ADMIN, Role.COORDINATOR):
        return True
    return account.role is Role.VERIFIER and is_assigned(account, assessment)


def can_coordinate(user: Any) -> bool:
    account = _user(user)
    return account is not None and account.role in (Role.ADMIN, Role.COORDINATOR)


def can_administer(user: Any) -> bool:
    account = _user(user)
    return account is not None and account.role is Role.ADMIN


def visible_assessments(user: Any) -> Select[Assessment]:
    """A query for the assessments whose current values this user may see."""
    query = select(Assessment).join(City, Assessment.city_id == City.id)
    account = _user(user)
    if account is None:
        return query.where(Assessment.id.is_(None))  # nothing unpublished for anonymous users
    match account.role:
        case Role.ADMIN | Role.COORDINATOR:
            return query
        case Role.VERIFIER:
            return query.join(
                VerifierAssignment, VerifierAssignment.assessment_id == Assessment.id
            ).where(VerifierAssignment.user_id == account.id)
        case Role.CITY_EDITOR:
            return query.where(Assessment.city_id == account.city_id)
        case Role.VIEWER if account.can_see_unpublished and account.country_iso2:
            return query.join(Country, City.country_id == Country.id).where(
                Country.iso2 == account.country_iso2
            )
    return query.where(Assessment.id.is_(None))


def published_or_visible(user: Any) -> Select[Assessment]:
    """Assessments with a published snapshot, plus those the user may see unpublished."""
    visible_ids = visible_assessments(user).with_only_columns(Assessment.id)
    return select(Assessment).where(
        or_(Assessment.published_at.is_not(None), Assessment.id.in_(visible_ids))
    )
