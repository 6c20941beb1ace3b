"""One SMTP mail transaction on an open relay session, and what its replies mean.

`mail_transaction()` is the dialogue of one message (RSET when owed, MAIL/RCPT/DATA pipelined when the
relay offers PIPELINING, then the payload), written as a generator for engine/delivery/smtp_wire.Drive;
`announce()` writes the pipelined envelope ahead, while the message still waits for its go-ahead.
It returns a `TransactionOutcome`: the message's `SendResult`, and whether the session may be reused.
engine/delivery/transport.SmtpPool chooses the relay and the session; this module only talks on one.
"""
from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass
from typing import Generator

from engine.delivery.smtp_wire import Wire

SENT, TEMPORARY, PERMANENT = "sent", "temporary", "permanent"
# Throttling replies beyond 421/451: enhanced status 4.7.x (policy, used for rate limits and greylisting),
# 4.3.2 (not accepting messages now) and the words relays use for "slow down". Not "try again later":
# every temporary reply says that, including a full or busy mailbox, which is no reason to slow a relay.
THROTTLING_TEXT = re.compile(r"\b4\.7\.\d{1,3}\b|\b4\.3\.2\b|\brate\b|ratelimit|throttl|too many|too fast|slow down",
                             re.IGNORECASE)
_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")
_UNSAFE_IN_ADDRESS = re.compile(r"[\s<>\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SendResult:
    status: str                       # SENT | TEMPORARY | PERMANENT
    code: int | None                  # the SMTP reply code, None when no reply was received
    text: str
    relay: str | None                 # Relay.name, None when no relay could be tried
    maybe_sent: bool = False          # the connection died after the message was transmitted


@dataclass(frozen=True)
class Envelope:
    """One message for one recipient: what `send_many()` takes."""

    sender: str                       # the envelope sender (VERP address); "" for the null reverse-path
    recipient: str
    message: bytes                    # RFC 5322 bytes, CRLF line ends (bare LF is converted)
    wire_safe: bool = False           # the sender vouches: CRLF throughout, no line starting with "."


def is_throttling(code: int, text: str) -> bool:
    """Does this reply ask us to send more slowly (rather than reject this particular message)?"""
    return code in (421, 451) or (400 <= code < 500 and bool(THROTTLING_TEXT.search(text)))


def classify(code: int) -> str:
    if 200 <= code < 300:
        return SENT
    return PERMANENT if 500 <= code < 600 else TEMPORARY


def data_payload(message: bytes, wire_safe: bool = False) -> bytes:
    """The DATA section as sent: CRLF line ends, leading dots doubled (RFC 5321 §4.5.2), '.' terminator.
    A `wire_safe` message (CRLF throughout, no line starting with ".") only gets the terminator."""
    if not wire_safe:
        if message.count(b"\n") != message.count(b"\r\n") or message.count(b"\r") != message.count(b"\r\n"):
            message = _BARE_LINE_END.sub(b"\r\n", message)
        if message.startswith(b".") or b"\n." in message:
            message = b"." + message if message.startswith(b".") else message
            message = message.replace(b"\n.", b"\n..")
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message + b".\r\n"


def address_problem(address: str, *, may_be_empty: bool) -> str | None:
    if not isinstance(address, str):
        return "the address is not a string"
    if address == "" and may_be_empty:
        return None    # the null reverse-path <>
    # Anything that could end or extend an SMTP command line is refused before it reaches the wire.
    if len(address) > 254 or _UNSAFE_IN_ADDRESS.search(address):
        return f"invalid address {address!r}"
    local, at, domain = address.rpartition("@")
    if not (at and local and domain):
        return f"invalid address {address!r}"
    return None


class RelaySession:
    """An open session with a relay (smtplib did the greeting, EHLO, STARTTLS and AUTH), its socket now
    driven without blocking, and what the relay offered."""

    def __init__(self, smtp: smtplib.SMTP, timeout: float):
        self.smtp = smtp              # kept for its EHLO features; the socket now belongs to `wire`
        self.wire = Wire(smtp.sock, timeout)
        self.pipelining = smtp.has_extn("pipelining")
        self.size = smtp.has_extn("size")
        self.eight_bit = smtp.has_extn("8bitmime")
        self.smtputf8 = smtp.has_extn("smtputf8")
        self.reused = False
        self.dirty = False            # a transaction stopped half-way: RSET before the next one
        self.announced_rset = False   # announce() wrote an RSET ahead of the envelope: its reply comes first
        self.idle_since = 0.0

    def quit(self) -> None:
        """QUIT without waiting for the reply: the session is over either way."""
        try:
            self.wire.flush()
            if not self.wire.sending:
                self.wire.sock.send(b"QUIT\r\n")
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        if self.smtp.file is not None:    # smtplib's reader holds the socket open until it is closed too
            self.smtp.file.close()
        self.wire.close()
        self.smtp.sock = self.smtp.file = None


@dataclass(frozen=True)
class TransactionOutcome:
    result: SendResult
    keep: bool = True                 # return the connection to the pool
    retry: bool = False               # nothing can have been delivered: safe to try a fresh connection
    dirty: bool = False


def announce(conn: RelaySession, sender: str, recipient: str, payload: bytes, eight_bit: bool) -> bool:
    """RFC 2920, ahead of time: write the envelope (RSET when owed, MAIL, RCPT, DATA) of a message that does
    not have its go-ahead yet, so that its replies come back while the caller commits the hand-over mark.
    Nothing of the message itself is written: the relay cannot deliver before the payload and its final
    "." (a caller that withdraws the message then closes the connection). True when the envelope was
    written, and `mail_transaction(…, announced=True)` reads its replies; False when the relay does not
    offer PIPELINING or the envelope cannot be sent (`mail_transaction` then does it all and says why)."""
    if not conn.pipelining:
        return False
    commands = _envelope(conn, sender, recipient, payload, eight_bit)
    if isinstance(commands, TransactionOutcome):
        return False
    try:
        conn.wire.write((b"RSET\r\n" if conn.dirty else b"") + commands[0] + commands[1] + b"DATA\r\n")
    except OSError:
        return False        # the connection is gone: mail_transaction finds out and says so
    conn.announced_rset, conn.dirty = conn.dirty, False
    return True


def _envelope(conn: RelaySession, sender: str, recipient: str, payload: bytes, eight_bit: bool
              ) -> tuple[bytes, bytes] | TransactionOutcome:
    """The MAIL and RCPT command lines, or why the relay cannot take this message (relay name left blank)."""
    options = []
    if conn.size:
        options.append(f"SIZE={len(payload)}")
    if eight_bit:
        if not conn.eight_bit:
            return TransactionOutcome(SendResult(
                PERMANENT, None, "the message has 8-bit bytes and the relay does not offer 8BITMIME", None))
        options.append("BODY=8BITMIME")
    encoding = "ascii"
    if not (sender + recipient).isascii():
        if not conn.smtputf8:
            return TransactionOutcome(SendResult(
                PERMANENT, None, "the address is not ASCII and the relay does not offer SMTPUTF8", None))
        options.append("SMTPUTF8")
        encoding = "utf-8"
    # MAIL/RCPT go out exactly as given (smtplib's quoteaddr() would re-parse addresses and could
    # rewrite them); the addresses were checked for anything that could end or extend a command line.
    return ((f"MAIL FROM:<{sender}>" + "".join(" " + o for o in options) + "\r\n").encode(encoding),
            f"RCPT TO:<{recipient}>\r\n".encode(encoding))


def mail_transaction(conn: RelaySession, relay_name: str, sender: str, recipient: str, payload: bytes,
                     eight_bit: bool, announced: bool = False) -> Generator:
    """One message on an open session: RSET when owed, MAIL, RCPT, DATA, the payload; what the replies mean
    for the message and for the session. A conversation of smtp_wire.Drive runs it with `yield from`.
    `announced`: `announce()` already wrote the envelope; only its replies are read here."""
    wire = conn.wire

    def reply(code: int, text: bytes, *, dirty: bool) -> TransactionOutcome:
        text = reply_text(text)
        result = SendResult(classify(code), code, text, relay_name)
        if code < 200:
            return TransactionOutcome(SendResult(TEMPORARY, code, f"unexpected reply: {text}", relay_name),
                                      keep=False)
        if code == 421 and conn.reused and stage == "MAIL FROM":
            # The first word on a reused session: most likely the server timed the session out or
            # ended it after N messages. A fresh session tells whether it really wants us to slow down.
            return TransactionOutcome(result, keep=False, retry=True)
        return TransactionOutcome(result, keep=code != 421, dirty=dirty)

    commands = _envelope(conn, sender, recipient, payload, eight_bit)
    if isinstance(commands, TransactionOutcome):
        return TransactionOutcome(SendResult(commands.result.status, None, commands.result.text, relay_name))
    mail_from, rcpt_to = commands
    # RFC 5321 §4.1.1.4: the end of DATA clears the transaction, so RSET is only owed after a transaction
    # that stopped half-way. Skipping it after successes saves one round trip in five.
    stage = "RSET"
    try:
        if conn.dirty if not announced else conn.announced_rset:
            if not announced:
                wire.write(b"RSET\r\n")
            code, text = yield from wire.reply()
            if code != 250:
                return TransactionOutcome(SendResult(TEMPORARY, code, reply_text(text), relay_name), keep=False,
                                          retry=True)
        stage = "MAIL FROM"
        if conn.pipelining:
            # RFC 2920: MAIL, RCPT and DATA in one write, their three replies read in order: two round
            # trips per message instead of four (one on the way, when `announce()` sent them ahead).
            if not announced:
                wire.write(mail_from + rcpt_to + b"DATA\r\n")
            mail_code, mail_text = yield from wire.reply()
            rcpt_code, rcpt_text = yield from wire.reply()
            data_code, data_text = yield from wire.reply()
            if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
                stage = "end of an empty message"     # a server that opened DATA anyway: close it empty
                wire.write(b".\r\n")
                yield from wire.reply()
            if mail_code != 250:
                return reply(mail_code, mail_text, dirty=True)
            stage = "RCPT TO"
            if rcpt_code not in (250, 251):
                return reply(rcpt_code, rcpt_text, dirty=True)
            stage = "DATA"
            if data_code != 354:
                return reply(data_code, data_text, dirty=True)
        else:
            wire.write(mail_from)
            code, text = yield from wire.reply()
            if code != 250:
                return reply(code, text, dirty=False)
            stage = "RCPT TO"
            wire.write(rcpt_to)
            code, text = yield from wire.reply()
            if code not in (250, 251):
                return reply(code, text, dirty=True)
            stage = "DATA"
            wire.write(b"DATA\r\n")
            code, text = yield from wire.reply()
            if code != 354:
                return reply(code, text, dirty=True)
        stage = "message"
        wire.write(payload)
        stage = "end of data"
        code, text = yield from wire.reply()
        return reply(code, text, dirty=False)
    except OSError as e:
        if stage == "end of data" and not wire.sending:
            text = f"connection lost waiting for the reply to the message; it may have been delivered ({e})"
            return TransactionOutcome(SendResult(TEMPORARY, None, text, relay_name, maybe_sent=True), keep=False)
        # Still queued means the final "." never left: nothing can have been delivered.
        text = f"connection lost during {'message' if stage == 'end of data' else stage} ({e})"
        return TransactionOutcome(SendResult(TEMPORARY, None, text, relay_name), keep=False, retry=True)


def reply_text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
