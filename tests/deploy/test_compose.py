"""docker-compose.yml and the Dockerfile, checked against the code (no Docker engine runs here):
every netprov command is a real entry point with valid arguments, every NETPROV_*/TEMPORAL_*
variable a real setting with a valid value, every dependency waits on a health check or on a
one-shot's success, every image is pinned, every mounted or referenced file exists.

Each check returns the problems it found; the last tests feed them broken copies, so a check that
stopped looking would fail here too."""

import copy
import os
import importlib
import importlib.util
import pkgutil
import re
import shlex
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings

import plugins
from api.__main__ import GRACEFUL_SHUTDOWN_SECONDS
from netprov.settings import Settings
from worker.build import GRACEFUL_SHUTDOWN

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Values for variables the compose file requires from the operator (${VAR:?...}).
OPERATOR_VARIABLES = {"NETPROV_ADMIN_TOKEN": "test-admin-token"}
ONE_SHOT_RESTARTS = {"no", "on-failure"}
IMAGE_WORKDIR = "/app"


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


# --- compose semantics ---

_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$ (a literal $)."""

    def replace(match: re.Match) -> str:
        name = match.group("name") or match.group("bare")
        if name in variables:
            return variables[name]
        op, arg = match.group("op"), match.group("arg")
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise ValueError(f"${{{name}}} is required: {arg}")
        return ""

    return "$".join(_VARIABLE.sub(replace, part) for part in value.split("$$"))


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(str(value), OPERATOR_VARIABLES) for key, value in env.items()}


def command_of(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def is_netprov(service: dict) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("netprov:")


def is_one_shot(service: dict) -> bool:
    return str(service.get("restart", "no")) in ONE_SHOT_RESTARTS


def seconds(duration: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration):
        total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


# --- what the code offers ---


def settings_classes() -> list[type[BaseSettings]]:
    """netprov's Settings and every settings class the plugins (and the dev stack) define."""
    for module in pkgutil.walk_packages(plugins.__path__, "plugins."):
        importlib.import_module(module.name)
    importlib.import_module("devstack.stack")
    found, todo = [], [BaseSettings]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in ("netprov", "plugins", "devstack", "api", "worker", "store"):
                found.append(sub)
    return found


