"""The inbound SMTP listener and the MTA pipe: bounces arrive, strangers are turned away. Loopback only."""
import io
import smtplib
import threading
from pathlib import Path

import pytest

from engine.bounces.origin import verp_decoder
from engine.bounces import parse
from engine.bounces.inbound import InboundMessage, InboundServer, MessageTooLarge, read_message_from_stdin
from engine.tracking.tokens import Kind, Signer, Token

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"
SIGNER = Signer("bounce-test-secret-key-0123456789abcdef")
DECODE = verp_decoder(SIGNER)
NONCE = "0a1b2c3d"
VERP = SIGNER.verp_address("bounces.example.com", instance_id=42, subscriber_id=1001, nonce=NONCE)
HOST = "127.0.0.1"


class Inbox:
    """A callback that parses what arrives, the way the delivery engineer's recorder will."""

    def __init__(self, fail=False):
        self.messages, self.events, self.fail = [], [], fail
        self.lock = threading.Lock()

    def __call__(self, message: InboundMessage):
        if self.fail:
            raise RuntimeError("database is down")
        events = parse(message.data, recipients=message.rcpt_tos, decode_verp=DECODE)
        with self.lock:
            self.messages.append(message)
            self.events.extend(events)


@pytest.fixture
def inbox():
    return Inbox()


@pytest.fixture
def server(inbox):
    with InboundServer(HOST, 0, inbox, domains=["bounces.example.com"], addresses=["fbl@example.com"],
                       max_size=256 * 1024, max_recipients=3, server_hostname="mx.test") as running:
        yield running


