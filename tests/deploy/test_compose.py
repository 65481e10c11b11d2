"""docker-compose.yml: loopback only, TimescaleDB with a volume, healthy dependencies, no
literal secrets (in the stack file either)."""

from __future__ import annotations

from tests.deploy.support import SECRET_WORDS, environment, load_yaml, published_ports


def test_compose_publishes_nothing_beyond_loopback():
    services = load_yaml("docker-compose.yml")["services"]
    for name, service in services.items():
        for host_ip, _ in published_ports(service):
            assert host_ip == "127.0.0.1", f"{name} publishes on {host_ip or 'every interface'}"
    assert not services["db"].get("ports"), "the database is for the web service only"
    assert not services["redis"].get("ports")


def test_compose_database_is_timescaledb_with_a_volume_and_pg_isready():
    compose = load_yaml("docker-compose.yml")
    db_service = compose["services"]["db"]
    assert db_service["image"].startswith("timescale/timescaledb:")
    volume, target = db_service["volumes"][0].split(":")[:2]
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"], "a named volume, declared at the top level"
    check = " ".join(db_service["healthcheck"]["test"])
    assert "pg_isready" in check
    assert "${POSTGRES_PASSWORD" in environment(db_service)["POSTGRES_PASSWORD"]


def test_compose_web_waits_for_healthy_services_and_uses_redis():
    services = load_yaml("docker-compose.yml")["services"]
    web = services["web"]
    assert web["build"] in (".", {"context": "."})
    assert web["env_file"] in (".env", [".env"])
    assert web["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert "healthcheck" in services["redis"]
    env = environment(web)
    assert env["RATELIMIT_STORAGE_URI"].startswith("redis://redis:")
    assert "${POSTGRES_PASSWORD}@db:5432/" in env["DATABASE_URL"], "password from .env only"


def test_no_literal_secrets_in_compose_or_stack():
    for name in ("docker-compose.yml", "docker-stack.yml"):
        for service in load_yaml(name)["services"].values():
            for key, value in environment(service).items():
                if any(word in key for word in SECRET_WORDS) and not key.endswith("_FILE"):
                    assert "${" in value, f"{name}: {key} has a literal value"


def test_compose_mail_catcher_is_for_development_only():
    services = load_yaml("docker-compose.yml")["services"]
    mailpit = services["mailpit"]
    assert mailpit["image"].startswith("axllent/mailpit:")
    assert mailpit["profiles"] == ["dev"], "`docker compose up` alone never starts it"
    assert {port for _, port in published_ports(mailpit)} >= {"8025", "1025"}
    assert "mailpit" not in services["web"].get("depends_on", {})
