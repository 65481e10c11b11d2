"""`flask users create` and configuration parsing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import env_flag, env_int, load_config, normalise_database_url
from tests.support.users import AuthActions


def test_users_create_with_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["users", "create", "--email", "Grace@Example.com", "--first-name", "Grace",
              "--last-name", "Hopper", "--password-stdin"],
        input="compiler pioneer\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created user grace@example.com" in result.output
    response = AuthActions(app.test_client()).login("grace@example.com", "compiler pioneer")
    assert response.status_code == 302


def test_users_create_prompts_for_the_password_twice(app, runner):
    result = runner.invoke(
        args=["users", "create", "--email", "g@example.com", "--first-name", "G",
              "--last-name", "H"],
        input="long enough pw\nlong enough pw\n",
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", "long enough pw", "valid e-mail"),
        ("g@example.com", "short", "between 8 and 128"),
    ],
)
def test_users_create_rejects_bad_input(runner, email, password, message):
    result = runner.invoke(
        args=["users", "create", "--email", email, "--first-name", "G", "--last-name", "H",
              "--password-stdin"],
        input=password + "\n",
    )
    assert result.exit_code == 1
    assert message in result.output


def test_users_create_refuses_a_duplicate(runner, user):
    result = runner.invoke(
        args=["users", "create", "--email", "ADA@example.com", "--first-name", "A",
              "--last-name", "L", "--password-stdin"],
        input="another password\n",
    )
    assert result.exit_code == 1
    assert "already registered" in result.output


def test_env_flag_and_int():
    assert env_flag({"X": "0"}, "X", True) is False
    assert env_flag({"X": "On"}, "X", False) is True
    assert env_flag({}, "X", True) is True
    with pytest.raises(ValueError, match="X must be one of"):
        env_flag({"X": "maybe"}, "X", True)
    assert env_int({"N": "7"}, "N", 1) == 7
    with pytest.raises(ValueError, match="N must be a whole number"):
        env_int({"N": "seven"}, "N", 1)
    with pytest.raises(ValueError, match="N must be at least 1"):
        env_int({"N": "0"}, "N", 5, minimum=1)


def test_database_url_forms():
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_defaults_and_docker_secret_files(tmp_path):
    config = load_config({}, str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/stockdash.db"
    assert config["REMEMBER_DAYS"] == 1
    assert config["LOGIN_RATE_LIMIT"] == "5 per minute;50 per hour"
    assert config["RATELIMIT_ENABLED"] is True
    assert config["ALLOW_REGISTRATION"] is True
    assert config["SECRET_KEY"] is None
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    url = tmp_path / "url"
    url.write_text("postgresql://app@db/stockdash\n")
    config = load_config({"SECRET_KEY_FILE": str(secret), "DATABASE_URL_FILE": str(url)}, "/x")
    assert config["SECRET_KEY"] == "from-a-file"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db/stockdash"
    options = config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options["connect_args"]["connect_timeout"] == 3
    assert "statement_timeout" in options["connect_args"]["options"]


def test_env_example_lists_every_variable_the_app_reads():
    root = Path(__file__).resolve().parent.parent
    example = (root / ".env.example").read_text()
    source = (root / "app" / "config.py").read_text()
    read = set(re.findall(r'environ(?:, |\.get\()"([A-Z_]+)"', source))
    read |= set(re.findall(r'env_(?:flag|int|seconds|or_file)\(environ, "([A-Z_]+)"', source))
    assert read, "no variables found: the pattern is out of date"
    missing = sorted(name for name in read if f"{name}=" not in example)
    assert not missing, f".env.example does not list {missing}"
