"""Main-menu entries. Each shows when its endpoint exists and the user may use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from kpi_app.models import Role


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object  # a lazy string, rendered in the request's language
    visible: Callable[[], bool]
    #: Endpoint prefixes that make this entry the current one. Default: its whole blueprint
    #: (several entries of one blueprint name their own endpoints, so only one is current).
    current_for: tuple[str, ...] = ()

    def is_current(self, endpoint: str | None) -> bool:
        if not endpoint:
            return False
        prefixes = self.current_for or (self.endpoint.split(".")[0] + ".",)
        return endpoint.startswith(prefixes)


def _anyone() -> bool:
    return True


def _logged_in() -> bool:
    return bool(current_user.is_authenticated)


def _roles(*roles: Role) -> Callable[[], bool]:
    return lambda: bool(current_user.is_authenticated and current_user.role in roles)


ENTRIES = (
    NavEntry(
        "dashboards.cities",
        _l("Cities"),
        _anyone,
        ("dashboards.cit", "dashboards.explain", "dashboards.countr"),
    ),
    NavEntry("dashboards.compare", _l("Compare"), _anyone, ("dashboards.compare",)),
    NavEntry("dashboards.sdg", _l("SDG 11"), _anyone, ("dashboards.sdg",)),
    NavEntry("lab.index", _l("Methods lab"), _anyone),
    NavEntry("assessments.index", _l("Data entry"), _logged_in),
    NavEntry(
        "verification.inbox",
        _l("Verification"),
        _roles(Role.VERIFIER, Role.COORDINATOR, Role.ADMIN),
    ),
    NavEntry("scenarios.index", _l("Scenarios"), _logged_in),
    NavEntry("admin.index", _l("Administration"), _roles(Role.ADMIN, Role.COORDINATOR)),
)


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    current: bool


def nav_items() -> list[NavItem]:
    items = []
    for entry in ENTRIES:
        if entry.endpoint in current_app.view_functions and entry.visible():
            items.append(
                NavItem(
                    url=url_for(entry.endpoint),
                    label=str(entry.label),
                    current=entry.is_current(request.endpoint),
                )
            )
    return items