def environment_names(cls: type[BaseSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    names = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def known_variables() -> dict[str, type[BaseSettings]]:
    return {name: cls for cls in settings_classes() for name in environment_names(cls)}


def console_scripts() -> dict[str, str]:
    return PYPROJECT["project"].get("scripts", {})


# --- checks: each returns the problems found ---


def check_commands(compose: dict) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        if not is_netprov(service):
            continue
        command = command_of(service)
        if command[:2] == ["python", "-m"] and len(command) > 2:
            problems += [f"{name}: {p}" for p in _check_module_command(command[2], command[3:])]
        elif command and command[0] in console_scripts():
            module = console_scripts()[command[0]].split(":")[0]
            if importlib.util.find_spec(module) is None:
                problems.append(f"{name}: console script {command[0]} points at missing module {module}")
        else:
            problems.append(f"{name}: command {command} is neither `python -m <module>` nor a console script")
        entrypoint = service.get("entrypoint")
        if entrypoint:
            problems += [f"{name}: {p}" for p in _check_entrypoint(entrypoint)]
    return problems


def _check_module_command(module: str, args: list[str]) -> list[str]:
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return [f"module {module} does not exist"]
    main_name = f"{module}.__main__" if spec.submodule_search_locations is not None else module
    main = importlib.import_module(main_name)
    source = Path(main.__file__).read_text()
    if 'if __name__ == "__main__":' not in source:
        return [f"{main_name} cannot run as `python -m {module}`"]
    parser = getattr(main, "parser", None)
    if parser is None:
        return [] if not args else [f"`python -m {module}` takes no arguments, got {args}"]
    try:
        parser().parse_args(args)
    except SystemExit:
        return [f"`python -m {module}` rejects the arguments {args}"]
    return []


def _check_entrypoint(entrypoint) -> list[str]:
    script = entrypoint[0] if isinstance(entrypoint, list) else shlex.split(entrypoint)[0]
    if not script.startswith(f"{IMAGE_WORKDIR}/"):
        return [f"entrypoint {script} is not a file of the image's {IMAGE_WORKDIR}"]
    path = ROOT / script.removeprefix(f"{IMAGE_WORKDIR}/")
    if not path.is_file():
        return [f"entrypoint {script}: {path.relative_to(ROOT)} does not exist"]
    problems = []
    if not path.stat().st_mode & 0o111:
        problems.append(f"entrypoint {path.relative_to(ROOT)} is not executable")
    if 'exec "$@"' not in path.read_text():
        problems.append(f"entrypoint {path.relative_to(ROOT)} must end with exec \"$@\" (signals reach the process)")
    return problems


def check_environment(compose: dict, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    known = known_variables()
    problems = []
    for name, service in compose["services"].items():
        if not is_netprov(service):
            continue
        env = environment(service)
        ours = {k: v for k, v in env.items() if k.startswith(("NETPROV_", "TEMPORAL_"))}
        problems += [f"{name}: {k} is no setting of {sorted({c.__name__ for c in known.values()})}"
                     for k in ours if k not in known]
        # The values must pass each settings class's validation, as at start-up.
        with monkeypatch.context() as patch:
            for key in [k for k in os.environ if k.startswith(("NETPROV_", "TEMPORAL_"))]:
                patch.delenv(key)
            for key, value in ours.items():
                patch.setenv(key, value)
            for cls in {known[k] for k in ours if k in known}:
                try:
                    cls()
                except ValidationError as error:
                    problems.append(f"{name}: invalid value for {cls.__name__}: {error}")
    return problems


def check_dependencies(compose: dict) -> list[str]:
    services = compose["services"]
    problems = []
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            problems.append(f"{name}: depends_on must name a condition for each service")
            continue
        for target, spec in depends.items():
            condition = (spec or {}).get("condition")
            if target not in services:
                problems.append(f"{name}: depends on unknown service {target}")
            elif condition == "service_healthy":
                if "healthcheck" not in services[target]:
                    problems.append(f"{name}: waits for {target} to be healthy, which has no healthcheck")
            elif condition == "service_completed_successfully":
                if not is_one_shot(services[target]):
                    problems.append(f"{name}: waits for {target} to complete, but {target} restarts forever")
            else:
                problems.append(f"{name}: depends on {target} with condition {condition!r}")
        if not is_one_shot(service) and "healthcheck" not in service:
            problems.append(f"{name}: long-running service without a healthcheck")
    return problems


def check_healthchecks(compose: dict) -> list[str]:
    """A netprov healthcheck probes the port the service really listens on, with code that compiles."""
    problems = []
    for name, service in compose["services"].items():
        test = (service.get("healthcheck") or {}).get("test")
        if not test or not is_netprov(service):
            continue
        if test[:3] == ["CMD", "python", "-c"]:
            try:
                compile(test[3], f"{name} healthcheck", "exec")
            except SyntaxError as error:
                problems.append(f"{name}: healthcheck does not compile: {error}")
        env = environment(service)
        command = command_of(service)
        ports = set(re.findall(r"127\.0\.0\.1:(\d+)", " ".join(test)))
        if command[:3] == ["python", "-m", "api"]:
            expected = {env.get("NETPROV_API_PORT", str(Settings.model_fields["api_port"].default))}
            if env.get("NETPROV_API_HOST", "127.0.0.1") not in ("0.0.0.0", "::"):
                problems.append(f"{name}: the API listens on {env.get('NETPROV_API_HOST', '127.0.0.1')}, unreachable from outside")
        elif command[:3] == ["python", "-m", "worker"]:
            expected = {env.get("NETPROV_WORKER_METRICS_PORT", "0")}
        else:
            continue
        if ports != expected:
            problems.append(f"{name}: healthcheck probes port(s) {sorted(ports)}, the service listens on {sorted(expected)}")
    return problems


def check_images(compose: dict) -> list[str]:
    problems = []
    version = PYPROJECT["project"]["version"]
    for name, service in compose["services"].items():
        image = str(service.get("image", ""))
        repository, _, tag = image.rpartition(":")
        if not repository or not re.fullmatch(r"v?\d+(\.\d+)+[\w.-]*", tag):
            problems.append(f"{name}: image {image!r} is not pinned to a version")
        if is_netprov(service) and image != f"netprov:{version}":
            problems.append(f"{name}: netprov image {image!r} is not netprov:{version} (pyproject.toml)")
    return problems


def check_files(compose: dict) -> list[str]:
    """Bind-mounted paths exist; scripts a command runs from a mount exist and are executable."""
    problems = []
    for name, service in compose["services"].items():
        mounts = {}
        for volume in service.get("volumes") or []:
            source, _, rest = str(volume).partition(":")
            target = rest.split(":")[0]
            if source.startswith("./"):
                if not (ROOT / source).exists():
                    problems.append(f"{name}: mounts {source}, which does not exist")
                mounts[target] = ROOT / source
        for part in command_of(service):
            for target, source in mounts.items():
                if part.startswith(target + "/"):
                    path = source / part.removeprefix(target + "/")
                    if not path.is_file() or not path.stat().st_mode & 0o111:
                        problems.append(f"{name}: runs {part}, but {path.relative_to(ROOT)} is no executable file")
    return problems


def check_wiring(compose: dict) -> list[str]:
    """The netprov services reach the Temporal and PostgreSQL services that exist, in the namespace
    that is created; shutdown grace periods cover the processes' own."""
    services = compose["services"]
    problems = []
    namespaces = {environment(s).get("NAMESPACE") for s in services.values() if not is_netprov(s)} - {None}
    for name, service in services.items():
        if not is_netprov(service):
            continue
        env = environment(service)
        host = env.get("TEMPORAL_ADDRESS", "").split(":")[0]
        if host not in services:
            problems.append(f"{name}: TEMPORAL_ADDRESS {env.get('TEMPORAL_ADDRESS')} is no service")
        if env.get("TEMPORAL_NAMESPACE", "default") not in namespaces:
            problems.append(f"{name}: namespace {env.get('TEMPORAL_NAMESPACE')} is not created by any service")
        db_host = re.search(r"@([\w-]+)[:/]", env.get("NETPROV_DATABASE_URL", ""))
        if not db_host or db_host.group(1) not in services:
            problems.append(f"{name}: NETPROV_DATABASE_URL does not point at a service")
        command = command_of(service)
        grace = seconds(str(service.get("stop_grace_period", "10s")))
        needed = {"api": GRACEFUL_SHUTDOWN_SECONDS, "worker": GRACEFUL_SHUTDOWN.total_seconds()}.get(
            command[2] if command[:2] == ["python", "-m"] else "", 0
        )
        if needed and grace <= needed:
            problems.append(f"{name}: stop_grace_period {grace:.0f}s does not cover its {needed:.0f}s graceful shutdown")
    return problems


def check_dockerfile(text: str) -> list[str]:
    problems = []
    base = re.search(r"^FROM\s+(\S+)", text, re.M)
    if not base or not re.search(r":\d+\.\d+\.\d+", base.group(1)):
        problems.append(f"Dockerfile: base image {base and base.group(1)!r} is not pinned to a patch version")
    for sources in re.findall(r"^COPY\s+(.+?)\s+\S+$", text, re.M):
        for source in sources.split():
            if not source.startswith("--") and not (ROOT / source).exists():
                problems.append(f"Dockerfile: COPY {source}: no such file")
    if not re.search(rf"^WORKDIR\s+{IMAGE_WORKDIR}$", text, re.M):
        problems.append(f"Dockerfile: WORKDIR is not {IMAGE_WORKDIR}")
    cmd = re.search(r"^CMD\s+(\[.*\])$", text, re.M)
    if not cmd or yaml.safe_load(cmd.group(1))[:3] != ["python", "-m", "api"]:
        problems.append("Dockerfile: CMD is not python -m api")
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    needed = ["pyproject.toml", "deploy"] + [p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]]
    for path in needed:
        if path in ignored:
            problems.append(f".dockerignore leaves out {path}, which the image needs")
    return problems


# --- the real files ---


def test_every_netprov_command_is_a_real_entry_point():
    assert check_commands(load_compose()) == []


def test_every_netprov_variable_is_a_real_setting_with_a_valid_value(monkeypatch):
    assert check_environment(load_compose(), monkeypatch) == []


def test_dependencies_wait_for_health_or_completion():
    assert check_dependencies(load_compose()) == []


def test_healthchecks_probe_what_the_services_serve():
    assert check_healthchecks(load_compose()) == []


def test_images_are_pinned():
    assert check_images(load_compose()) == []


def test_mounted_and_run_files_exist():
    assert check_files(load_compose()) == []


def test_services_are_wired_to_each_other():
    assert check_wiring(load_compose()) == []


def test_dockerfile_builds_the_project_image():
    assert check_dockerfile(DOCKERFILE.read_text()) == []


def test_every_setting_is_in_the_documented_settings_table():
    docs = [ROOT / "docs" / "readme" / "deploying.md", ROOT / "README.md"]
    text = "\n".join(path.read_text() for path in docs if path.is_file())
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", text, re.M))
    missing = sorted(set(known_variables()) - documented)
    assert not missing, f"add a row for each to the settings table of docs/readme/deploying.md: {missing}"


def test_the_deployment_has_every_part_the_issue_asks_for():
    services = load_compose()["services"]
    commands = {name: command_of(s) for name, s in services.items() if is_netprov(s)}
    assert ["python", "-m", "api"] in commands.values()
    assert ["python", "-m", "worker"] in commands.values()
    assert {tuple(c[-2:]) for c in commands.values() if "--host" in c} == {("--host", "h1"), ("--host", "h2")}
    images = {str(s.get("image", "")).split(":")[0] for s in services.values()}
    assert {"postgres", "temporalio/server", "temporalio/admin-tools", "temporalio/ui"} <= images
    temporal = next(s for s in services.values() if str(s.get("image", "")).startswith("temporalio/server:"))
    assert environment(temporal)["DB"] == "postgres12"
    agents = [s for s in services.values() if "--host" in command_of(s)]
    assert all(s.get("privileged") or {"NET_ADMIN"} <= set(s.get("cap_add", [])) for s in agents)


# --- the checks see what they are meant to see ---


def broken(mutate) -> dict:
    compose = copy.deepcopy(load_compose())
    mutate(compose["services"])
    return compose


def test_checks_catch_broken_files(monkeypatch):
    typo = broken(lambda s: s["api"]["environment"].update(NETPROV_DATABSE_URL="x"))
    assert any("NETPROV_DATABSE_URL" in p for p in check_environment(typo, monkeypatch))
    bad_value = broken(lambda s: s["api"]["environment"].update(NETPROV_API_PORT="eighty"))
    assert any("invalid value" in p for p in check_environment(bad_value, monkeypatch))
    no_module = broken(lambda s: s["worker"].update(command=["python", "-m", "wroker"]))
    assert any("wroker" in p for p in check_commands(no_module))
    bad_args = broken(lambda s: s["agent-h1"].update(command=["python", "-m", "worker", "--hots", "h1"]))
    assert any("rejects" in p for p in check_commands(bad_args))
    api_args = broken(lambda s: s["api"].update(command=["python", "-m", "api", "--reload"]))
    assert any("takes no arguments" in p for p in check_commands(api_args))
    plain = broken(lambda s: s["api"].update(depends_on={"temporal": {"condition": "service_started"}}))
    assert any("service_started" in p for p in check_dependencies(plain))
    unhealthy = broken(lambda s: s["worker"].pop("healthcheck"))
    assert any("without a healthcheck" in p for p in check_dependencies(unhealthy))
    wrong_port = broken(lambda s: s["worker"]["environment"].update(NETPROV_WORKER_METRICS_PORT="9999"))
    assert any("probes port" in p for p in check_healthchecks(wrong_port))
    latest = broken(lambda s: s["temporal"].update(image="temporalio/server:latest"))
    assert any("not pinned" in p for p in check_images(latest))
    short_grace = broken(lambda s: s["worker"].update(stop_grace_period="10s"))
    assert any("stop_grace_period" in p for p in check_wiring(short_grace))
    missing_script = broken(lambda s: s["temporal-schema"].update(command=["/netprov-deploy/nope.sh"]))
    assert any("nope.sh" in p for p in check_files(missing_script))
    assert any("COPY" in p for p in check_dockerfile(DOCKERFILE.read_text() + "\nCOPY missing-dir /x\n"))
    assert timedelta(seconds=seconds("1m30s")) == timedelta(seconds=90)
