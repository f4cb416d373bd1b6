"""Pure data shared by every layer: failures, archival records, the measurement envelope.

Nothing here performs I/O or imports another censorscope package.
"""
