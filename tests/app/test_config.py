import re
from pathlib import Path

import pytest

from app.config import SETTINGS, ConfigError, load_settings

README = Path(__file__).parents[2] / "README.md"
KEY = "k" * 40


def env(tmp_path, **values):
    return {"FLOKK_DATA_DIR": str(tmp_path), "FLOKK_SECRET_KEY": KEY, **{f"FLOKK_{k}": v for k, v in values.items()}}


def test_defaults_give_a_local_sqlite_flokk(tmp_path):
    settings = load_settings(env(tmp_path))
    assert settings.database_url == f"sqlite:///{tmp_path / 'flokk.sqlite3'}"
    assert settings.public_url == "https://localhost:8443"
    assert settings.log_format == "text"
    assert settings.max_body_bytes == 4 * 1024 * 1024


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("DATABASE_URL", "mysql://x/y", "not supported"),
        ("DATABASE_URL", "not a url", "not a database URL"),
        ("DATABASE_URL", "postgresql://localhost/x", "psycopg"),
        ("PUBLIC_URL", "http://flokk.example", "https://"),
        ("PUBLIC_URL", "flokk.example", "https://"),
        ("LOG_FORMAT", "xml", "one of text, json"),
        ("LOG_LEVEL", "LOUD", "DEBUG"),
        ("MAX_BODY_BYTES", "-1", "greater than zero"),
        ("MAX_BODY_BYTES", "lots", "whole number"),
        ("SECRET_KEY", "short", "at least 32"),
        ("TLS_CERT", "/etc/cert.pem", "together"),
    ],
)
def test_an_invalid_setting_is_named_in_one_line(tmp_path, name, value, reason):
    with pytest.raises(ConfigError) as raised:
        load_settings(env(tmp_path, **{name: value}))
    message = str(raised.value)
    assert "\n" not in message
    assert reason in message
    assert message.startswith("FLOKK_")


def test_a_missing_secret_is_generated_once_only_when_asked(tmp_path):
    values = {"FLOKK_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="FLOKK_SECRET_KEY: is not set"):
        load_settings(values)
    first = load_settings(values, create_secret=True)
    assert first.secret_key_generated and len(first.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_settings(values).secret_key == first.secret_key


def test_an_explicit_secret_wins_over_the_generated_one(tmp_path):
    load_settings({"FLOKK_DATA_DIR": str(tmp_path)}, create_secret=True)
    settings = load_settings(env(tmp_path))
    assert settings.secret_key == KEY and not settings.secret_key_generated


def test_every_setting_is_documented_in_the_readme():
    documented = set(re.findall(r"`FLOKK_([A-Z_]+)`", README.read_text()))
    assert {setting.name for setting in SETTINGS} <= documented
