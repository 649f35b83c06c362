// The open conversation's messages, as bubbles. Bodies go in as text nodes only.

import { el } from "./dom.ts";
import { mentionRuns } from "./text.ts";

export interface MessageRow {
  key: string; // seq, or the clientMsgNo of a message not yet acknowledged
  seq?: number;
  from: string;
  mine: boolean;
  text: string;
  time: string;
  day: string;
  pending: boolean;
  recalled: boolean;
  edited: boolean;
  seen: boolean; // the last of my messages the DM peer has read
  showSender: boolean; // in a group, the first of a run from one sender
  selected: boolean; // tapped: its Edit and Recall show on touch screens
}

/** The text with its @mentions set apart (yours stronger): still text nodes only. */
function withMentions(text: string, me: string): HTMLElement {
  const runs = mentionRuns(text).map((run) =>
    run.user === undefined ? run.text : el("span", { class: run.user === me ? "at at-me" : "at" }, run.text),
  );
  return el("span", { class: "text" }, ...runs);
}

export interface MessageActions {
  edit(seq: number, text: string): void;
  recall(seq: number): void;
  select(seq: number): void;
}

export function renderMessages(list: HTMLElement, rows: MessageRow[], me: string, actions: MessageActions): void {
  const items: HTMLElement[] = [];
  let day = "";
  for (const row of rows) {
    if (row.day !== day) {
      day = row.day;
      items.push(el("li", { class: "day" }, el("span", {}, day)));
    }
    items.push(message(row, me, actions));
  }
  if (rows.length === 0) items.push(el("li", { class: "day" }, el("span", {}, "No messages yet. Say hello.")));
  list.replaceChildren(...items);
}

function message(row: MessageRow, me: string, actions: MessageActions): HTMLElement {
  const classes = ["message", row.mine ? "mine" : "theirs"];
  if (row.pending) classes.push("pending");
  if (row.recalled) classes.push("recalled");
  if (row.selected) classes.push("selected");
  const meta = el(
    "span",
    { class: "meta" },
    row.edited && !row.recalled && el("span", { class: "edited" }, "edited"),
    el("span", {}, row.pending ? "sending…" : row.time),
  );
  const canChange = row.mine && !row.pending && !row.recalled && row.seq !== undefined;
  const bubble = el(
    "div",
    { class: "bubble", onclick: canChange ? () => actions.select(row.seq!) : undefined },
    row.recalled
      ? el("span", { class: "text" }, row.mine ? "You recalled this message" : "Message recalled")
      : withMentions(row.text, me),
    meta,
  );
  const tools =
    canChange &&
    el(
      "span",
      { class: "tools" },
      el("button", { type: "button", class: "tool edit", onclick: () => actions.edit(row.seq!, row.text) }, "Edit"),
      el("button", { type: "button", class: "tool recall", onclick: () => actions.recall(row.seq!) }, "Recall"),
    );
  return el(
    "li",
    { class: classes.join(" "), "data-seq": row.seq === undefined ? undefined : String(row.seq), "data-key": row.key },
    row.showSender && el("div", { class: "sender" }, row.from),
    el("div", { class: "line" }, tools, bubble),
    row.seen && el("div", { class: "seen" }, "Seen"),
  );
}
