"""Reading ovs-vswitchd's answers (plugins/ovs/datapath.py), without a switch."""

from plugins.ovs.datapath import Reach, datapath_outputs, datapath_ports, judge

DPIF_SHOW = """netdev@ovs-netdev: hit:8 missed:8
  br-int:
    br-int 65534/1: (tap)
    tapb 3/4: (system)
    tapc 2/3: (system)
    tr-h2 1/2: (system)
  br-other:
    x 1/9: (system)
"""
PORTS = {1: "br-int", 4: "tapb", 3: "tapc", 2: "tr-h2"}
REACH = Reach(port="tapb", mac=None, vlan=101, access=frozenset({"tapc"}), trunks=frozenset({"tr-h2"}))


def _trace(actions: str) -> str:
    return f"Flow: in_port=3\n\nbridge(\"br-int\")\n 0. priority 0\n    NORMAL\n\nDatapath actions: {actions}\n"


def test_datapath_ports_of_one_bridge():
    assert datapath_ports(DPIF_SHOW, "br-int") == PORTS


def test_outputs_follow_the_vlan_pushed_and_popped():
    outputs, opaque = datapath_outputs(_trace("push_vlan(vid=101,pcp=0),1,2,pop_vlan,3"), PORTS)
    assert [(o.port, o.vlan) for o in outputs] == [("br-int", 101), ("tr-h2", 101), ("tapc", None)]
    assert opaque == []


def test_a_frame_reaching_its_network_is_forwarded():
    assert judge(REACH, _trace("push_vlan(vid=101,pcp=0),1,2,pop_vlan,3"), PORTS, "br-int") is None


def test_what_is_missing_wrong_or_extra_is_said():
    assert "to port tapc of its network" in judge(REACH, _trace("drop"), PORTS, "br-int")
    assert "to trunk tr-h2 tagged 102, not tagged 101" in judge(
        REACH, _trace("push_vlan(vid=102,pcp=0),2,pop_vlan,3"), PORTS, "br-int"
    )
    alone = Reach(port="tapb", mac=None, vlan=101, access=frozenset(), trunks=frozenset({"tr-h2"}))
    assert "to port tapc, not of its network" in judge(alone, _trace("push_vlan(vid=101,pcp=0),2,pop_vlan,3"), PORTS, "br-int")
    assert "cannot follow" in judge(REACH, _trace("recirc(0x1)"), PORTS, "br-int")


def test_unixctl_reads_answers_written_back_to_back_and_split(tmp_path):
    import json
    import socket
    import threading

    from plugins.ovs.unixctl import Unixctl, UnixctlCommandError, UnixctlUnavailable

    path = str(tmp_path / "ctl")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        decoder, buffer, ids = json.JSONDecoder(), "", []
        while len(ids) < 3:
            buffer += conn.recv(4096).decode()
            while buffer:
                try:
                    message, end = decoder.raw_decode(buffer)
                except json.JSONDecodeError:
                    break
                ids.append(message["id"])
                buffer = buffer[end:]
        answers = (
            json.dumps({"id": ids[0], "result": "one", "error": None})
            + json.dumps({"id": ids[1], "error": "no such port"})
            + json.dumps({"id": ids[2], "result": "three " * 5000, "error": None})
        ).encode()
        conn.sendall(answers[:10])
        conn.sendall(answers[10:])
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with Unixctl(path, timeout=5) as ctl:
        one, bad, three = ctl.call_many([("a", []), ("b", ["x"]), ("c", [])])
    thread.join(5)
    server.close()

    assert one == "one" and isinstance(bad, UnixctlCommandError) and three.startswith("three three")
    try:
        with Unixctl(tmp_path / "nothing", timeout=1):
            raise AssertionError("connected to nothing")
    except UnixctlUnavailable as error:
        assert "cannot connect" in str(error)
