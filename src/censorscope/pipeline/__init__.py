"""pipeline: decide what measurements mean (see docs/architecture.md).

``observe`` turns a measurement into rows (metadata, one observation per DNS answer /
endpoint); ``analyze`` scores them into explainable verdicts with rule ids (registry of scorers
by test name); ``fingerprints`` matches blockpages; ``scorers`` holds the non-Web-Connectivity
scorers; ``rules`` holds every rule family (Web Connectivity and the scorers'), each with its
version. Imports only ``censorscope.model`` (checked by tests/pipeline/analyze).
"""
