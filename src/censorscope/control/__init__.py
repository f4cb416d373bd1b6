"""The Web Connectivity test helper (control), OONI oohelperd-protocol compatible.

``protocol`` (request validation, response shape, legacy failure strings), ``schema``
(response validation), ``policy`` (which addresses may be dialled), ``measure`` (what the
helper measures), ``server`` (its routes on :mod:`censorscope.serve`), ``client``
(re-exports the probe's ``call_control``, whose home is ``censorscope.net.control_client``)
and ``cli`` (``censorscope control serve``; its docstring shows how to run it in the lab).
"""
