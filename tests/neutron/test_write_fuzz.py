"""Fuzzing the v2.0 write bodies: every attribute of the network and port tables (and unknown
ones, and wrong shapes) given values of every JSON type, edge lengths and NULs, on POST (one and
bulk), PUT and the tags sub-resource. Never a 5xx; every refusal is a NeutronError with Neutron's
400/404/409; every acceptance the code Neutron answers. Seeded: the same bodies on every run."""

import random
import uuid

from api.neutron.definitions import NETWORK, PORT
from tests.neutron.test_writes_http import net, port

NASTY = [
    None, True, False, 0, 1, -1, 2**64, 1.5, float("1e308"), "", "x", "x" * 256, "a\x00b", "ACTIVE", "true",
    "fa:16:3e:00:00:0g", "FA-16-3E-12-34-56", "01:00:5e:00:00:01", "00:00:00:00:00:00", "h 1", "h1",
    str(uuid.uuid4()), "not-a-uuid", [], [1], ["a", "a"], ["a", "b"], ["x" * 300], [None], {}, {"a": 1},
    "normal", "direct", "\u00e9\u4e2d", "'; DROP TABLE ports; --",
]
EXTRA_KEYS = ["colour", "", "security_groups", "port_security_enabled", "netprov:link_status", "id"]
ACCEPTED = {"POST": {201}, "PUT": {200}}
REFUSED = {400, 404, 409}


# Values each attribute takes (the rest of a body around one nasty value, or a valid body).
GOOD = {
    "name": ["ok", "", "n" * 255], "description": ["d", ""], "admin_state_up": [True, False, "true", 0],
    "tags": [["t"], []], "device_id": ["vm-1", ""], "device_owner": ["compute:nova"], "binding:host_id": ["h1", "", None],
    "mac_address": ["fa:16:3e:aa:bb:cc"], "fixed_ips": [[]], "binding:vnic_type": ["normal"], "qos_policy_id": [None],
    "shared": [False],
}


def bodies(resource, rng: random.Random, count: int, base: dict) -> list[dict]:
    names = [a.name for a in resource.attributes if a.visible] + EXTRA_KEYS
    good = [name for name in GOOD if resource.attribute(name) is not None]
    out = []
    for _ in range(count):
        fields = dict(base)
        for name in rng.sample(good, rng.randint(0, 3)):
            fields[name] = rng.choice(GOOD[name])
        if rng.random() < 0.6:
            fields[rng.choice(names)] = rng.choice(NASTY)
        out.append(fields)
    return out


STATUSES: dict[int, int] = {}


def check(response, method: str) -> None:
    STATUSES[response.status_code] = STATUSES.get(response.status_code, 0) + 1
    assert response.status_code < 500, f"{method} {response.request.url}: {response.status_code} {response.text}"
    if response.status_code in ACCEPTED.get(method, set()):
        return
    assert response.status_code in REFUSED, response.text
    body = response.json()
    assert set(body) == {"NeutronError"} and set(body["NeutronError"]) == {"type", "message", "detail"}, body


async def test_write_bodies_never_500(v2):
    rng = random.Random(15)
    network = await net(v2, name="fuzz")
    one_port = await port(v2, network["id"])
    requests = []
    for fields in bodies(NETWORK, rng, 60, {}):
        requests.append(("POST", "/v2.0/networks", {"network": fields}))
        requests.append(("PUT", f"/v2.0/networks/{network['id']}", {"network": fields}))
    for fields in bodies(PORT, rng, 80, {"network_id": network["id"]}):
        requests.append(("POST", "/v2.0/ports", {"port": fields}))
        requests.append(("PUT", f"/v2.0/ports/{one_port['id']}", {"port": fields}))
    for fields in bodies(PORT, rng, 15, {"network_id": network["id"]}):
        requests.append(("POST", "/v2.0/ports", {"ports": [fields, {"network_id": network["id"]}]}))
    for fields in bodies(NETWORK, rng, 15, {}):
        requests.append(("POST", "/v2.0/networks", {"networks": [fields]}))
    shapes = [None, [], {}, "x", 1, {"port": None}, {"port": []}, {"ports": {}}, {"ports": []}, {"ports": [1]},
              {"port": {}, "network": {}}, {"networks": [None]}, {"network": {"name": "a"}, "extra": 1}]  # fmt: skip
    for shape in shapes:
        requests += [("POST", "/v2.0/ports", shape), ("POST", "/v2.0/networks", shape),
                     ("PUT", f"/v2.0/ports/{one_port['id']}", shape)]  # fmt: skip
    for value in NASTY:
        requests.append(("PUT", f"/v2.0/ports/{one_port['id']}/tags", {"tags": value}))
    for method, path, body in requests:
        check(await v2.request(method, path, json=body), method)
    for raw in (b"{", b"[" * 5000 + b"]" * 5000, b"\xff\xfe", b"", b"NaN"):
        response = await v2.request("POST", "/v2.0/ports", content=raw, headers={"Content-Type": "application/json"})
        check(response, "POST")
        assert response.status_code == 400, response.text
    # The bodies reach both sides: some accepted, most refused (a fuzzer that is all 400s tests nothing).
    assert STATUSES.get(201, 0) >= 5 and STATUSES.get(200, 0) >= 5 and STATUSES.get(409, 0) >= 1 and STATUSES.get(400, 0) >= 100, STATUSES
    # After all of it the port still reads, and still renders as Neutron's body.
    assert (await v2.request("GET", f"/v2.0/ports/{one_port['id']}")).status_code == 200
