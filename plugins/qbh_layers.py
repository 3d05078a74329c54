"""The three subsystems qbh-sim touches, shared by its network, plug and QoS steps."""

# Subsystems in the order a network or an interface is set up; the number is the latency factor.
LAYERS = {"vswitch": 1, "ifvirt": 2, "pswitch": 1}
LAYER_NAMES = {"vswitch": "virtual switch", "ifvirt": "interface virtualizer", "pswitch": "physical switch"}
