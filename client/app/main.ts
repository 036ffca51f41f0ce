/** Petrel web client: resumes the session from the refresh cookie, then routes. */
import "./styles.css";
import { Session } from "../index.ts";
import { h } from "./dom.ts";
import { parse, startRouter } from "./router.ts";
import {
  forgotView,
  loginView,
  oauthView,
  registerView,
  rememberNext,
  resetView,
  verifyView,
} from "./views/auth.ts";
import { Shell } from "./views/shell.ts";

const root = document.getElementById("app")!;
const session = new Session(window.location.origin);
let shell: Shell | null = null;
let flash: string | undefined;

function show(el: HTMLElement) {
  root.replaceChildren(el);
}

function endShell() {
  shell?.destroy();
  shell = null;
}

session.onEnd((reason) => {
  endShell();
  flash = reason === "expired" ? "Your session has ended. Please log in again." : undefined;
  if (reason === "expired")
    rememberNext(window.location.pathname.replace(/^\/app/, "") + window.location.search);
  history.replaceState(null, "", "/app/login");
  render();
});

async function render() {
  const route = parse();
  switch (route.name) {
    case "oauth":
      return show(oauthView(session, route.code, route.error));
    case "verify":
      return show(verifyView(session, route.token));
    case "reset":
      return show(resetView(session, route.token));
    case "login":
    case "register":
    case "forgot":
      if (session.signedIn) {
        history.replaceState(null, "", "/app/");
        return render();
      }
      endShell();
      show(
        route.name === "login"
          ? loginView(session, flash)
          : route.name === "register"
            ? registerView(session)
            : forgotView(session),
      );
      flash = undefined;
      document.querySelector<HTMLInputElement>("main input")?.focus();
      return;
  }
  if (!session.signedIn) {
    rememberNext(window.location.pathname.replace(/^\/app/, "") + window.location.search);
    history.replaceState(null, "", "/app/login");
    return render();
  }
  if (!shell) {
    const created = new Shell(session);
    shell = created;
    show(created.el);
    await created.start().catch(() => undefined);
    if (shell !== created) return;
  }
  await shell.show(route);
}

show(h("p", { class: "boot", role: "status" }, "Loading Petrel…"));
session.resume().then(() => startRouter(() => void render()));
