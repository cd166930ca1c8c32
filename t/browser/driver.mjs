// What the Chromium drivers (run.mjs, pages.mjs) share: their arguments,
// a log on stderr, one JSON line per answer on stdout, a time limit, and
// the command loop (one JSON command per line on stdin, {"cmd":"quit"}
// to end).  Whatever the driver launched is closed on every exit path.
import readline from "node:readline";

// --name value pairs.
export function parseArgs(argv) {
  const args = {};
  for (let i = 2; i < argv.length; i += 2) {
    args[argv[i].replace(/^--/, "")] = argv[i + 1];
  }
  return args;
}

export function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const t0 = Date.now();
export function logger(tag) {
  return (s) => console.error(`[${tag} +${Date.now() - t0}ms] ${s}`);
}

// Runs a driver:
//   log        from logger()
//   limitMs    the whole run's bound
//   launch     async (): starts the browser
//   close      async (): closes it and removes its files (called once)
//   commands   { name: async (command) => answer }
//   fail       (message) => the answer that reports an error
//   ready      the first answer, once launched
export async function serve({ log, limitMs, launch, close, commands, fail, ready }) {
  let closing = null;
  const cleanup = () => {
    closing ||= close().catch((e) => log(`close: ${e.message}`));
    return closing;
  };
  const finish = async (code) => {
    await cleanup();
    process.exit(code);
  };
  const watchdog = setTimeout(() => {
    log(`time limit of ${limitMs} ms reached`);
    send(fail(`time limit (${limitMs} ms)`));
    finish(3);
  }, limitMs);
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
    process.on(sig, () => {
      log(sig);
      finish(4);
    });
  }

  try {
    await launch();
  }
  catch (e) {
    log(`launch failed: ${e.stack || e}`);
    send(fail(`launch failed: ${e.message}`));
    await finish(1);
  }
  send(ready);

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) {
      continue;
    }
    let c;
    try {
      c = JSON.parse(line);
    }
    catch (e) {
      send(fail(`bad command: ${line}`));
      continue;
    }
    if (c.cmd === "quit") {
      break;
    }
    const fn = commands[c.cmd];
    if (!fn) {
      send(fail(`unknown command ${c.cmd}`));
      continue;
    }
    log(`command ${line.length > 300 ? line.slice(0, 300) + "..." : line}`);
    try {
      send(await fn(c));
    }
    catch (e) {
      log(`${c.cmd} failed: ${e.stack || e}`);
      send(fail(`${c.cmd}: ${e.message}`));
    }
  }
  clearTimeout(watchdog);
  await cleanup();
  send({ ev: "bye", ok: true, bye: true });
  process.exit(0);
}

// Chromium's flags for these tests: no sandbox (containers), no GPU, no
// QUIC, nothing fetched in the background.
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
