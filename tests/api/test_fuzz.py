"""Schema-driven fuzzing (schemathesis over /openapi.json) against a real uvicorn server, with the
admin token: no 5xx, every 4xx is problem+json, every answer's status code, content type and
body are the ones the OpenAPI document describes for that operation.

Bounded: a few examples per operation and generation mode (positive and negative data), once with
generated path parameters and once with a real tenant, network and port. The server runs in a
thread of its own, talking to the session's Temporal server; the session's worker (on the test
loop, which stays free while the fuzzing runs in a thread) applies what it accepts."""

import asyncio
import uuid
import collections
import threading
import time
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from api.app import create_app
from devstack.temporal_server import free_port

PROBLEM = "application/problem+json"
EXAMPLES = 8
# Streams that stay open until the client leaves: not for a request/response fuzzer.
SKIPPED = {"GET /v1.1/tenants/{tenant_id}/events"}
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Tally:
    statuses: collections.Counter = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)


@pytest.fixture
def server(stack):
    app = create_app(stack.settings, sweeper=False)  # connects to the session's Temporal server itself
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="fuzz-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield app, f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=15)
    assert not thread.is_alive()


def header(response, name: str) -> str:
    value = response.headers.get(name.lower()) or response.headers.get(name) or [""]
    return value[0] if isinstance(value, list) else value


