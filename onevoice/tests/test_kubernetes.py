"""The cluster deployment (deploy/kubernetes): every manifest validates against the pinned
Kubernetes version's schemas (kubernetes-validate carries them, offline), the kustomizations
render, and what the manifests say agrees with the code: the commands exist, every queue an actor
is declared on has a worker reading it, the probes answer, every container has requests and limits.

The kustomizations are rendered here (resources, namespace, JSON patches, images: the features
they use) so the tests need no kustomize binary; with kubectl installed, its own rendering is
validated too.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dramatiq
import kubernetes_validate
import pytest
import yaml
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "deploy" / "kubernetes"
BASE = CLUSTER / "base"
# The oldest minor version the major managed services still run; the manifests use nothing newer.
KUBERNETES_VERSION = "1.33.0"


# --- A small kustomize: what the kustomizations use ----------------------------------------------

def _apply_json_patch(document: dict, operations: list[dict]) -> None:
    for op in operations:
        *parents, last = [part for part in op["path"].split("/")[1:]]
        node = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key = int(last) if isinstance(node, list) else last
        if op["op"] == "test":
            assert node[key] == op["value"], f"patch test failed at {op['path']}"
        elif op["op"] == "remove":
            del node[key]
        elif op["op"] in ("replace", "add"):
            if op["op"] == "add" and isinstance(node, list):
                node.insert(key, op["value"])
            else:
                node[key] = op["value"]
        else:
            raise AssertionError(f"unsupported patch op {op['op']}")


def _containers(resource: dict) -> list[dict]:
    spec = resource.get("spec", {})
    if resource["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec.get("template", {}).get("spec", {})
    return pod.get("initContainers", []) + pod.get("containers", [])


def render(directory: Path) -> list[dict]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    resources: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            resources += render(path)
        else:
            resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for patch in kustomization.get("patches", []):
        target = patch["target"]
        matches = [r for r in resources if r["kind"] == target["kind"] and r["metadata"]["name"] == target["name"]]
        assert len(matches) == 1, f"patch target {target} matches {len(matches)} resources"
        _apply_json_patch(matches[0], yaml.safe_load(patch["patch"]))
    for resource in resources:
        if "namespace" in kustomization and resource["kind"] != "Namespace":
            resource["metadata"]["namespace"] = kustomization["namespace"]
        for labels in kustomization.get("labels", []):
            resource["metadata"].setdefault("labels", {}).update(labels["pairs"])
        for image in kustomization.get("images", []):
            for container in _containers(resource):
                if container["image"] == image["name"]:
                    container["image"] = f"{image['newName']}:{image['newTag']}"
    return resources


def kustomization_files(directory: Path) -> list[Path]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    files = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        files += kustomization_files(path) if path.is_dir() else [path]
    return files


def _validate(resource: dict) -> None:
    # strict: an unknown or misspelt field is an error, not silently ignored.
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def _by_kind(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def _env(container: dict, config: dict) -> dict[str, str]:
    """The environment a container gets: the ConfigMap, then its own `env` (which wins)."""
    values = dict(config["data"])
    values.update({item["name"]: item["value"] for item in container.get("env", [])})
    return values


@pytest.fixture(scope="module")
def cluster() -> list[dict]:
    return render(CLUSTER)


@pytest.fixture(scope="module")
def cpu_only() -> list[dict]:
    return render(BASE)


# --- Schemas ---------------------------------------------------------------------------------------

def test_every_manifest_file_validates_against_the_pinned_kubernetes_version():
    files = sorted(set(kustomization_files(CLUSTER)))
    assert {f.name for f in files} >= {"web.yaml", "worker.yaml", "worker-gpu.yaml", "migrate.yaml", "cronjobs.yaml"}
    for path in files:
        for resource in (doc for doc in yaml.safe_load_all(path.read_text()) if doc):
            _validate(resource)  # raises ValidationError or SchemaNotFoundError (an unknown kind)


@pytest.mark.parametrize("directory", [CLUSTER, BASE], ids=["with-gpu", "cpu-only"])
def test_the_rendered_kustomizations_validate(directory):
    for resource in render(directory):
        _validate(resource)


def test_a_field_the_schema_does_not_know_fails_validation(cluster):
    # The validation the other tests rely on does catch a misspelt field.
    web = copy.deepcopy(_by_kind(cluster, "Deployment")["onevoice-web"])
    web["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/healthz", "port": 8000}}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(web)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
@pytest.mark.parametrize("directory", [CLUSTER, BASE], ids=["with-gpu", "cpu-only"])
def test_kubectl_kustomize_renders_the_same_resources(directory):
    output = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True).stdout
    rendered = [doc for doc in yaml.safe_load_all(output) if doc]
    for resource in rendered:
        _validate(resource)
    key = lambda r: (r["kind"], r["metadata"]["name"])  # noqa: E731
    ours = {key(r): r for r in render(directory)}
    assert sorted(ours) == sorted(key(r) for r in rendered)
    for resource in rendered:  # the patches and images applied as kustomize applies them
        mine = ours[key(resource)]
        assert mine.get("spec") == resource.get("spec") and mine.get("data") == resource.get("data"), key(resource)


# --- What the manifests say agrees with the code -----------------------------------------------------

def test_every_command_the_manifests_run_exists_and_takes_their_arguments(cluster):
    commands = get_commands()
    for resource in cluster:
        for container in _containers(resource):
            argv = container.get("command", [])
            if argv[:2] == ["python", "manage.py"]:
                name = argv[2]
                assert name in commands, f"{resource['metadata']['name']} runs unknown command {name}"
                parser = load_command_class(commands[name], name).create_parser("manage.py", name)
                parser.parse_args(argv[3:])  # exits (SystemExit) on an argument the command refuses


def _worker_queues(resources: list[dict]) -> dict[str, tuple[set[str], dict[str, str]]]:
    config = _by_kind(resources, "ConfigMap")["onevoice-config"]
    workers = {}
    for name, deployment in _by_kind(resources, "Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            argv = container["command"]
            if "rundramatiq" in argv:
                queues = set(argv[argv.index("--queues") + 1:])
                workers[name] = (queues, _env(container, config))
    return workers


@pytest.mark.parametrize("directory", [CLUSTER, BASE], ids=["with-gpu", "cpu-only"])
def test_every_queue_has_a_worker_and_dubbing_jobs_go_where_one_listens(directory):
    resources = render(directory)
    config = _by_kind(resources, "ConfigMap")["onevoice-config"]
    workers = _worker_queues(resources)
    read = set().union(*(queues for queues, _ in workers.values()))
    # The queues the actors are declared on (dubbing's is DUBBING_QUEUE, `dubbing` here).
    declared = {q for q in dramatiq.get_broker().get_declared_queues() if not q.endswith((".DQ", ".XQ"))}
    assert declared <= read, f"no worker reads {declared - read}"
    # The senders (web, reaper: the ConfigMap) route jobs to a queue whose readers declare the
    # dubbing actor on it (their own DUBBING_QUEUE), so they find the actor for its messages.
    route = config["data"]["DUBBING_QUEUE"]
    readers = [name for name, (queues, env) in workers.items() if route in queues]
    assert readers and all(workers[name][1]["DUBBING_QUEUE"] == route for name in readers)
    for name, (queues, env) in workers.items():
        assert env["DUBBING_QUEUE"] in queues, f"{name} declares its dubbing actor on a queue it does not read"


def test_the_gpu_workers_recognize_with_whisperx_on_a_gpu_of_their_own(cluster, cpu_only):
    gpu = _by_kind(cluster, "Deployment")["onevoice-worker-gpu"]
    container = gpu["spec"]["template"]["spec"]["containers"][0]
    env = _env(container, _by_kind(cluster, "ConfigMap")["onevoice-config"])
    assert env["DUBBING_ASR_ENGINE"] == "whisperx"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["image"].split(":")[0].endswith("onevoice-gpu")
    assert _worker_queues(cluster)["onevoice-worker-gpu"][0] == {"dubbing-gpu"}
    assert "onevoice-worker-gpu" not in _by_kind(cpu_only, "Deployment")
    assert _by_kind(cpu_only, "ConfigMap")["onevoice-config"]["data"]["DUBBING_QUEUE"] == "dubbing"


@pytest.mark.parametrize("directory", [CLUSTER, BASE], ids=["with-gpu", "cpu-only"])
def test_workers_scale_on_queue_depth_and_every_container_has_requests_and_limits(directory):
    resources = render(directory)
    deployments = _by_kind(resources, "Deployment")
    scalers = _by_kind(resources, "HorizontalPodAutoscaler")
    workers = _worker_queues(resources)
    assert {hpa["spec"]["scaleTargetRef"]["name"] for hpa in scalers.values()} == set(workers)
    for hpa in scalers.values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        names = {m["external"]["metric"]["name"] for m in hpa["spec"]["metrics"]}
        assert names <= {"onevoice_dubbing_jobs", "onevoice_queue_messages"}  # onevoice/metrics.py's gauges
    for resource in resources:
        for container in _containers(resource):
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), (resource["metadata"]["name"], kind)
    for name, deployment in deployments.items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"{name}'s selector does not match its pods"


def test_the_web_probes_answer_with_the_clusters_settings(cluster, tmp_path):
    """The kubelet probes /healthz and /readyz over plain HTTP with the Host header the manifest
    gives: with the ConfigMap's settings (debug off, so the HTTPS redirect is on) both answer 200."""
    web = _by_kind(cluster, "Deployment")["onevoice-web"]["spec"]["template"]["spec"]["containers"][0]
    probes = {name: web[name]["httpGet"] for name in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert {p["path"] for p in probes.values()} == {"/healthz", "/readyz"}
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_", "AWS_"))}
    env.update(_by_kind(cluster, "ConfigMap")["onevoice-config"]["data"])
    env.pop("AWS_STORAGE_BUCKET_NAME")  # the bucket is the Secret's world; local storage here
    env.pop("DUBBING_QUEUE")  # the GPU route: the test broker's actors are declared on `dubbing`
    env.update({"DJANGO_SECRET_KEY": "k" * 50, "ONEVOICE_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "onevoice.settings"})
    requests = [(p["path"], {h["name"]: h["value"] for h in p.get("httpHeaders", [])}["Host"]) for p in probes.values()]
    script = (
        "import django, json, sys; django.setup()\n"
        "from django.test import Client\n"
        "out = [Client().get(path, HTTP_HOST=host).status_code for path, host in json.loads(sys.argv[1])]\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, json.dumps(requests)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [200] * len(requests)
