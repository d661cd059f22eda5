"""The outbound-address guard (mediahub.outbound): IPv6 forms that embed a private IPv4 address are
refused at connect time, after DNS resolution, and redirects are checked like the first URL."""

import socket

import pytest

from mediahub import outbound
from tests.webhook_receiver import Receiver, Reply

# Each IPv6 trick, carrying the metadata address 169.254.169.254 or the private 10.0.0.1.
EMBEDDING_PRIVATE = [
    "::ffff:169.254.169.254",  # IPv4-mapped
    "::169.254.169.254",  # IPv4-compatible
    "::ffff:0:a9fe:a9fe",  # IPv4-translated (SIIT)
    "64:ff9b::a9fe:a9fe",  # NAT64, well-known prefix
    "64:ff9b::10.0.0.1",
    "64:ff9b:1::a9fe:a9fe",  # NAT64, local-use prefix
    "64:ff9b:1:a9fe:a9:fe00::",  # local-use with the IPv4 at the /48 position
    "2002:a9fe:a9fe::1",  # 6to4
    "2002:a00:1:1::1",
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo: client 10.0.0.1 (obfuscated)
    "2001:0:a9fe:a9fe:8000:63bf:3fff:fdd2",  # Teredo: server 169.254.169.254
]
EMBEDDING_PUBLIC = [
    "::ffff:93.184.215.14",
    "64:ff9b::5db8:d70e",  # NAT64 of 93.184.215.14
    "2002:5db8:d70e::1",  # 6to4 of 93.184.215.14
]


@pytest.mark.parametrize("address", EMBEDDING_PRIVATE)
def test_ipv6_forms_embedding_a_private_ipv4_are_not_public(address):
    assert outbound.is_public_address(address) is False


@pytest.mark.parametrize("address", EMBEDDING_PUBLIC)
def test_ipv6_forms_embedding_a_public_ipv4_stay_public(address):
    assert outbound.is_public_address(address) is True


def fake_dns(monkeypatch, name, addresses):
    """Make ``name`` resolve to ``addresses`` (the resolver is the one thing these tests control)."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("address", EMBEDDING_PRIVATE)
def test_a_name_resolving_to_an_ipv6_trick_is_refused_before_connecting(settings, monkeypatch, address):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False
    fake_dns(monkeypatch, "import.example", [address])

    def no_connections(*args, **kwargs):
        raise AssertionError("a refused target must not be connected to")

    monkeypatch.setattr(socket, "create_connection", no_connections)
    monkeypatch.setattr(socket.socket, "connect", no_connections)
    outbound.check_url("https://import.example/video.mp4")  # a name passes the early check ...
    url = "https://import.example/video.mp4"
    with (
        pytest.raises(outbound.OutboundRefused, match="non-public address"),
        outbound.open_url("GET", url, timeout=2),
    ):
        pass  # ... and is refused once resolved


@pytest.mark.parametrize("address", EMBEDDING_PRIVATE)
def test_ip_literal_urls_of_ipv6_tricks_are_refused_early(settings, address):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(f"https://[{address}]/")


def test_redirects_are_followed_only_when_asked_and_each_target_is_checked(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = True  # the receivers listen on loopback
    final = Receiver(default=Reply(200, b"the file")).start()
    hop = Receiver(default=Reply(302, b"", {"Location": f"http://127.0.0.1:{final.port}/file"})).start()
    try:
        with outbound.open_url("POST", hop.url, body=b"x", timeout=5) as response:
            assert response.status == 302  # not followed by default (webhooks)
        with outbound.open_url("POST", hop.url, body=b"x", timeout=5, max_redirects=2) as response:
            assert response.status == 200 and response.read() == b"the file"
        assert final.requests[-1].path == "/file"

        # A redirect to a URL the guard refuses is not followed.
        hop.default = Reply(302, b"", {"Location": "ftp://127.0.0.1/file"})
        refused = pytest.raises(outbound.OutboundRefused)
        with refused, outbound.open_url("POST", hop.url, body=b"x", timeout=5, max_redirects=2):
            pass
        hop.default = Reply(302, b"", {"Location": hop.url})  # a loop ends at the limit
        with outbound.open_url("POST", hop.url, body=b"x", timeout=5, max_redirects=3) as response:
            assert response.status == 302
        assert len(final.requests) == 1
    finally:
        hop.stop()
        final.stop()
