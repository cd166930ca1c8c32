// Drives headless Chromium for t/push/26_client.t: several pages at
// once, each in a browser context of its own (so that each can be taken
// offline alone).
//
//   node pages.mjs --base http://127.0.0.1:PORT [--chromium PATH] [--limit S]
//
// One JSON command per line on stdin, one JSON answer per line on stdout:
//
//   {"cmd":"open","page":P,"url":PATH}      a new page P at base + PATH;
//                                           answers once it has loaded
//   {"cmd":"eval","page":P,"js":BODY}       runs BODY as an async function
//                                           body in the page: its return
//   {"cmd":"wait","page":P,"js":EXPR,"timeout":MS}
//                                           until EXPR is true in the page
//   {"cmd":"offline","page":P,"on":BOOL}    cuts or restores P's network
//   {"cmd":"screenshot","page":P,"path":F}  a PNG of P
//   {"cmd":"close","page":P}
//   {"cmd":"quit"}
//
// Every answer has "ok", "value" (eval) and the page's console errors and
// uncaught exceptions so far.  The run is bounded by --limit seconds;
// Chromium is closed on every exit path.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM_ARGS, logger, parseArgs, serve } from "./driver.mjs";

const args = parseArgs(process.argv);
const base = args.base;
const limitMs = Number(args.limit || 300) * 1000;
if (!base) {
  console.error("usage: pages.mjs --base URL");
  process.exit(2);
}
const log = logger("pages.mjs");

let browser = null;
const home = mkdtempSync(join(tmpdir(), "mod_push-chromium-"));
const pages = new Map();   // name -> {context, page, errors}

function get(name) {
  const p = pages.get(name);
  if (!p) {
    throw new Error(`no page ${name}`);
  }
  return p;
}

const commands = {
  async open(c) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const entry = { context, page, errors: [] };
    pages.set(c.page, entry);
    page.on("pageerror", (e) => {
      entry.errors.push(`pageerror: ${e.message}`);
      log(`${c.page} pageerror: ${e.message}`);
    });
    page.on("console", (m) => {
      log(`${c.page} console.${m.type()}: ${m.text()}`);
      if (m.type() === "error") {
        entry.errors.push(`console: ${m.text()}`);
      }
    });
    const resp = await page.goto(base + c.url, { waitUntil: "load", timeout: 15000 });
    return { ok: !!resp && resp.status() === 200, status: resp && resp.status() };
  },
  async eval(c) {
    const { page } = get(c.page);
    const value = await page.evaluate(`(async () => { ${c.js} })()`);
    return { ok: true, value };
  },
  async wait(c) {
    const { page } = get(c.page);
    try {
      await page.waitForFunction(c.js, null, { timeout: c.timeout || 10000, polling: 25 });
      return { ok: true };
    }
    catch (e) {
      log(`${c.page} wait ${c.js}: ${e.message.split("\n")[0]}`);
      return { ok: false };
    }
  },
  async offline(c) {
    await get(c.page).context.setOffline(!!c.on);
    return { ok: true };
  },
  async screenshot(c) {
    await get(c.page).page.screenshot({ path: c.path });
    return { ok: true };
  },
  async close(c) {
    await get(c.page).context.close();
    pages.delete(c.page);
    return { ok: true };
  },
};

// Every answer about a page carries its errors so far.
const withErrors = Object.fromEntries(Object.entries(commands).map(([name, fn]) => [
  name, async (c) => ({ ...(await fn(c)), errors: pages.get(c.page)?.errors || [] }),
]));

await serve({
  log, limitMs, commands: withErrors,
  async launch() {
    log(`launching ${args.chromium || "/usr/bin/chromium"}`);
    browser = await chromium.launch({
      executablePath: args.chromium || "/usr/bin/chromium",
      headless: true,
      timeout: 30000,
      // Chromium's own state (crash reports, caches) in a directory of ours.
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, "config"),
             XDG_CACHE_HOME: join(home, "cache") },
      args: CHROMIUM_ARGS,
    });
    log(`browser ${browser.version()}`);
  },
  async close() {
    await browser?.close().catch((e) => log(`close: ${e.message}`));
    rmSync(home, { recursive: true, force: true });
  },
  fail: (why) => ({ ok: false, why }),
  ready: { ok: true, ready: true },
});
