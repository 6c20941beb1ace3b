"""Bounce and complaint parsing: real-world report shapes, who they are about, hard or soft, and garbage."""
import base64
import email
import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from engine.bounces.classification import classify
from engine.bounces.events import BounceEvent, ComplaintEvent
from engine.bounces.origin import message_ref, verp_decoder
from engine.bounces import parse
from engine.delivery.compose import Content, Sending, build_skeleton
from engine.tracking.tokens import Kind, Signer, Token
from tests.helpers import legacy_token

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"
SIGNER = Signer("bounce-test-secret-key-0123456789abcdef")   # the key the fixtures' tokens were made with
DECODE = verp_decoder(SIGNER)
INSTANCE = 42
NONCE = "0a1b2c3d"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def verp(subscriber_id: int) -> str:
    """The VERP address of the fixtures' messages: signed before nonces (version 1), as mail already out
    when revision 0002 came in bounces back; such tokens still verify, with no nonce."""
    token = legacy_token(SIGNER, Kind.BOUNCE, instance_id=INSTANCE, subscriber_id=subscriber_id, local=True)
    return f"bounce+{token}@bounces.example.com"


def only(events):
    assert len(events) == 1, events
    return events[0]


def without_headers(data: bytes, *names: str) -> bytes:
    """The message minus every header line (and its continuation lines) with one of these names."""
    pattern = rb"(?mi)^(?:" + b"|".join(re.escape(n.encode()) for n in names) + rb"):.*\n(?:[ \t].*\n)*"
    return re.sub(pattern, b"", data)


# --- the fixtures: what a person running a list would see happen ---------------------------------
BOUNCES = [
    # file, subscriber, address, kind, status, reason
    ("postfix_dsn_user_unknown.eml", 1001, "alice@example.org", "hard", "5.1.1", "user-unknown"),
    ("gmail_dsn_user_unknown.eml", 1002, "bob.nosuch@gmail.com", "hard", "5.1.1", "user-unknown"),
    ("exchange_ndr.eml", 1003, "carol@contoso.com", "hard", "5.1.10", "user-unknown"),
    ("dsn_mailbox_full_4_2_2.eml", 1004, "dave@example.net", "soft", "4.2.2", "mailbox-full"),
    ("qmail_failure_notice.eml", 1007, "ivan@example.net", "hard", "5.1.1", "user-unknown"),
    ("exchange_legacy_ndr.eml", 1008, "grace@fabrikam.com", "hard", "5.1.1", "user-unknown"),
    ("postfix_plain_undelivered.eml", 1009, "henry@example.org", "hard", "5.1.1", "user-unknown"),
]


@pytest.mark.parametrize("name, subscriber_id, address, kind, status, reason", BOUNCES)
def test_each_real_world_bounce_names_its_recipient_and_verdict(name, subscriber_id, address, kind, status, reason):
    event = only(parse(raw(name), recipients=[verp(subscriber_id)], decode_verp=DECODE))
    assert isinstance(event, BounceEvent)
    assert (event.kind, event.email, event.status, event.reason) == (kind, address, status, reason)
    assert event.token == Token(Kind.BOUNCE, INSTANCE, subscriber_id)
    assert event.matched_by == "token"
    assert event.diagnostic and status in event.diagnostic


@pytest.mark.parametrize("name, subscriber_id", [(row[0], row[1]) for row in BOUNCES]
                         + [("yahoo_arf_complaint.eml", 1005), ("aol_arf_redacted.eml", 1006)])
def test_the_fixtures_carry_the_tokens_this_signer_makes(name, subscriber_id):
    # The fixtures carry version 1 tokens (before nonces): if this fails, that format changed, and
    # bounces of messages sent before revision 0002 would no longer be recognised.
    ours = {legacy_token(SIGNER, kind, instance_id=INSTANCE, subscriber_id=subscriber_id, local=True)
            for kind in (Kind.BOUNCE, Kind.UNSUBSCRIBE)}
    found = {t.decode() for t in re.findall(rb"(?:bounce|unsubscribe)\+([a-z2-7]+)@", raw(name))}
    assert found and found <= ours


def test_a_bounce_piped_by_the_mta_finds_the_token_in_its_own_headers():
    """No envelope: Postfix's Delivered-To (or the report's To) still carries the VERP address."""
    event = only(parse(raw("postfix_dsn_user_unknown.eml"), decode_verp=DECODE))
    assert event.token == Token(Kind.BOUNCE, INSTANCE, 1001)


