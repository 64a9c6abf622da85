"""docker-compose.yml must work with graphmem's defaults on a user's machine.

Docker cannot run here, so the file is parsed and checked against what ``Config.from_env``
reads and what the README tells users to export; the two health-check commands are run
against stand-ins (a fake ``cypher-shell``, a local HTTP server) to prove they can pass
and fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from graphmem import config
from graphmem.config import Config

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
# ${NAME:-default} as compose interpolates it
_DEFAULTED = re.compile(r"\$\{(?P<name>[A-Z][A-Z0-9_]*):-(?P<default>[^}]*)\}")


def published(service: str) -> dict[int, str]:
    """Container port -> host address, from "host:published:container" entries."""
    out = {}
    for entry in SERVICES[service]["ports"]:
        host, host_port, container_port = str(entry).split(":")
        assert host_port == container_port, entry
        out[int(container_port)] = host
    return out


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's view of a value: ${X:-d} from env or its default, then $$ -> $."""
    text = _DEFAULTED.sub(lambda m: env.get(m["name"]) or m["default"], text)
    return text.replace("$$", "$")


def test_two_services_with_pinned_major_versions():
    assert set(SERVICES) == {"neo4j", "qdrant"}
    assert (
        SERVICES["neo4j"]["image"].startswith("neo4j:5")
        and "community" in (SERVICES["neo4j"]["image"])
    )
    assert SERVICES["qdrant"]["image"].startswith("qdrant/qdrant:")


def test_ports_are_published_on_localhost_only():
    assert published("neo4j") == {7474: "127.0.0.1", 7687: "127.0.0.1"}
    assert published("qdrant") == {6333: "127.0.0.1", 6334: "127.0.0.1"}


def test_data_lives_in_named_volumes():
    declared = set(COMPOSE["volumes"])
    for name, service in SERVICES.items():
        sources = [str(v).split(":")[0] for v in service["volumes"]]
        assert sources and set(sources) <= declared, name  # named volumes, no bind mounts
    assert any(str(v).endswith(":/data") for v in SERVICES["neo4j"]["volumes"])
    assert any(str(v).endswith(":/qdrant/storage") for v in SERVICES["qdrant"]["volumes"])


def test_every_service_has_a_health_check_for_up_wait():
    for name, service in SERVICES.items():
        check = service["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1, name
        assert check["interval"] and check["retries"] >= 3, name


def test_neo4j_credentials_match_graphmem_defaults():
    auth = SERVICES["neo4j"]["environment"]["NEO4J_AUTH"]
    user, _, password = auth.partition("/")
    assert user == config.DEFAULT_NEO4J_USER == "neo4j"  # community: the admin is "neo4j"
    found = _DEFAULTED.fullmatch(password)
    assert found and found["name"] == "NEO4J_PASSWORD"  # the variable graphmem reads too
    assert found["default"] == config.DEFAULT_NEO4J_PASSWORD
    assert len(found["default"]) >= 8  # Neo4j 5 refuses shorter passwords
    assert config.DEFAULT_NEO4J_DATABASE == "neo4j"  # the community edition's only database


def test_no_graphmem_variable_leaks_into_neo4j_settings():
    # The image turns NEO4J_* variables into settings and refuses unknown ones.
    for key in SERVICES["neo4j"]["environment"]:
        assert key == "NEO4J_AUTH" or re.fullmatch(r"NEO4J_[a-z][a-z0-9_]*", key), key


def test_graphmem_defaults_reach_the_published_ports():
    uri = urlparse(config.DEFAULT_NEO4J_URI)
    assert uri.scheme == "bolt" and uri.hostname in ("localhost", "127.0.0.1")
    assert uri.port in published("neo4j")


def test_readme_server_mode_matches_the_compose_file():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker compose up -d --wait" in readme
    # the shell block right under "## Server mode": what a user copies
    block = readme.split("## Server mode", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    exports = [line.split(None, 1)[1] for line in block.splitlines() if line.startswith("export ")]
    settings = Config.from_env(dict(re.findall(r"([A-Z][A-Z0-9_]*)=(\S+)", " ".join(exports))))
    assert settings.graph == "neo4j"
    qdrant = urlparse(settings.qdrant_url)
    assert qdrant.hostname in ("localhost", "127.0.0.1") and qdrant.port in published("qdrant")
    assert urlparse(settings.neo4j_uri).port in published("neo4j")


def test_neo4j_health_check_logs_in_with_the_configured_password(tmp_path):
    """Runs the check with a stand-in cypher-shell that accepts only the right login."""
    if shutil.which("sh") is None:
        pytest.skip("needs a POSIX shell")
    fake = tmp_path / "cypher-shell"
    fake.write_text('#!/bin/sh\n[ "$*" = "-u neo4j -p $WANT RETURN 1" ]\n', encoding="utf-8")
    fake.chmod(0o755)
    check = SERVICES["neo4j"]["healthcheck"]["test"]
    assert check[0] == "CMD-SHELL"
    for env, want, healthy in (
        ({}, config.DEFAULT_NEO4J_PASSWORD, True),
        ({"NEO4J_PASSWORD": "s3cret pass"}, "s3cret pass", True),
        ({}, "something-else", False),
    ):
        auth = interpolate(SERVICES["neo4j"]["environment"]["NEO4J_AUTH"], env)
        container = {"PATH": f"{tmp_path}:/usr/bin:/bin", "NEO4J_AUTH": auth, "WANT": want}
        run = subprocess.run(["sh", "-c", interpolate(check[1], env)], env=container)
        assert (run.returncode == 0) is healthy, (env, want)


class _Ready(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.end_headers()
        self.wfile.write(b"all shards are ready")

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status", [200, 503])
def test_qdrant_health_check_asks_readyz(status):
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    handler = type("Handler", (_Ready,), {"status": status})
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        check = SERVICES["qdrant"]["healthcheck"]["test"]
        assert check[:3] == ["CMD", "bash", "-c"] and "/dev/tcp/127.0.0.1/6333" in check[3]
        script = check[3].replace("/6333", f"/{server.server_address[1]}")
        run = subprocess.run(["bash", "-c", script], timeout=10)
        server.shutdown()
    assert (run.returncode == 0) is (status == 200)
