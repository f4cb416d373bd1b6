"""WhatsApp (OONI ``whatsapp`` 0.11.0, spec ts-018): can the probe reach WhatsApp's endpoints,
its registration service and WhatsApp Web?

TCP connects to ``e1``…``e16.whatsapp.net`` on 443 and 5222, a GET of
``https://v.whatsapp.net/v2/register`` and of ``https://web.whatsapp.com/`` (any HTTP status is
an answer). Modules: ``testkeys`` (targets and OONI's verdict keys), ``experiment``.
"""
