// The shared board of `make run`: every window is a player, a dot that
// follows its mouse or arrow keys, and there is a small chat, all through
// one channel.  Messages are small JSON objects:
//   {k:"move", p, n, c, tr, x, y, t}  a player's place (x, y from 0 to 1;
//                                  tr: the transport it receives by)
//   {k:"chat", p, n, c, text, t}   a chat line
//   {k:"bye", p, t}                a player left
// where p is the player's id, n its name, c its colour and t the sender's
// clock (Date.now()) when it published, for the latency readout.
import { PushSubscriber } from "/push.js";

const SUB_URL = "/board/sub";        // websocket eventsource longpoll
const POLL_URL = "/board/poll";      // short polling
const PUB_URL = "/board/pub";
const MOVE_EVERY_MS = 50;            // at most 20 moves a second
const HEARTBEAT_MS = 3000;           // "still here", when not moving
const GONE_AFTER_MS = 10000;

const $ = (id) => document.getElementById(id);
const board = $("board");
const params = new URLSearchParams(location.search);

const ADJ = ["swift", "quiet", "brave", "lucky", "sunny", "clever", "jolly", "bold"];
const ANIMAL = ["otter", "falcon", "lynx", "panda", "heron", "gecko", "bison", "koala"];
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const me = {
  p: Math.random().toString(36).slice(2, 10),
  n: params.get("name") || sessionStorage.getItem("board-name") || `${pick(ADJ)} ${pick(ANIMAL)}`,
  c: `hsl(${Math.floor(Math.random() * 360)} 70% 55%)`,
  x: 0.2 + Math.random() * 0.6,
  y: 0.2 + Math.random() * 0.6,
};
$("name").value = me.n;

// What the page saw, for the browser test (t/push/25_client.t) and for
// anyone curious in the console.
const DEMO = window.DEMO = { me, players: new Map(), received: 0, gaps: 0, errors: [], sub: null };

// --- Drawing ---------------------------------------------------------
function dot(player) {
  let el = player.el;
  if (!el) {
    el = player.el = document.createElement("div");
    el.className = "player" + (player.p === me.p ? " me" : "");
    el.appendChild(document.createElement("span"));
    board.appendChild(el);
  }
  el.style.background = player.c;
  el.style.left = `${player.x * 100}%`;
  el.style.top = `${player.y * 100}%`;
  const via = player.p === me.p ? sub?.transport : player.tr;
  el.firstChild.textContent = `${player.n}${player.p === me.p ? " (you)" : ""}${via ? ` · ${via}` : ""}`;
}

function forget(id) {
  const player = DEMO.players.get(id);
  if (player) {
    player.el?.remove();
    DEMO.players.delete(id);
  }
}

function say(line) {
  const li = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = line.n;
  who.style.color = line.c;
  li.append(who, `: ${line.text}`);
  const log = $("chat-log");
  log.appendChild(li);
  while (log.children.length > 50) {
    log.firstChild.remove();
  }
  log.scrollTop = log.scrollHeight;
}

// --- The readout -----------------------------------------------------
const arrivals = [];     // [receive time, latency ms]
function readout() {
  const now = Date.now();
  while (arrivals.length && arrivals[0][0] < now - 1000) {
    arrivals.shift();
  }
  const lat = arrivals.map((a) => a[1]).sort((a, b) => a - b);
  $("r-rate").textContent = String(arrivals.length);
  $("r-latency").textContent = lat.length
    ? `${lat[Math.floor(lat.length / 2)]} ms median, ${lat[lat.length - 1]} ms max` : "–";
  $("r-players").textContent = String(DEMO.players.size);
  for (const [id, player] of DEMO.players) {
    if (id !== me.p && player.seen < now - GONE_AFTER_MS) {
      forget(id);
    }
  }
}
setInterval(readout, 250);

