"""The live topology page at /ui/, in headless Chromium: rows appear and change from the event
stream without a reload, the status filter, the workflow links, and errors shown as errors."""

import asyncio
import time
import uuid

import uvicorn
from playwright.async_api import Page, expect

from api.app import create_app
from devstack.temporal_server import free_port
from live_server import LiveServer

LIVE_WITHIN = 2.0  # seconds from the change to the page


def row(page: Page, kind: str, resource_id: str):
    return page.locator(f'tr[data-kind="{kind}"][data-id="{resource_id}"]')


async def sign_in_by_fragment(page: Page, url: str, tenant: str, secret: str) -> None:
    await page.goto(f"{url}/ui/#tenant={tenant}&token={secret}")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10_000)
    await expect(page.locator("#counts")).to_contain_text("networks", timeout=10_000)


async def test_a_network_created_through_the_api_appears_within_2s(page, live_url, api):
    secret = api.headers["X-Auth-Token"]
    await sign_in_by_fragment(page, live_url, api.tenant, secret)
    # The secret left the address bar (and the history); it is kept in the tab's storage only.
    assert "token" not in page.url and secret not in page.url
    assert await page.evaluate("sessionStorage.getItem('netprov.token')") == secret

    asked = time.monotonic()
    network = await api.create_network("appears")
    await expect(row(page, "network", network["id"])).to_be_visible(timeout=LIVE_WITHIN * 1000)
    appeared = time.monotonic() - asked
    assert appeared < LIVE_WITHIN, appeared
    settled = await api.settle(f"networks/{network['id']}", "network")
    network_row = row(page, "network", network["id"])
    await expect(network_row.locator('[data-col="status"]')).to_have_text(settled["status"], timeout=LIVE_WITHIN * 1000)
    await expect(network_row.locator('[data-col="name"]')).to_have_text("appears")
    # Its workflow in the Temporal UI, as the API links it.
    link = network_row.locator('[data-col="workflow"] a')
    await expect(link).to_have_attribute("href", settled["links"]["workflow"])
    assert not page.console_errors


async def test_a_port_whose_link_goes_down_turns_so_within_2s(page, live_url, api):
    network = await api.create_network("links")
    port = await api.create_port(network["id"], state="ACTIVE")
    iface = f"vif-{uuid.uuid4().hex[:8]}"
    assert (await api.attach(network["id"], port["id"], iface)).status_code == 202
    path = f"networks/{network['id']}/ports/{port['id']}"
    up = await api.settle(path, "port", until=lambda p: p["link_status"] == "UP" and p["attachment"]["status"] == "AVAILABLE")

    await sign_in_by_fragment(page, live_url, api.tenant, api.headers["X-Auth-Token"])
    port_row = row(page, "port", port["id"])
    await expect(port_row.locator('[data-col="link_status"]')).to_have_text("UP")
    await expect(port_row.locator('[data-col="attachment"]')).to_have_text(f"{iface}@h1")
    await expect(port_row.locator('[data-col="attachment_status"]')).to_have_text("AVAILABLE")
    await expect(port_row.locator('[data-col="status"]')).to_have_text(up["status"])
    await expect(port_row.locator('[data-col="qos_status"]')).to_have_text("—")  # no policy applies
    await expect(port_row.locator('[data-col="workflow"] a')).to_have_attribute("href", up["links"]["workflow"])

    # Unplug the interface: the link goes DOWN ("no attachment"). Time it from when the API shows it.
    assert (await api.request("DELETE", f"{path}/attachment")).status_code in (202, 204)
    down = await api.settle(path, "port", until=lambda p: p["link_status"] == "DOWN", timeout=10)
    shown_down = time.monotonic()
    await expect(port_row.locator('[data-col="link_status"]')).to_have_text("DOWN", timeout=LIVE_WITHIN * 1000)
    assert time.monotonic() - shown_down < LIVE_WITHIN
    await expect(port_row.locator('[data-col="link_status_string"]')).to_have_text(down["link_status_string"])
    await expect(port_row.locator('[data-col="attachment"]')).to_have_text("—", timeout=LIVE_WITHIN * 1000)
    assert not page.console_errors


