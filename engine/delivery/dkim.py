"""DKIM signing (RFC 6376) with dkimpy, for senders that configure a key."""
from __future__ import annotations

from dataclasses import dataclass

# RFC 8058 §3.1: the one-click unsubscribe headers must be covered by the DKIM signature.
SIGNED_HEADERS = (
    b"from", b"reply-to", b"to", b"subject", b"date", b"message-id", b"mime-version",
    b"content-type", b"list-unsubscribe", b"list-unsubscribe-post", b"x-sendmill-campaign",
)


@dataclass(frozen=True)
class DkimKey:
    selector: str
    domain: str
    private_key_pem: bytes

    def __post_init__(self):
        if isinstance(self.private_key_pem, str):
            object.__setattr__(self, "private_key_pem", self.private_key_pem.encode("ascii"))
        # Imported here and in sign_dkim, not at the top: a worker without a key never loads dkimpy and its
        # DNS resolver (about 2 MB of a delivery worker's 80 MB budget, bench/memory.py).
        import dkim as dkimpy

        try:
            # Parse once so a broken key fails when it is configured, not on the first recipient.
            dkimpy.crypto.parse_pem_private_key(self.private_key_pem)
        except dkimpy.crypto.UnparsableKeyError as e:
            raise ValueError(f"the DKIM private key cannot be used: {e}") from None


def sign_dkim(message: bytes, selector: str, domain: str, private_key_pem: bytes | str) -> bytes:
    """`message` (CRLF line endings) with a `DKIM-Signature` header in front (relaxed/relaxed, rsa-sha256)."""
    import dkim as dkimpy

    if isinstance(private_key_pem, str):
        private_key_pem = private_key_pem.encode("ascii")
    signature = dkimpy.sign(
        message, selector.encode("ascii"), domain.encode("idna"), private_key_pem,
        canonicalize=(b"relaxed", b"relaxed"), include_headers=list(SIGNED_HEADERS), linesep=b"\r\n",
    )
    return signature + message
