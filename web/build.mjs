// Builds web/dist/ (the page `make run` serves) from web/src/ and client-ts/src/.
//   node build.mjs          write web/dist/
//   node build.mjs --check  build into a temporary directory and fail if web/dist/ differs
// dist/build-info.json names every source with its SHA-256, so a test without Node
// (tests/integration/test_web_page.py) can tell that the committed bundle is stale.

import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const WEB = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(WEB, "..");
const DIST = join(WEB, "dist");
const COPIED = ["index.html", "app.css", "favicon.svg"];

function sha256(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

async function build(out) {
  mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ["web/src/main.ts"],
    outfile: join(out, "app.js"),
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    charset: "utf8",
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
  });
  for (const name of COPIED) copyFileSync(join(WEB, "src", name), join(out, name));
  const sources = [...Object.keys(result.metafile.inputs), ...COPIED.map((n) => `web/src/${n}`), "web/package-lock.json"];
  const info = {
    about: "Built by `make web` (web/build.mjs); do not edit web/dist/ by hand.",
    esbuild: esbuild.version,
    sources: Object.fromEntries(sources.sort().map((path) => [path, sha256(join(ROOT, path))])),
  };
  writeFileSync(join(out, "build-info.json"), `${JSON.stringify(info, null, 2)}\n`);
}

function files(dir) {
  return readdirSync(dir).sort();
}

if (process.argv.includes("--check")) {
  const out = mkdtempSync(join(tmpdir(), "courier-web-"));
  try {
    await build(out);
    const wanted = files(out);
    const have = files(DIST);
    const stale = wanted.filter((name) => !have.includes(name) || sha256(join(out, name)) !== sha256(join(DIST, name)));
    const extra = have.filter((name) => !wanted.includes(name));
    if (stale.length > 0 || extra.length > 0) {
      console.error(`web/dist/ is not the build of its sources (differs: ${[...stale, ...extra].join(", ")}): run \`make web\` and commit web/dist/.`);
      process.exit(1);
    }
    console.log(`web/dist/ is up to date (${wanted.length} files)`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
} else {
  rmSync(DIST, { recursive: true, force: true });
  await build(DIST);
  console.log(`built ${relative(ROOT, DIST)}/: ${files(DIST).join(", ")}`);
}
