"""bench.truth's verdicts, without a stack: what counts as a false UP, a false DOWN, a transition."""

from bench.truth import TRANSITION, judge
from bench.truth_faults import VmPort

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
