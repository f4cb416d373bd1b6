"""measurement_uid for measurements that do not carry one: moved to ``censorscope.model.ids``
(``record_uid``; the format is documented at ``derived_record_uid``). The old name remains for
the ingest modules that import it."""

from __future__ import annotations

from censorscope.model.ids import record_uid as measurement_uid

__all__ = ["measurement_uid"]
