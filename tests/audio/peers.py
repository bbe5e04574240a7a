"""Real WebRTC clients for the audio tests (aiortc): they send a tone and measure what they hear."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque

import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

RATE = 48000
PTIME = 0.02
SAMPLES = int(RATE * PTIME)


class ToneTrack(MediaStreamTrack):
    """A microphone that plays a sine at ``frequency`` Hz (paced in real time, like a device)."""

    kind = "audio"

    def __init__(self, frequency: float, amplitude: float = 0.5) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._timestamp = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += SAMPLES
            wait = self._start + self._timestamp / RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(SAMPLES) + self._timestamp) / RATE
        pcm = (self.amplitude * 32767 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


class Recorder:
    """Keeps the last few seconds of received audio, with arrival times."""

    def __init__(self, seconds: float = 4.0) -> None:
        self.chunks: deque[tuple[float, np.ndarray]] = deque(maxlen=int(seconds / PTIME))
        self.frames = 0
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.task: asyncio.Task | None = None

    def start(self, track: MediaStreamTrack) -> None:
        self.task = asyncio.ensure_future(self._run(track))

    async def _run(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            samples = frame.to_ndarray().astype(np.float32)
            channels = len(frame.layout.channels)
            if frame.format.is_planar:
                mono = samples.mean(axis=0)
            else:
                mono = samples.reshape(-1, channels).mean(axis=1)
            now = time.monotonic()
            if self.first_frame_at is None:
                self.first_frame_at = now
            self.last_frame_at = now
            self.frames += 1
            self.chunks.append((now, mono / 32768.0))

    def since(self, since: float) -> np.ndarray:
        parts = [c for t, c in self.chunks if t >= since]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def level(self, frequency: float, *, since: float) -> float:
        """Amplitude-like strength of ``frequency`` in what arrived after ``since`` (0 = none)."""
        audio = self.since(since)
        if audio.size < RATE // 10:
            return 0.0
        window = np.hanning(audio.size)
        spectrum = np.abs(np.fft.rfft(audio * window)) / (window.sum() / 2)
        freqs = np.fft.rfftfreq(audio.size, 1 / RATE)
        band = (freqs > frequency - 15) & (freqs < frequency + 15)
        return float(spectrum[band].max())


HEARD = 0.05  # a 0.5-amplitude tone mixed by Janus arrives around 0.3-0.5
SILENT = 0.01


class Peer:
    """One browser tab: a peer connection that speaks a tone (or not) and records what it hears."""

    def __init__(self, *, tone: float | None = None) -> None:
        self.tone = tone
        self.recorder = Recorder()
        self.pc = RTCPeerConnection()
        self.track: ToneTrack | None = None

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self.recorder.start(track)

    async def offer(self) -> str:
        if self.tone is not None:
            self.track = ToneTrack(self.tone)
            self.pc.addTrack(self.track)
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def level(self, frequency: float, *, since: float) -> float:
        return self.recorder.level(frequency, since=since)

    async def close(self) -> None:
        if self.track is not None:
            self.track.stop()
        await self.pc.close()
        if self.recorder.task is not None:
            self.recorder.task.cancel()


async def wait_until(predicate, *, within: float, interval: float = 0.05) -> float:
    """Poll ``predicate`` (sync) until it is true; returns the seconds it took."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > within:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)


async def hears(peer: Peer, frequency: float, *, within: float = 4.0, window: float = 0.4):
    """Wait until ``peer`` hears ``frequency`` over the last ``window`` seconds."""
    return await wait_until(
        lambda: peer.level(frequency, since=time.monotonic() - window) > HEARD, within=within
    )


async def goes_silent(peer: Peer, frequency: float, *, within: float, window: float = 0.3):
    """Wait until ``frequency`` is gone from what ``peer`` receives (or it receives nothing)."""
    return await wait_until(
        lambda: peer.level(frequency, since=time.monotonic() - window) < SILENT, within=within
    )


async def never_hears(peer: Peer, frequency: float, *, during: float) -> None:
    """``peer`` keeps receiving audio for ``during`` seconds and ``frequency`` is never in it."""
    start = time.monotonic()
    await asyncio.sleep(during)
    audio_since = start
    assert peer.recorder.since(audio_since).size > RATE * during * 0.5, "no audio received"
    assert peer.level(frequency, since=audio_since) < SILENT


async def stops_receiving(peer: Peer, *, within: float, gap: float = 0.3) -> float:
    """Wait until ``peer`` gets no audio at all for ``gap`` seconds; returns when it stopped,
    measured from the call (the moment of the action under test)."""
    start = time.monotonic()
    await wait_until(
        lambda: (
            peer.recorder.last_frame_at is not None
            and time.monotonic() - peer.recorder.last_frame_at > gap
        ),
        within=within + gap,
    )
    return max(0.0, peer.recorder.last_frame_at - start)
