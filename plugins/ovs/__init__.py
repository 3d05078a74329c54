"""The `ovs` plugin: real Open vSwitch, one instance per simulated hypervisor host on this machine.

Layout::

    linux.py    ip / netns / process commands, and the tools this package needs (installed on demand)
    hosts.py    start and stop one OVS instance per host (own ovsdb, own netns, bridge br-int), trunks
    switch.py   a typed ovs-vsctl for one host's bridge; errors mapped to Transient/PermanentPluginError
    plugin.py   OvsPlugin: VLANs from a range, desired bindings per host, enforcement, reconcile
    link_truth.py  what link UP is based on: configuration, then the datapath (datapath.py)
    datapath.py dpif/show and ofproto/trace over ovs-vswitchd's control socket (unixctl.py)
    restore.py  put back what a host's switch lost: bridge, trunk ports, VM ports
    switch_watch.py  notice a host's switch changing (OVSDB monitor, daemons' pid files)
    vms.py      dev "VMs": network namespaces plugged into a host's bridge with an iface-id
    settings.py the plugin's own settings (NETPROV_OVS_*)

A host H is a network namespace `netprov-hv-H` running its own ovs-vswitchd with the userspace
datapath (`datapath_type=netdev`): two netdev datapaths in one namespace both want a tap named
`ovs-netdev`, so each host needs a namespace of its own. Its ovsdb-server, pid files, logs and
conf.db live in `<data_dir>/ovs/H/`.
"""
