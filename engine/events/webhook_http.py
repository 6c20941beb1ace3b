"""POSTing a webhook: direct connections only, redirects never followed, private networks refused.

A name that resolves to a private, loopback or link-local address is refused at connect time, and the
checked address itself is dialled, so DNS cannot be rebound between the check and the connect
(SENDMILL_WEBHOOK_ALLOW_PRIVATE lifts the rule for receivers inside your network).
"""
from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request

from engine.events.public_address import is_public


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the failure it is: never followed (to any scheme)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _public_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    """socket.create_connection to a vetted address: a name that resolves to a private, loopback or
    link-local address is refused, and the checked IP itself is dialled (no DNS rebinding between
    the check and the connect)."""
    host, port = address
    last: OSError | None = None
    for family, kind, proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if not is_public(sockaddr[0]):
            raise OSError(f"{host} resolves to the non-public address {sockaddr[0]} (refused)")
        try:
            return socket.create_connection(sockaddr[:2], timeout, source_address)
        except OSError as exc:
            last = exc
    raise last or OSError(f"{host} has no address")


def _guarded(connection_class):
    def factory(host, **kwargs):
        connection = connection_class(host, **kwargs)
        connection._create_connection = _public_connection   # the hook http.client's connect() calls
        return connection
    return factory


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_guarded(http.client.HTTPConnection), req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_guarded(http.client.HTTPSConnection), req, context=self._context)


# Direct connections (no proxy from the environment), redirects refused.
_OPEN = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())
_PUBLIC_ONLY = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects(), _PublicHTTPHandler(),
                                           _PublicHTTPSHandler())


def post(url: str, body: str, headers: dict, timeout: float, allow_private: bool = False) -> tuple[int | None, str]:
    """POST once: (HTTP status or None, error text)."""
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with (_OPEN if allow_private else _PUBLIC_ONLY).open(request, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, f"HTTP {exc.code} {exc.reason}: {detail}".strip()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"{exc.__class__.__name__}: {getattr(exc, 'reason', exc)}"
