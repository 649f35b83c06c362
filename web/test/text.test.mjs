// The page's pure text helpers (src/text.ts), compiled by esbuild on the fly: Node 20
// cannot import TypeScript itself.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const built = await esbuild.build({
  entryPoints: [fileURLToPath(new URL("../src/text.ts", import.meta.url))],
  bundle: true,
  format: "esm",
  write: false,
  logLevel: "error",
});
const text = await import(`data:text/javascript;base64,${Buffer.from(built.outputFiles[0].text).toString("base64")}`);

test("a DM is named in code-point order, and either user finds the other in it", () => {
  assert.equal(text.dmChannel("bob", "alice"), "dm:alice:bob");
  assert.equal(text.dmChannel("alice", "Bob"), "dm:Bob:alice"); // "B" < "a"
  assert.equal(text.dmPeer("dm:alice:bob", "alice"), "bob");
  assert.equal(text.dmPeer("dm:alice:bob", "bob"), "alice");
  assert.equal(text.dmPeer("g:team", "alice"), undefined);
  assert.equal(text.channelTitle("g:team", "alice"), "# team");
});

test("mentions are @ids outside words and e-mail addresses, once each, without a closing dot", () => {
  assert.deepEqual(text.mentioned("@bob and @carol. ping @bob, mail me@example.com"), ["bob", "carol"]);
  assert.deepEqual(text.mentioned("no one here"), []);
});

test("a message cut into mention runs gives its text back, the mentions apart", () => {
  const message = "hi @bob. see a@b.c and @carol_2!";
  const runs = text.mentionRuns(message);
  assert.equal(runs.map((run) => run.text).join(""), message);
  assert.deepEqual(runs.filter((run) => run.user).map((run) => run.user), ["bob", "carol_2"]);
});

test("a body shows as its text, a string as itself, anything else as JSON", () => {
  assert.equal(text.bodyText({ text: "<b>hi</b>" }), "<b>hi</b>");
  assert.equal(text.bodyText("plain"), "plain");
  assert.equal(text.bodyText({ image: "x.png" }), '{"image":"x.png"}');
  assert.equal(text.bodyText(null), "null");
});

test("the new-chat box: a user id is a DM, #name a group (with members: you and them, sorted)", () => {
  assert.deepEqual(text.parseNewChat(" bob ", "alice"), { dm: "bob" });
  assert.deepEqual(text.parseNewChat("#team", "alice"), { group: "team", members: [] });
  assert.deepEqual(text.parseNewChat("#team carol, bob,carol", "alice"), { group: "team", members: ["alice", "bob", "carol"] });
  assert.ok("problem" in text.parseNewChat("alice", "alice"));
  assert.ok("problem" in text.parseNewChat("al ice", "alice"));
  assert.ok("problem" in text.parseNewChat("#", "alice"));
  assert.ok("problem" in text.parseNewChat("#team bob:x", "alice"));
});
