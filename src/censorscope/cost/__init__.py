"""cost: what a disruption costs (see cost/__init__ docstring once written)."""
