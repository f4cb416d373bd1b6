"""The lab DNS server's whoami names: answered with the address the query came from.

Run for real on loopback: asked directly, the whoami name resolves to the client's own source
address; asked through a forwarding resolver, to the address the forwarder's query left from
(not the client's): what the dns_consistency experiment reports as the resolver the system
really uses. Only the configured names are answered so; other names are untouched.
"""

from __future__ import annotations

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from tests.lab.services.test_dns import PORT, RECORDS, addresses

WHOAMI = "whoami.v4.powerdns.org"


def _ask(server: str, name: str, source: str, rdtype: str = "A", tcp: bool = False
         ) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype)
    if tcp:
        return dns.query.tcp(q, server, port=PORT, timeout=1.0, source=source)
    return dns.query.udp(q, server, port=PORT, timeout=1.0, source=source)


def test_whoami_names_the_asking_address(start_service, block):
    auth = block + "1"
    start_service("dns", {"listen": [auth], "port": PORT, "records": RECORDS,
                          "whoami": ["WHOAMI.v4.PowerDNS.org."]})
    for client in (block + "7", block + "8"):
        assert addresses(_ask(auth, WHOAMI, client)) == [client]
        assert addresses(_ask(auth, WHOAMI, client, tcp=True)) == [client]
    empty = _ask(auth, WHOAMI, block + "7", rdtype="AAAA")  # an IPv4 client has no AAAA
    assert empty.rcode() == dns.rcode.NOERROR and not empty.answer
    assert addresses(_ask(auth, "www.example.com", block + "7")) == ["93.184.216.34"]


def test_whoami_through_a_forwarder_names_the_forwarder(start_service, block):
    auth, fwd, client = block + "1", block + "2", block + "9"
    start_service("dns", {"listen": [auth], "port": PORT, "records": RECORDS,
                          "whoami": [WHOAMI]})
    start_service("dns", {"listen": [fwd], "port": PORT, "upstream": f"{auth}:{PORT}"})
    seen = addresses(_ask(fwd, WHOAMI, client))
    assert len(seen) == 1 and seen[0] != client and seen[0].startswith("127.")


def test_without_whoami_names_the_name_is_not_special(start_service, block):
    auth = block + "1"
    start_service("dns", {"listen": [auth], "port": PORT, "records": RECORDS})
    assert _ask(auth, WHOAMI, block + "7").rcode() == dns.rcode.NXDOMAIN
