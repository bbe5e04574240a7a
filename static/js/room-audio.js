// Room audio over WebRTC, negotiated only through the room's WebSocket (docs/web.md):
// listeners send a receive-only offer and are never asked for the microphone; stage members send
// their microphone. Every negotiation uses a fresh RTCPeerConnection: the server treats a new
// DTLS fingerprint as a fresh join, and `audio.renegotiate` asks for exactly that.

const GATHER_TIMEOUT_MS = 2500;
const RETRY_DELAYS_MS = [1000, 2000, 5000, 10000];

export class MicrophoneError extends Error {}

function waitForIceGathering(pc) {
  // The whole offer goes in one message (no trickle): the server can only use candidates once
  // its Janus handle exists, which is after it has the offer.
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

export class RoomAudio {
  /**
   * send(sdp) -> Promise<answer sdp> (through the socket); onstate(state, detail) where state is
   * one of: idle, connecting, on, blocked (autoplay), unavailable, mic-denied, failed, stopped.
   */
  constructor({ element, send, onstate }) {
    this.element = element;
    this.send = send;
    this.onstate = onstate;
    this.pc = null;
    this.micStream = null;
    this.wantMic = false;
    this.micEnabled = false;
    this.running = null; // the negotiation in progress
    this.again = false;
    this.stopped = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.state = "idle";
  }

  _set(state, detail) {
    this.state = state;
    this.onstate?.(state, detail);
  }

  /** Ask for the microphone now (on "Join the stage", a user gesture). */
  async acquireMicrophone() {
    if (this.micStream && this.micStream.getAudioTracks().some((t) => t.readyState === "live")) {
      return this.micStream;
    }
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new MicrophoneError("This browser cannot use a microphone here (it needs HTTPS).");
    }
    try {
      this.micStream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: false,
      });
    } catch (error) {
      throw new MicrophoneError(
        error?.name === "NotAllowedError"
          ? "Microphone access was refused. Allow it in the browser to speak."
          : "No microphone could be opened.",
      );
    }
    this._applyMicEnabled();
    return this.micStream;
  }

  releaseMicrophone() {
    for (const track of this.micStream?.getTracks() ?? []) track.stop();
    this.micStream = null;
  }

  /** Whether the local microphone track sends sound (the server enforces mutes regardless). */
  setMicEnabled(enabled) {
    this.micEnabled = enabled;
    this._applyMicEnabled();
  }

  _applyMicEnabled() {
    for (const track of this.micStream?.getAudioTracks() ?? []) track.enabled = this.micEnabled;
  }

  /** (Re)connect audio, with the microphone when `withMic` (stage) or receive-only. */
  connect(withMic) {
    if (this.stopped) return Promise.resolve();
    this.wantMic = withMic;
    clearTimeout(this.retryTimer);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this._negotiate().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.connect(this.wantMic);
      }
    });
    return this.running;
  }

  async _negotiate() {
    this._set("connecting");
    let stream = null;
    if (this.wantMic) {
      try {
        stream = await this.acquireMicrophone();
      } catch (error) {
        // Still listen; say why nobody hears us.
        this._set("mic-denied", error.message);
      }
    } else {
      this.releaseMicrophone();
    }
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers: iceServers() });
    const previous = this.pc;
    this.pc = pc;
    if (stream) {
      for (const track of stream.getAudioTracks()) pc.addTrack(track, stream);
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    pc.addEventListener("track", (event) => {
      if (pc !== this.pc) return;
      const remote = event.streams[0] ?? new MediaStream([event.track]);
      this.element.srcObject = remote;
      this._play();
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== this.pc || this.stopped) return;
      if (pc.connectionState === "failed") this._retry("failed");
    });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc);
      const answer = await this.send(pc.localDescription.sdp);
      if (pc !== this.pc || this.stopped) return;
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
      this.attempt = 0;
      if (this.state !== "mic-denied") this._set("on");
    } catch (error) {
      if (pc !== this.pc || this.stopped) return;
      if (error?.code === "audio_unavailable") {
        // The server sends audio.renegotiate when audio is back; retry slowly as a backstop.
        this._set("unavailable", error.message);
        this._retry("unavailable", 10000);
      } else if (error?.code === "disconnected" || error?.code === "closed") {
        // The socket reconnects and negotiates again.
      } else if (error?.code === "not_a_participant" || error?.code === "room_not_live") {
        this._set("stopped");
      } else {
        this._set("failed", error?.message);
        this._retry("failed");
      }
    } finally {
      if (previous && previous !== this.pc) previous.close();
    }
  }

  _retry(reason, delay) {
    clearTimeout(this.retryTimer);
    const wait = delay ?? RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)];
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(this.wantMic), wait);
  }

  _play() {
    const playing = this.element.play();
    if (playing?.catch) {
      playing.then(() => {
        if (this.state === "blocked") this._set("on");
      }).catch((error) => {
        if (error?.name === "NotAllowedError") this._set("blocked");
      });
    }
  }

  /** After a user gesture: start playback the browser refused to autoplay. */
  resume() {
    this._play();
  }

  /** Hang up: media stops at once (left, removed, room ended). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.pc) this.pc.close();
    this.pc = null;
    this.releaseMicrophone();
    this.element.pause();
    this.element.srcObject = null;
    this._set("stopped");
  }
}

// STUN/TURN servers from the WEBRTC_ICE_SERVERS setting (rendered into the page as JSON): only
// ICE helpers, never anything that could address Janus's API.
function iceServers() {
  const element = document.getElementById("webrtc-ice-servers");
  if (!element) return [];
  try {
    const servers = JSON.parse(element.textContent);
    return Array.isArray(servers) ? servers : [];
  } catch {
    return [];
  }
}
