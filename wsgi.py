"""WSGI entry point for production servers: `gunicorn wsgi:app`.

Settings come from FLOKK_* environment variables; an invalid one stops the
start with a line naming it.
"""

import sys

from app import create_app
from app.config import ConfigError, load_settings, warn_if_generated_secret
from app.logs import configure_logging

try:
    _settings = load_settings()
except ConfigError as error:
    sys.exit(f"flokk: invalid setting {error}")
configure_logging(_settings.log_format, _settings.log_level)
warn_if_generated_secret(_settings)
app = create_app(_settings)
