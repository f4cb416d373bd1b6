"""control (see docs/architecture.md)."""
