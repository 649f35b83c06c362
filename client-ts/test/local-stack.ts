/** The real local stack (`python -m local.run`) on a free loopback port, for one test file:
 * started as the Python integration tests start theirs, with retries due within a test
 * (COURIER_RETRY_BASE_SECONDS=1), and killed at the end. */

import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: this file runs as client-ts/build/test/local-stack.js. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const STARTUP_MS = 60_000; // a hang guard: it starts in a few seconds

export function pythonPath(): string {
  return resolve(process.env.COURIER_PYTHON ?? join(REPO_ROOT, ".venv", "bin", "python"));
}

/** Why the stack cannot run here, or undefined if it can. */
export function unavailable(): string | undefined {
  try {
    accessSync(pythonPath(), constants.X_OK);
    return undefined;
  } catch {
    return `no Python at ${pythonPath()} (set COURIER_PYTHON, or run make venv)`;
  }
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export class LocalStack {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly output: string[],
  ) {}

  static async start(): Promise<LocalStack> {
    const port = await freePort();
    const scratch = mkdtempSync(join(tmpdir(), "courier-ts-"));
    const child = spawn(pythonPath(), ["-m", "local.run"], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        COURIER_PORT: String(port),
        PYTHONPATH: "layers/courier:client:.",
        COURIER_RETRY_BASE_SECONDS: "1",
        COURIER_METRICS_LOG: join(scratch, "metrics.log"),
        POWERTOOLS_LOG_LEVEL: "WARNING",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const url = `http://127.0.0.1:${port}`;
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        fail(new Error(`local stack not up in ${STARTUP_MS} ms:\n${output.join("")}`));
      }, STARTUP_MS);
      const watch = (chunk: Buffer): void => {
        output.push(chunk.toString());
        if (output.join("").includes(`Courier local stack on ${url}`)) {
          clearTimeout(timer);
          ready();
        }
      };
      child.stdout.on("data", watch);
      child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
      child.once("exit", (code) => {
        clearTimeout(timer);
        fail(new Error(`local stack exited (${code}):\n${output.join("")}`));
      });
    });
    return new LocalStack(url, child, output);
  }

  /** Stop it (SIGTERM, then SIGKILL if it lingers). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((done) => this.child.once("exit", () => done()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** What it printed (for a failing test's message). */
  log(): string {
    return this.output.join("");
  }

  private async admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = { method, headers: { "content-type": "application/json" } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const reply = await fetch(`${this.url}/admin${path}`, init);
    const text = await reply.text();
    if (!reply.ok) throw new Error(`${method} /admin${path}: ${reply.status} ${text}`);
    return JSON.parse(text) as unknown;
  }

  async token(user: string, device = "phone"): Promise<string> {
    const reply = await this.admin("POST", "/tokens", { user, device, ttlSeconds: 600 });
    return (reply as { token: string }).token;
  }

  async putGroup(group: string, members: string[]): Promise<void> {
    await this.admin("PUT", `/groups/${group}`, { members });
  }

  /** channel → unread, as the server counts it for `user`. */
  async unread(user: string): Promise<Record<string, number>> {
    const reply = await this.admin("GET", `/users/${user}/unread`);
    return (reply as { channels: Record<string, number> }).channels;
  }
}
