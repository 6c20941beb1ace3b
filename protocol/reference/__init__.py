"""The command reference, generated from the registry (never written by hand).

  fields.py     what one declared parameter accepts: type, range, choices, codes, the handler's default
  model.py      build(): every command as plain data (callers, permission, parameters, error table, examples)
  examples.py   the recorded example requests and answers (examples.json, written by the test suite)
  markdown.py   docs/commands.md
  page.py       the /docs page and /commands.json, served by the engine
  __main__.py   `python -m protocol.reference markdown|json` prints either rendering
"""
from __future__ import annotations

from protocol.reference.examples import load_examples
from protocol.reference.model import build
from protocol.registry import COMMANDS


def reference() -> dict:
    """The reference of the registered commands, with the committed examples."""
    return build(COMMANDS, load_examples())
