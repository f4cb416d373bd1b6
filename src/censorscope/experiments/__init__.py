"""Experiments: what a probe measures (Web Connectivity …); see ``registry`` for the list."""
