"""Delivery layer: one blueprint per user area, each in web/<area>/views.py as `bp`."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Blueprint, Flask


def register_blueprints(app: Flask) -> None:
    """Register every `web.<area>.views.bp`, so a new area needs no edit here (indico style).

    An area that needs more than a blueprint (the API's OpenAPI registry) exposes
    `init_app(app)` in its views module instead.
    """
    from kpi_app.web.numbers import DatabaseIntConverter

    app.url_map.converters["int"] = DatabaseIntConverter
    package = importlib.import_module(__name__)
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        try:
            views = importlib.import_module(f"{__name__}.{module.name}.views")
        except ModuleNotFoundError as error:
            if error.name == f"{__name__}.{module.name}.views":
                continue
            raise
        init_app = getattr(views, "init_app", None)
        blueprint = getattr(views, "bp", None)
        if callable(init_app):
            init_app(app)
        elif isinstance(blueprint, Blueprint):
            app.register_blueprint(blueprint)
