// The page's entry: the sign-in form, then the chat as that (user, device).

import { ChatPage } from "./chat.ts";
import { byId } from "./dom.ts";
import { fetchToken } from "./admin.ts";
import {
  forgetTabIdentity,
  idProblem,
  lastIdentity,
  rememberIdentity,
  tabIdentity,
  type Identity,
} from "./login.ts";

let page: ChatPage | null = null;

function showLogin(reason?: string): void {
  void page?.stop();
  page = null;
  forgetTabIdentity();
  byId("chat").hidden = true;
  byId("login").hidden = false;
  document.title = "Courier chat";
  byId("login-error").textContent = reason ?? "";
  const last = lastIdentity();
  const user = byId<HTMLInputElement>("login-user");
  const device = byId<HTMLInputElement>("login-device");
  if (last !== null && user.value === "") {
    user.value = last.user;
    device.value = last.device;
  }
  user.focus();
}

async function signIn(who: Identity): Promise<void> {
  const submit = byId<HTMLButtonElement>("login-submit");
  submit.disabled = true;
  try {
    const token = await fetchToken(who);
    rememberIdentity(who);
    byId("login").hidden = true;
    byId("chat").hidden = false;
    const current = new ChatPage(who, token, showLogin);
    page = current;
    await current.start().catch((error: unknown) => {
      if (page === current) throw error; // else signed out while connecting: not a failure
    });
  } catch (error) {
    showLogin(`Could not sign in: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    submit.disabled = false;
  }
}

function onSubmit(event: Event): void {
  event.preventDefault();
  const user = byId<HTMLInputElement>("login-user").value.trim();
  const device = byId<HTMLInputElement>("login-device").value.trim() || "browser";
  const problem = idProblem("user", user) ?? idProblem("device", device);
  byId("login-error").textContent = problem ?? "";
  if (problem === null) void signIn({ user, device });
}

byId<HTMLFormElement>("login-form").addEventListener("submit", onSubmit);
for (const chip of document.querySelectorAll<HTMLButtonElement>(".chip[data-user]")) {
  chip.addEventListener("click", () => {
    byId<HTMLInputElement>("login-user").value = chip.dataset.user ?? "";
    byId<HTMLInputElement>("login-device").focus();
  });
}
// A reload keeps this tab signed in as it was; a new tab starts at the form.
const signedIn = tabIdentity();
if (signedIn === null) showLogin();
else void signIn(signedIn);
