"""The shared JSON consumer answers frames that once crashed it, and survives a bug in a handler.

Found by tests/fuzz/test_ws_fuzz.py: thousands of nested brackets raised RecursionError (the
socket dropped), and a lone UTF-16 surrogate escape was echoed into an error frame that cannot be
written as UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from audiosocial.consumers import JsonConsumer


class EchoConsumer(JsonConsumer):
    async def connect(self) -> None:
        await self.accept()

    async def receive_message(self, content: dict[str, Any]) -> None:
        if content["type"] == "boom":
            raise KeyError("a bug in a handler")
        await self.send_json({"type": "echo", "id": content.get("id"), "content": content})


async def _open() -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(EchoConsumer.as_asgi(), "/")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _reply(communicator: WebsocketCommunicator) -> dict[str, Any]:
    output = await communicator.receive_output(2)
    assert output["type"] == "websocket.send", output
    output["text"].encode("utf-8")  # what daphne must be able to write
    return json.loads(output["text"])


async def _still_open(communicator: WebsocketCommunicator) -> None:
    await communicator.send_json_to({"type": "hi", "id": "alive"})
    assert (await _reply(communicator))["id"] == "alive"


@pytest.mark.parametrize("frame", ["[" * 20_000, '{"a":' * 10_000 + "1" + "}" * 10_000])
async def test_deeply_nested_json_is_malformed_and_the_socket_stays_open(frame):
    communicator = await _open()
    await communicator.send_to(text_data=frame)
    error = await _reply(communicator)
    assert (error["type"], error["code"]) == ("error", "malformed")
    await _still_open(communicator)
    await communicator.disconnect()


async def test_a_lone_surrogate_escape_is_malformed_and_never_echoed():
    communicator = await _open()
    await communicator.send_to(text_data='{"type": "\\ud800", "id": 3}')
    error = await _reply(communicator)
    assert (error["code"], error["id"]) == ("malformed", 3)
    assert "Unicode" in error["message"]
    await communicator.send_to(text_data='{"type": "hi", "id": "\\udfff"}')
    error = await _reply(communicator)
    assert (error["code"], error["id"]) == ("malformed", None)
    # A real pair spelled as escapes is text (an emoji) and goes through.
    await communicator.send_to(text_data='{"type": "hi", "id": 4, "emoji": "\\ud83d\\udc4f"}')
    assert (await _reply(communicator))["content"]["emoji"] == "👏"
    await communicator.disconnect()


async def test_a_nul_character_is_malformed():
    # Found by the socket fuzzer on PostgreSQL: {"type": "participant.mute", "user": "a\u0000b"}
    # reached a username lookup and failed there (DataError).
    communicator = await _open()
    await communicator.send_to(text_data='{"type": "hi", "id": 5, "user": "a\\u0000b"}')
    error = await _reply(communicator)
    assert (error["code"], error["id"]) == ("malformed", 5)
    assert "NUL" in error["message"]
    await _still_open(communicator)
    await communicator.disconnect()


async def test_a_bug_in_a_handler_answers_server_error_and_keeps_the_socket(caplog):
    communicator = await _open()
    await communicator.send_json_to({"type": "boom", "id": "b1"})
    error = await _reply(communicator)
    assert (error["type"], error["code"], error["id"]) == ("error", "server_error", "b1")
    assert error["message"]
    assert "failed on a 'boom' message" in caplog.text
    await _still_open(communicator)
    await communicator.disconnect()