def test_the_postfix_dsn_keeps_the_servers_words_and_the_original_ids():
    event = only(parse(raw("postfix_dsn_user_unknown.eml"), decode_verp=DECODE))
    assert event.diagnostic == ("550 5.1.1 <alice@example.org>: Recipient address rejected: "
                                "User unknown in virtual mailbox table")
    assert event.remote_mta == "mx1.example.org"
    assert event.message_id == "<42.1001.9f2c4e1a7b3d5c60@bounces.example.com>"
    assert event.message_ref == (42, 1001) and event.campaign_id == 12
    assert event.report_id == "<20261124091203.7C0E11A0F3@mail.example.net>"


def test_a_campaign_header_of_digit_like_characters_is_no_campaign_id():
    """"²" passes str.isdigit() but int() refuses it: a forged X-Sendmill-Campaign must not break parsing."""
    message = raw("postfix_dsn_user_unknown.eml").replace(b"X-Sendmill-Campaign: 12", "X-Sendmill-Campaign: ²".encode())
    assert message != raw("postfix_dsn_user_unknown.eml")
    event = only(parse(message, decode_verp=DECODE))
    assert event.campaign_id is None and event.message_ref == (42, 1001)


def test_gmail_multiline_replies_are_joined_once():
    event = only(parse(raw("gmail_dsn_user_unknown.eml"), decode_verp=DECODE))
    assert event.diagnostic.startswith("550 5.1.1 The email account that you tried to reach does not exist. "
                                       "Please try double-checking")
    assert "550-5.1.1" not in event.diagnostic
    assert event.remote_mta == "gmail-smtp-in.l.google.com."


def test_the_returned_campaign_body_never_decides_the_verdict():
    # Both fixtures quote "mailbox full", "spam", "blocked" in the returned original's body.
    for name in ("gmail_dsn_user_unknown.eml", "postfix_plain_undelivered.eml"):
        assert only(parse(raw(name))).reason == "user-unknown"


def test_plain_text_notices_keep_the_whole_indented_reply():
    event = only(parse(raw("postfix_plain_undelivered.eml")))
    assert event.diagnostic == ("<henry@example.org>: host mx2.example.org[203.0.113.26] said: 550 5.1.1 "
                                "<henry@example.org>: Recipient address rejected: User unknown in local "
                                "recipient table (in reply to RCPT TO command)")


# --- identification: token, then Message-ID, then the address ------------------------------------
def test_fallback_chain_from_token_to_message_id_to_address():
    data = raw("postfix_dsn_user_unknown.eml")
    piped = without_headers(data, "Delivered-To", "To")

    assert only(parse(piped, recipients=[verp(1001)], decode_verp=DECODE)).token.kind is Kind.BOUNCE
    # No envelope and no VERP header: the signed List-Unsubscribe mailto of the original still says who.
    assert only(parse(piped, decode_verp=DECODE)).token == Token(Kind.UNSUBSCRIBE, INSTANCE, 1001)

    unsigned = without_headers(piped, "List-Unsubscribe")
    event = only(parse(unsigned, decode_verp=DECODE))
    assert (event.token, event.matched_by, event.message_ref) == (None, "message-id", (42, 1001))

    bare = without_headers(unsigned, "Message-ID")
    event = only(parse(bare, decode_verp=DECODE))
    assert (event.matched_by, event.message_ref, event.email) == ("address", None, "alice@example.org")


def test_a_token_signed_with_another_key_is_not_trusted():
    stranger = verp_decoder(Signer("somebody-elses-secret-key-0123456789abcdef"))
    event = only(parse(raw("postfix_dsn_user_unknown.eml"), recipients=[verp(1001)], decode_verp=stranger))
    assert event.token is None and event.matched_by == "message-id"


def test_the_decoder_is_injectable():
    seen = []

    def decode(local_part):
        seen.append(local_part)
        return ("payload", local_part) if local_part == "bounce+abc" else None

    event = only(parse(raw("postfix_dsn_user_unknown.eml"), recipients=["bounce+abc@bounces.example.com"],
                       decode_verp=decode))
    assert event.token == ("payload", "bounce+abc") and seen == ["bounce+abc"]


def test_a_report_about_nobody_we_can_name_is_dropped():
    data = without_headers(raw("exchange_legacy_ndr.eml"), "To")
    data = data.replace(b"grace@fabrikam.com", b"someone")
    assert parse(data, decode_verp=DECODE) == []


