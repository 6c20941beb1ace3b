"""The recorded examples: one request and the engine's answer per entry, written by the test suite
(tests/reference) from a live engine and committed beside this module, so the running engine can
serve them too."""
from __future__ import annotations

import json
from pathlib import Path

EXAMPLES_PATH = Path(__file__).with_name("examples.json")


def load_examples(path: Path = EXAMPLES_PATH) -> list[dict]:
    """The committed examples; [] before the first recording."""
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))["examples"]


def dump_examples(examples: list[dict]) -> str:
    """The file's text: stable key order and indentation, so a re-recording diffs line by line."""
    return json.dumps({"examples": examples}, indent=1, ensure_ascii=False) + "\n"
