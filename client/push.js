// push.js — mod_push's browser client.  No dependencies; one file.
//
//   import { PushSubscriber } from "/push.js";        // as an ES module
//   <script src="/push.js"></script>                  // window.PushSubscriber
//
//   const sub = new PushSubscriber("/sub/room7", { publishUrl: "/pub/room7" });
//   sub.on("message", (data, meta) => console.log(meta.id, data));
//   sub.on("gap", (missedId) => reload());
//   sub.start();
//
// The server (SetHandler push-client) serves this file in the form the
// page asks for: a module, or, for a classic <script>, the same file
// without its last line (the export).  See the README, "Browser client".
var PushSubscriber = (function () {
  "use strict";

  var TRANSPORTS = ["websocket", "eventsource", "longpoll", "poll"];
  var GAP_TYPE = "application/x-push-gap";
  // Our subprotocol (nchan's plus an event line), then nchan's.
  var WS_PROTOCOLS = ["ws+meta.push", "ws+meta.nchan"];

  function withParam(url, key, value) {
    var u = new URL(url);
    if (value) {
      u.searchParams.set(key, value);
    }
    return u.href;
  }

  function supported(name) {
    switch (name) {
      case "websocket":
        return typeof WebSocket === "function";
      case "eventsource":
        return typeof fetch === "function" && typeof ReadableStream === "function"
          && typeof TextDecoder === "function";
      case "longpoll":
      case "poll":
        return typeof fetch === "function";
      default:
        return false;
    }
  }

  // "id: T:N\ncontent-type: X\nevent: E\n\n" then the body (ws+meta.*).
  // Returns [headers, offset of the body] or null.
  function parseMeta(text) {
    var end = text.indexOf("\n\n");
    if (end < 0) {
      return null;
    }
    var h = {};
    text.slice(0, end).split("\n").forEach(function (line) {
      var c = line.indexOf(": ");
      if (c > 0) {
        h[line.slice(0, c)] = line.slice(c + 2);
      }
    });
    return h.id === undefined ? null : [h, end + 2];
  }

  // The cursor of a poll's answer: X-Push-Message-Id, or, on a 304, the
  // id that Last-Modified (its seconds) and Etag (its n) make.
  function pollCursor(resp) {
    var id = resp.headers.get("X-Push-Message-Id");
    if (id) {
      return id;
    }
    var lm = resp.headers.get("Last-Modified");
    var tag = resp.headers.get("Etag");
    var t = lm ? Date.parse(lm) : NaN;
    if (isNaN(t)) {
      return null;
    }
    var n = tag ? parseInt(tag.replace(/^W\//, "").replace(/"/g, ""), 10) : 0;
    return t > 0 || n > 0 ? Math.floor(t / 1000) + ":" + (isNaN(n) ? 0 : n) : null;
  }

  function sleep(ms, signal) {
    return new Promise(function (resolve) {
      var t = setTimeout(resolve, ms);
      signal.addEventListener("abort", function () { clearTimeout(t); resolve(); });
    });
  }

  // --- Transports ---------------------------------------------------
  // Each opens one connection and reports through `ctx`:
  //   ctx.open()                      it is connected
  //   ctx.message(data, meta)         a message (meta: id, event, contentType)
  //   ctx.gap(missedId)               the server says messages were lost
  //   ctx.close(how)                  it ended: how = {opened, soon, reason,
  //                                   deleted}; soon: reconnect at once
  // and returns { close(), send(data) | null }.

  function openWebSocket(sub, ctx) {
    var url = withParam(sub.url, "last_event_id", sub.lastEventId)
      .replace(/^http/, "ws");
    var ws = new WebSocket(url, WS_PROTOCOLS);
    var opened = false;
    var ended = false;
    ws.binaryType = "arraybuffer";
    var timer = setTimeout(function () { end({ reason: "open timeout" }); }, sub.options.openTimeout);

    function end(how) {
      if (ended) {
        return;
      }
      ended = true;
      clearTimeout(timer);
      try {
        ws.close();
      } catch (e) { /* already closing */ }
      how.opened = opened;
      ctx.close(how);
    }
    ws.onopen = function () {
      opened = true;
      clearTimeout(timer);
      ctx.open();
    };
    ws.onmessage = function (e) {
      var binary = typeof e.data !== "string";
      var text = e.data, skip = 0;
      if (binary) {
        // A binary message: its meta prefix is text, up to a blank line.
        var bytes = new Uint8Array(e.data);
        var end = 0;
        while (end + 1 < bytes.length && !(bytes[end] === 10 && bytes[end + 1] === 10)) {
          end++;
        }
        text = new TextDecoder().decode(bytes.subarray(0, end + 2));
        skip = end + 2;
      }
      var m = ws.protocol ? parseMeta(text) : null;
      var meta = { id: null, event: null, contentType: null, channel: sub.channel };
      var body = e.data;
      if (m) {
        meta.id = m[0].id;
        meta.event = m[0].event || null;
        meta.contentType = m[0]["content-type"] || null;
        body = binary ? e.data.slice(skip) : text.slice(m[1]);
      }
      if (meta.contentType === GAP_TYPE) {
        ctx.gap(meta.id);
        return;
      }
      ctx.message(body, meta);
    };
    ws.onclose = function (e) {
      // 1000 "channel deleted"; 1001 the server restarts; 4001 messages
      // were lost while connected: reconnecting from the last id gets
      // what the buffer still has, and the server says the rest.
      end({ soon: e.code === 1001 || e.code === 4001, deleted: e.code === 1000 && opened,
            reason: "websocket closed " + e.code + (e.reason ? " " + e.reason : "") });
    };
    ws.onerror = function () { /* onclose follows */ };
    return {
      close: function () { ended = true; clearTimeout(timer); ws.close(1000); },
      send: function (data) { ws.send(data); },
    };
  }

  // Server-Sent Events read with fetch (an EventSource could neither tell
  // a refusal from a network error nor hear events it was not told the
  // names of).
  function openEventStream(sub, ctx) {
    var abort = new AbortController();
    var opened = false;
    var done = false;
    var timer = setTimeout(function () { finish({ reason: "open timeout" }); }, sub.options.openTimeout);

    function finish(how) {
      if (done) {
        return;
      }
      done = true;
      clearTimeout(timer);
      abort.abort();
      how.opened = opened;
      ctx.close(how);
    }
    (async function () {
      var resp = await fetch(withParam(sub.url, "last_event_id", sub.lastEventId), {
        headers: { Accept: "text/event-stream" },
        cache: "no-store",
        credentials: sub.options.withCredentials ? "include" : "same-origin",
        signal: abort.signal,
      });
      var type = resp.headers.get("Content-Type") || "";
      if (resp.status !== 200 || type.indexOf("text/event-stream") !== 0) {
        return finish({ reason: "eventsource refused: " + resp.status });
      }
      opened = true;
      clearTimeout(timer);
      ctx.open();
      var reader = resp.body.getReader();
      var decoder = new TextDecoder();
      var buf = "";
      var ev = { data: [], event: null, id: null };
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) {
          break;
        }
        buf += decoder.decode(chunk.value, { stream: true });
        // A CR at the very end may be the first half of a CRLF: it waits.
        var cr = /\r$/.test(buf) ? "\r" : "";
        var lines = (cr ? buf.slice(0, -1) : buf).split(/\r\n|\r|\n/);
        buf = lines.pop() + cr;
        for (var i = 0; i < lines.length && !done; i++) {
          dispatchLine(lines[i], ev);
        }
      }
      finish({ soon: true, reason: "event stream ended" });
    })().catch(function (e) {
      finish({ reason: "eventsource: " + (e && e.message) });
    });

    function dispatchLine(line, ev) {
      if (line === "") {
        if (ev.data.length) {
          var data = ev.data.join("\n");
          var name = ev.event || "message";
          if (name === "push-gap") {
            ctx.gap(data);
          }
          else if (name === "push-deleted") {
            finish({ deleted: true, reason: "channel deleted" });
          }
          else {
            ctx.message(data, { id: ev.id, event: ev.event, contentType: null,
                                channel: sub.channel });
          }
        }
        ev.data = [];
        ev.event = null;
        ev.id = null;
        return;
      }
      var c = line.indexOf(":");
      if (c === 0) {
        return;    // a comment (": ping")
      }
      var field = c < 0 ? line : line.slice(0, c);
      var value = c < 0 ? "" : line.slice(line[c + 1] === " " ? c + 2 : c + 1);
      if (field === "data") {
        ev.data.push(value);
      }
      else if (field === "event") {
        ev.event = value;
      }
      else if (field === "id") {
        ev.id = value;
      }
    }
    return { close: function () { done = true; clearTimeout(timer); abort.abort(); }, send: null };
  }

  // Long and short polling: one message per answer.  A long poll waits
  // at the server; a short poll is answered at once (304 when there is
  // nothing) and asks again after pollInterval.
  function openPoll(sub, ctx, long) {
    var abort = new AbortController();
    var opened = false;
    var done = false;

    function finish(how) {
      if (!done) {
        done = true;
        clearTimeout(held);
        abort.abort();
        how.opened = opened;
        ctx.close(how);
      }
    }
    // A long poll is answered when there is a message: one the server
    // has held for a moment was accepted (a refusal comes at once).
    var held = long ? setTimeout(function () {
      if (!opened && !done) {
        opened = true;
        ctx.open();
      }
    }, 250) : null;
    (async function () {
      while (!done) {
        var resp = await fetch(withParam(sub.url, "last_event_id", sub.lastEventId), {
          cache: "no-store",
          credentials: sub.options.withCredentials ? "include" : "same-origin",
          signal: abort.signal,
        });
        var body = resp.status === 200 ? await resp.text() : null;
        if (done) {
          return;
        }
        if (resp.status === 410) {
          return finish({ deleted: true, reason: "channel deleted" });
        }
        if (resp.status !== 200 && resp.status !== 304) {
          return finish({ reason: (long ? "longpoll" : "poll") + " answered " + resp.status });
        }
        if (!opened) {
          opened = true;
          ctx.open();
        }
        var id = pollCursor(resp);
        if (resp.status === 200) {
          var gap = resp.headers.get("X-Push-Gap");
          if (gap) {
            ctx.gap(gap);
          }
          ctx.message(body, { id: id, event: resp.headers.get("X-EventSource-Event"),
                              contentType: resp.headers.get("Content-Type"),
                              channel: sub.channel });
        }
        else {
          if (id && !sub.lastEventId) {
            sub._cursor(id);   // where this channel is now: nothing after it is missed
          }
          if (!long) {
            await sleep(sub.options.pollInterval, abort.signal);
          }
        }
      }
    })().catch(function (e) {
      finish({ reason: (long ? "longpoll: " : "poll: ") + (e && e.message) });
    });
    return { close: function () { done = true; clearTimeout(held); abort.abort(); }, send: null };
  }

  var OPENERS = {
    websocket: openWebSocket,
    eventsource: openEventStream,
    longpoll: function (sub, ctx) { return openPoll(sub, ctx, true); },
    poll: function (sub, ctx) { return openPoll(sub, ctx, false); },
  };

  // --- The subscriber -----------------------------------------------

  /**
   * A subscriber of one channel, over the first transport in
   * `options.transports` that both the browser and the server allow.
   * @param {string} url  the subscriber location, e.g. "/sub/room7"
   * @param {object} [options]  see push.d.ts
   */
  function PushSubscriber(url, options) {
    options = options || {};
    this.url = new URL(url, typeof location === "undefined" ? undefined : location.href).href;
    this.channel = options.channel
      || decodeURIComponent(new URL(this.url).pathname.replace(/\/+$/, "").split("/").pop());
    this.options = {
      transports: (options.transports || TRANSPORTS).slice(),
      reconnect: options.reconnect !== false,
      publishUrl: options.publishUrl
        ? new URL(options.publishUrl, this.url).href : null,
      withCredentials: !!options.withCredentials,
      pollInterval: options.pollInterval || 1000,
      openTimeout: options.openTimeout || 10000,
      minDelay: options.minDelay || 250,
      maxDelay: options.maxDelay || 15000,
    };
    this._lastEventId = options.lastEventId || null;
    this._handlers = {};
    this._running = false;
    this._conn = null;
    this._transport = null;
    this._connected = false;
    this._server = null;      // what the location said: {transports, wsPublish}
    this._pick = 0;           // which candidate to try next
    this._proven = null;      // the transport that worked last
    this._provenFailures = 0; // its failed attempts since
    this._failures = 0;       // consecutive failed attempts
    this._timer = null;
    this._gen = 0;
    var self = this;
    this._online = function () { if (self._running) { self._failures = 0; self._reconnect(0); } };
    this._offline = function () { if (self._running) { self._drop("the browser is offline"); } };
  }

  PushSubscriber.TRANSPORTS = TRANSPORTS.slice();

  Object.defineProperties(PushSubscriber.prototype, {
    /** The transport in use (or last used): "websocket", "eventsource", "longpoll" or "poll". */
    transport: { get: function () { return this._transport; } },
    /** The id of the last message received ("T:N"), from which it resumes. */
    lastEventId: { get: function () { return this._lastEventId; } },
    /** Whether a connection is open now. */
    connected: { get: function () { return this._connected; } },
  });

  /**
   * Adds a listener: "message" (data, meta), "connect" (transport),
   * "disconnect" (reason), "transport" (name, previous), "gap" (missedId),
   * "error" (Error).  Returns the subscriber.
   */
  PushSubscriber.prototype.on = function (event, fn) {
    (this._handlers[event] = this._handlers[event] || []).push(fn);
    return this;
  };

  /** Removes a listener added with on(). */
  PushSubscriber.prototype.off = function (event, fn) {
    var list = this._handlers[event] || [];
    var i = list.indexOf(fn);
    if (i >= 0) {
      list.splice(i, 1);
    }
    return this;
  };

  PushSubscriber.prototype._emit = function (event) {
    var args = Array.prototype.slice.call(arguments, 1);
    (this._handlers[event] || []).slice().forEach(function (fn) {
      try {
        fn.apply(null, args);
      }
      catch (e) {
        // A listener's exception is the page's, not the connection's.
        setTimeout(function () { throw e; });
      }
    });
  };

  /** Connects (and keeps reconnecting until stop()). */
  PushSubscriber.prototype.start = function () {
    if (this._running) {
      return this;
    }
    this._running = true;
    this._failures = 0;
    if (typeof window !== "undefined" && window.addEventListener) {
      window.addEventListener("online", this._online);
      window.addEventListener("offline", this._offline);
    }
    this._reconnect(0);
    return this;
  };

  /** Disconnects; start() resumes from lastEventId. */
  PushSubscriber.prototype.stop = function () {
    if (!this._running) {
      return this;
    }
    this._running = false;
    if (typeof window !== "undefined" && window.removeEventListener) {
      window.removeEventListener("online", this._online);
      window.removeEventListener("offline", this._offline);
    }
    this._drop("stopped");
    return this;
  };

  /**
   * Publishes a message to the channel: over the open WebSocket when the
   * location takes messages from its clients (PushWebSocketPublish On),
   * otherwise by POST to options.publishUrl.  Resolves with
   * {id, status} (id and status null over a WebSocket, which has no answer).
   */
  PushSubscriber.prototype.publish = function (data, opts) {
    opts = opts || {};
    if (this._conn && this._conn.send && this._connected && this._server
        && this._server.wsPublish && !opts.contentType && !opts.event) {
      this._conn.send(data);
      return Promise.resolve({ id: null, status: null });
    }
    if (!this.options.publishUrl) {
      return Promise.reject(new Error("push.js: nowhere to publish (no publishUrl, and no "
                                      + "WebSocket here that takes messages)"));
    }
    var headers = {};
    if (opts.contentType) {
      headers["Content-Type"] = opts.contentType;
    }
    if (opts.event) {
      headers["X-EventSource-Event"] = opts.event;
    }
    return fetch(this.options.publishUrl, {
      method: "POST", body: data, headers: headers, cache: "no-store",
      credentials: this.options.withCredentials ? "include" : "same-origin",
    }).then(function (resp) {
      if (resp.status !== 201 && resp.status !== 202) {
        return resp.text().then(function (why) {
          throw new Error("push.js: publish answered " + resp.status + ": " + why.trim());
        });
      }
      return { id: resp.headers.get("X-Push-Message-Id"), status: resp.status };
    });
  };

  PushSubscriber.prototype._cursor = function (id) {
    if (id) {
      this._lastEventId = id;
    }
  };

  // Ends the connection in use, if any, and says so.
  PushSubscriber.prototype._drop = function (reason) {
    clearTimeout(this._timer);
    this._timer = null;
    this._gen++;
    if (this._conn) {
      this._conn.close();
      this._conn = null;
    }
    if (this._connected) {
      this._connected = false;
      this._emit("disconnect", reason);
    }
  };

  PushSubscriber.prototype._reconnect = function (delay) {
    var self = this;
    clearTimeout(this._timer);
    this._timer = setTimeout(function () {
      self._timer = null;
      self._connect();
    }, delay);
  };

  // The next wait, jittered so that a server's restart is not met by
  // every client at once.
  PushSubscriber.prototype._backoff = function () {
    var base = Math.min(this.options.maxDelay, this.options.minDelay * Math.pow(2, this._failures));
    this._failures++;
    return Math.round(base * (0.5 + Math.random() * 0.5));
  };

  // The location's transports (OPTIONS: X-Push-Transports), once; a
  // server that does not say (nchan, say) leaves trial and error.
  PushSubscriber.prototype._discover = async function () {
    var resp = await fetch(this.url, {
      method: "OPTIONS", cache: "no-store",
      credentials: this.options.withCredentials ? "include" : "same-origin",
    });
    var list = resp.headers.get("X-Push-Transports");
    this._server = {
      transports: list === null ? null : list.split(/\s+/).filter(Boolean),
      wsPublish: /^on$/i.test(resp.headers.get("X-Push-WebSocket-Publish") || ""),
    };
  };

  PushSubscriber.prototype._candidates = function () {
    var server = this._server && this._server.transports;
    return this.options.transports.filter(function (t) {
      return OPENERS[t] && supported(t) && (!server || server.indexOf(t) >= 0);
    });
  };

  PushSubscriber.prototype._connect = async function () {
    var gen = ++this._gen;
    var self = this;
    if (!this._running) {
      return;
    }
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      return;    // the "online" event reconnects
    }
    if (!this._server) {
      try {
        await this._discover();
      }
      catch (e) {
        if (gen !== this._gen) {
          return;
        }
        this._emit("error", new Error("push.js: " + this.url + " unreachable: " + e.message));
        return this._reconnect(this._backoff());
      }
      if (gen !== this._gen || !this._running) {
        return;
      }
    }
    var list = this._candidates();
    if (!list.length) {
      this._emit("error", new Error("push.js: no transport both the browser and " + this.url
                                    + " allow (asked for " + this.options.transports.join(", ")
                                    + "; the server has " + (this._server.transports || []).join(", ") + ")"));
      this._server = null;
      return this._reconnect(this._backoff());
    }
    // The transport that worked last, while the server still offers it;
    // otherwise the next one down the list.
    var name = list.indexOf(this._proven) >= 0 ? this._proven : list[this._pick % list.length];
    var openedAt = 0;
    var ctx = {
      open: function () {
        if (gen !== self._gen) {
          return;
        }
        var previous = self._transport;
        self._transport = name;
        self._proven = name;
        self._provenFailures = 0;
        self._connected = true;
        openedAt = Date.now();
        if (previous !== name) {
          self._emit("transport", name, previous);
        }
        self._emit("connect", name);
      },
      message: function (data, meta) {
        if (gen !== self._gen) {
          return;
        }
        self._cursor(meta.id);
        self._emit("message", data, meta);
      },
      gap: function (missedId) {
        if (gen === self._gen) {
          self._emit("gap", missedId);
        }
      },
      close: function (how) {
        if (gen !== self._gen) {
          return;
        }
        self._conn = null;
        var was = self._connected;
        // A connection that lasted ends the run of failures; one that
        // ends at once (a server that accepts and drops) backs off more.
        var lasted = was && Date.now() - openedAt >= 1000;
        if (lasted) {
          self._failures = 0;
        }
        self._connected = false;
        if (was) {
          self._emit("disconnect", how.reason);
        }
        if (!self._running) {
          return;
        }
        if (!how.opened && self._proven !== name) {
          // Never connected here: the next transport, at once; once
          // around the list, wait and ask the server again.
          self._pick++;
          if (self._pick % list.length !== 0) {
            return self._reconnect(0);
          }
          self._server = null;
        }
        else if (!how.opened) {
          // It worked before: ask the server whether it still offers it,
          // and keep to it (a restart, a network outage) for a while.
          self._server = null;
          if (++self._provenFailures >= 3) {
            self._proven = null;
            self._pick = 0;
          }
        }
        if (!self.options.reconnect) {
          return self.stop();
        }
        self._reconnect(how.soon && lasted ? Math.round(50 + Math.random() * 250) : self._backoff());
      },
    };
    this._conn = OPENERS[name](this, ctx);
  };

  if (typeof window !== "undefined") {
    window.PushSubscriber = PushSubscriber;
  }
  return PushSubscriber;
})();
export { PushSubscriber };
