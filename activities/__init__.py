"""Activities: adapt plugin calls and database projection writes for Temporal."""
