"""The address a sign-in counts by, behind trusted proxies or none."""

from __future__ import annotations

import pytest

from hotline_server.proxies import DEFAULT_TRUSTED, client_address, parse_trusted

LOOPBACK = parse_trusted(DEFAULT_TRUSTED)


def test_a_peer_that_is_no_trusted_proxy_counts_as_itself_whatever_it_sends() -> None:
    assert client_address("192.0.2.5", ["10.0.0.1"], LOOPBACK) == "192.0.2.5"
    assert client_address("127.0.0.1", ["10.0.0.1"], ()) == "127.0.0.1"


def test_behind_trusted_proxies_the_client_is_the_right_most_untrusted_hop() -> None:
    two_tiers = parse_trusted("127.0.0.1, 10.1.0.0/16")
    assert client_address("127.0.0.1", ["198.51.100.9"], LOOPBACK) == "198.51.100.9"
    # what the client sent itself stays left of what each proxy appended
    forwarded = ["6.6.6.6, 203.0.113.7", "10.1.2.3"]
    assert client_address("127.0.0.1", forwarded, two_tiers) == "203.0.113.7"
    assert client_address("::1", [], LOOPBACK) == "::1"  # a local tool, no proxy in between
    assert client_address("127.0.0.1", ["127.0.0.1"], LOOPBACK) == "127.0.0.1"
    assert len(client_address("127.0.0.1", ["x" * 500], LOOPBACK)) == 64


def test_the_setting_names_the_entry_it_cannot_read() -> None:
    assert parse_trusted("none") == () and parse_trusted(" ") == ()
    assert [str(n) for n in parse_trusted("10.0.0.0/8, ::1")] == ["10.0.0.0/8", "::1/128"]
    with pytest.raises(ValueError, match="'nginx-box'"):
        parse_trusted("127.0.0.1, nginx-box")
