"""Local processes for development, tests and benchmarks: the Temporal dev server and the whole dev stack."""
