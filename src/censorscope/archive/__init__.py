"""archive (see docs/architecture.md)."""
