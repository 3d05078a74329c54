"""The Neutron v2.0 view (OpenStack Networking) of netprov's resources, Neutron's own layering:

    attributes.py   what an attribute is (allow_post, allow_put, default, validate, visible,
                    is_filter, is_sort_key) and the validators/converters tables name
    definitions.py  each resource as data: its attribute table, rows -> body in one place
    status.py       status, binding and data-plane mapping, in Python and as SQL (one module)
    query.py        fields=, filters, sort_key/sort_dir, limit/marker/page_reverse, parsed once
    collection.py   the generic controller: list and show for every resource, in SQL
    write_input.py  a request body -> the checked values the shared write layer takes
    write_routes.py POST (one or bulk), PUT, DELETE of networks and ports over the shared writes
    binding.py      binding:host_id as attach/re-attach/detach (the Nova/OVS convention)
    bulk.py         bulk create as one netprov batch
    tag_routes.py   the /tags sub-resources (standard-attr-tag)
    qos_routes.py   /v2.0/qos/policies writes and their rule sub-resources
    errors.py       NeutronError bodies for everything under /v2.0 (problems translated at the edge)
    extensions.py   the extension descriptors served at /v2.0/extensions
    routes.py       the HTTP routes: /, /v2.0/, extensions, networks, ports
    install.py      wiring the routes and error bodies into the application
"""
