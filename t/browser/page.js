// The test page's side of t/push/13_browser.t (and 42_browser_mux.t): one
// NchanSubscriber on /sub/<channel> (or the query's path) with the
// transport named in the query string, recording what it sees into
// window.T for t/browser/run.mjs to read.
(function () {
  "use strict";
  var q = new URLSearchParams(window.location.search);
  var transport = q.get("transport");
  var channel = q.get("channel");
  var T = window.T = {
    transport: transport,
    channel: channel,
    messages: [],      // {data, id, contentType} in arrival order
    connects: 0,       // NchanSubscriber 'connect' events
    disconnects: 0,    // NchanSubscriber 'disconnect' events
    errors: [],        // NchanSubscriber 'error' events, as strings
    natives: [],       // native transports created: "name url"
    log: []
  };
  function note(s) {
    T.log.push(new Date().toISOString().substr(11, 12) + " " + s);
  }

  var opt = { subscriber: transport };
  if (q.get("id")) {
    opt.id = q.get("id");    // resume from this message id
  }
  var sub = new NchanSubscriber(q.get("path")
                                || "/sub/" + encodeURIComponent(channel), opt);
  window.SUB = sub;

  sub.on("transportNativeCreated", function (native, name) {
    T.natives.push(name + " " + (native && native.url ? native.url : ""));
    note("native " + name + " " + (native && native.url ? native.url : ""));
  });
  sub.on("message", function (msg, meta) {
    meta = meta || {};
    var m = {
      id: meta.id === undefined ? null : meta.id,
      contentType: meta["content-type"] === undefined ? null
                                                       : meta["content-type"]
    };
    if (typeof msg === "string") {
      m.data = msg;
    }
    else {
      // A binary WebSocket message arrives as a Blob: keep its place, and
      // record its bytes in hex.
      m.data = null;
      m.blob = true;
      msg.arrayBuffer().then(function (buf) {
        m.data = Array.prototype.map.call(new Uint8Array(buf), function (b) {
          return (b < 16 ? "0" : "") + b.toString(16);
        }).join("");
      });
    }
    T.messages.push(m);
    note("message " + m.id);
  });
  sub.on("connect", function () {
    T.connects++;
    note("connect");
  });
  sub.on("disconnect", function (code) {
    T.disconnects++;
    note("disconnect " + (code && code.code !== undefined ? code.code : code));
  });
  sub.on("error", function (code, text) {
    var s = code && code.type ? "event:" + code.type : String(code);
    T.errors.push(s + (text && typeof text === "string" ? " " + text : ""));
    note("error " + s);
  });
  sub.start();
  note("started " + transport + " on " + channel);
})();
