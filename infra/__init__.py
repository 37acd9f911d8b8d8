"""Infrastructure tables no feature owns: idempotency keys and periodic-run records."""
