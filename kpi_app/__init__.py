"""U4SSC KPI self-assessment platform: the application factory."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the pure core (kpi_app.catalogue, .scoring, .charts) must not load Flask
    from flask import Flask

    from kpi_app.config import Config


def create_app(config: type[Config] | None = None, **overrides: object) -> Flask:
    """Build the app. `config` defaults to the class named by KPI_ENV (development)."""
    from flask import Flask

    from kpi_app.config import CONFIGS, INSTANCE_DIR, ProductionConfig, instance_secret

    if config is None:
        config = CONFIGS[os.environ.get("KPI_ENV", "development")]
    production = config is ProductionConfig or issubclass(config, ProductionConfig)
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=True)
    app.config.from_object(config)
    app.config.from_prefixed_env("KPI")
    app.config.update(overrides)
    if production:
        ProductionConfig.check(app.config)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        # Development without SECRET_KEY: a random secret of this instance, never a constant.
        app.config["SECRET_KEY"] = instance_secret(INSTANCE_DIR)

    from kpi_app import commands, web
    from kpi_app.web import assembly

    assembly.register_extensions(app)
    web.register_blueprints(app)
    assembly.register_errorhandlers(app)
    assembly.register_template_helpers(app)
    commands.register(app)
    return app
