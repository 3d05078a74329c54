"""Measuring what a dev VM's traffic really gets: iperf3 between two VMs, and a capture of the
TOS / traffic-class byte of packets arriving at a VM (tcpdump inside its namespace)."""

import json
import re
import subprocess
import time

from plugins.ovs import linux, vms

# Installed on demand (apt-get) like Open vSwitch itself, so a clean CI machine runs these tests.
MEASURE_TOOLS = {"ping": "iputils-ping", "iperf3": "iperf3", "tcpdump": "tcpdump"}
# 1 s omitted (TCP slow start and the limiter's initial burst), 2 s measured.
IPERF_OMIT_S = 1
IPERF_TIME_S = 2


def tcp_rate_kbps(sender: str, receiver: str, receiver_ip: str, *, port: int = 5201) -> float:
    """Throughput (kbit/s, as the receiver counted it) of one TCP stream from VM `sender` to VM
    `receiver` at `receiver_ip`."""
    server = subprocess.Popen(
        vms.exec_argv(receiver, ["iperf3", "-s", "-1", "-p", str(port)]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=linux.command_env(),
    )  # fmt: skip
    try:
        for _ in range(50):  # until the server listens
            if f":{port} " in vms.run_in_vm(receiver, ["ss", "-ltnH"]).stdout:
                break
            time.sleep(0.05)
        client = vms.run_in_vm(
            sender,
            ["iperf3", "-c", receiver_ip, "-p", str(port), "-t", str(IPERF_TIME_S), "-O", str(IPERF_OMIT_S), "-J"],
            timeout=IPERF_TIME_S + IPERF_OMIT_S + 20,
        )
        result = json.loads(client.stdout or "{}")
        if "error" in result or client.returncode != 0:
            raise AssertionError(f"iperf3 {sender} -> {receiver_ip} failed: {result.get('error') or client.stderr}")
        return result["end"]["sum_received"]["bits_per_second"] / 1000
    finally:
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def captured_tos(receiver: str, sender_ip: str, send: list[str], sender: str, *, count: int = 3) -> list[int]:
    """Capture up to `count` ICMP echo requests from `sender_ip` arriving at VM `receiver` while VM
    `sender` runs `send`; return the TOS byte (IPv4) or traffic class (IPv6) of each."""
    ipv6 = ":" in sender_ip
    proto = "icmp6 and ip6[40] == 128" if ipv6 else "icmp[icmptype] == icmp-echo"
    capture = subprocess.Popen(
        vms.exec_argv(receiver, ["tcpdump", "-i", vms.VM_DEVICE, "-n", "-v", "-l", "-c", str(count),
                                 f"src host {sender_ip} and {proto}"]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=linux.command_env(),
    )  # fmt: skip
    try:
        _wait_listening(capture)
        vms.run_in_vm(sender, send, timeout=20)
        out, _ = capture.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        capture.kill()
        out, _ = capture.communicate()
    field = "class" if ipv6 else "tos"
    return [int(value, 16) for value in re.findall(rf"\({field} (0x[0-9a-f]+)", out)]


def _wait_listening(capture: subprocess.Popen) -> None:
    # tcpdump says "listening on eth0" on stderr once the capture runs.
    assert capture.stderr is not None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        line = capture.stderr.readline()
        if "listening on" in line or not line:
            return
