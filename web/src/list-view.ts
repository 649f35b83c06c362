// The conversation list: one row per conversation, with its badges.

import { el } from "./dom.ts";
import { avatar } from "./avatar.ts";

export interface ConversationRow {
  channel: string;
  title: string;
  peer?: string; // a DM's other user (the avatar and the online dot are theirs)
  unread: number;
  mentions: number;
  muted: boolean;
  preview: string;
  time: string;
  online?: boolean;
  active: boolean;
}

export function renderList(list: HTMLElement, rows: ConversationRow[], open: (channel: string) => void): void {
  if (rows.length === 0) {
    list.replaceChildren(el("li", { class: "empty" }, "No conversations yet. Start one above: try bob."));
    return;
  }
  list.replaceChildren(...rows.map((row) => conversation(row, open)));
}

function conversation(row: ConversationRow, open: (channel: string) => void): HTMLElement {
  const badges = el(
    "span",
    { class: "badges" },
    row.mentions > 0 && el("span", { class: "badge mention", title: `${row.mentions} unread mention(s)` }, "@"),
    row.unread > 0 && el("span", { class: row.muted ? "badge unread muted" : "badge unread" }, String(row.unread)),
  );
  const classes = ["conversation", row.active ? "active" : "", row.unread > 0 ? "has-unread" : ""].filter(Boolean);
  return el(
    "li",
    { "data-channel": row.channel },
    el(
      "button",
      {
        type: "button",
        class: classes.join(" "),
        "aria-current": row.active ? "true" : undefined,
        onclick: () => open(row.channel),
      },
      avatar(row.peer ?? row.title.replace(/^# /, ""), row.peer === undefined, row.online),
      el(
        "span",
        { class: "conversation-text" },
        el(
          "span",
          { class: "conversation-top" },
          el("span", { class: "conversation-name" }, row.title),
          row.muted && el("span", { class: "muted-tag", title: "Muted: not counted in your total, no pushes" }, "muted"),
          el("span", { class: "conversation-time" }, row.time),
        ),
        el("span", { class: "conversation-bottom" }, el("span", { class: "preview" }, row.preview), badges),
      ),
    ),
  );
}
