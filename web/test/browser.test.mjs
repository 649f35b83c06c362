// The web page in headless Chromium (Debian's, driven by playwright-core; no browser
// download) against the real local stack: alice and bob chat, bob's badge clears when he
// reads, and so does the badge on bob's second device.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { startStack } from "./stack.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WAIT_MS = 30_000; // hang guards only: every wait below is for an event the test caused
const DM = "dm:alice:bob";
const TEAM = "g:team";
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const HOSTILE = "Hi bob! <b>not bold</b> <img src=x onerror=alert(1)>";

const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (Debian: apt-get install chromium)`;

test("two users chat in the browser, and a read clears the badge on every device", { skip, timeout: 600_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), "courier-web-test-"));
  const stack = await startStack(tmp);
  // Groups are made by the admin API (no frame tells members): before anyone connects.
  await putGroup(stack.url, "team", ["alice", "bob", "carol"]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const errors = [];
  try {
    const open = async (user, device, viewport) => {
      // A context per device: its own IndexedDB. Playwright launches Chromium with a fresh
      // temporary user-data-dir of its own (no profile of this machine is read).
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      page.on("pageerror", (error) => errors.push(`${user}/${device}: ${error.message}`));
      await page.goto(`${stack.url}/`);
      if (user === "alice") await page.screenshot({ path: join(tmp, "sign-in.png") });
      await page.fill("#login-user", user);
      await page.fill("#login-device", device);
      await page.click("#login-submit");
      await page.waitForSelector("#me-status.online");
      return page;
    };
    const alice = await open("alice", "laptop", LAPTOP);
    const bob = await open("bob", "laptop", LAPTOP);
    const bobPhone = await open("bob", "phone", PHONE);

    // alice starts a DM with bob and sends a message that looks like markup.
    await alice.fill("#new-dm-user", "bob");
    await alice.click("#new-dm button[type=submit]");
    await alice.fill("#draft", HOSTILE);
    await alice.press("#draft", "Enter");
    await alice.waitForSelector('#messages li.mine[data-seq="1"]'); // acknowledged: it has its seq

    // Both of bob's devices show one unread.
    for (const page of [bob, bobPhone]) await waitForBadge(page, "1");
    await bobPhone.screenshot({ path: join(tmp, "bob-phone-unread.png") });

    // bob opens it on his laptop: read on open clears the badge there and on his phone.
    await bob.click(`#conversations li[data-channel="${DM}"] button`);
    const shown = bob.locator('#messages li[data-seq="1"] .text');
    assert.equal(await shown.textContent(), HOSTILE); // text, not markup
    assert.equal(await bob.locator("#messages b, #messages img").count(), 0);
    for (const page of [bob, bobPhone]) await waitForBadge(page, null);

    // bob types (alice sees it), then replies; alice has the DM open, reads, bob sees "Seen".
    // "typing…" shows for 5 s: a MutationObserver, set before bob types, records it, so a
    // slow poll on a busy machine cannot miss it.
    await alice.evaluate(() => {
      const status = document.getElementById("pane-status");
      const watch = new MutationObserver(() => {
        if (status.textContent === "typing…") window.typingShown = true;
      });
      watch.observe(status, { childList: true, characterData: true, subtree: true });
    });
    await bob.locator("#draft").pressSequentially("Hey alice");
    await alice.waitForFunction(() => window.typingShown === true);
    await bob.press("#draft", "Enter");
    await alice.waitForSelector('#messages li.theirs[data-seq="2"]');
    await bob.waitForSelector('#messages li[data-seq="2"] .seen');
    await waitForBadge(alice, null);

    // alice edits her first message and recalls a third; bob sees both.
    await alice.hover('#messages li[data-seq="1"]');
    await alice.click('#messages li[data-seq="1"] .tool.edit');
    await alice.fill("#draft", "Hi bob! welcome to Courier, café crème");
    await alice.press("#draft", "Enter");
    await bob.waitForFunction(
      () => document.querySelector('#messages li[data-seq="1"] .text')?.textContent === "Hi bob! welcome to Courier, café crème",
    );
    await bob.waitForSelector('#messages li[data-seq="1"] .edited');
    await alice.fill("#draft", "oops, wrong chat");
    await alice.press("#draft", "Enter");
    await alice.waitForSelector('#messages li.mine[data-seq="3"]');
    await alice.hover('#messages li[data-seq="3"]');
    await alice.click('#messages li[data-seq="3"] .tool.recall');
    await bob.waitForSelector('#messages li.recalled[data-seq="3"]');
    await alice.fill("#draft", "Are you coming to the demo at 3?");
    await alice.press("#draft", "Enter");
    await bob.waitForSelector('#messages li[data-seq="4"]');
    await waitForBadge(bob, null);

    // In the group, bob mentions alice: her row shows the mention and the unread.
    await bob.click(`#conversations li[data-channel="${TEAM}"] button`);
    await bob.fill("#draft", "@alice can you review the deck before the demo?");
    await bob.press("#draft", "Enter");
    await waitForBadge(alice, "1", TEAM);
    await alice.waitForSelector(`#conversations li[data-channel="${TEAM}"] .badge.mention`);
    assert.equal(await alice.title(), "(1) Courier chat");
    await alice.mouse.move(600, 300); // off the messages: no hover tools in the picture
    await alice.screenshot({ path: join(tmp, "alice-mentioned.png"), animations: "disabled" });
    console.log(`screenshot: ${join(tmp, "alice-mentioned.png")}`);

    // alice opens it (read: both badges go), mutes it, and goes back to bob; the next group
    // message counts in the group's row (grey) but not in her total.
    await alice.click(`#conversations li[data-channel="${TEAM}"] button`);
    await waitForBadge(alice, null, TEAM);
    assert.equal(await alice.locator(`#conversations li[data-channel="${TEAM}"] .badge.mention`).count(), 0);
    await alice.click("#mute");
    await alice.waitForSelector(`#conversations li[data-channel="${TEAM}"] .muted-tag`);
    await alice.click(`#conversations li[data-channel="${DM}"] button`);
    await bob.fill("#draft", "Lunch at 12 after that?");
    await bob.press("#draft", "Enter");
    await waitForBadge(alice, "1", TEAM);
    await alice.waitForSelector(`#conversations li[data-channel="${TEAM}"] .badge.unread.muted`);
    assert.equal(await alice.title(), "Courier chat");

    await bobPhone.click(`#conversations li[data-channel="${DM}"] button`);
    await bobPhone.waitForSelector('#messages li[data-seq="4"]');
    for (const [name, page] of [["alice-laptop", alice], ["bob-laptop", bob], ["bob-phone", bobPhone]]) {
      const path = join(tmp, `${name}.png`);
      await page.screenshot({ path, animations: "disabled" });
      console.log(`screenshot: ${path}`);
    }

    // A page nobody sees does not read: bob's laptop (the DM open) is hidden, his phone back
    // on its list; alice writes; both show it unread until the laptop is seen again. Coming
    // back also fetches the list again, where the group alice made meanwhile shows up.
    await bob.click(`#conversations li[data-channel="${DM}"] button`);
    await bobPhone.click("#back");
    await setVisible(bob, false);
    await alice.fill("#draft", "Are you still there?");
    await alice.press("#draft", "Enter");
    await bob.waitForSelector('#messages li[data-seq="5"]');
    await waitForBadge(bob, "1"); // had the hidden page read it, the badge would never show
    await waitForBadge(bobPhone, "1");
    await alice.fill("#new-dm-user", "#launch bob"); // alice makes a group from the page
    await alice.click("#new-dm button[type=submit]");
    await alice.waitForSelector('#conversations li[data-channel="g:launch"] button.active');
    await setVisible(bob, true);
    await waitForBadge(bob, null);
    await waitForBadge(bobPhone, null);
    await bob.waitForSelector('#conversations li[data-channel="g:launch"]');

    // A reload keeps the tab signed in as the same device, its store (IndexedDB) intact.
    await bobPhone.reload();
    await bobPhone.waitForSelector("#me-status.online");
    assert.equal(await bobPhone.textContent("#me-name"), "bob · phone");
    await bobPhone.click(`#conversations li[data-channel="${DM}"] button`);
    await bobPhone.waitForSelector('#messages li[data-seq="5"]');
    await waitForBadge(bobPhone, null);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await stack.stop();
  }
});

async function putGroup(url, group, members) {
  const reply = await fetch(`${url}/admin/groups/${group}`, { method: "PUT", body: JSON.stringify({ members }) });
  assert.equal(reply.status, 200, await reply.text());
}

/** Show or hide the page as a browser does when its tab is switched away. */
async function setVisible(page, visible) {
  await page.evaluate((state) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
    document.dispatchEvent(new Event("visibilitychange"));
  }, visible ? "visible" : "hidden");
}

/** Wait until the conversation's row shows `count` unread, or no unread badge (null). */
async function waitForBadge(page, count, channel = DM) {
  await page.waitForFunction(
    ([channel, wanted]) => {
      const badge = document.querySelector(`#conversations li[data-channel="${channel}"] .badge.unread`);
      const row = document.querySelector(`#conversations li[data-channel="${channel}"]`);
      return row !== null && (badge?.textContent ?? null) === wanted;
    },
    [channel, count],
  );
}
