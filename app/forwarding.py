"""Who is at the other end of a request: the one place that decides the client's address and scheme.

Behind a TLS-terminating proxy every request comes from the proxy's address.
A proxy listed in ``FLOKK_TRUSTED_PROXIES`` is believed: about the client
certificate (``Client-Cert``, RFC 9440), the client's address
(``X-Forwarded-For``) and the scheme (``X-Forwarded-Proto``). Anybody else's
headers are ignored: a client can write any ``X-Forwarded-For`` it likes.

``X-Forwarded-For`` is read from the right: each proxy appends the address it
received the request from, so the rightmost entry that is not a trusted proxy
is the client; entries further left were written by that client and prove
nothing. The sign-in rate limit and the audit log's "from where" use this
address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: bare, ``[v6]`` or ``[v6]:port``, or ``v4:port``."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted_proxy(remote_addr: str | None, trusted: tuple[str, ...]) -> bool:
    """Whether the peer is one of ``FLOKK_TRUSTED_PROXIES``."""
    if not remote_addr or not trusted:
        return False
    address = _address(remote_addr)
    return address is not None and any(address in network for network in _networks(trusted))


def client_address(remote_addr: str | None, forwarded_for: Iterable[str], trusted: tuple[str, ...]) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the rightmost
    ``X-Forwarded-For`` entry that is not a trusted proxy (``forwarded_for``: every header value,
    in order). When the chain holds only trusted proxies, or something unreadable before the
    client, the last trusted hop is the best Flokk knows."""
    if not is_trusted_proxy(remote_addr, trusted):
        return remote_addr
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    nearest = remote_addr
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        if not any(address in network for network in _networks(trusted)):
            return str(address)
        nearest = str(address)
    return nearest


def is_https(url_scheme: str, remote_addr: str | None, forwarded_proto: str | None, trusted: tuple[str, ...]) -> bool:
    """Whether the client reached Flokk over HTTPS: Flokk's own TLS, or a trusted proxy's
    (its ``X-Forwarded-Proto``, the last value being the one it wrote)."""
    if url_scheme == "https":
        return True
    if forwarded_proto and is_trusted_proxy(remote_addr, trusted):
        return forwarded_proto.split(",")[-1].strip().lower() == "https"
    return False
