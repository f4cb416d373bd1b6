"""report: the written story of an incident, with charts (see docs/report.md)."""
