"""Django's ``{# … #}`` comments end on their line: one left open runs on as page text (a room
page once showed its own template comment to every member). Multi-line comments use
``{% comment %}``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_template_comment_spans_lines():
    folders = [ROOT / "templates", *ROOT.glob("*/templates")]
    offenders = []
    for folder in folders:
        for path in folder.rglob("*.html"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                rest = line
                while "{#" in rest:
                    rest = rest[rest.index("{#") + 2 :]
                    if "#}" not in rest:
                        offenders.append(f"{path.relative_to(ROOT)}:{number}")
                        break
                    rest = rest[rest.index("#}") + 2 :]
    assert not offenders, "unclosed {# on the line: " + ", ".join(offenders)
