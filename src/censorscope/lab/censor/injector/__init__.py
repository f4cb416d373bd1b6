"""The censor's packet injector: an NFQUEUE consumer that drops, delays and forges packets.

Run as ``python -m censorscope.lab.censor.injector --config FILE.json`` inside a router namespace.
"""