def fuzz(app, base_url: str, token: str, path_parameters: dict | None, tally: Tally) -> None:
    """Runs in a thread: hypothesis and requests are synchronous."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIPPED:
            continue
        params = None
        if path_parameters is not None:
            params = {name: value for name, value in path_parameters.items() if "{" + name + "}" in operation.path}
        for mode in GenerationMode:
            strategy = operation.as_strategy(generation_mode=mode, headers={"X-Auth-Token": token}, path_parameters=params)

            @hypothesis.given(case=strategy)
            @hypothesis.settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case) -> None:
                response = case.call(base_url=base_url, timeout=30)
                status = response.status_code
                tally.statuses[(operation.label, status)] += 1
                where = f"{operation.label} [{mode.value}] -> {status}: {case.as_curl_command()}"
                if status >= 500:
                    tally.failures.append(f"server error {where}\n{response.text[:300]}")
                    return
                if status >= 400:
                    body = response.json() if header(response, "content-type") == PROBLEM else None
                    if not body or body.get("status") != status or not {"type", "title", "detail", "code"} <= body.keys():
                        tally.failures.append(f"not a problem document {where}\n{response.text[:300]}")
                        return
                try:
                    case.validate_response(response, checks=CONFORMANCE)
                except (AssertionError, BaseExceptionGroup) as error:  # FailureGroup: one or more checks failed
                    details = [str(e) for e in getattr(error, "exceptions", [error])]
                    tally.failures.append(f"not as documented {where}\n" + "\n".join(details)[:800])

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                pass  # nothing to make invalid in this operation (no body, no constrained parameter)


async def test_fuzz_the_openapi_document(server, api, stack):
    app, base_url = server
    network = await api.create_network("fuzzed")
    port = await api.create_port(network["id"])
    tally = Tally()
    started = time.monotonic()
    await asyncio.to_thread(fuzz, app, base_url, stack.settings.admin_token, None, tally)
    fixed = {"tenant_id": api.tenant, "network_id": network["id"], "port_id": port["id"]}
    await asyncio.to_thread(fuzz, app, base_url, stack.settings.admin_token, fixed, tally)
    elapsed = time.monotonic() - started

    assert not tally.failures, "\n\n".join(tally.failures[:10]) + f"\n\n({len(tally.failures)} failures)"
    requests = sum(tally.statuses.values())
    operations = {label for label, _ in tally.statuses}
    assert len(operations) >= 15 and requests >= 300, (len(operations), requests)
    # The fuzzer got past validation too: some writes were accepted.
    assert any(200 <= status < 300 and label.startswith(("POST", "PUT")) for label, status in tally.statuses), tally.statuses
    print(f"fuzz: {requests} requests over {len(operations)} operations in {elapsed:.1f}s")


# -- input limits and the document itself ------------------------------------------------------

LIMIT = 64 * 1024


async def test_bodies_over_64_kib_are_refused(api):
    network = await api.create_network("limits")
    port = await api.create_port(network["id"])
    targets = [
        ("POST", "networks"),
        ("PUT", f"networks/{network['id']}"),
        ("POST", f"networks/{network['id']}/ports"),
        ("PUT", f"networks/{network['id']}/ports/{port['id']}"),
        ("PUT", f"networks/{network['id']}/ports/{port['id']}/attachment"),
        ("POST", "/v1.1/tokens"),
    ]
    big = b'{"network": {"name": "big"}}' + b" " * LIMIT

    async def chunks():
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    for method, path in targets:
        for content in (big, chunks()):  # a declared Content-Length, then chunked with none
            response = await api.request(method, path, content=content, headers={"Content-Type": "application/json"})
            assert response.status_code == 413, (method, path, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert response.json()["code"] == "RequestTooLarge"
    # Exactly 64 KiB is allowed.
    body = b'{"network": {"name": "just-fits"}}'
    response = await api.request("POST", "networks", content=body + b" " * (LIMIT - len(body)), headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    assert sorted(n["name"] for n in (await api.get("networks"))["networks"]) == ["just-fits", "limits"]


async def test_unknown_query_parameters_are_refused_everywhere(api, stack):
    network = await api.create_network("queries")
    port = await api.create_port(network["id"])
    ids = {"tenant_id": api.tenant, "network_id": network["id"], "port_id": port["id"]}
    operations = stack.app.openapi()["paths"]
    tried = 0
    for template, methods in operations.items():
        path = template
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        path = path.replace("{batch_id}", str(uuid.uuid4())).replace("{token_id}", str(uuid.uuid4()))
        path = path.replace("{policy_id}", str(uuid.uuid4()))
        assert "{" not in path, path
        for method in methods:
            response = await api.request(method.upper(), path, params={"bogus": "1", "detail": "true"}, json={"x": 1})
            assert response.status_code == 400, (method, path, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert "bogus" in response.json()["detail"]
            tried += 1
    assert tried >= 16
    # Nothing was done by any of them.
    assert [n["id"] for n in (await api.get("networks"))["networks"]] == [network["id"]]
    assert [p["id"] for p in (await api.get(f"networks/{network['id']}/ports"))["ports"]] == [port["id"]]


async def test_errors_are_problem_documents(api):
    cases = [
        ("POST", "networks", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ("POST", "networks", {"content": b'{"network": {"name": "x"}}', "headers": {"Content-Type": "text/plain"}}, 415),
        ("POST", "networks", {"json": {"network": {"name": "x", "colour": "red"}}}, 422),
        ("POST", "networks", {"json": {"network": {"name": "x" * 256}}}, 422),
        ("GET", "networks/not-a-uuid", {}, 400),
        ("GET", f"networks/{uuid.uuid4()}", {}, 404),
        ("PATCH", "networks", {}, 405),
        ("GET", "/v1.1/nowhere", {}, 404),
        ("GET", "networks?status=SLEEPING", {}, 400),
        ("GET", "networks?detail=maybe", {}, 400),
    ]
    for method, path, kwargs, status in cases:
        response = await api.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM, (method, path)
        body = response.json()
        assert body["status"] == status and {"type", "title", "detail", "code"} <= body.keys(), body
        assert "Traceback" not in response.text


async def test_openapi_describes_every_response(stack):
    response = await stack.http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    operations = 0
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            operations += 1
            responses = operation["responses"]
            label = f"{method.upper()} {path}"
            assert any(code.startswith("2") for code in responses), label
            errors = {code: r for code, r in responses.items() if code[0] in "45" and not (path == "/healthz" and code == "503")}
            assert "400" in errors, label
            for code, described in errors.items():
                assert list(described["content"]) == [PROBLEM], (label, code)
                assert described["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}, (label, code)
            if path in ("/healthz", "/metrics"):  # no auth: probes and scrapes
                continue
            assert {"400", "401", "403", "404", "413", "422", "503"} <= errors.keys(), (label, sorted(errors))
            assert "Retry-After" in responses["503"].get("headers", {}), label
    assert operations >= 16
    paths = document["paths"]
    networks, ports = "/v1.1/tenants/{tenant_id}/networks", "/v1.1/tenants/{tenant_id}/networks/{network_id}/ports"
    assert {"201", "202"} <= paths[networks]["post"]["responses"].keys()
    assert {"201", "202"} <= paths[ports]["post"]["responses"].keys()
    assert {"200", "204"} <= paths[ports + "/{port_id}"]["put"]["responses"].keys()
    assert {"200", "202"} <= paths[ports + "/{port_id}/attachment"]["put"]["responses"].keys()
    for path in (networks + "/{network_id}", ports + "/{port_id}", ports + "/{port_id}/attachment"):
        assert {"202", "204"} <= paths[path]["delete"]["responses"].keys(), path
    for path in (networks, ports):
        assert {"detail", "status"} <= {p["name"] for p in paths[path]["get"]["parameters"]}, path
