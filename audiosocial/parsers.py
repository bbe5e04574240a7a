"""Request body parsing for the REST API."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a lone UTF-16 surrogate escape (``"\\ud800"``).

    JSON can spell one, Python keeps it, but it is not text: DRF's fields refuse it, yet where
    no field looks (a dictionary's keys) it travels on and the response that names it cannot be
    encoded as UTF-8 (a 500). The WebSockets refuse the same (``audiosocial.consumers``).
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError("The body has a \\u escape that is not valid Unicode text.") from None
        return data
