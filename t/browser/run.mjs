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
import { CHROMIUM_ARGS, logger, parseArgs, serve } from "./driver.mjs";

const args = parseArgs(process.argv);
const base = args.base;
const transport = args.transport;
const channel = args.channel;
// A subscriber URL other than /sub/<channel> (a multiplexed location's).
const path = args.path;
const executablePath = args.chromium || "/usr/bin/chromium";
const limitMs = Number(args.limit || 90) * 1000;
if (!base || !transport || !channel) {
  console.error("usage: run.mjs --base URL --transport T --channel ID");
  process.exit(2);
}
const log = logger(`run.mjs ${transport}`);

let context = null;
let profile = null;

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
  if (path) {
    q.set("path", path);
  }
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

async function launch() {
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
    args: ["--headless", ...CHROMIUM_ARGS],
  });
  page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => {
    pageErrors.push(String(e && e.message ? e.message : e));
    log(`pageerror: ${e && e.message ? e.message : e}`);
  });
  page.on("console", (m) => log(`console.${m.type()}: ${m.text()}`));
  log(`browser ${context.browser() ? context.browser().version() : "?"}`);
}

async function close() {
  if (context) {
    await context.close().catch((e) => log(`close: ${e.message}`));
  }
  if (profile) {
    rmSync(profile, { recursive: true, force: true });
  }
}

await serve({
  log, limitMs, launch, close, commands,
  fail: (message) => ({ ev: "error", message, pageErrors }),
  ready: { ev: "ready" },
});
