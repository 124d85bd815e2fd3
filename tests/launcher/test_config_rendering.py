"""Launcher pieces that need no running component: settings, configs, escaping."""

import subprocess
from pathlib import Path

import pytest
import yaml

from services.kit.cors import LOOPBACK_ORIGIN_REGEX
from services.kit.layers import launched_layers
from services.launcher.components import ENVOY_TEMPLATE, PROJECT_ROOT
from services.launcher.config import LauncherSettings
from services.launcher.envoy_config import discovered_filters, render
from services.launcher.errors import MeshError
from services.launcher.supervisor import Program, Supervisor
from tests.support import envoy_validation

pytestmark = [pytest.mark.unit, pytest.mark.launcher]

# Every layer the launcher runs (l01_data: 18001, ...), their HTTP ports (l12_nl_http: 18112,
# l04_models_http: 18104),
# and the gateway process's two ports.
PORTS = {
    **{
        layer.name: tuple(10000 + port for port in layer.process_ports)
        for layer in launched_layers()
    },
    **{
        layer.http_cluster: (10000 + layer.http_port,)
        for layer in launched_layers()
        if layer.serves_http
    },
    "l09_gateway_http": (18090,),
    "l09_gateway_grpc": (18091,),
}


def _validate(config: Path) -> subprocess.CompletedProcess[str]:
    return envoy_validation(config, cwd=PROJECT_ROOT)


def test_committed_envoy_config_validates() -> None:
    result = _validate(ENVOY_TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_envoy_config_has_the_ports_and_validates(tmp_path: Path) -> None:
    text = render(
        ENVOY_TEMPLATE, listener_port=18009, admin_port=18901, cluster_ports=PORTS,
        base_dir=PROJECT_ROOT,
    )  # fmt: skip
    config = yaml.safe_load(text)
    assert config["admin"]["address"]["socket_address"]["port_value"] == 18901
    listener = config["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"]["port_value"] == 18009
    for cluster in config["static_resources"]["clusters"]:
        endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
        ports = tuple(e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints)
        assert ports == PORTS[cluster["name"]]
    assert len(PORTS["l04_models"]) == 2  # L04 runs as two processes: both are endpoints
    assert str(PROJECT_ROOT / "gen" / "descriptor.binpb") in text
    path = tmp_path / "envoy.yaml"
    path.write_text(text)
    result = _validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_cluster_without_a_port_is_refused() -> None:
    with pytest.raises(MeshError, match="l01_data"):
        render(
            ENVOY_TEMPLATE, listener_port=1, admin_port=2,
            cluster_ports={"l09_gateway_http": (3,)}, base_dir=PROJECT_ROOT,
        )  # fmt: skip


def test_settings_refuse_a_port_used_twice(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="port 9000"):
        LauncherSettings(home=tmp_path, gateway_port=9000, redis_port=9000)


def test_settings_read_external_servers_from_the_plain_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/x")
    monkeypatch.setenv("AGENTIC_REDIS_PORT", "9379")
    settings = LauncherSettings(home=tmp_path)
    assert settings.effective_database_url == "postgresql://db.example/x"
    assert not settings.embedded_postgres
    assert settings.effective_redis_url == "redis://127.0.0.1:9379/0"


def test_supervisord_conf_escapes_percent_and_quotes_values(tmp_path: Path) -> None:
    program = Program(
        name="x",
        command=["/bin/echo", "50%", "a b"],
        log_file=tmp_path / "x.log",
        directory=tmp_path,
        priority=1,
        environment={"KEY": 'p%w"d', "URL": "redis://h:1/0"},
    )
    conf = Supervisor(tmp_path).render_conf([program])
    assert "command=/bin/echo 50%% 'a b'" in conf
    assert 'environment=KEY=\'p%%w"d\',URL="redis://h:1/0"' in conf


@pytest.mark.parametrize("value", ["two\nlines", "x ; y", "x # y"])
def test_supervisord_conf_refuses_what_its_parser_would_cut(tmp_path: Path, value: str) -> None:
    program = Program(
        name="x", command=["true"], log_file=tmp_path / "x.log", directory=tmp_path,
        priority=1, environment={"KEY": value},
    )  # fmt: skip
    with pytest.raises(MeshError):
        Supervisor(tmp_path).render_conf([program])


def test_the_launcher_knows_which_filters_envoy_discovers() -> None:
    """Envoy is ready only once these have their configuration (see probes)."""
    assert set(discovered_filters(ENVOY_TEMPLATE)) == {
        "envoy.filters.http.jwt_authn",
        "envoy.filters.http.rbac",
        "l09.jwt_identity",
    }


def _origin_policies(text: str) -> list[list[dict[str, object]]]:
    found: list[list[dict[str, object]]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "allow_origin_string_match" in node:
                found.append(node["allow_origin_string_match"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(text))
    return found


def test_cors_origins_are_a_setting_written_into_the_gateway_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGENTIC_CORS_ORIGINS", "https://app.example.com, localhost")
    settings = LauncherSettings(home=tmp_path)
    assert settings.effective_cors_origins == ("https://app.example.com", "localhost")
    text = render(
        ENVOY_TEMPLATE, listener_port=18009, admin_port=18901, cluster_ports=PORTS,
        base_dir=PROJECT_ROOT, cors_origins=settings.effective_cors_origins,
    )  # fmt: skip
    assert _origin_policies(text) == [
        [{"exact": "https://app.example.com"}, {"safe_regex": {"regex": LOOPBACK_ORIGIN_REGEX}}]
    ]


def test_cors_allows_loopback_origins_in_development_and_none_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AGENTIC_CORS_ORIGINS", raising=False)
    monkeypatch.delenv("AGENTIC_PRODUCTION", raising=False)
    assert LauncherSettings(home=tmp_path).effective_cors_origins == ("localhost",)
    assert LauncherSettings(home=tmp_path, production=True).effective_cors_origins == ()
    production = LauncherSettings(home=tmp_path, l01_api_key="k")
    assert production.effective_cors_origins == ()
    # The committed file carries the development default.
    assert _origin_policies(ENVOY_TEMPLATE.read_text()) == [
        [{"safe_regex": {"regex": LOOPBACK_ORIGIN_REGEX}}]
    ]
    text = render(
        ENVOY_TEMPLATE, listener_port=18009, admin_port=18901, cluster_ports=PORTS,
        base_dir=PROJECT_ROOT, cors_origins=production.effective_cors_origins,
    )  # fmt: skip
    assert _origin_policies(text) == [[]]
    path = tmp_path / "envoy.yaml"
    path.write_text(text)
    result = _validate(path)
    assert result.returncode == 0, result.stdout + result.stderr
