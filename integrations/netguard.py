"""Outbound webhook requests never reach private, loopback or link-local addresses (SSRF).

The check is made on the addresses the host name resolves to, both when an endpoint is
registered (a clear 400) and at every connection: `GuardedBackend` resolves the name itself,
refuses a forbidden address and connects to the address it checked, so a name that resolves to
a public address at registration and to 127.0.0.1 later (DNS rebinding) is still refused.
TLS still verifies the certificate against the host name (SNI comes from the URL, not the
address). WEBHOOKS_ALLOW_PRIVATE=1 lifts the rule (tests, local development).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx
import idna
from django.conf import settings
from django.utils.translation import gettext

from onevoice.korean import particles


class AddressNotAllowed(Exception):
    pass


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def host_ascii(host: str) -> str:
    """The host name as DNS carries it (IDNA 2008 A-labels), or ValueError when it is not a valid
    name: an empty label (`a..b`), a label over 63 characters, a code point IDNA forbids (a
    zero-width space). Python's resolver would raise UnicodeError on those; this says so first,
    without asking DNS anything."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return host
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    if name.isascii():
        if not name or len(name) > 253 or any(not label or len(label) > 63 for label in name.split(".")):
            raise ValueError(host)
        return host
    try:
        return idna.encode(name, uts46=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ValueError(host) from None


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise AddressNotAllowed(gettext("The host name is not valid.")) from None
    except socket.gaierror as exc:
        raise AddressNotAllowed(
            gettext("%(host)s does not resolve (%(reason)s).") % {"host": host, "reason": exc.strerror}
        ) from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def allowed_addresses(host: str, port: int) -> list[str]:
    """The addresses of `host` we may connect to; AddressNotAllowed when any of them is not
    public (a name with one private address among public ones is refused as a whole)."""
    addresses = resolve(host, port)
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        return addresses
    refused = [a for a in addresses if not address_allowed(a)]
    if not addresses:
        raise AddressNotAllowed(gettext("%(host)s resolves to nothing.") % {"host": host})
    if refused:
        raise AddressNotAllowed(
            particles(gettext("%(host)s resolves to %(addresses)s, which is not a public address.")
                      % {"host": host, "addresses": ", ".join(refused)})
        )
    return addresses


def url_check(url: str) -> str:
    """Why `url` cannot receive webhooks, or "" when it can."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return gettext("Not a valid URL.")
    schemes = ("https", "http") if settings.WEBHOOKS_ALLOW_PRIVATE else ("https",)
    if parts.scheme not in schemes:
        return gettext("Webhook URLs must use https.")
    if not parts.hostname:
        return gettext("The URL has no host.")
    if parts.username or parts.password:
        return gettext("The URL must not carry a user name or password.")
    try:
        host = host_ascii(parts.hostname)
    except ValueError:
        return gettext("The host name is not valid.")
    try:
        allowed_addresses(host, port)
    except AddressNotAllowed as exc:
        return str(exc)
    return ""


class GuardedBackend(httpcore.SyncBackend):
    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = allowed_addresses(host, port)
        except AddressNotAllowed as exc:
            raise httpcore.ConnectError(str(exc)) from None
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                           socket_options=socket_options)
            except httpcore.ConnectError as exc:
                last = exc
            except httpcore.ConnectTimeout as exc:
                last = exc
        raise last or httpcore.ConnectError(f"Could not connect to {host}.")


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self):
        super().__init__()
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=GuardedBackend(),
                                             max_connections=20)


def guarded_client(*, timeout: float) -> httpx.Client:
    """An httpx client that refuses forbidden addresses, follows no redirects and ignores
    proxy environment variables (a proxy would connect on our behalf, unchecked)."""
    return httpx.Client(transport=GuardedTransport(), timeout=httpx.Timeout(timeout), follow_redirects=False,
                        trust_env=False)
