"""Fixtures of the batch tests; the stack is the session's (tests/conftest.py) unless a test starts its own."""

import pytest
from batch_helpers import tenant_rows


@pytest.fixture
def rows(settings):
    """`rows(tenant_id)`: how many rows of each kind the tenant has."""
    return lambda tenant_id: tenant_rows(settings, tenant_id)
