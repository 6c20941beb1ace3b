"""`python -m protocol.reference markdown` prints docs/commands.md; `… json` prints /commands.json.

The examples come from the committed recording; to record them again (after adding or changing a
command) run `python -m pytest tests/reference --update-reference --db=sqlite`, which rewrites both files.
"""
from __future__ import annotations

import json
import sys

from protocol.reference import reference
from protocol.reference.markdown import render


def main(argv: list[str]) -> int:
    kind = argv[0] if argv else "markdown"
    if kind not in ("markdown", "json"):
        print("usage: python -m protocol.reference [markdown|json]", file=sys.stderr)
        return 2
    data = reference()
    sys.stdout.write(render(data) if kind == "markdown" else json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
