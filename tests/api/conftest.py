"""Fixtures of the API tests: one published city, one draft city, and their editors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from kpi_app.models import Assessment, City, Role, User
from kpi_app.services import api_tokens, local_kpis
from tests.factories import add_values, published_city


@dataclass
class World:
    published: Assessment
    draft: Assessment
    draft_editor: User
    other_editor: User

    def token(self, user: User) -> str:
        return api_tokens.create_token(user, "test").secret


@pytest.fixture
def world(
    make_city: Callable[..., City],
    make_assessment: Callable[..., Assessment],
    make_user: Callable[..., User],
) -> World:
    published = published_city(make_city, make_assessment, "fjordby", country="NO")
    draft_city = make_city("secretville", country="SE")
    draft = make_assessment(draft_city, year=2024)
    add_values(draft, [("EC: ICT: ICT: 1C", "", 12.0, 1, None)])
    # A local KPI of the draft city (LOCAL:secretville:TREES), for the local-values writes.
    local_kpis.create_kpi(
        draft_city,
        local_kpis.DefinitionInput(code="TREES", name={"en": "Street trees"}, unit="trees"),
        make_user(Role.COORDINATOR),
        ("en",),
    )
    return World(
        published=published,
        draft=draft,
        draft_editor=make_user(Role.CITY_EDITOR, city=draft_city),
        other_editor=make_user(Role.CITY_EDITOR, city=published.city),
    )


def bearer(secret: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {secret}"}