def test_a_real_compose_message_bounced_back_is_tied_to_its_subscriber():
    sending = Sending(signer=SIGNER, base_url="https://t.example.com", bounce_domain="bounces.example.com",
                      campaign_id=12, instance_id=INSTANCE, link_nonce=NONCE)
    sent = build_skeleton(Content(subject="Hi", from_email="news@example.com", text="Hello"), sending).render(
        {"Subscriber:SubscriberID": 777, "Subscriber:EmailAddress": "Zoe@Example.org"})
    headers = sent.data.split(b"\r\n\r\n", 1)[0]
    report = dsn("5.1.1", "smtp; 550 5.1.1 No such user", recipient="Zoe@Example.org", original=headers)

    event = only(parse(report, recipients=[sent.envelope_from], decode_verp=DECODE))
    assert event.token == Token(Kind.BOUNCE, INSTANCE, 777, None, NONCE)
    assert (event.email, event.campaign_id, event.message_ref) == ("zoe@example.org", 12, (INSTANCE, 777))
    assert only(parse(report, decode_verp=DECODE)).token == Token(Kind.UNSUBSCRIBE, INSTANCE, 777, None, NONCE)


def test_message_ref_reads_only_the_shape_compose_writes():
    assert message_ref("<42.1001.9f2c4e1a7b3d5c60@bounces.example.com>") == (42, 1001)
    assert message_ref(" 7.8.0123456789abcdef@x.example ") == (7, 8)
    for other in (None, "", "<CAF=abc@mail.gmail.com>", "<42.1001.XYZ@x>", "<42.1001.9f2c4e1a7b3d5c60>",
                  "<99999999999999999999.1.0123456789abcdef@x>"):
        assert message_ref(other) is None


def test_verp_decoder_accepts_any_letter_case_and_only_our_kinds():
    token = SIGNER.sign_local(Kind.BOUNCE, instance_id=5, subscriber_id=6, nonce=NONCE)
    assert DECODE(f"bounce+{token}") == Token(Kind.BOUNCE, 5, 6, None, NONCE)
    assert DECODE(f"Bounce+{token.upper()}") == Token(Kind.BOUNCE, 5, 6, None, NONCE)
    assert DECODE(f"unsubscribe+{token}") is None       # a bounce token is not an unsubscribe token
    click = SIGNER.sign_local(Kind.OPEN, instance_id=5, subscriber_id=6, nonce=NONCE)
    for local in (f"bounce+{click}", "bounce", "bounce+", f"other+{token}", "", "bounce+!!!", "x" * 500):
        assert DECODE(local) is None
    assert verp_decoder(SIGNER, prefix="b")(f"b+{token}") == Token(Kind.BOUNCE, 5, 6, None, NONCE)


# --- classification ---------------------------------------------------------------------------
@pytest.mark.parametrize("status, diagnostic, expected", [
    ("5.1.1", "", ("hard", "user-unknown")),
    ("5.1.2", "Host or domain name not found. Name service error", ("hard", "bad-domain")),
    ("5.1.10", "Recipient address has null MX", ("hard", "null-mx")),
    ("5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found", ("hard", "user-unknown")),
    ("5.2.1", "The email account that you tried to reach is disabled", ("hard", "disabled")),
    ("5.4.4", "Unable to route", ("hard", "bad-domain")),
    ("5.2.2", "Mailbox full", ("soft", "mailbox-full")),
    ("4.2.2", "The email account that you tried to reach is over quota", ("soft", "mailbox-full")),
    ("5.3.4", "Message too big for system", ("soft", "too-large")),
    ("5.7.1", "Message rejected as spam by Content Filtering", ("soft", "policy")),
    ("5.7.1", "Recipient address rejected: user unknown", ("soft", "policy")),    # the code decides
    ("5.7.26", "Unauthenticated email is not accepted due to domain's DMARC policy", ("soft", "policy")),
    ("4.4.1", "Connection timed out", ("soft", "transient")),
    ("4.7.0", "Greylisted, try again later", ("soft", "policy")),
    ("5.0.0", "User unknown in local recipient table", ("hard", "user-unknown")),  # generic code: the words
    ("5.0.0", "554 delivery error: dd This user doesn't have a yahoo.com account", ("hard", "user-unknown")),
    ("5.0.0", "554 delivery error: dd Sorry your message cannot be delivered. This mailbox is disabled",
     ("hard", "disabled")),
    ("5.0.0", "", ("soft", "unknown")),
    ("5.4.1", "Recipient address rejected: Access denied", ("hard", "user-unknown")),
    ("5.5.0", "Syntax error", ("soft", "unknown")),
    (None, "552 Requested mail action aborted: exceeded storage allocation", ("soft", "mailbox-full")),
    (None, "smtp; 421 Service not available", ("soft", "transient")),
    (None, "550 Requested action not taken: mailbox unavailable", ("soft", "unknown")),
    (None, "", ("soft", "unknown")),
    ("2.0.0", "250 OK", None),
])
def test_classification_table(status, diagnostic, expected):
    assert classify(status, diagnostic) == expected


