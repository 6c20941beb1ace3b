"""Hard or soft: what a failure's status code and the server's words say about the address.

The enhanced status code (RFC 3463) decides where it is specific (`STATUS_TABLE`);
where it is generic (x.0.0, unlisted details, or only a basic SMTP code) the server's words
decide through `PHRASES`; what is still unknown is soft. Soft counts toward the soft-bounce
threshold (protocol.md: default 3), so an address that keeps failing is still suppressed in the
end, while one mistaken hard verdict would lose a good subscriber for good.

    status            kind  reason        why
    5.1.0 5.1.1 5.1.3 hard  user-unknown  the mailbox does not exist / cannot exist
    5.1.6             hard  user-unknown  mailbox moved, no forwarding address
    5.1.2 5.4.4       hard  bad-domain    no such domain / no route to it
    5.1.10            hard  null-mx       the domain says it takes no mail (RFC 7505); Exchange
                                          Online also uses it for "RecipientNotFound"
    5.2.1             hard  disabled      mailbox disabled, not accepting messages
    5.2.2             soft  mailbox-full  people empty their mailboxes; the threshold catches the rest
    5.2.3 5.3.4       soft  too-large     the message was too big, not the address's fault
    5.7.x             soft  policy        the receiver refused *us* (spam filter, DMARC, reputation,
                                          block lists): suppressing the recipient punishes the wrong side
    4.x.x             soft  transient     (4.2.2 mailbox-full, 4.7.x policy)
    other 5.x.x       PHRASES on the diagnostic, else soft "unknown"
    (no code)         PHRASES, else 552 mailbox-full / 4xx transient, else soft "unknown"

A hard phrase may sharpen a hard code's reason (Exchange's "5.1.10 RecipientNotFound" is
user-unknown), but words never turn a listed code's kind around: "5.7.1 … user unknown" stays a
soft policy refusal. Exchange Online's "5.4.1 Recipient address rejected: Access denied" (its
directory-based edge blocking: no such recipient) is hard through PHRASES.
"""
from __future__ import annotations

import re

HARD, SOFT = "hard", "soft"

STATUS_TABLE: dict[tuple[int, int], tuple[str, str]] = {
    (1, 0): (HARD, "user-unknown"), (1, 1): (HARD, "user-unknown"), (1, 3): (HARD, "user-unknown"),
    (1, 6): (HARD, "user-unknown"), (1, 2): (HARD, "bad-domain"), (4, 4): (HARD, "bad-domain"),
    (1, 10): (HARD, "null-mx"), (2, 1): (HARD, "disabled"), (2, 2): (SOFT, "mailbox-full"),
    (2, 3): (SOFT, "too-large"), (3, 4): (SOFT, "too-large"),
}

# Non-standard wording, first match wins. Sources: Postfix, Exim, qmail, Exchange, Gmail, Yahoo,
# Outlook.com notices. Full mailboxes come before "does not exist" and friends because notices
# like "mailbox full, user does not exist after 30 days" are about the quota first.
_PHRASE_SOURCES = (
    (SOFT, "mailbox-full", r"mailbox (?:is )?full|over ?quota|quota (?:exceeded|exceed)|exceeded (?:its |the |their )?"
                           r"(?:storage|quota)|(?:insufficient|out of) (?:system )?storage|inbox is full|full mailbox"
                           r"|mailbox size limit"),
    (HARD, "disabled", r"(?:account|mailbox|user)(?: has been| is)? (?:disabled|deactivated|suspended|closed|inactive)"
                       r"|(?:inactive|disabled) (?:account|mailbox|user)|no longer (?:active|available|in use|valid)"),
    (HARD, "null-mx", r"null mx|does not accept mail"),
    (HARD, "bad-domain", r"host or domain name not found"
                         r"|domain (?:name )?(?:not found|does ?n[o']t exist|doesn't exist)|no such domain"
                         r"|unroutable domain|nxdomain|no mx record"
                         r"|bad destination system"),
    (HARD, "user-unknown", r"user ?unknown|unknown (?:user|recipient|local[- ]part|mailbox)|no such (?:user|mailbox|"
                           r"recipient|address|person)|does ?n[o']t exist|doesn't exist|wasn't found at|was not found"
                           r"|(?:couldn't|could not|cannot|can't) be found|(?:recipient|user|mailbox) not found"
                           r"|no mailbox here|not a valid (?:mailbox|recipient|user)"
                           r"|invalid (?:recipient|mailbox|user)"
                           r"|bad destination mailbox|recipientnotfound|doesn't have an? \S+ account"
                           r"|recipient address rejected: access denied|unrouteable address"),
    (SOFT, "transient", r"try again|temporar|timed? ?out|connection (?:refused|reset|lost)|gr[ae]ylist|deferred"
                        r"|too many|rate limit|throttl|insufficient resources"),
    (SOFT, "policy", r"spam|block(?:ed|list)|black ?list|listed (?:at|on|in|by)|reputation|dmarc|\bspf\b|\bdkim\b"
                     r"|policy|not authori[sz]ed|content rejected|virus|malware"),
)
PHRASES: tuple[tuple[str, str, re.Pattern], ...] = tuple(
    (kind, reason, re.compile(pattern, re.I)) for kind, reason, pattern in _PHRASE_SOURCES)

ENHANCED_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\d)(?!\.\d)")
# A basic reply code only where a server's reply is quoted, so sizes and dates are not codes.
SMTP_CODE = re.compile(r"(?im)(?:^|said:|smtp;|\berror:?|\bcode:?|\()[ \t]*([245][0-5]\d)(?=[\s-])")


def classify(status: str | None, diagnostic: str = "") -> tuple[str, str] | None:
    """(kind, reason) for a failure's status code and text; None when the status says success."""
    code = ENHANCED_CODE.search(status or "")
    if code is None:
        code = ENHANCED_CODE.search(diagnostic or "")
    if code is not None:
        klass, subject, detail = (int(g) for g in code.groups())
        if klass == 2:
            return None
        if klass == 4:
            return SOFT, ("mailbox-full" if (subject, detail) == (2, 2) else "policy" if subject == 7 else "transient")
        if (subject, detail) in STATUS_TABLE:
            kind, reason = STATUS_TABLE[(subject, detail)]
            phrase = match_phrase(diagnostic) if kind == HARD else None
            # Same verdict, better label: Exchange's 5.1.10 "RecipientNotFound" is no null MX.
            return kind, (phrase[1] if phrase and phrase[0] == HARD else reason)
        if subject == 7:
            return SOFT, "policy"
    phrase = match_phrase(diagnostic)
    if phrase is not None:
        return phrase[0], phrase[1]
    basic = SMTP_CODE.search(diagnostic or "")
    if basic is not None and basic.group(1) == "552":
        return SOFT, "mailbox-full"   # RFC 5321: "exceeded storage allocation"
    if basic is not None and basic.group(1)[0] == "4":
        return SOFT, "transient"
    return SOFT, "unknown"


def match_phrase(text: str) -> tuple[str, str, re.Match] | None:
    for kind, reason, pattern in PHRASES:
        found = pattern.search(text or "")
        if found:
            return kind, reason, found
    return None


def status_of(status_field: str, diagnostic: str) -> str | None:
    """The most specific code: "5.0.0" in Status with "550 5.1.1 …" in the diagnostic is 5.1.1."""
    given = ENHANCED_CODE.search(status_field or "")
    told = ENHANCED_CODE.search(diagnostic or "")
    if given and told and given.group(1) == told.group(1) and given.group(2, 3) == ("0", "0"):
        given = told
    found = given or told
    return ".".join(found.groups()) if found else None
