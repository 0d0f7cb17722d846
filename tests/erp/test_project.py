"""The project's own invariants: deployment file, migrations, logs."""

import io
import json
import logging
import re
from pathlib import Path

import yaml
from django.core.management import call_command

from core.logging import ContextFilter, JsonFormatter, task_id_var
from tests.conftest import in_tenant

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_names_the_six_services_with_their_env():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert set(services) == {"postgres", "redis", "web", "worker", "worker-long", "beat"}
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("web", "worker", "worker-long", "beat"):
        env = services[name]["environment"]
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"} <= set(env), name
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
    assert "gunicorn" in services["web"]["command"]
    # one worker per queue: a long job never holds the processes that route webhook orders
    assert "worker -Q short " in services["worker"]["command"]
    assert "worker -Q long " in services["worker-long"]["command"]
    assert "beat" in services["beat"]["command"]


def test_docker_compose_has_no_default_secret():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["web"]["environment"]

    # every secret must come from outside; compose stops with this message when one is missing
    assert env["SECRET_KEY"] == "${SECRET_KEY:?set SECRET_KEY, see .env.example}"
    assert env["RELAY_FERNET_KEYS"] == "${RELAY_FERNET_KEYS:?set RELAY_FERNET_KEYS, see .env.example}"
    assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert env["DEBUG"] == "0"


def test_env_example_documents_every_variable_compose_reads():
    compose_text = (ROOT / "docker-compose.yml").read_text()
    example = (ROOT / ".env.example").read_text()
    assigned = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")}

    read_by_compose = set(re.findall(r"\$\{([A-Z_]+)", compose_text))

    assert read_by_compose == assigned
    assert 'python -c "import secrets; print(secrets.token_urlsafe(50))"' in example
    assert 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"' in example
    # no value for a secret ships in the example
    assert {"SECRET_KEY=", "RELAY_FERNET_KEYS=", "POSTGRES_PASSWORD="} <= set(example.splitlines())


def test_no_model_change_lacks_a_migration(db):
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)  # exits non-zero on a missing migration

    assert out.getvalue().strip() == "No changes detected"


def test_logs_are_json_with_tenant_request_and_task(tenant_a, client_for, make_user):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client_for(tenant_a, make_user(tenant_a, "operator")).get("/missing-page/", HTTP_X_REQUEST_ID="req-12345678")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["tenant"] == "t_alpha"
    assert line["request_id"] == "req-12345678"
    assert line["user"]

    token = task_id_var.set("task-1")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        ContextFilter().filter(record)
        with in_tenant(tenant_a):
            ContextFilter().filter(record)
        payload = json.loads(JsonFormatter().format(record))
    finally:
        task_id_var.reset(token)
    assert (payload["msg"], payload["task_id"], payload["tenant"]) == ("hello world", "task-1", "t_alpha")


# Every view declares who may use it: tests/security/test_permissions_declared.py.
