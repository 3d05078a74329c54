"""bench.truth's verdicts, without a stack: what counts as a false UP, a false DOWN, a transition, a
false QoS AVAILABLE."""

from bench.truth import TRANSITION, judge
from bench.truth_faults import _METERED, EgressLimit, VmPort
from bench.truth_qos import judge_qos

A, B, C = (VmPort(name, "t1", ip, net, f"/p/{name}") for name, ip, net in (("a", "1", "n0"), ("b", "2", "n0"), ("c", "3", "n1")))
VMS = [A, B, C]


def test_up_ports_that_reach_their_network_and_nothing_else_agree():
    verdicts, why = judge(VMS, {"a": "UP", "b": "UP", "c": "UP"}, {("a", "b"): True, ("a", "c"): False, ("b", "c"): False})
    assert set(verdicts.values()) == {"agree"} and why == {}


def test_an_up_port_cut_off_or_leaking_is_a_false_up():
    verdicts, why = judge(VMS, {"a": "UP", "b": "UP", "c": "UP"}, {("a", "b"): False, ("a", "c"): True, ("b", "c"): False})
    assert verdicts == {"a": "false_up", "b": "false_up", "c": "false_up"}
    assert why["a"] == "cannot reach b, reaches c of n1" and why["c"] == "reaches a of n0"


def test_a_down_port_that_works_is_a_false_down_and_a_changing_one_is_neither():
    verdicts, _ = judge(VMS, {"a": "DOWN", "b": "UP", "c": TRANSITION}, {("a", "b"): True, ("a", "c"): False, ("b", "c"): False})
    assert verdicts == {"a": "false_down", "b": "agree", "c": TRANSITION}
    # a DOWN peer asks nothing of an UP port
    verdicts, _ = judge(VMS, {"a": "DOWN", "b": "UP", "c": "UP"}, {("a", "b"): False, ("a", "c"): False, ("b", "c"): False})
    assert verdicts == {"a": "agree", "b": "agree", "c": "agree"}


def test_qos_available_without_the_limit_on_the_switch_is_a_false_available():
    a, b, c = (VmPort(name, "t1", "1", "n0", f"/p/{name}", qos_kbps=8000) for name in "abc")
    plain = VmPort("d", "t1", "4", "n0", "/p/d")
    right, wrong = EgressLimit(1, 1, 8000), EgressLimit(2, 2, 80000)
    qos = {"a": "AVAILABLE", "b": "AVAILABLE", "c": "AVAILABLE"}
    got = judge_qos([a, b, c, plain], qos, {"a": right, "b": wrong})
    assert got == {"a": "agree", "b": "false_available", "c": "false_available"}
    # a meter gone (rate None) does not limit; an ERROR while the switch enforces is the cautious lie
    qos = {"a": "AVAILABLE", "b": "ERROR", "c": TRANSITION}
    got = judge_qos([a, b, c], qos, {"a": EgressLimit(1, 1, None), "b": right, "c": right})
    assert got == {"a": "false_available", "b": "false_not_available", "c": TRANSITION}


def test_egress_limit_is_read_from_the_flow_on_the_vms_in_port():
    match = _METERED.search("priority=101,ip,in_port=12 actions=meter:3,set_field:26->ip_dscp,NORMAL")
    assert (match["ofport"], match["meter"]) == ("12", "3")
    assert _METERED.search("priority=101,ip,in_port=12 actions=set_field:26->ip_dscp,NORMAL") is None
