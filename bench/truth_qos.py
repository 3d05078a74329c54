"""QoS in the link-truth harness (bench/truth.py): some VMs' ports get an egress limit, and each
sample judges their `qos_status` against what the switch really enforces (bench/truth_faults.py's
`egress_limits`, read from ovs-vswitchd, not from the plugin's read-back).

- the API says AVAILABLE while the switch does not hold the limit: *false AVAILABLE* (the QoS lie
  that matters: the tenant believes a limit holds that does not);
- the API says anything else (ERROR, PROVISIONING) while the switch holds exactly the limit: *false
  not-AVAILABLE* (cautious, e.g. a dead agent's switch still enforcing);
- a status that changed while the sample was taken is in transition, judged neither way.
"""

from __future__ import annotations

import httpx

from bench.truth_faults import EgressLimit, Fabric, VmPort, egress_limits

TRANSITION = "transition"
AVAILABLE = "AVAILABLE"
POLICY_KBPS = 8000


def wants_policy(index: int) -> bool:
    """Which VMs get the policy: with the default layout (8 VMs, 3 networks, 2 hosts) VMs 0, 2, 5
    and 7, two on each host, on every network."""
    return index % 5 in (0, 2)


def create_policy(http: httpx.Client, tenant: str) -> str:
    rule = {"type": "bandwidth_limit", "max_kbps": POLICY_KBPS, "direction": "egress"}
    response = http.post(f"{tenant}/qos_policies", json={"qos_policy": {"name": "truth-egress", "rules": [rule]}})
    response.raise_for_status()
    return response.json()["qos_policy"]["id"]


def give_policy(http: httpx.Client, port_path: str, policy_id: str) -> None:
    """Set the port's policy and wait until it is applied (qos_status AVAILABLE)."""
    response = http.put(port_path, json={"port": {"qos_policy_id": policy_id}}, headers={"Prefer": "wait=30"})
    response.raise_for_status()
    port = http.get(port_path).json()["port"]
    if port["qos_status"] != AVAILABLE:
        raise RuntimeError(f"QoS of {port_path} is {port['qos_status']}: {port['qos_status_reason']}")


def device_limits(fabric: Fabric) -> dict[str, EgressLimit]:
    """Every egress limit the switches of the fabric's hosts enforce, by iface-id."""
    found: dict[str, EgressLimit] = {}
    for host in fabric.hosts:
        found.update(egress_limits(fabric, host))
    return found


def judge_qos(vms: list[VmPort], qos: dict[str, str], device: dict[str, EgressLimit]) -> dict[str, str]:
    """Each limited VM's QoS verdict (agree / false_available / false_not_available / transition)
    from the API's qos_status and the switch's egress limits."""
    verdicts = {}
    for vm in vms:
        if not vm.qos_kbps:
            continue
        limit = device.get(vm.iface)
        enforced = limit is not None and limit.rate_kbps == vm.qos_kbps
        if qos[vm.iface] == TRANSITION:
            verdicts[vm.iface] = TRANSITION
        elif qos[vm.iface] == AVAILABLE:
            verdicts[vm.iface] = "agree" if enforced else "false_available"
        else:
            verdicts[vm.iface] = "false_not_available" if enforced else "agree"
    return verdicts
