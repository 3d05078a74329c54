"""The REST API (CONTRACT.md): speaks HTTP, stores accepted operations, hands them to workflows."""
