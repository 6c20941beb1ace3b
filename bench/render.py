"""Render 20,000 personalised messages from one skeleton and print messages per second.

    .venv/bin/python bench/render.py [--count N] [--dkim]

A benchmark, not a test: it asserts nothing about speed. It measures what the delivery runner
pays per recipient (personalisation, tracking tokens, encoding, headers), with a realistic
~20 KB newsletter with a dozen tracked links. `--dkim` adds RSA-2048 signing (dkimpy, pure Python).
"""
from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from engine.delivery.compose import Content, Sending, build_skeleton  # noqa: E402
from engine.delivery.dkim import DkimKey  # noqa: E402
from engine.tracking.tokens import Signer  # noqa: E402

ARTICLE = """
<tr><td style="padding:16px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px">
  <h2 style="margin:0 0 8px">Story {n}: what changed this week</h2>
  <p>Hi {{{{ Subscriber:FirstName|"there" }}}}, here is a short summary of story {n}. Prices from
  €{n}9.99 — see <a href="https://shop.example.com/stories/{n}?ref=newsletter&amp;utm_source=mail">the
  full story</a> or <a href="https://shop.example.com/stories/{n}/comments">the comments</a>.</p>
</td></tr>"""
HTML = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Weekly</title></head><body>"
        "<table width=\"600\" align=\"center\">"
        "<tr><td><a href=\"%Link:WebBrowser%\">View in your browser</a></td></tr>"
        + "".join(ARTICLE.format(n=n) for n in range(1, 7)) * 4
        + "<tr><td>Sent to %Subscriber:EmailAddress% from %User:CompanyName%. "
          "<a href=\"%Link:Unsubscribe%\">Unsubscribe</a></td></tr></table></body></html>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--dkim", action="store_true", help="sign every message (RSA-2048)")
    args = parser.parse_args()

    dkim = None
    if args.dkim:
        with tempfile.TemporaryDirectory() as tmp:
            key = pathlib.Path(tmp) / "key.pem"
            subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
            dkim = DkimKey("s1", "example.com", key.read_bytes())

    started = time.perf_counter()
    skeleton = build_skeleton(
        Content(subject="{{ Subscriber:FirstName|\"Hello\" }}, your weekly news ✉", from_email="news@example.com",
                from_name="Example Shop", html=HTML, pre_header="Six stories, %Subscriber:FirstName%"),
        Sending(signer=Signer("bench-secret-key-" * 3), base_url="https://mail.example.com",
                bounce_domain="bounces.example.com", campaign_id=42, instance_id=7, link_nonce="5eed5eed",
                constants={"User:CompanyName": "Example Shop Ltd"}, aliases={"FirstName": 1}, dkim=dkim))
    compiled = time.perf_counter() - started
    now = datetime.now(timezone.utc)
    total = 0
    started = time.perf_counter()
    for i in range(args.count):
        message = skeleton.render({"Subscriber:SubscriberID": 1000 + i,
                                   "Subscriber:EmailAddress": f"reader{i}@example.org",
                                   "Subscriber:CustomField1": "Zoë" if i % 3 else ""}, now)
        total += len(message.data)
    elapsed = time.perf_counter() - started
    print(f"skeleton: {compiled * 1000:.1f} ms, {len(skeleton.links)} tracked links, "
          f"{total / args.count / 1024:.1f} KiB per message")
    print(f"{args.count} messages in {elapsed:.2f} s: {args.count / elapsed:,.0f} messages/second"
          + (" (DKIM-signed)" if dkim else ""))


if __name__ == "__main__":
    main()
