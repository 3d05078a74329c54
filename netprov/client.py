"""Old import path of the typed client, kept so `from netprov.client import Client` (README, scripts)
goes on working in a server install. The client is `netprov_client` (installable alone: clients/python)."""

from netprov_client import *  # noqa: F401,F403
from netprov_client import __all__  # noqa: F401
