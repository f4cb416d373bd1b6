"""lab/services (see docs/architecture.md)."""