async def test_filter_by_status(page, live_url, api):
    good = await api.create_network("good")
    bad = await api.create_network("fail-bad")
    await api.settle(f"networks/{good['id']}", "network")
    failed = await api.settle(f"networks/{bad['id']}", "network")
    assert failed["status"] == "ERROR"
    await sign_in_by_fragment(page, live_url, api.tenant, api.headers["X-Auth-Token"])
    await expect(row(page, "network", good["id"])).to_be_visible()
    bad_row = row(page, "network", bad["id"])
    await expect(bad_row.locator('[data-col="status_reason"]')).to_have_text(failed["status_reason"])

    await page.select_option("#status-filter", "ERROR")
    await expect(row(page, "network", good["id"])).to_have_count(0)
    await expect(bad_row).to_be_visible()
    await page.select_option("#status-filter", "AVAILABLE")
    await expect(bad_row).to_have_count(0)
    await expect(row(page, "network", good["id"])).to_be_visible()
    # A change while filtered: the new network joins the rows it matches.
    later = await api.create_network("later")
    await api.settle(f"networks/{later['id']}", "network")
    await expect(row(page, "network", later["id"])).to_be_visible(timeout=LIVE_WITHIN * 1000)
    await page.select_option("#status-filter", "")
    await expect(page.locator('tr[data-kind="network"]')).to_have_count(3)


async def test_sign_in_box_and_a_refused_token(page, live_url, api):
    await page.goto(f"{live_url}/ui/")
    await expect(page.locator("#signin")).to_be_visible()
    await page.fill("#tenant", api.tenant)
    await page.fill("#token", "not-a-token")
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#error")).to_contain_text("Sign-in refused", timeout=5000)
    await expect(page.locator("#error")).to_contain_text("Unauthorized")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "refused")
    await expect(page.locator("#signin")).to_be_visible()

    # The right token through the same box: signed in, kept for this tab.
    await page.fill("#token", api.headers["X-Auth-Token"])
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10_000)
    await expect(page.locator("#error")).to_be_hidden()
    await page.reload()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10_000)


async def test_api_down_is_shown_and_the_page_recovers(page, stack, api):
    port = free_port()

    async def serve() -> tuple[LiveServer, asyncio.Task]:
        app = create_app(stack.settings, stack.client, sweeper=False)
        server = LiveServer(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="critical"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        return server, task

    async def stop(server: LiveServer, task: asyncio.Task) -> None:
        """As the process's death would: no listener, every connection (the event stream's) cut."""
        server.should_exit = server.force_exit = True
        await asyncio.wait_for(task, 10)
        for connection in list(server.server_state.connections):
            connection.transport.close()

    server, task = await serve()
    try:
        await sign_in_by_fragment(page, f"http://127.0.0.1:{port}", api.tenant, api.headers["X-Auth-Token"])
        await stop(server, task)
        await expect(page.locator("#connection")).to_have_attribute("data-state", "down", timeout=10_000)
        await expect(page.locator("#error")).to_contain_text("unreachable")
        # Changes made meanwhile are shown once the API is back (the stream resumes after its last event).
        network = await api.create_network("while-down")
        server, task = await serve()
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10_000)
        await expect(row(page, "network", network["id"])).to_be_visible(timeout=5000)
        await expect(page.locator("#error")).to_be_hidden()
    finally:
        await stop(server, task)


async def test_docs_load_without_internet(page, live_url):
    outside: list[str] = []

    async def only_local(route):
        url = route.request.url
        if url.startswith(live_url):
            await route.continue_()
        else:
            outside.append(url)
            await route.abort()

    await page.route("**/*", only_local)
    await page.goto(f"{live_url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("netprov", timeout=10_000)
    await expect(page.locator(".opblock-summary-path", has_text="/v1.1/tenants/{tenant_id}/networks").first).to_be_visible()
    assert outside == []
