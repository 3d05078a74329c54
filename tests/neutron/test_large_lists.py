"""Keyset pagination over many rows with ties in the sort key: walking `next` links visits every
port exactly once in the asked order, and walking `previous` links from the end comes back the
same way. Ports are inserted directly (1,000 through the API would only slow the test)."""

import uuid

from sqlalchemy import insert
from sqlmodel import Session

from store.tables import PortRow

COUNT, PAGE = 1000, 97


async def walk(v2, href: str, rel: str) -> list[dict]:
    seen = []
    while href:
        response = await v2.http.get(href, headers=v2.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        page = body["ports"] if rel == "next" else body["ports"][::-1]
        seen += page
        href = {link["rel"]: link["href"] for link in body.get("ports_links", [])}.get(rel) if page else None
    return seen


async def test_pages_cover_everything_once_in_order(v2, stack):
    network = await v2.create_network("many")
    template = PortRow(id="", tenant_id=v2.tenant, network_id=network["id"], state="DOWN", status="DOWN").model_dump()
    rows = [template | {"id": str(uuid.uuid4()), "name": f"p{i % 10}"} for i in range(COUNT)]  # 100 ports per name
    with Session(stack.app.state.engine) as session:
        session.connection().execute(insert(PortRow.__table__), rows)
        session.commit()
    # name descending, ties by id ascending (the primary key ends every sort); sorted() is stable.
    expected = [r["id"] for r in sorted(sorted(rows, key=lambda r: r["id"]), key=lambda r: r["name"], reverse=True)]

    query = f"network_id={network['id']}&sort_key=name&sort_dir=desc&limit={PAGE}&fields=id&fields=name"
    forward = await walk(v2, f"http://netprov.test/v2.0/ports?{query}", "next")
    assert [p["id"] for p in forward] == expected
    assert all(set(p) == {"id", "name"} for p in forward)

    # From the end backwards: previous links from a reverse page anchored after the last port.
    backward = await walk(v2, f"http://netprov.test/v2.0/ports?{query}&page_reverse=True", "previous")
    assert [p["id"] for p in backward] == expected[::-1]

    macs = (await v2.request("GET", f"/v2.0/ports?network_id={network['id']}&fields=mac_address")).json()["ports"]
    assert len({p["mac_address"] for p in macs}) == COUNT
