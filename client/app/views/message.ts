/** One message in the timeline: author, time, body with @mentions, attachments, own-message actions. */
import type { Message } from "../../index.ts";
import { errorText, formatTime, h } from "../dom.ts";
import type { Files } from "../files.ts";
import { idTag, type People } from "../people.ts";

export interface MessageContext {
  me: string;
  myHandle: string;
  people: People;
  files: Files;
  edit(m: Message, body: string): Promise<void>;
  remove(m: Message): Promise<void>;
}

const MENTION = /(@[a-z0-9_]{3,30})/g;

/** Body text with @handles wrapped (as text nodes: nothing is parsed as HTML). */
function bodyNodes(body: string, myHandle: string): (string | HTMLElement)[] {
  return body
    .split(MENTION)
    .map((part, i) =>
      i % 2 === 1 ? h("span", { class: part.slice(1) === myHandle ? "mention me" : "mention" }, part) : part,
    );
}

export function renderMessage(m: Message, ctx: MessageContext): HTMLLIElement {
  const own = m.authorId === ctx.me;
  const li = h("li", {
    class: `msg${own ? " own" : ""}${m.deletedAt ? " deleted" : ""}`,
    "data-seq": m.seq,
    "data-id": m.id,
    "data-client-id": m.clientId,
  });
  fill(li, m, ctx);
  return li;
}

export function fill(li: HTMLLIElement, m: Message, ctx: MessageContext) {
  const own = m.authorId === ctx.me;
  li.classList.toggle("deleted", Boolean(m.deletedAt));
  const author = ctx.people.get(m.authorId);
  const meta = h(
    "div",
    { class: "msg-meta" },
    h("span", { class: "author" }, author?.name ?? "Someone"),
    // Someone the client cannot name (a guest has no member list): a short id keeps authors apart.
    author
      ? h("span", { class: "handle" }, `@${author.handle}`)
      : h("span", { class: "handle", title: m.authorId }, idTag(m.authorId)),
    h(
      "time",
      { datetime: m.createdAt, title: new Date(m.createdAt).toLocaleString() },
      formatTime(m.createdAt),
    ),
    m.editedAt && !m.deletedAt ? h("span", { class: "edited" }, "(edited)") : null,
  );
  const body = m.deletedAt
    ? h("p", { class: "msg-body tombstone" }, "This message was deleted.")
    : h("p", { class: "msg-body" }, ...bodyNodes(m.body, ctx.myHandle));
  const attachments =
    !m.deletedAt && m.attachments.length > 0
      ? h(
          "ul",
          { class: "attachments", "aria-label": "Attachments" },
          ...m.attachments.map((id) => ctx.files.render(id)),
        )
      : null;
  const actions = own && !m.deletedAt ? ownActions(li, m, ctx) : null;
  li.replaceChildren(meta, body, ...(attachments ? [attachments] : []), ...(actions ? [actions] : []));
}

function ownActions(li: HTMLLIElement, m: Message, ctx: MessageContext): HTMLElement {
  const bar = h("div", { class: "msg-actions" });
  const reset = () => bar.replaceChildren(editButton, deleteButton);
  const editButton = h("button", { type: "button", onClick: () => startEdit(li, m, ctx) }, "Edit");
  const deleteButton = h(
    "button",
    {
      type: "button",
      onClick: () => {
        const confirm = h(
          "button",
          {
            type: "button",
            class: "danger",
            onClick: () => {
              confirm.disabled = true;
              ctx.remove(m).catch((err) => {
                bar.replaceChildren(h("span", { class: "error", role: "alert" }, errorText(err)));
                setTimeout(reset, 4000);
              });
            },
          },
          "Delete for everyone",
        );
        bar.replaceChildren(confirm, h("button", { type: "button", onClick: reset }, "Cancel"));
        confirm.focus();
      },
    },
    "Delete",
  );
  reset();
  return bar;
}

function startEdit(li: HTMLLIElement, m: Message, ctx: MessageContext) {
  const id = `edit-${m.id}`;
  const input = h("textarea", { id, rows: 2, maxlength: 4000, value: m.body });
  const error = h("p", { class: "error", role: "alert" });
  const cancel = () => fill(li, m, ctx);
  const form = h(
    "form",
    {
      class: "edit-form",
      onSubmit: (e: SubmitEvent) => {
        e.preventDefault();
        const body = input.value.trim();
        if (!body || body === m.body) return cancel();
        ctx.edit(m, body).catch((err) => {
          error.textContent = errorText(err);
        });
      },
    },
    h("label", { for: id, class: "sr-only" }, "Edit message"),
    input,
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", class: "primary" }, "Save"),
      h("button", { type: "button", onClick: cancel }, "Cancel"),
    ),
    error,
  );
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") cancel();
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  li.querySelector(".msg-body")?.replaceWith(form);
  li.querySelector(".msg-actions")?.remove();
  input.focus();
}