# --- synthetic DSNs for the paths the fixtures do not cover ----------------------------------------
def dsn(status="5.1.1", diagnostic="smtp; 550 5.1.1 User unknown", *, action="failed", recipient="alice@example.org",
        more_blocks="", original=b"Message-ID: <42.1001.9f2c4e1a7b3d5c60@bounces.example.com>\r\n"
                                 b"To: alice@example.org",
        status_part_headers="Content-Type: message/delivery-status", status_body=None) -> bytes:
    block = f"Final-Recipient: rfc822; {recipient}\r\n" + (f"Action: {action}\r\n" if action else "")
    block += (f"Status: {status}\r\n" if status else "") + (f"Diagnostic-Code: {diagnostic}\r\n" if diagnostic else "")
    if status_body is None:
        status_body = f"Reporting-MTA: dns; mail.example.net\r\n\r\n{block}{more_blocks}"
    return ("From: MAILER-DAEMON@mail.example.net\r\nTo: someone@bounces.example.com\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <r1@mail.example.net>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
            f"--B\r\n{status_part_headers}\r\n\r\n{status_body}\r\n"
            "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n").encode() + original + b"\r\n\r\n--B--\r\n"


@pytest.mark.parametrize("status, kind, reason", [
    ("5.1.2", "hard", "bad-domain"), ("5.1.10", "hard", "null-mx"), ("5.2.2", "soft", "mailbox-full"),
    ("5.7.1", "soft", "policy"), ("4.2.2", "soft", "mailbox-full")])
def test_dsn_status_codes_end_to_end(status, kind, reason):
    event = only(parse(dsn(status, diagnostic="")))
    assert (event.kind, event.status, event.reason, event.email) == (kind, status, reason, "alice@example.org")


def test_a_generic_status_takes_the_specific_code_from_the_diagnostic():
    event = only(parse(dsn("5.0.0", "smtp; 550 5.1.1 <alice@example.org>... User unknown")))
    assert (event.status, event.kind) == ("5.1.1", "hard")


@pytest.mark.parametrize("action", ["delayed", "delivered", "relayed", "expanded"])
def test_reports_that_are_not_failures_give_no_event(action):
    assert parse(dsn("4.4.1" if action == "delayed" else "2.0.0", action=action)) == []
    assert parse(raw("delayed_dsn.eml"), decode_verp=DECODE) == []


def test_a_block_without_action_counts_only_with_a_permanent_code():
    assert only(parse(dsn("5.1.1", action=""))).kind == "hard"
    assert parse(dsn("4.4.1", "", action="")) == []


def test_a_forwarded_address_bounces_as_the_address_we_sent_to():
    more_headers = "Original-Recipient: rfc822; alice@example.org\r\n"
    data = dsn(recipient="alice.new@elsewhere.example").replace(
        b"Final-Recipient: rfc822; alice.new@elsewhere.example\r\n",
        b"Final-Recipient: rfc822; alice.new@elsewhere.example\r\n" + more_headers.encode())
    assert only(parse(data)).email == "alice@example.org"


def test_one_event_per_failed_recipient():
    more = ("\r\nFinal-Recipient: rfc822; bob@example.org\r\nAction: failed\r\nStatus: 5.2.2\r\n"
            "\r\nFinal-Recipient: rfc822; carl@example.org\r\nAction: delayed\r\nStatus: 4.4.1\r\n")
    events = parse(dsn(more_blocks=more))
    assert [(e.email, e.kind) for e in events] == [("alice@example.org", "hard"), ("bob@example.org", "soft")]


