"""The talking ring, in the browser: a speaker whose microphone carries a voice-level signal
lights up on everyone's stage, and goes dark when they mute.

Chromium's default fake microphone beeps for 20 ms every 500 ms, below the AudioBridge's talking
detection (50 packets, one second, averaging above -40 dBov: rooms/audio/controller.py). Here the
fake microphone plays a file instead: a steady tone written by the test at speech level, looped
by Chromium for as long as the test runs.
"""

from __future__ import annotations

import math
import re
import struct
import wave

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.pages import person, start_room, wait_live
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

RATE = 48000
TALKING = re.compile(r"\btalking\b")


def write_tone(path, *, seconds: float = 2.0, hz: float = 220.0, amplitude: float = 0.25) -> None:
    """Mono 16-bit PCM: a sine at about -15 dBov RMS, well above the -40 dBov threshold."""
    frames = bytearray()
    for n in range(int(RATE * seconds)):
        frames += struct.pack("<h", int(amplitude * 32767 * math.sin(2 * math.pi * hz * n / RATE)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))


@pytest.fixture
def chromium_args(tmp_path):
    voice = tmp_path / "voice.wav"
    write_tone(voice)
    return [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={voice}"]


def test_a_speaking_host_has_the_talking_ring_until_they_mute(open_browser):
    ann = UserFactory(username="ann", display_name="Ann Host")
    bob = UserFactory(username="bob", display_name="Bob Listener")
    a = open_browser(ann, name="A")
    b = open_browser(bob, name="B")
    path = start_room(a.page, "Warm voices")
    b.page.goto(path)
    wait_live(b.page)

    ann_for_bob = b.page.locator(f'[data-stage] li[data-user-id="{ann.pk}"]')
    # Muted (a host starts muted): no ring, however loud the microphone.
    expect(ann_for_bob).not_to_have_class(TALKING)
    a.page.get_by_role("button", name="Unmute").click()
    expect(ann_for_bob).to_have_class(TALKING, timeout=15_000)
    expect(person(b.page, "stage", "Ann Host")).to_have_attribute(
        "aria-label", "Ann Host, host, talking"
    )
    # The host sees their own ring too.
    expect(a.page.locator("[data-stage] li.person.me")).to_have_class(TALKING)

    a.page.get_by_role("button", name="Mute").click()
    expect(ann_for_bob).not_to_have_class(TALKING, timeout=10_000)
    expect(person(b.page, "stage", "Ann Host")).to_have_attribute(
        "aria-label", "Ann Host, host, muted"
    )