// --- The subscriber --------------------------------------------------
let sub = null;
function subscribe(choice) {
  if (sub) {
    sub.stop();
  }
  const transports = choice === "auto" ? undefined : [choice];
  sub = DEMO.sub = new PushSubscriber(choice === "poll" ? POLL_URL : SUB_URL, {
    transports, publishUrl: PUB_URL, pollInterval: 250, channel: "board",
    // Moves from before this window opened are of no use to it.
    lastEventId: sub ? sub.lastEventId : undefined,
  });
  sub.on("message", (data, meta) => {
    let m;
    try {
      m = JSON.parse(data);
    }
    catch (e) {
      return;    // not one of ours: someone curl'ed the channel
    }
    DEMO.received++;
    $("r-id").textContent = meta.id || "–";
    if (typeof m.t === "number") {
      arrivals.push([Date.now(), Math.max(0, Date.now() - m.t)]);
    }
    if (m.k === "bye") {
      if (m.p !== me.p) {
        forget(m.p);
      }
      return;
    }
    if (typeof m.p !== "string") {
      return;
    }
    if (m.k === "chat") {
      say(m);
    }
    if (m.k === "move" || m.k === "chat") {
      let player = DEMO.players.get(m.p);
      if (!player) {
        DEMO.players.set(m.p, player = { p: m.p });
      }
      Object.assign(player, { n: String(m.n).slice(0, 20), c: String(m.c),
                              seen: Math.min(Date.now(), m.t || Infinity) });
      if (typeof m.tr === "string") {
        player.tr = m.tr.slice(0, 12);
      }
      if (m.k === "move" && m.p !== me.p) {
        player.x = Math.min(1, Math.max(0, Number(m.x)));
        player.y = Math.min(1, Math.max(0, Number(m.y)));
        player.last = m;
      }
      if (m.p !== me.p) {
        dot(player);
      }
    }
  });
  sub.on("transport", (name) => { $("r-transport").textContent = name; dot(me); });
  sub.on("connect", () => { $("r-state").textContent = "connected"; publishMove(); });
  sub.on("disconnect", (why) => { $("r-state").textContent = `reconnecting (${why})`; });
  sub.on("gap", (id) => { DEMO.gaps++; $("r-state").textContent = `missed messages up to ${id}`; });
  sub.on("error", (e) => { DEMO.errors.push(e.message); $("r-state").textContent = e.message; });
  sub.start();
}

function publish(m) {
  m.t = Date.now();
  sub.publish(JSON.stringify(m)).catch((e) => {
    DEMO.errors.push(e.message);
    $("r-state").textContent = e.message;
  });
}

// --- Moving ----------------------------------------------------------
let lastSent = 0;
let moveTimer = null;
function publishMove() {
  clearTimeout(moveTimer);
  moveTimer = null;
  lastSent = Date.now();
  publish({ k: "move", p: me.p, n: me.n, c: me.c, tr: sub.transport,
            x: +me.x.toFixed(4), y: +me.y.toFixed(4) });
}
function moved() {
  me.seen = Date.now();
  dot(me);
  const wait = lastSent + MOVE_EVERY_MS - Date.now();
  if (wait <= 0) {
    publishMove();
  }
  else if (!moveTimer) {
    moveTimer = setTimeout(publishMove, wait);
  }
}
/** Moves this player to (x, y), from 0 to 1 (also for the browser test). */
DEMO.moveTo = (x, y) => {
  me.x = Math.min(1, Math.max(0, x));
  me.y = Math.min(1, Math.max(0, y));
  moved();
};

board.addEventListener("pointermove", (e) => {
  const r = board.getBoundingClientRect();
  DEMO.moveTo((e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
});
board.addEventListener("keydown", (e) => {
  const step = e.shiftKey ? 0.05 : 0.015;
  const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
  if (d) {
    e.preventDefault();
    DEMO.moveTo(me.x + d[0], me.y + d[1]);
  }
});
setInterval(() => { if (Date.now() - lastSent >= HEARTBEAT_MS && sub?.connected) publishMove(); }, 1000);

$("name").addEventListener("change", () => {
  me.n = $("name").value.trim().slice(0, 20) || me.n;
  sessionStorage.setItem("board-name", me.n);
  moved();
});
$("chat-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("chat-text").value.trim();
  if (text) {
    publish({ k: "chat", p: me.p, n: me.n, c: me.c, text });
    $("chat-text").value = "";
  }
});
for (const radio of document.querySelectorAll("input[name=transport]")) {
  radio.addEventListener("change", () => subscribe(radio.value));
}
window.addEventListener("pagehide", () => {
  // A last word by POST: a WebSocket may be gone before it is sent.
  navigator.sendBeacon?.(PUB_URL, JSON.stringify({ k: "bye", p: me.p, t: Date.now() }));
});

DEMO.players.set(me.p, me);
me.seen = Date.now();
dot(me);
const forced = params.get("transport");
const choice = ["websocket", "eventsource", "longpoll", "poll"].includes(forced) ? forced : "auto";
document.querySelector(`input[name=transport][value=${choice}]`).checked = true;
subscribe(choice);
board.focus();
