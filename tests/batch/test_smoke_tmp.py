import asyncio, time
async def test_smoke(api):
    body = {"batch": {
        "networks": [{"ref": "n1", "name": "web"}, {"ref": "n2", "name": "fail-db"}],
        "ports": [{"ref": f"p{i}", "network": "n1" if i % 2 else "n2", "state": "ACTIVE"} for i in range(6)],
        "attachments": [{"port": f"p{i}", "id": f"vif-smoke-{api.tenant}-{i}", "host": "h1"} for i in range(6)],
    }}
    r = await api.request("POST", "batches", json=body)
    print(r.status_code, r.text[:500])
    assert r.status_code == 202
    bid = r.json()["batch"]["id"]
    t = time.monotonic()
    while True:
        b = (await api.request("GET", f"batches/{bid}")).json()["batch"]
        if b["status"] != "PROVISIONING" or time.monotonic() - t > 30: break
        await asyncio.sleep(0.2)
    print(b['status'], b['counts'])
    for it in b['items']: print(it['kind'], it['ref'], it['status'], it['error'])
    for it in b['items']:
        if it['kind']=='port':
            p = (await api.request("GET", f"networks/{it['network_id']}/ports/{it['id']}")).json()['port']
            print(p['status'], p['status_reason'], p['attachment'], p['link_status'], p['link_status_string'])
