"""lab/censor (see docs/architecture.md)."""
