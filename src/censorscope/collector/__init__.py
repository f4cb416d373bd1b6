"""collector (see docs/architecture.md)."""
