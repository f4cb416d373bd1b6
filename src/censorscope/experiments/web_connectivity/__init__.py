"""Web Connectivity 0.5 (OONI LTE semantics and data format).

Modules: ``options`` (settings), ``ids`` (transaction ids, tags), ``dnsstage`` (three
resolvers), ``endpoints`` (TCP/TLS/HTTP flows), ``priority`` (one GET per depth),
``redirects``, ``cookies``, ``control_call`` (test helper), ``testkeys`` (records),
``measurer`` (orchestration), ``envelope`` (df-000); ``classic`` computes OONI's
compatibility keys. Import the measurer from ``.measurer`` (kept out of this package's
import so that ``classic`` can be used alone).
"""
