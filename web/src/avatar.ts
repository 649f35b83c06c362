// A round avatar with the id's initial, coloured by the id, and an optional presence dot.

import { el } from "./dom.ts";
import { hue } from "./text.ts";

export function avatar(id: string, group: boolean, online?: boolean): HTMLElement {
  const node = el("span", { class: group ? "avatar group" : "avatar", "aria-hidden": "true" });
  fillAvatar(node, id, group, online);
  return node;
}

/** (Re)fill an avatar element in place: initial, colour, dot. */
export function fillAvatar(node: HTMLElement, id: string, group: boolean, online?: boolean): void {
  node.className = group ? "avatar group" : "avatar";
  // Set through the CSSOM, which the page's Content-Security-Policy allows (style attributes it does not).
  node.style.setProperty("--hue", String(hue(id)));
  const initial = group ? "#" : (Array.from(id)[0] ?? "?").toUpperCase();
  node.replaceChildren(initial);
  if (online !== undefined) {
    node.appendChild(el("span", { class: online ? "dot online" : "dot", title: online ? "online" : "offline" }));
  }
}
