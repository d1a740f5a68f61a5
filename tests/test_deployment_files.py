"""The deployment files (deploy/) say what the tests run: no Docker engine or
Kubernetes here, so their consistency with the tested layout is checked instead."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from clinic_assistant import local_cluster
from clinic_assistant.local_servers import PROJECT

DEPLOY = PROJECT / "deploy"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))


def test_compose_fills_in_every_placeholder_of_the_nginx_template_the_tests_use() -> None:
    template = local_cluster.NGINX_TEMPLATE.read_text()
    nginx = load(DEPLOY / "docker-compose.yml")["services"]["nginx"]
    env = dict(nginx["environment"])
    allowed = re.compile(env.pop("NGINX_ENVSUBST_FILTER"))
    assert set(env) == placeholders(template)
    assert all(allowed.search(name) for name in env)
    # nginx's own variables are left alone by that filter
    assert not any(allowed.search(name) for name in ("host", "remote_addr", "http_upgrade"))
    assert "./nginx/clinic.conf.template:/etc/nginx/templates/clinic.conf.template:ro" in nginx["volumes"]


def test_compose_runs_the_replicas_as_the_tests_do() -> None:
    compose = load(DEPLOY / "docker-compose.yml")
    services = compose["services"]
    replicas = [name for name in services if name.startswith("rasa-")]
    assert len(replicas) == 2
    for name in replicas:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["LOCK_STORE_URL"].startswith("redis://")
        assert env["TICKET_LOCK_LIFETIME"] == local_cluster.TICKET_LOCK_LIFETIME
        assert "command" not in services[name]  # the image's CMD below
    cmd = re.search(r'^CMD (\[.*?\])$', (DEPLOY / "Dockerfile").read_text().replace("\\\n", ""), re.M | re.S)
    assert cmd is not None
    command = yaml.safe_load(cmd.group(1))
    assert command[:3] == ["python", "-m", "clinic_assistant.server"]
    for flag, value in (("--credentials", "credentials.yml"), ("--endpoints", "endpoints.yml")):
        assert command[command.index(flag) + 1] == value
    assert "--enable-api" not in command  # only with RASA_API_TOKEN


def test_every_setting_compose_reads_is_documented_in_env_example() -> None:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (PROJECT / ".env.example").read_text(), re.M))
    used = placeholders((DEPLOY / "docker-compose.yml").read_text())
    assert used - documented == set()


def test_the_helm_values_configure_what_the_repository_configures() -> None:
    values = load(DEPLOY / "helm" / "rasa-values.yaml")
    settings = values["applicationSettings"]
    endpoints = load(PROJECT / "endpoints.yml")
    endpoints.pop("action_endpoint")  # the chart writes it from its own setting
    assert settings["endpoints"]["additionalEndpoints"] == endpoints
    assert settings["credentials"]["additionalChannelCredentials"] == load(PROJECT / "credentials.yml")
    assert values["replicaCount"] >= 2
    assert values["command"] == ["python", "-m", "clinic_assistant.server"]
    assert settings["enableAPI"] is False and settings["cors"] != "*"
