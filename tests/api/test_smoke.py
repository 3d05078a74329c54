async def test_network_port_attachment_fire_and_forget(api):
    network = await api.create_network("web")
    port = await api.create_port(network["id"], state="ACTIVE")
    response = await api.attach(network["id"], port["id"], "vif-smoke")
    assert response.status_code == 202
    settled = await api.settle(
        f"networks/{network['id']}/ports/{port['id']}", "port", until=lambda p: p["attachment"]["status"] == "AVAILABLE" and p["status"] != "PROVISIONING"
    )
    assert settled["status"] == "ACTIVE"
    assert settled["link_status"] == "UP"
