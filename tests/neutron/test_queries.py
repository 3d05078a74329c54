"""fields=, filters, sorting and pagination as Neutron's controller answers them, over HTTP."""

import pytest


@pytest.fixture
async def five_ports(v2):
    """A network with five ports: admin ACTIVE for the even ones, names p0..p4 set in the store."""
    from sqlalchemy import update
    from sqlmodel import Session

    from store.tables import PortRow

    network = await v2.create_network("q")
    ports = [await v2.create_port(network["id"], state="ACTIVE" if i % 2 == 0 else None) for i in range(5)]
    for port in ports:
        await v2.settle(f"networks/{network['id']}/ports/{port['id']}", "port")
    with Session(v2.engine) as session:
        for i, port in enumerate(ports):
            session.execute(update(PortRow).where(PortRow.id == port["id"]).values(name=f"p{i}", device_owner="compute:nova"))
        session.commit()
    return network, [p["id"] for p in ports]


@pytest.fixture
def v2(api, stack):
    api.engine = stack.app.state.engine
    return api


async def get(v2, query: str) -> dict:
    response = await v2.request("GET", f"/v2.0/ports?{query}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_fields_keep_only_what_was_asked(v2, five_ports):
    network, ids = five_ports
    # What `openstack port list` sends.
    body = await get(v2, f"network_id={network['id']}&fields=id&fields=name&fields=mac_address&fields=fixed_ips&fields=status")
    assert {tuple(sorted(p)) for p in body["ports"]} == {("fixed_ips", "id", "mac_address", "name", "status")}
    one = await v2.request("GET", f"/v2.0/ports/{ids[0]}?fields=name&fields=nonsense")
    assert one.json() == {"port": {"name": "p0"}}


async def test_filters_equality_and_any_of(v2, five_ports):
    network, ids = five_ports
    assert [p["id"] for p in (await get(v2, "name=p3"))["ports"]] == [ids[3]]
    both = await get(v2, f"network_id={network['id']}&name=p1&name=p4")
    assert {p["id"] for p in both["ports"]} == {ids[1], ids[4]}
    up = await get(v2, f"network_id={network['id']}&admin_state_up=True")
    assert {p["id"] for p in up["ports"]} == {ids[0], ids[2], ids[4]}
    down = await get(v2, f"network_id={network['id']}&admin_state_up=false&status=DOWN&binding:vif_type=unbound")
    assert {p["id"] for p in down["ports"]} == {ids[1], ids[3]}
    assert (await get(v2, f"network_id={network['id']}&fixed_ips=ip_address=10.0.0.1"))["ports"] == []
    mac = (await v2.request("GET", f"/v2.0/ports/{ids[2]}")).json()["port"]["mac_address"]
    assert [p["id"] for p in (await get(v2, f"mac_address={mac.upper()}"))["ports"]] == [ids[2]]


@pytest.mark.parametrize(
    "query, message",
    [
        ("nonsense=1", "[nonsense] is invalid attribute for filtering"),
        ("netprov:link_status_string=x", "[netprov:link_status_string] is invalid attribute for filtering"),
        ("admin_state_up=maybe", "Invalid input for admin_state_up"),
        ("revision_number=two", "Invalid input for revision_number"),
        ("sort_key=name", "The number of sort_keys and sort_dirs must be same"),
        ("sort_key=fixed_ips&sort_dir=asc", "is invalid attribute for sort_keys"),
        ("sort_key=name&sort_dir=up", "is invalid value for sort_dirs"),
        ("limit=-1", "Limit must be an integer 0 or greater"),
        ("limit=ten", "Limit must be an integer 0 or greater"),
        ("limit=2&page_reverse=sideways", "Invalid input for page_reverse"),
    ],
)
async def test_bad_queries_are_400(v2, query, message):
    response = await v2.request("GET", f"/v2.0/ports?{query}")
    assert response.status_code == 400, response.text
    error = response.json()["NeutronError"]
    assert error["type"] == "HTTPBadRequest" and message in error["message"]


async def test_sorting(v2, five_ports):
    network, ids = five_ports
    body = await get(v2, f"network_id={network['id']}&sort_key=name&sort_dir=desc")
    assert [p["id"] for p in body["ports"]] == ids[::-1]
    body = await get(v2, f"network_id={network['id']}&sort_key=admin_state_up&sort_dir=asc&sort_key=name&sort_dir=desc")
    assert [p["id"] for p in body["ports"]] == [ids[3], ids[1], ids[4], ids[2], ids[0]]


async def test_pagination_walks_forward_and_back(v2, five_ports):
    network, ids = five_ports
    base = f"network_id={network['id']}&sort_key=name&sort_dir=asc&limit=2"
    first = await get(v2, base)
    assert [p["id"] for p in first["ports"]] == ids[:2]
    links = {link["rel"]: link["href"] for link in first["ports_links"]}
    assert links["next"].startswith("http://netprov.test/v2.0/ports?") and f"marker={ids[1]}" in links["next"]
    seen, href = [], links["next"]
    while href:
        page = (await v2.http.get(href, headers=v2.headers)).json()
        seen += [p["id"] for p in page["ports"]]
        href = {link["rel"]: link["href"] for link in page.get("ports_links", [])}.get("next")
    assert seen == ids[2:]  # p2 p3, then p4 alone (a short forward page has no next)
    back = await get(v2, f"{base}&marker={ids[4]}&page_reverse=True")
    assert [p["id"] for p in back["ports"]] == ids[2:4]
    assert {link["rel"] for link in back["ports_links"]} == {"next", "previous"}
    start = await get(v2, f"{base}&marker={ids[1]}&page_reverse=true")
    assert [p["id"] for p in start["ports"]] == ids[:1]
    assert [link["rel"] for link in start["ports_links"]] == ["next"]  # nothing before p0


async def test_unknown_marker_is_404(v2, five_ports):
    response = await v2.request("GET", "/v2.0/ports?limit=2&marker=6b8a6a2c-4bd7-4f61-9d55-58e1d1f0f0f0")
    assert response.status_code == 404 and response.json()["NeutronError"]["type"] == "PortNotFound"
    response = await v2.request("GET", "/v2.0/networks?limit=2&marker=nonsense")
    assert response.status_code == 404 and response.json()["NeutronError"]["type"] == "NetworkNotFound"
