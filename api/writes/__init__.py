"""The writes of every resource, one function per endpoint sentence of the contract, shared by
every API dialect: the business rules (NetworkInUse, PortInUse, AlreadyAttached, ResourceNotAvailable,
strict handling, Idempotency-Key replays) live here, the SQL in store/<resource>.py, the sequence
(accept -> deliver -> undo on engine down -> wait -> re-read) in api/write_flow.py. A dialect looks
the resource up (api/lookups.py), calls one of these, and renders the `Written` it gets back."""
