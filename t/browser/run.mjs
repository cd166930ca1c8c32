// Drives headless Chromium for t/push/13_browser.t.
//
//   node run.mjs --base http://127.0.0.1:PORT --transport websocket \
//                --channel ID [--chromium /usr/bin/chromium] [--limit 90]
//
// Opens /browser/index.html (t/browser/page.js: one NchanSubscriber on
// /sub/ID with that transport) in a fresh profile, then takes one JSON
// command per line on stdin and answers with one JSON line on stdout:
//
//   {"cmd":"open","id":"T:N"}          (re)load the page, optionally with
//                                       NchanSubscriber's `id` option;
//                                       answers "connected" once the page's
//                                       subscriber emitted 'connect'
//   {"cmd":"wait","count":N,"timeout":MS,"settle":MS}
//                                       wait for N messages (then `settle`
//                                       ms more, to catch duplicates)
//   {"cmd":"wait_js","js":"EXPR","timeout":MS}
//                                       wait until EXPR (JavaScript, over
//                                       window.T) is true
//   {"cmd":"stop"} / {"cmd":"start"}   NchanSubscriber's stop() / start()
//   {"cmd":"state"}
//   {"cmd":"quit"}
//
// Every answer carries the page's state: messages received, connect and
// disconnect counts, errors, uncaught page errors.  Diagnostics go to
// stderr.  The whole run is bounded by --limit seconds; Chromium and its
// profile are removed on every exit path.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import readline from "node:readline";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
}
const base = args.base;
const transport = args.transport;
const channel = args.channel;
const executablePath = args.chromium || "/usr/bin/chromium";
const limitMs = Number(args.limit || 90) * 1000;
if (!base || !transport || !channel) {
  console.error("usage: run.mjs --base URL --transport T --channel ID");
  process.exit(2);
}

const t0 = Date.now();
function log(s) {
  console.error(`[run.mjs ${transport} +${Date.now() - t0}ms] ${s}`);
}
function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

let context = null;
let profile = null;
let closing = null;
function cleanup() {
  if (!closing) {
    closing = (async () => {
      if (context) {
        try {
          await context.close();
        } catch (e) {
          log(`close: ${e.message}`);
        }
      }
      if (profile) {
        rmSync(profile, { recursive: true, force: true });
      }
    })();
  }
  return closing;
}
async function finish(code) {
  await cleanup();
  process.exit(code);
}

const watchdog = setTimeout(() => {
  log(`time limit of ${limitMs} ms reached`);
  send({ ev: "error", message: `run.mjs time limit (${limitMs} ms)` });
  finish(3);
}, limitMs);
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.on(sig, () => {
    log(`${sig}`);
    finish(4);
  });
}

const pageErrors = [];
let page = null;

async function state(extra) {
  let s = null;
  try {
    s = await page.evaluate(() => window.T);
  } catch (e) {
    log(`state: ${e.message}`);
  }
  return { state: s, pageErrors, ...extra };
}

async function waitFor(fn, arg, timeout) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 50 });
    return true;
  } catch (e) {
    log(`wait: ${e.message.split("\n")[0]}`);
    return false;
  }
}

async function open(id) {
  const q = new URLSearchParams({ transport, channel });
  if (id) {
    q.set("id", id);
  }
  const url = `${base}/browser/index.html?${q}`;
  log(`goto ${url}`);
  const resp = await page.goto(url, { waitUntil: "load", timeout: 15000 });
  if (!resp || resp.status() !== 200) {
    return { ok: false, why: `page answered ${resp && resp.status()}` };
  }
  const ok = await waitFor(
    () => window.T && window.T.connects >= 1, null, 15000);
  return { ok };
}

const commands = {
  async open(c) {
    const r = await open(c.id);
    return state({ ev: "connected", ...r });
  },
  async wait(c) {
    const ok = await waitFor(
      (n) => window.T.messages.length >= n
             && window.T.messages.every((m) => m.data !== null),
      c.count, c.timeout || 10000);
    await new Promise((r) => setTimeout(r, c.settle ?? 300));
    return state({ ev: "messages", ok });
  },
  async wait_js(c) {
    const ok = await waitFor(`(() => { const T = window.T; return (${c.js}); })()`,
                             null, c.timeout || 10000);
    return state({ ev: "js", ok });
  },
  async stop() {
    const before = await page.evaluate(() => {
      window.SUB.stop();
      return window.T.disconnects;
    });
    // A WebSocket closes asynchronously, and NchanSubscriber's late
    // onclose would clobber a socket opened by an early start(): wait for
    // it (the other transports report nothing here, or at once).
    let ok = true;
    if (transport === "websocket") {
      ok = await waitFor((n) => window.T.disconnects > n, before, 5000);
    }
    return state({ ev: "stopped", ok });
  },
  async start() {
    const before = await page.evaluate(() => {
      const n = window.T.connects;
      window.SUB.start();
      return n;
    });
    const ok = await waitFor((n) => window.T.connects > n, before, 10000);
    return state({ ev: "started", ok });
  },
  async state() {
    return state({ ev: "state" });
  },
};

try {
  profile = mkdtempSync(join(tmpdir(), "mod_push-chromium-"));
  log(`launching ${executablePath}, profile ${profile}`);
  // A persistent context is how Playwright takes a user data dir: a
  // fresh, empty one each run.
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    // Chromium's other state (crash reports, caches) goes in the profile
    // too, not under HOME.
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(profile, "xdg-config"),
      XDG_CACHE_HOME: join(profile, "xdg-cache"),
    },
    timeout: 30000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => {
    pageErrors.push(String(e && e.message ? e.message : e));
    log(`pageerror: ${e && e.message ? e.message : e}`);
  });
  page.on("console", (m) => log(`console.${m.type()}: ${m.text()}`));
  log(`browser ${context.browser() ? context.browser().version() : "?"}`);
} catch (e) {
  log(`launch failed: ${e.stack || e}`);
  send({ ev: "error", message: `launch failed: ${e.message}` });
  await finish(1);
}

send({ ev: "ready" });

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) {
    continue;
  }
  let c;
  try {
    c = JSON.parse(line);
  } catch (e) {
    send({ ev: "error", message: `bad command: ${line}` });
    continue;
  }
  if (c.cmd === "quit") {
    break;
  }
  const fn = commands[c.cmd];
  if (!fn) {
    send({ ev: "error", message: `unknown command ${c.cmd}` });
    continue;
  }
  log(`command ${line}`);
  try {
    send(await fn(c));
  } catch (e) {
    log(`${c.cmd} failed: ${e.stack || e}`);
    send({ ev: "error", message: `${c.cmd}: ${e.message}`, pageErrors });
  }
}
clearTimeout(watchdog);
await cleanup();
send({ ev: "bye" });
process.exit(0);
