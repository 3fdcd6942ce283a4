"""docker-compose.yml: the default profile (one Redis) and the cluster profile (Redis Cluster).

No images can be pulled here, so this reads the file as compose does (YAML with anchors) and
checks what an operator relies on: the cluster profile starts 3 masters + 3 replicas that keep
every acknowledged event, creates the cluster once, and puts the app behind a sticky proxy,
while ``docker compose up`` without a profile starts exactly what it did before.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from classroom.storage.cluster import parse_cluster_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVICES = {"redis", "app1", "app2", "app3", "nginx"}
NODES = [f"redis-node-{n}" for n in range(1, 7)]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def command_line(service: dict[str, Any]) -> str:
    """A service's command as one string, whether written as a list or a shell line."""
    command = service.get("command", [])
    parts = [*service.get("entrypoint", []), *([command] if isinstance(command, str) else command)]
    return " ".join(str(part) for part in parts)


def upstream_servers(conf: str) -> list[str]:
    block = re.search(r"upstream takhti \{(.*?)\}", conf, re.S)
    assert block is not None, "no upstream takhti"
    assert re.search(r"^\s*ip_hash;", block.group(1), re.M), "the upstream is not sticky"
    return re.findall(r"^\s*server\s+(\S+);", block.group(1), re.M)


def test_default_profile_is_one_redis_and_three_apps_behind_sticky_nginx() -> None:
    services = compose()["services"]
    default = {name for name, service in services.items() if not service.get("profiles")}
    assert default == DEFAULT_SERVICES
    assert "--appendfsync always" in command_line(services["redis"])
    for app in ("app1", "app2", "app3"):
        assert services[app]["environment"]["TAKHTI_STORE"] == "redis://redis:6379/0"
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert upstream_servers(conf) == ["app1:8080", "app2:8080", "app3:8080"]


def test_cluster_profile_has_six_durable_nodes_each_announcing_its_name() -> None:
    services = compose()["services"]
    cluster = {name for name, service in services.items() if service.get("profiles")}
    assert cluster == {*NODES, "cluster-init", "cluster-app", "cluster-nginx"}
    assert all(services[name]["profiles"] == ["cluster"] for name in cluster)
    volumes = set()
    for node in NODES:
        service = services[node]
        line = command_line(service)
        for flag in ("--cluster-enabled yes", "--appendonly yes", "--appendfsync always"):
            assert flag in line, (node, flag)
        assert "--cluster-config-file /data/nodes.conf" in line, node
        assert service["hostname"] == node  # announced via $HOSTNAME
        assert "healthcheck" in service, node
        (volume,) = service["volumes"]
        volumes.add(volume.split(":")[0])
    assert len(volumes) == 6, "each node keeps its AOF and nodes.conf in its own volume"
    assert volumes <= set(compose()["volumes"])


def test_cluster_is_created_once_with_a_replica_per_master_before_the_app_starts() -> None:
    services = compose()["services"]
    init = services["cluster-init"]
    line = command_line(init)
    assert "redis-cli --cluster create" in line
    assert "--cluster-replicas 1" in line and "--cluster-yes" in line
    assert "cluster_state:ok" in line  # a second `up` finds the cluster and creates nothing
    assert init["restart"] == "no"
    assert set(init["depends_on"]) == set(NODES)
    assert all(dep["condition"] == "service_healthy" for dep in init["depends_on"].values())
    app = services["cluster-app"]
    assert app["depends_on"]["cluster-init"]["condition"] == "service_completed_successfully"


def test_cluster_app_uses_every_node_and_sits_behind_sticky_nginx() -> None:
    services = compose()["services"]
    app = services["cluster-app"]
    store = app["environment"]["TAKHTI_STORE"]
    options = parse_cluster_url(store)  # what `classroom serve` will make of it
    assert options["nodes"] == [(node, 6379) for node in NODES]
    assert options["wait_replicas"] == 1, "an ack must wait for a replica"
    assert app["deploy"]["replicas"] >= 2
    assert app["environment"]["TAKHTI_TRUST_PROXY"] == "1"
    nginx = services["cluster-nginx"]
    (mount,) = nginx["volumes"]
    source = mount.split(":")[0]
    assert source == "./deploy/nginx-cluster.conf"
    conf = (ROOT / source).read_text()
    assert upstream_servers(conf) == ["cluster-app:8080"]
    assert "proxy_set_header Upgrade $http_upgrade;" in conf  # Socket.IO's websocket
    default_ports = {p.split(":")[0] for p in services["nginx"]["ports"]}
    assert not default_ports & {p.split(":")[0] for p in nginx["ports"]}, "ports collide"