def test_an_encoded_delivery_status_part_is_still_read():
    body = base64.b64encode(b"Reporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; alice@example.org\r\n"
                            b"Action: failed\r\nStatus: 5.1.2\r\n").decode()
    data = dsn(status_part_headers="Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64",
               status_body=body)
    assert only(parse(data)).status == "5.1.2"


def test_an_unreadable_delivery_status_falls_back_to_the_notice():
    data = dsn(status_body="\x00\x01 nothing here").replace(
        b"Delivery failed.", b"<alice@example.org>: host mx said: 550 5.1.1 user unknown")
    event = only(parse(data))
    assert (event.status, event.email, event.matched_by) == ("5.1.1", "alice@example.org", "message-id")


# --- complaints --------------------------------------------------------------------------------
def test_yahoo_complaint_names_the_recipient_and_the_verp_token():
    event = only(parse(raw("yahoo_arf_complaint.eml"), recipients=["fbl@example.com"], decode_verp=DECODE))
    assert isinstance(event, ComplaintEvent)
    assert (event.kind, event.feedback_type, event.email) == ("complaint", "abuse", "erin@yahoo.com")
    assert event.token == Token(Kind.BOUNCE, INSTANCE, 1005)   # from Original-Mail-From / Return-Path
    assert event.user_agent == "Yahoo!-Mail-Feedback/2.0"
    assert (event.message_ref, event.campaign_id) == ((42, 1005), 12)


def test_a_redacted_aol_complaint_is_tied_by_the_signed_unsubscribe_address():
    event = only(parse(raw("aol_arf_redacted.eml"), recipients=["fbl@example.com"], decode_verp=DECODE))
    assert event.email is None
    assert event.token == Token(Kind.UNSUBSCRIBE, INSTANCE, 1006) and event.matched_by == "token"
    assert event.source_ip == "198.51.100.7"


def arf(feedback_type="abuse", rcpt="Original-Rcpt-To: erin@yahoo.com\r\n", third="message/rfc822") -> bytes:
    return ("From: fbl@isp.example\r\nTo: fbl@example.com\r\nSubject: report\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n"
            "--F\r\nContent-Type: text/plain\r\n\r\nA report.\r\n"
            f"--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: {feedback_type}\r\n"
            f"User-Agent: SomeISP/1.0\r\nVersion: 1\r\n{rcpt}\r\n"
            f"--F\r\nContent-Type: {third}\r\n\r\nFrom: news@example.com\r\nTo: Erin <Erin@Yahoo.com>\r\n"
            "Message-ID: <42.1005.5f7a9c1e3b2d4086@bounces.example.com>\r\nX-Sendmill-Campaign: 12\r\n\r\n"
            "--F--\r\n").encode()


@pytest.mark.parametrize("feedback_type", ["abuse", "fraud", "virus", "other", "ABUSE"])
def test_complaint_feedback_types(feedback_type):
    assert only(parse(arf(feedback_type))).feedback_type == feedback_type.lower()


@pytest.mark.parametrize("feedback_type", ["not-spam", "auth-failure", "", "made-up"])
def test_feedback_that_is_not_a_complaint_is_ignored(feedback_type):
    assert parse(arf(feedback_type)) == []


def test_a_complaint_without_original_rcpt_to_uses_the_original_to_header():
    event = only(parse(arf(rcpt="", third="text/rfc822-headers")))
    assert (event.email, event.matched_by, event.message_ref) == ("erin@yahoo.com", "message-id", (42, 1005))


# --- what is not a bounce, and garbage ---------------------------------------------------------
def test_auto_replies_and_ordinary_mail_are_not_bounces():
    assert parse(raw("out_of_office.eml"), decode_verp=DECODE) == []
    ordinary = (b"From: Alice <alice@example.org>\r\nTo: " + verp(1001).encode() + b"\r\nSubject: Re: The sale\r\n\r\n"
                b"User unknown? My mailbox is full of your spam, it does not exist for you anymore.\r\n")
    assert parse(ordinary, decode_verp=DECODE) == []


def test_raw_8bit_headers_and_message_objects_are_read():
    german = ("From: MAILER-DAEMON@mx.example.de\r\nSubject: Unzustellbar: Grüße\r\n\r\n"
              "<zed@example.org>: 550 5.1.1 Benutzer unbekannt\r\n")
    assert only(parse(german.encode())).email == "zed@example.org"
    assert only(parse(email.message_from_string(german))).status == "5.1.1"


