"""``censorscope demo``: the whole observatory in one command.

As root with network namespaces, the three seed cases are re-enacted in the lab
(``az-2022-tiktok``, ``am-2022-tiktok``, ``az-2020-war``: :mod:`.cases`, :mod:`.labrun`): the
probes of every network measure through the phases and upload to the lab's collector, which
archives and stores them; then the store is scored, detected, verified, reported on and priced,
and the explorer serves it. Without root or namespaces the same command says what it needs and
does everything after the lab on the recordings of those runs and the real OONI samples
shipped in the package (:mod:`.recorded`), plus any OONI files given to it.
"""
