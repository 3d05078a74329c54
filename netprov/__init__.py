"""netprov's shared vocabulary: status enums, resource shapes, operations, settings.

Every other package (api, workflows, activities, plugins, worker, store) imports this one;
this package imports none of them.
"""
