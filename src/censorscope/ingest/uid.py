"""``measurement_uid``: the uid of a measurement that does not carry one, under the name the
ingest modules use for ``censorscope.model.ids.record_uid`` (the format is documented at
``derived_record_uid``)."""

from __future__ import annotations

from censorscope.model.ids import record_uid as measurement_uid

__all__ = ["measurement_uid"]
