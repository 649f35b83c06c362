// The real local stack (`python -m local.run`) on a free port, for the browser test.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const STARTUP_MS = 180_000; // a hang guard: moto and every handler import on a busy machine

/** Start the stack; resolves with its page URL and a stop function. */
export async function startStack(tmp) {
  const python = resolve(ROOT, "web", process.env.COURIER_PYTHON ?? "../.venv/bin/python");
  if (!existsSync(python)) {
    throw new Error(`no Python at ${python}: run \`make venv\`, or set COURIER_PYTHON`);
  }
  const child = spawn(python, ["-m", "local.run"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PYTHONPATH: "layers/courier:client:.",
      COURIER_PORT: "0", // the OS picks a free port; the banner names it
      COURIER_METRICS_LOG: join(tmp, "metrics.log"),
      PYTHONUNBUFFERED: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise((done) => child.once("exit", (code, signal) => done({ code, signal })));
  const url = await new Promise((found, failed) => {
    const timer = setTimeout(() => failed(new Error(`the local stack did not start in time:\n${output}`)), STARTUP_MS);
    const look = (chunk) => {
      output += chunk;
      const match = /Web chat: (http:\/\/\S+?)\/?\s/.exec(output);
      if (match) {
        clearTimeout(timer);
        found(match[1]);
      }
    };
    child.stdout.setEncoding("utf8").on("data", look);
    child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    void exited.then(({ code }) => {
      clearTimeout(timer);
      failed(new Error(`the local stack exited (${code}) before it was up:\n${output}`));
    });
  });
  async function stop() {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGINT"); // `make run`'s Ctrl-C: close the sockets, stop the pollers and moto
    const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(guard);
  }
  return { url, stop, log: () => output };
}
