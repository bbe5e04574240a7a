"""What the browser tests do: start a room, listen with the Web Audio API, move by keyboard."""

from __future__ import annotations

import time
from urllib.parse import urlparse

from playwright.sync_api import Page, expect

# In the page: read the room's remote audio (the <audio> element's stream, what the member hears)
# through an AnalyserNode for ``ms`` milliseconds and return the peak amplitude (0..1).
_PEAK_JS = """
async (ms) => {
  const element = document.querySelector('[data-room-audio]');
  const stream = element && element.srcObject;
  if (!stream || !stream.getAudioTracks().some((t) => t.readyState === 'live')) return 0;
  window.__meter = window.__meter || new AudioContext();
  const context = window.__meter;
  await context.resume();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let peak = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    analyser.getFloatTimeDomainData(samples);
    for (const value of samples) peak = Math.max(peak, Math.abs(value));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  source.disconnect();
  return peak;
}
"""
# Chromium's fake microphone beeps (20 ms at 400 Hz every 500 ms, at full scale); through Opus and
# the AudioBridge the peak stays near 1.0. Silence (a muted or absent speaker) measures below 1e-3.
# So a window longer than 500 ms holds at least one beep of any audible speaker.
HEARD = 0.1
SILENT = 0.01
WINDOW_MS = 1100


def peak(page: Page, ms: int = 1000) -> float:
    return float(page.evaluate(_PEAK_JS, ms))


def wait_until_heard(page: Page, timeout: float = 10.0) -> float:
    """The member's page plays sound within ``timeout`` seconds; returns the peak measured."""
    deadline = time.monotonic() + timeout
    level = 0.0
    while time.monotonic() < deadline:
        level = peak(page, WINDOW_MS)
        if level > HEARD:
            return level
    raise AssertionError(f"no sound in {timeout}s (peak {level:.4f})")


def wait_until_silent(page: Page, timeout: float = 10.0) -> float:
    """A whole window (two beeps long) below the silence threshold within ``timeout``."""
    deadline = time.monotonic() + timeout
    level = 1.0
    while time.monotonic() < deadline:
        level = peak(page, WINDOW_MS)
        if level < SILENT:
            return level
    raise AssertionError(f"still sound after {timeout}s (peak {level:.4f})")


def start_room(page: Page, title: str, *, topic: str = "") -> str:
    """Start a room now through the form; returns the room page's path."""
    page.goto("/rooms/new/")
    page.get_by_label("Title").fill(title)
    if topic:
        page.get_by_label("Topic").fill(topic)
    page.get_by_role("button", name="Start the room").click()
    page.wait_for_url("**/rooms/*/")
    wait_live(page)
    return urlparse(page.url).path


def wait_live(page: Page) -> None:
    """The room page has its snapshot and its audio connected."""
    expect(page.locator("[data-room-root]")).to_have_attribute("data-state", "live")
    expect(page.locator("[data-room-root]")).to_have_attribute("data-audio", "on")


def tab_to(page: Page, locator, *, limit: int = 60, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until ``locator`` has keyboard focus."""
    handle = locator.element_handle()
    for _ in range(limit):
        if page.evaluate("(el) => el === document.activeElement", handle):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"could not reach {locator} with the keyboard")


def person(page: Page, section: str, name: str):
    """A person's button in the stage (``stage``) or the audience (``audience``) list."""
    selector = "[data-stage]" if section == "stage" else ".audience"
    return page.locator(selector).locator("button.person-menu", has_text=name)
