"""The deployment files (deploy/) say what the tests run: no Docker engine or
Kubernetes here, so their consistency with the tested layout is checked instead."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.harness import cluster as local_cluster
from tests.harness.servers import PROJECT

DEPLOY = PROJECT / "deploy"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))


@pytest.mark.parametrize("service, template", [
    ("nginx", local_cluster.NGINX_TEMPLATE), ("staff-proxy", local_cluster.STAFF_NGINX_TEMPLATE)])
def test_compose_fills_in_every_placeholder_of_the_nginx_template_the_tests_use(service: str, template: Path) -> None:
    nginx = load(DEPLOY / "docker-compose.yml")["services"][service]
    env = dict(nginx["environment"])
    allowed = re.compile(env.pop("NGINX_ENVSUBST_FILTER"))
    assert set(env) == placeholders(template.read_text())
    assert all(allowed.search(name) for name in env)
    # nginx's own variables are left alone by that filter
    assert not any(allowed.search(name) for name in ("host", "remote_addr", "http_upgrade"))
    assert nginx["volumes"] == [f"./nginx/{template.name}:/etc/nginx/templates/{template.name}:ro"]


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
    assert command[:3] == ["python", "-m", "clinic_assistant.rasa.server"]
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
    assert values["command"] == ["/app/deploy/entrypoint.sh", "python", "-m", "clinic_assistant.rasa.server"]
    # a Kubernetes command replaces the image's ENTRYPOINT: both charts name it
    assert load(DEPLOY / "helm" / "action-server-values.yaml")["command"][0] == "/app/deploy/entrypoint.sh"
    assert settings["enableAPI"] is False and settings["cors"] != "*"


# --- issue #15: publish only what patients need, each service only its secrets -------
COMPOSE = DEPLOY / "docker-compose.yml"
APP_ROLE = "clinic_app"
PATIENT_WEBHOOKS = ("/webhooks/twilio/webhook", "/webhooks/whatsapp/webhook", "/webhooks/facebook/webhook")
# what each service may be given; any compose variable named like a secret counts
SECRETS_OF = {
    "postgres": {"POSTGRES_PASSWORD", "CLINIC_APP_PASSWORD"},
    "redis": {"REDIS_PASSWORD"},
    "actions": {"CLINIC_APP_PASSWORD", "SMTP_PASSWORD"},
    "outbox": {"CLINIC_APP_PASSWORD", "SMTP_PASSWORD"},
    "rasa-1": {"CLINIC_APP_PASSWORD", "REDIS_PASSWORD", "STAFF_API_TOKEN", "CONVERSATION_ID_SECRET",
               "RASA_API_TOKEN", "TWILIO_AUTH_TOKEN", "FACEBOOK_APP_SECRET", "FACEBOOK_PAGE_ACCESS_TOKEN",
               "FACEBOOK_VERIFY_TOKEN"},
    "widget": set(),
    "staff": {"CLINIC_APP_PASSWORD", "STAFF_API_TOKEN", "STAFF_SECRET_KEY"},
    "nginx": set(),
    "staff-proxy": set(),
}
SECRETS_OF["rasa-2"] = SECRETS_OF["rasa-1"]


def is_secret(name: str) -> bool:
    return re.search(r"PASSWORD|SECRET|TOKEN|_KEY$", name) is not None


def networks_of(service: dict) -> set[str]:
    networks = service.get("networks", [])
    return set(networks if isinstance(networks, list) else networks)


def test_compose_publishes_only_nginx_on_the_public_network() -> None:
    compose = load(COMPOSE)
    services, networks = compose["services"], compose["networks"]
    assert {name for name, s in services.items() if "public" in networks_of(s)} == {"nginx"}
    for name in ("rasa-1", "rasa-2", "actions", "outbox", "postgres", "redis"):
        assert "internal" in networks_of(services[name]), name
    assert networks["internal"].get("internal") is True
    # ports: nginx for patients, the staff proxy on the host's loopback; nothing else
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert set(published) == {"nginx", "staff-proxy"}
    assert all(port.startswith("127.0.0.1:") for port in published["staff-proxy"])
    # every network a service without published ports is on has no way in from outside,
    # except the egress network, which nothing publishes on and nginx is not on
    for name, service in services.items():
        for network in networks_of(service):
            if networks[network].get("internal") is not True:
                assert network in ("public", "staff-entry", "egress"), (name, network)
    assert {name for name, s in services.items() if "egress" in networks_of(s)} == {"rasa-1", "rasa-2", "actions", "outbox"}
    # the staff console shares no network with the patients' nginx, nor with Redis
    assert not networks_of(services["staff"]) & networks_of(services["nginx"])
    assert not networks_of(services["staff"]) & networks_of(services["redis"])
    assert not networks_of(services["staff-proxy"]) & (networks_of(services["postgres"]) | networks_of(services["rasa-1"]))
    # and reaches what it needs: rasa-1's staff channel (RASA_URL) and PostgreSQL
    assert services["staff"]["environment"]["RASA_URL"] == "http://rasa-1:5005"
    for needed in ("rasa-1", "postgres"):
        assert networks_of(services["staff"]) & networks_of(services[needed]), needed


def test_each_compose_service_gets_only_the_secrets_it_uses() -> None:
    services = load(COMPOSE)["services"]
    given = {name: {v for v in placeholders(json.dumps(service)) if is_secret(v)} for name, service in services.items()}
    assert given == SECRETS_OF


def test_redis_needs_a_password_and_every_redis_url_carries_it() -> None:
    text = COMPOSE.read_text()
    redis = load(COMPOSE)["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--requirepass") + 1].startswith("${REDIS_PASSWORD:?")
    urls = re.findall(r"rediss?://.*", text)
    assert urls
    assert all(re.match(r"rediss?://:\$\{REDIS_PASSWORD(:\?[^}]*)?\}@redis:6379/", url) for url in urls), urls


def test_the_services_connect_to_postgresql_as_the_app_role_not_the_superuser() -> None:
    import sqlalchemy as sa

    services = load(COMPOSE)["services"]
    superuser = services["postgres"]["environment"]["POSTGRES_USER"]
    urls = {name: s["environment"]["DATABASE_URL"] for name, s in services.items()
            if "DATABASE_URL" in s.get("environment", {})}
    assert set(urls) == {"rasa-1", "rasa-2", "actions", "outbox", "staff"}
    for url in urls.values():
        role = sa.engine.make_url(re.sub(r"\$\{[^}]*\}", "x", url)).username
        assert role == APP_ROLE and role not in (superuser, "postgres")
    init = "./postgres/10-clinic-app-role.sh:/docker-entrypoint-initdb.d/10-clinic-app-role.sh:ro"
    assert init in services["postgres"]["volumes"]


def test_the_init_script_makes_a_role_without_superuser_rights() -> None:
    script = (DEPLOY / "postgres" / "10-clinic-app-role.sh").read_text()
    create = re.search(r"CREATE ROLE (\w+)([^;]*);", script)
    assert create is not None and create.group(1) == APP_ROLE
    for attribute in ("LOGIN", "NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE"):
        assert re.search(rf"\b{attribute}\b", create.group(2)), attribute


def test_the_init_script_gives_the_app_role_what_the_app_needs_and_no_more(postgres_server: str) -> None:
    """The script run as the postgres image runs it, against a real PostgreSQL: the
    role can log in and create the project's tables, not databases or roles."""
    import os
    import subprocess
    import uuid

    import sqlalchemy as sa

    from clinic_assistant.clinic.db import metadata
    from tests.harness.postgres import server_binaries

    admin = sa.engine.make_url(postgres_server)
    database = f"init_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {APP_ROLE}"))  # the server is shared by the session
    env = dict(os.environ, POSTGRES_USER=admin.username, POSTGRES_DB=database,
               CLINIC_APP_PASSWORD="app-password-for-the-init-test-0123456789",
               PGHOST=str(admin.host), PGPORT=str(admin.port),
               PATH=f"{server_binaries()}:{os.environ['PATH']}")
    try:
        run = subprocess.run(["bash", str(DEPLOY / "postgres" / "10-clinic-app-role.sh")], env=env,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        app = sa.create_engine(admin.set(username=APP_ROLE, database=database), isolation_level="AUTOCOMMIT")
        try:
            metadata.create_all(app)  # what the processes do at start
            with app.connect() as conn:
                rights = conn.execute(sa.text(
                    "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
                    "FROM pg_roles WHERE rolname = current_user")).one()
                assert tuple(rights) == (False, False, False, False, False)
                for statement in ("CREATE DATABASE another_one", "CREATE ROLE another_one"):
                    try:
                        conn.execute(sa.text(statement))
                    except sa.exc.ProgrammingError as error:
                        assert "permission denied" in str(error)
                    else:
                        raise AssertionError(f"{APP_ROLE} could run {statement}")
        finally:
            app.dispose()
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}"'))
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {APP_ROLE}"))
        engine.dispose()


