// The open conversation's messages, as bubbles. Bodies go in as text nodes only.

import { el } from "./dom.ts";

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
}

export interface MessageActions {
  edit(seq: number, text: string): void;
  recall(seq: number): void;
}

export function renderMessages(list: HTMLElement, rows: MessageRow[], actions: MessageActions): void {
  const items: HTMLElement[] = [];
  let day = "";
  for (const row of rows) {
    if (row.day !== day) {
      day = row.day;
      items.push(el("li", { class: "day" }, el("span", {}, day)));
    }
    items.push(message(row, actions));
  }
  if (rows.length === 0) items.push(el("li", { class: "day" }, el("span", {}, "No messages yet. Say hello.")));
  list.replaceChildren(...items);
}

function message(row: MessageRow, actions: MessageActions): HTMLElement {
  const classes = ["message", row.mine ? "mine" : "theirs"];
  if (row.pending) classes.push("pending");
  if (row.recalled) classes.push("recalled");
  const meta = el(
    "span",
    { class: "meta" },
    row.edited && !row.recalled && el("span", { class: "edited" }, "edited"),
    el("span", {}, row.pending ? "sending…" : row.time),
  );
  const bubble = el(
    "div",
    { class: "bubble" },
    el("span", { class: "text" }, row.recalled ? (row.mine ? "You recalled this message" : "Message recalled") : row.text),
    meta,
  );
  const canChange = row.mine && !row.pending && !row.recalled && row.seq !== undefined;
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
