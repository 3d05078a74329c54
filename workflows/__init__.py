"""Workflows: one per resource, applying its accepted operations in order. Workflows only;
activities live in `activities/`, and the worker wires them together."""