def test_the_helm_ingress_routes_only_the_widget_and_the_patient_webhooks() -> None:
    values = load(DEPLOY / "helm" / "rasa-values.yaml")
    assert values["ingress"]["enabled"] is False  # the chart's schema cannot list the webhooks
    ingress = load(DEPLOY / "helm" / "ingress.yaml")
    assert ingress["kind"] == "Ingress"
    routes = {}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            routes[path["path"]] = path["pathType"]
            assert path["backend"] == {"service": {"name": values["fullnameOverride"], "port": {"name": "http"}}}
    assert routes == {"/socket.io/": "Prefix", **{path: "Exact" for path in PATIENT_WEBHOOKS}}
    assert values["nginx"]["enabled"] is False  # the chart's own proxy would publish everything
    # the action server takes any action call without a token: never published
    assert load(DEPLOY / "helm" / "action-server-values.yaml")["ingress"]["enabled"] is False


def test_the_nginx_template_as_compose_fills_it_passes_only_the_patient_paths_to_rasa(tmp_path: Path) -> None:
    """nginx started with the template and compose's REST_ACCESS, a recording server in
    place of the Rasa replicas: which requests from the internet reach the bot."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import requests

    if local_cluster.nginx_binary() is None:
        pytest.skip("nginx is not installed (scripts/ensure-scale-servers installs it)")

    def recorder(reached: list[str]) -> ThreadingHTTPServer:
        class Recorder(BaseHTTPRequestHandler):
            def answer(self) -> None:
                reached.append(self.path.split("?")[0])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = answer

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    to_bot: list[str] = []
    to_site: list[str] = []
    bot, site = recorder(to_bot), recorder(to_site)
    rest_access = load(COMPOSE)["services"]["nginx"]["environment"]["REST_ACCESS"]
    proxy = local_cluster.NginxProxy(tmp_path, [bot.server_port], widget_port=site.server_port,
                                     staff_port=site.server_port, rest_access=rest_access)
    proxy.start()
    try:
        for path in ["/socket.io/?EIO=4&transport=polling", *PATIENT_WEBHOOKS, "/webhooks/rest/webhook",
                     "/webhooks/rest/", "/webhooks/staff/reply", "/webhooks/twilio/", "/webhooks/other/webhook",
                     "/health", "/conversations/x/tracker", "/model", "/status", "/"]:
            requests.post(proxy.url + path, json={}, timeout=10)
    finally:
        proxy.stop()
        for server in (bot, site):
            server.shutdown()
            server.server_close()
    assert sorted(set(to_bot)) == sorted({"/socket.io/", *PATIENT_WEBHOOKS})
    assert not [path for path in to_site if path.startswith(("/webhooks/", "/socket.io/"))]


# --- STAFF_API_TOKEN refused at start when short or a placeholder ---------------------
STAFF_TOKEN_CASES = [
    ("short-but-random-Xq7", "at least 32"),
    ("change-me", "placeholder"),
    ("changeme", "placeholder"),
    ("token", "placeholder"),
    ("example-staff-api-token-0123456789abcdef", "placeholder"),
    ("please-change-this-staff-token-0123456789", "placeholder"),
]


def test_a_short_or_placeholder_staff_api_token_stops_the_server_a_random_one_does_not() -> None:
    import secrets
    import string

    from clinic_assistant.rasa.server import UnsafeSettings, security_arguments

    for token, says in STAFF_TOKEN_CASES:
        with pytest.raises(UnsafeSettings, match=f"STAFF_API_TOKEN.*{says}"):
            security_arguments([], {"STAFF_API_TOKEN": token})
    random_token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(48))
    assert security_arguments(["--port", "5005"], {"STAFF_API_TOKEN": random_token}) == ["--port", "5005"]
    # unset: the server starts and its staff channel answers 503, as before
    assert security_arguments(["--port", "5005"], {}) == ["--port", "5005"]