def fixture(name: str) -> bytes:
    """A fixture with the CRLF line ends SMTP requires (smtplib sends bytes unchanged)."""
    return (FIXTURES / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def client(server) -> smtplib.SMTP:
    smtp = smtplib.SMTP(HOST, server.port, local_hostname="client.test", timeout=10)
    smtp.ehlo()
    return smtp


def test_a_dsn_sent_over_smtp_reaches_the_callback_as_a_parsed_hard_bounce(server, inbox):
    data = fixture("postfix_dsn_user_unknown.eml")
    with client(server) as smtp:
        assert smtp.sendmail("", [VERP], data) == {}
    # sendmail returns after our 250, which is only sent once the callback has finished.
    [message] = inbox.messages
    assert (message.mail_from, message.rcpt_tos, message.peer) == ("", (VERP,), HOST)
    assert b"Final-Recipient: rfc822; alice@example.org" in message.data
    [event] = inbox.events
    assert (event.kind, event.email, event.status) == ("hard", "alice@example.org", "5.1.1")
    assert event.token == Token(Kind.BOUNCE, 42, 1001, None, NONCE)


def test_a_complaint_to_a_configured_address_is_accepted(server, inbox):
    data = fixture("yahoo_arf_complaint.eml")
    with client(server) as smtp:
        smtp.sendmail("feedback@arf.mail.yahoo.com", ["FBL@example.com"], data)
    [event] = inbox.events
    assert (event.kind, event.email, event.token) == ("complaint", "erin@yahoo.com", Token(Kind.BOUNCE, 42, 1005))


@pytest.mark.parametrize("recipient", [
    "alice@example.org",                          # relaying: never
    "postmaster@bounces.example.com",             # not a bounce address, not configured
    "bounce@bounces.example.com",                 # no token
    "bounce+@bounces.example.com",
    "bounce+abc.def@bounces.example.com",         # not a token's alphabet
    VERP.replace("bounces.example.com", "elsewhere.example.net"),   # not our domain
])
def test_other_recipients_are_refused_with_550(server, inbox, recipient):
    with client(server) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("spammer@example.net", [recipient], b"Subject: hi\r\n\r\nbuy now\r\n")
    code, text = refused.value.recipients[recipient]
    assert code == 550 and b"not a bounce address" in text
    assert inbox.messages == []


def test_a_refused_recipient_does_not_spoil_the_accepted_one(server, inbox):
    data = fixture("postfix_dsn_user_unknown.eml")
    with client(server) as smtp:
        refused = smtp.sendmail("", [VERP, "alice@example.org"], data)
    assert refused == {"alice@example.org": (550, refused["alice@example.org"][1])}
    assert inbox.messages[0].rcpt_tos == (VERP,)


def test_with_a_decoder_forged_tokens_are_refused_before_the_data(inbox):
    forged = "bounce+" + "a" * 26 + "@bounces.example.com"
    with InboundServer(HOST, 0, inbox, decode_verp=DECODE, server_hostname="mx.test") as server:
        assert server.accepts(VERP) and not server.accepts(forged)
        with client(server) as smtp:
            smtp.mail("")
            assert smtp.rcpt(forged)[0] == 550
            assert smtp.rcpt(VERP)[0] == 250


def test_messages_over_the_size_limit_are_refused_with_552(server, inbox):
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 300
    with client(server) as smtp:
        # With the SIZE extension the client declares the size and MAIL FROM is refused up front ...
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("", [VERP], big)
        assert refused.value.smtp_code == 552
    with client(server) as smtp:
        # ... and a client that does not declare it is refused after DATA.
        smtp.mail("")
        smtp.rcpt(VERP)
        code, _ = smtp.data(big)
        assert code == 552
    assert inbox.messages == []


def test_too_many_recipients_are_deferred(server):
    with client(server) as smtp:
        smtp.mail("")
        codes = [smtp.rcpt(SIGNER.verp_address("bounces.example.com", instance_id=1, subscriber_id=i, nonce=NONCE))[0]
                 for i in range(5)]
    assert codes == [250, 250, 250, 452, 452]


def test_a_failing_callback_answers_451_so_the_sender_retries():
    with InboundServer(HOST, 0, Inbox(fail=True), server_hostname="mx.test") as server:
        with client(server) as smtp:
            with pytest.raises(smtplib.SMTPDataError) as failed:
                smtp.sendmail("", [VERP], b"Subject: x\r\n\r\nbody\r\n")
    assert failed.value.smtp_code == 451


def test_an_async_callback_is_awaited():
    received = []

    async def on_message(message):
        received.append(message.rcpt_tos)

    with InboundServer(HOST, 0, on_message, server_hostname="mx.test") as server:
        with client(server) as smtp:
            smtp.sendmail("", [VERP], b"Subject: x\r\n\r\nbody\r\n")
    assert received == [(VERP,)]


def test_the_server_stops_listening_when_the_block_ends(inbox):
    with InboundServer(HOST, 0, inbox, server_hostname="mx.test") as server:
        port = server.port
        assert port > 0
    with pytest.raises(OSError):
        smtplib.SMTP(HOST, port, timeout=2)


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        InboundServer(HOST, 0, print, max_size=0)


# --- the MTA pipe --------------------------------------------------------------------------
def test_a_piped_message_takes_its_envelope_from_the_postfix_environment():
    data = (FIXTURES / "postfix_dsn_user_unknown.eml").read_bytes()
    message = read_message_from_stdin(io.BytesIO(data), environ={
        "ORIGINAL_RECIPIENT": VERP, "RECIPIENT": VERP.upper(), "SENDER": ""})
    assert message == InboundMessage(mail_from="", rcpt_tos=(VERP, VERP.upper()), data=data)
    [event] = parse(message.data, recipients=message.rcpt_tos, decode_verp=DECODE)
    assert event.token == Token(Kind.BOUNCE, 42, 1001, None, NONCE)


def test_explicit_envelope_arguments_win_over_the_environment():
    message = read_message_from_stdin(io.BytesIO(b"Subject: x\r\n\r\n"), recipients=[" a@example.com "],
                                      sender="<b@example.com>", environ={"RECIPIENT": "c@example.com",
                                                                         "SENDER": "d@example.com"})
    assert (message.rcpt_tos, message.mail_from) == (("a@example.com",), "b@example.com")
    assert read_message_from_stdin(io.BytesIO(b""), environ={}).rcpt_tos == ()


def test_a_piped_message_over_the_limit_is_refused():
    with pytest.raises(MessageTooLarge):
        read_message_from_stdin(io.BytesIO(b"x" * 1001), environ={}, max_size=1000)
    assert len(read_message_from_stdin(io.BytesIO(b"x" * 1000), environ={}, max_size=1000).data) == 1000
