// A JSON WebSocket that reconnects by itself (exponential backoff with jitter, and at once when
// the browser comes back online or the tab becomes visible), and matches replies to requests:
// every request carries an `id` that the server echoes in its `ack` or `error`.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 10000;
const REQUEST_TIMEOUT_MS = 10000;

export class SocketError extends Error {
  constructor(message, code = "error", details = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

export class ReconnectingSocket {
  /**
   * handlers: onopen(isReconnect), onmessage(msg), onclose({code, reason, willRetry}),
   * shouldRetry(closeCode) -> bool (default: always).
   */
  constructor(url, handlers = {}) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.opened = false;
    this.stopped = false;
    this.timer = null;
    this.pending = new Map();
    this.nextId = 1;
    this._retryNow = () => { if (!this.stopped && !this.isOpen()) this._reconnect(0); };
    window.addEventListener("online", this._retryNow);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this._retryNow();
    });
  }

  isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      const isReconnect = this.opened;
      this.opened = true;
      this.attempt = 0;
      this.handlers.onopen?.(isReconnect);
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this._settle(message);
      this.handlers.onmessage?.(message);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this._failPending(new SocketError("The connection closed.", "disconnected"));
      const retry = !this.stopped && (this.handlers.shouldRetry?.(event.code) ?? true);
      this.handlers.onclose?.({ code: event.code, reason: event.reason, willRetry: retry });
      if (retry) this._reconnect();
    };
  }

  _reconnect(delay) {
    if (this.timer) return;
    if (delay === undefined) {
      const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
      delay = base / 2 + Math.random() * (base / 2);
      this.attempt += 1;
    }
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      try { old.close(); } catch { /* already closing */ }
    }
    this.timer = setTimeout(() => { this.timer = null; this.connect(); }, delay);
  }

  /** Fire and forget. Returns false when the socket is not open. */
  send(message) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Send and wait for the reply carrying the same id: resolves with it, or rejects with a
   * SocketError for an `error` reply, a timeout or a closed connection. */
  request(message, timeout = REQUEST_TIMEOUT_MS) {
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...message, id })) {
        reject(new SocketError("Not connected; trying to reconnect.", "disconnected"));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SocketError("The server did not answer in time.", "timeout"));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  _settle(message) {
    if (message.id === undefined || message.id === null) return;
    const entry = this.pending.get(message.id);
    if (!entry) return;
    // The reply is an `ack`, an `error`, or a typed answer (`audio.answer`, `room.snapshot`).
    this.pending.delete(message.id);
    clearTimeout(entry.timer);
    if (message.type === "error") {
      entry.reject(new SocketError(message.message, message.code, message.details));
    } else {
      entry.resolve(message);
    }
  }

  _failPending(error) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this.pending.clear();
  }

  /** Close for good (room ended, removed, page leaving). */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this._retryNow);
    const ws = this.ws;
    this.ws = null;
    this._failPending(new SocketError("The connection was closed.", "closed"));
    if (ws) ws.close(1000);
  }
}
