"""Service config files (censorscope.lab.services.config): names, validation, loading."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from censorscope.lab.services.config import (
    DNSServerConfig,
    SiteConfig,
    WebServerConfig,
    load,
    normalize_name,
    split_hostport,
)


def test_normalize_name_idna_and_case():
    assert normalize_name("яндекс.рф") == "xn--d1acpjx3f.xn--p1ai"
    assert normalize_name("Яндекс.рф.") == "xn--d1acpjx3f.xn--p1ai"
    assert normalize_name("WWW.Example.COM.") == "www.example.com"


def test_names_normalised_in_models():
    dns = DNSServerConfig(listen=["127.0.0.1"], records={
        "Яндекс.рф": [{"type": "CNAME", "value": "Yandex.COM."}]})
    assert list(dns.records) == ["xn--d1acpjx3f.xn--p1ai"]
    assert dns.records["xn--d1acpjx3f.xn--p1ai"][0].value == "yandex.com"
    site = SiteConfig(names=["Яндекс.рф", "YA.RU"], ips=["192.0.2.1"])
    assert site.names == ["xn--d1acpjx3f.xn--p1ai", "ya.ru"]


def test_split_hostport():
    assert split_hostport("192.0.2.1:5353") == ("192.0.2.1", 5353)
    assert split_hostport("192.0.2.1") == ("192.0.2.1", 53)


def test_load_and_errors_name_the_field(tmp_path):
    path = tmp_path / "web.json"
    path.write_text(json.dumps({"cert_dir": "/x", "client_networks": ["198.18.0.0/15"],
                                "sites": [{"names": ["a"], "ips": ["198.18.0.1"]}]}))
    cfg = load(path, WebServerConfig)
    assert cfg.sites[0].behaviour == "page" and cfg.https_port == 443
    path.write_text(json.dumps({"cert_dir": "/x", "sites": [
        {"names": ["a"], "ips": ["198.18.0.1"], "behaviour": "teapot"}]}))
    with pytest.raises(ValidationError, match=r"sites\.0\.behaviour"):
        load(path, WebServerConfig)
    with pytest.raises(ValidationError, match="client_networks"):
        WebServerConfig(cert_dir="/x", client_networks=["not-a-net"])
    with pytest.raises(ValidationError, match="overrides"):
        DNSServerConfig(listen=["127.0.0.1"], overrides={"a": {"action": "lie"}})
