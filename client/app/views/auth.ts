/** Sign-in screens: log in, register, password reset, email verification and the OAuth return. */

import type { Session } from "../../index.ts";
import { ok } from "../../index.ts";
import { errorText, h, logo } from "../dom.ts";
import { href, navigate } from "../router.ts";

const NEXT_KEY = "petrel:next";

/** Where to go after signing in (a deep link that needed a session), else home. */
export function rememberNext(path: string) {
  sessionStorage.setItem(NEXT_KEY, path);
}
function goNext() {
  const next = sessionStorage.getItem(NEXT_KEY);
  sessionStorage.removeItem(NEXT_KEY);
  navigate(next?.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
}

/** OAuth providers the Worker configured, from the meta tag it writes into index.html. */
function oauthProviders(): string[] {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="petrel-oauth-providers"]');
  return (meta?.content ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => /^[a-z0-9_-]{1,40}$/.test(s));
}
const PROVIDER_NAMES: Record<string, string> = { github: "GitHub", google: "Google", oidc: "single sign-on" };

function field(id: string, label: string, attrs: Record<string, string | number | boolean>, hint?: string) {
  const input = h("input", {
    id,
    name: id,
    required: true,
    ...attrs,
    ...(hint ? { "aria-describedby": `${id}-hint` } : {}),
  });
  return {
    input,
    el: h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      input,
      hint ? h("small", { id: `${id}-hint` }, hint) : null,
    ),
  };
}

function card(title: string, ...children: (HTMLElement | null)[]) {
  return h(
    "main",
    { class: "auth", id: "main" },
    h(
      "div",
      { class: "auth-card" },
      h("p", { class: "brand-big", "aria-hidden": "true" }, logo(), "Petrel"),
      h("h1", {}, title),
      ...children,
    ),
  );
}

function form(submitLabel: string, fields: HTMLElement[], run: () => Promise<void>) {
  const error = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary wide" }, submitLabel);
  const el = h(
    "form",
    {
      onSubmit: async (e: SubmitEvent) => {
        e.preventDefault();
        error.textContent = "";
        button.disabled = true;
        try {
          await run();
        } catch (err) {
          error.textContent = errorText(err);
        } finally {
          button.disabled = false;
        }
      },
    },
    ...fields,
    error,
    button,
  );
  return el;
}

export function loginView(session: Session, flash?: string): HTMLElement {
  const email = field("email", "Email", { type: "email", autocomplete: "email" });
  const password = field("password", "Password", { type: "password", autocomplete: "current-password" });
  const providers = oauthProviders();
  return card(
    "Log in",
    flash ? h("p", { class: "flash", role: "status" }, flash) : null,
    form("Log in", [email.el, password.el], async () => {
      await session.login(email.input.value, password.input.value);
      goNext();
    }),
    providers.length
      ? h(
          "div",
          { class: "oauth" },
          h("p", { class: "muted" }, "or"),
          ...providers.map((p) =>
            h(
              "a",
              { class: "button wide", href: `/v1/auth/oauth/${p}/start` },
              `Continue with ${PROVIDER_NAMES[p] ?? p}`,
            ),
          ),
        )
      : null,
    h(
      "p",
      { class: "alt" },
      h("a", { href: href("/register") }, "Create an account"),
      " · ",
      h("a", { href: href("/forgot") }, "Forgot password?"),
    ),
  );
}

export function registerView(session: Session): HTMLElement {
  const name = field("name", "Name", { autocomplete: "name", maxlength: 100 });
  const email = field("email", "Email", { type: "email", autocomplete: "email" });
  const handle = field(
    "handle",
    "Handle (optional)",
    { autocomplete: "username", pattern: "[a-z0-9_]{3,30}", required: false },
    "3–30 characters: a–z, 0–9, _. Others mention you as @handle.",
  );
  const password = field(
    "password",
    "Password",
    { type: "password", autocomplete: "new-password", minlength: 10, maxlength: 128 },
    "At least 10 characters.",
  );
  return card(
    "Create your account",
    form("Create account", [name.el, email.el, handle.el, password.el], async () => {
      await session.register({
        name: name.input.value,
        email: email.input.value,
        password: password.input.value,
        ...(handle.input.value ? { handle: handle.input.value } : {}),
      });
      goNext();
    }),
    h("p", { class: "alt" }, "Already have an account? ", h("a", { href: href("/login") }, "Log in")),
  );
}

export function forgotView(session: Session): HTMLElement {
  const email = field("email", "Email", { type: "email", autocomplete: "email" });
  const done = h("p", { role: "status" });
  return card(
    "Reset your password",
    form("Send reset link", [email.el], async () => {
      await ok(session.api.v1.auth.password.forgot.$post({ json: { email: email.input.value } }));
      done.textContent = "If an account exists for that address, a reset link is on its way.";
    }),
    done,
    h("p", { class: "alt" }, h("a", { href: href("/login") }, "Back to log in")),
  );
}

export function resetView(session: Session, token: string | null): HTMLElement {
  const password = field("password", "New password", {
    type: "password",
    autocomplete: "new-password",
    minlength: 10,
  });
  return card(
    "Choose a new password",
    form("Set password", [password.el], async () => {
      await ok(
        session.api.v1.auth.password.reset.$post({
          json: { token: token ?? "", password: password.input.value },
        }),
      );
      navigate("/login", { replace: true });
    }),
  );
}

export function verifyView(session: Session, token: string | null): HTMLElement {
  const status = h("p", { role: "status" }, "Verifying your email…");
  ok(session.api.v1.auth["verify-email"].$post({ json: { token: token ?? "" } })).then(
    () => status.replaceChildren("Your email is verified. ", h("a", { href: href("/") }, "Continue")),
    (err) => status.replaceChildren(`This link did not work: ${errorText(err)}`),
  );
  return card("Email verification", status);
}

export function oauthView(session: Session, code: string | null, error: string | null): HTMLElement {
  const status = h("p", { role: "status" }, "Signing you in…");
  if (!code) status.textContent = `Sign-in was cancelled${error ? ` (${error})` : ""}.`;
  else
    session.exchangeOAuthCode(code).then(goNext, (err) => {
      status.replaceChildren(
        `Sign-in failed: ${errorText(err)} `,
        h("a", { href: href("/login") }, "Try again"),
      );
    });
  return card("Signing in", status);
}
