import asyncio
from sqlalchemy import update
from sqlmodel import Session
from workflow_rig import op
from netprov.operations import OpKind
from store.tables import NetworkRow

async def test_probe(rig):
    network_id = rig.insert_network("flaky9-net")
    port_id = rig.insert_port(network_id)
    network = await rig.start_network(network_id, "flaky9-net", op(1, OpKind.CREATE))
    port = await rig.start_port(port_id, network_id, "net", op(1, OpKind.CREATE))
    for _ in range(200):
        if (await network.query("describe"))["waiting_ports"] == [port_id]:
            break
        await asyncio.sleep(0.02)
    await network.terminate("lost")
    with Session(rig.engine) as session:
        session.execute(update(NetworkRow).where(NetworkRow.id == network_id).values(status="AVAILABLE", applied_seq=1))
        session.commit()
    try:
        print(await asyncio.wait_for(port.result(), 10))
    except BaseException as e:
        print("ERR", repr(e))
    print(await port.query("describe"))
    from temporalio.api.enums.v1 import EventType
    async for ev in port.fetch_history_events():
        extra=""
        if ev.HasField("activity_task_scheduled_event_attributes"): extra = ev.activity_task_scheduled_event_attributes.activity_type.name
        if ev.HasField("timer_started_event_attributes"): extra = str(ev.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta())
        print(ev.event_id, ev.event_time.ToDatetime(), EventType.Name(ev.event_type), extra)
