"""Facebook Messenger (OONI ``facebook_messenger`` 0.2.1, spec ts-019): do Facebook's
Messenger services resolve to Facebook's network (AS32934), and do they accept TCP on 443?

A lookup of ``stun.fbsbx.com`` and ``tcpconnect://`` (lookup + connect) to six services. The
AS of every answer comes from the probe's ASN table (the lab writes one; without one every
answer's AS is 0 and OONI's rule calls it inconsistent). Modules: ``testkeys``, ``experiment``.
"""
