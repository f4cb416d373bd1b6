"""experiments/web_connectivity (see docs/architecture.md)."""
