"""Flask extensions, created unbound here and initialised in the app factory."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from kpi_app.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
# Storage comes from RATELIMIT_STORAGE_URI (Redis when REDIS_URL is set, memory otherwise).
limiter = Limiter(key_func=get_remote_address)