def test_a_bounce_we_cannot_read_still_counts_as_a_soft_bounce_of_its_token():
    data = (b"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nSubject: Mail delivery failed\r\n\r\n"
            b"Something went wrong with your message.\r\n")
    event = only(parse(data, recipients=[verp(1001)], decode_verp=DECODE))
    assert (event.kind, event.reason, event.status, event.email) == ("soft", "unknown", None, None)
    assert parse(data) == []   # ... and nothing at all without one


@pytest.mark.parametrize("garbage", [
    b"", b"   \r\n\r\n", b"\x00" * 4096, bytes(range(256)) * 64, "Ünïcödé 💥 text".encode(), "plain str input",
    b"Subject: hello\r\n\r\nnot a bounce", None, 12345, object(),
])
def test_garbage_gives_nothing(garbage):
    assert parse(garbage, decode_verp=DECODE) == []


@pytest.mark.parametrize("broken", [
    b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno boundary at all",
    b"Content-Type: multipart/report; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: message/delivery-status\r\n\r\n",
    b"From: MAILER-DAEMON@x\r\nSubject: =?x-unknown?B?!!!?= Undeliverable\r\n"
    b"Content-Type: text/plain; charset=nope\r\n\r\n"
    b"\xff\xfe 550 5.1.1 user unknown <a@b.example>:",
    b"From: MAILER-DAEMON@x\r\nContent-Type: text/html\r\nSubject: failure notice\r\n\r\n<html><style>" * 3,
    b"Content-Type: multipart/report; boundary=\"Y\"\r\n\r\n--Y\r\nContent-Type: message/feedback-report\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!notbase64!!!\r\n--Y--",
])
def test_broken_reports_never_raise(broken):
    events = parse(broken, recipients=[verp(1001)], decode_verp=DECODE)
    assert all(isinstance(e, (BounceEvent, ComplaintEvent)) for e in events)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(data):
    assert isinstance(parse(data, decode_verp=DECODE), list)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(p.name for p in FIXTURES.glob("*.eml"))), cut=st.floats(0, 1),
       noise=st.binary(min_size=1, max_size=64))
def test_truncated_or_corrupted_fixtures_never_raise(name, cut, noise):
    data = raw(name)
    at = int(len(data) * cut)
    for variant in (data[:at], data[:at] + noise + data[at:], data[:at] + noise):
        for event in parse(variant, decode_verp=DECODE):
            assert event.kind in ("hard", "soft", "complaint")


def test_a_huge_bounce_is_read_from_its_head_in_bounded_time(monkeypatch):
    from engine.bounces import mime

    attachment = base64.encodebytes(b"\x89PNG" + b"\x00" * (30 * 1024 * 1024)).replace(b"\n", b"\r\n")
    original = (b"Message-ID: <42.1001.9f2c4e1a7b3d5c60@bounces.example.com>\r\nTo: alice@example.org\r\n"
                b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n" + attachment)
    data = dsn(original=original)
    assert len(data) > 30 * 1024 * 1024
    parsed: list[int] = []   # the size of everything handed to the MIME parser: the work, not the time

    class SizeRecordingParser(mime.BytesParser):
        def parsebytes(self, text, headersonly=False):
            parsed.append(len(text))
            return super().parsebytes(text, headersonly)

    monkeypatch.setattr(mime, "BytesParser", SizeRecordingParser)
    event = only(parse(data))
    assert parsed and max(parsed) <= mime.MAX_PARSE_BYTES < len(data) // 30
    assert (event.email, event.kind, event.message_ref) == ("alice@example.org", "hard", (42, 1001))


@pytest.mark.parametrize("body", [
    b"<html><style>" * 100_000,
    b"-- " + b"a" * 500_000 + b"\r\n",
    b"<" * 300_000,
    b"a@" * 300_000,
    b"550 5.1.1 " * 60_000,
])
@pytest.mark.timeout(120)
def test_adversarial_notices_stay_fast(body):
    # A linear parse of these takes milliseconds; a backtracking one, hours. No stopwatch (it would trip
    # on a loaded machine): the watchdog above fails the runaway case with a wide margin either way.
    data = (b"From: MAILER-DAEMON@mx.example.net\r\nSubject: Undeliverable\r\nTo: " + verp(1001).encode()
            + b"\r\nContent-Type: text/" + (b"html" if body.startswith(b"<") else b"plain") + b"\r\n\r\n" + body)
    parse(data, decode_verp=DECODE)
