"""Receiving bounces and complaints: an SMTP listener, and the same message read from an MTA pipe.

Two ways in, one shape out (`InboundMessage`), handed to a callback that parses and records it:
* `InboundServer(host, port, on_message)`: aiosmtpd on its own thread, for a bounce domain whose MX
  points here (or an MTA relaying `bounce+*@` to it). It takes only bounce addresses and the
  configured report addresses and answers every other RCPT with 550, so it can never be used as a
  relay or a spam sink. A callback that raises makes the server answer 451: the sending MTA keeps
  the message and tries again later, so a database hiccup loses no bounce.
* `read_message_from_stdin()`: for `sendmill bounce < message.eml` behind Postfix local(8)/pipe(8)
  or an Exim pipe transport; the envelope comes from their environment (RECIPIENT, SENDER,
  ORIGINAL_RECIPIENT) unless given. A message over the limit raises MessageTooLarge; the command
  should exit with EX_DATAERR (65) then, and EX_TEMPFAIL (75) when recording fails, so the MTA
  bounces or retries accordingly.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import socket
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Mapping

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 10 * 1024 * 1024   # a DSN returns at most the original; ours are far smaller
DEFAULT_MAX_RECIPIENTS = 50           # a bounce has one recipient; more is someone probing
_LOCAL_TOKEN = re.compile(r"^[A-Za-z0-9]{1,128}$")


class MessageTooLarge(ValueError):
    """The message is larger than the configured limit."""


@dataclass(frozen=True)
class InboundMessage:
    mail_from: str                 # envelope sender; "" for the null sender DSNs use
    rcpt_tos: tuple[str, ...]      # envelope recipients: where the VERP token is
    data: bytes                    # the message as received (RFC 5322, CRLF or LF line ends)
    peer: str | None = None        # the client's address, for logs


OnMessage = Callable[[InboundMessage], Any]


class _Handler:
    def __init__(self, server: "InboundServer"):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= self.server.max_recipients:
            return "452 4.5.3 Too many recipients"
        if not self.server.accepts(address):
            return f"550 5.1.1 <{address}>: Recipient address rejected: not a bounce address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):   # only when someone turns decode_data on
            data = data.encode("utf-8", "surrogateescape")
        mail_from = (envelope.mail_from or "").strip()
        message = InboundMessage(mail_from="" if mail_from == "<>" else mail_from,
                                 rcpt_tos=tuple(envelope.rcpt_tos), data=data,
                                 peer=str(session.peer[0]) if session.peer else None)
        callback = self.server.on_message
        try:
            if inspect.iscoroutinefunction(callback):
                await callback(message)
            else:   # a database write must not stall the event loop that serves other clients
                await asyncio.get_running_loop().run_in_executor(None, callback, message)
        except Exception:
            log.exception("inbound message from %s to %s was not recorded", message.peer, message.rcpt_tos)
            return "451 4.3.0 Message not processed, try again later"
        return "250 2.0.0 Message accepted"


def _controller(handler, **kwargs):
    # Imported here so that the pipe path (read_message_from_stdin) works without aiosmtpd installed.
    from aiosmtpd.controller import Controller

    class _Controller(Controller):
        def _trigger_server(self):
            # Port 0 asks the OS for a free port; the trigger connection must go to the one it gave.
            if self.port == 0 and self.server is not None and self.server.sockets:
                self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    return _Controller(handler, **kwargs)


class InboundServer:
    """An SMTP listener for bounces and feedback reports: `with InboundServer(...) as server:`.

    Accepted recipients: `<prefix>+<token>@<domain>` for a prefix in `prefixes` and (when `domains`
    is given) a domain in `domains`; and any address in `addresses` (feedback-loop mailboxes, a
    plain postmaster). With `decode_verp`, the token must also be ours, so forged addresses are
    refused before their data is read.
    """

    def __init__(self, host: str, port: int, on_message: OnMessage, *, domains: Iterable[str] = (),
                 prefixes: Iterable[str] = ("bounce",), addresses: Iterable[str] = (),
                 decode_verp: Callable[[str], Any] | None = None, max_size: int = DEFAULT_MAX_SIZE,
                 max_recipients: int = DEFAULT_MAX_RECIPIENTS, server_hostname: str | None = None):
        if max_size <= 0 or max_recipients <= 0:
            raise ValueError("max_size and max_recipients must be positive")
        self.host, self.on_message = host, on_message
        self.domains = frozenset(d.lower().rstrip(".") for d in domains)
        self.prefixes = frozenset(p.lower() for p in prefixes)
        self.addresses = frozenset(a.lower() for a in addresses)
        self.decode_verp = decode_verp
        self.max_size, self.max_recipients = max_size, max_recipients
        # An explicit name: aiosmtpd's default, socket.getfqdn(), can wait on a reverse DNS lookup.
        self._controller = _controller(_Handler(self), hostname=host, port=port, data_size_limit=max_size,
                                       server_hostname=server_hostname or socket.gethostname(),
                                       enable_SMTPUTF8=True)

    @property
    def port(self) -> int:
        """The port it listens on (the one the OS chose when it was given 0)."""
        return self._controller.port

    def accepts(self, address: str) -> bool:
        """Whether RCPT TO:<address> is one of ours."""
        address = (address or "").strip().strip("<>").lower()
        if address in self.addresses:
            return True
        local, at, domain = address.rpartition("@")
        if not at or (self.domains and domain.rstrip(".") not in self.domains):
            return False
        prefix, plus, token = local.partition("+")
        if not plus or prefix not in self.prefixes or not _LOCAL_TOKEN.match(token):
            return False
        return self.decode_verp is None or self.decode_verp(local) is not None

    def start(self) -> "InboundServer":
        self._controller.start()
        log.info("inbound SMTP listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "InboundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def read_message_from_stdin(stream: BinaryIO | None = None, *, recipients: Iterable[str] | None = None,
                            sender: str | None = None, environ: Mapping[str, str] | None = None,
                            max_size: int = DEFAULT_MAX_SIZE) -> InboundMessage:
    """The message an MTA pipes to us, with its envelope; MessageTooLarge past `max_size` bytes."""
    stream = stream if stream is not None else sys.stdin.buffer
    data = stream.read(max_size + 1)
    if len(data) > max_size:
        raise MessageTooLarge(f"the message is larger than {max_size} bytes")
    environ = os.environ if environ is None else environ
    if recipients is None:
        # Postfix local(8) sets ORIGINAL_RECIPIENT (before aliasing) and RECIPIENT; Exim sets RECIPIENT.
        recipients = [environ.get("ORIGINAL_RECIPIENT", ""), environ.get("RECIPIENT", "")]
    rcpt_tos = tuple(dict.fromkeys(r.strip() for r in recipients if r and r.strip()))
    if sender is None:
        sender = environ.get("SENDER", "")
    return InboundMessage(mail_from=sender.strip().strip("<>"), rcpt_tos=rcpt_tos, data=bytes(data))
