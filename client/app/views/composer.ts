/** The message composer: text, file attachments with real upload progress, Enter to send. */
import type { Client, FileInfo } from "../../index.ts";
import { announce, errorText, formatBytes, h, icon } from "../dom.ts";
import { uploadFile } from "../uploads.ts";

interface ComposerOptions {
  api: Client;
  orgId: string;
  roomId: string;
  roomName: string;
  send(body: string, attachments: string[]): void;
  typing(): void;
}

interface Upload {
  li: HTMLLIElement;
  file?: FileInfo;
  abort: AbortController;
  done: Promise<void>;
}

export class Composer {
  readonly el: HTMLFormElement;
  private input: HTMLTextAreaElement;
  private uploads = new Set<Upload>();
  private list = h("ul", { class: "uploads", "aria-label": "Attachments to send" });
  private sendButton = h("button", { type: "submit", class: "primary" }, "Send");
  private error = h("p", { class: "error", role: "alert" });
  private readonly opts: ComposerOptions;

  constructor(opts: ComposerOptions) {
    this.opts = opts;
    this.input = h("textarea", {
      id: "composer-input",
      rows: 1,
      maxlength: 4000,
      placeholder: `Message #${opts.roomName}`,
      autocomplete: "off",
      onInput: () => opts.typing(),
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.el.requestSubmit();
      }
    });
    this.input.addEventListener("paste", (e) => {
      const files = [...(e.clipboardData?.files ?? [])];
      if (files.length) this.attach(files);
    });
    const picker = h("input", {
      type: "file",
      id: "composer-file",
      class: "sr-only",
      multiple: true,
      onChange: () => {
        this.attach([...(picker.files ?? [])]);
        picker.value = "";
      },
    });
    this.el = h(
      "form",
      { class: "composer", "aria-label": "Send a message", onSubmit: (e: SubmitEvent) => this.submit(e) },
      this.list,
      h(
        "div",
        { class: "composer-row" },
        picker,
        h(
          "label",
          { for: "composer-file", class: "button attach", title: "Attach files" },
          icon("clip"),
          h("span", { class: "sr-only" }, "Attach files"),
        ),
        h("label", { for: "composer-input", class: "sr-only" }, `Message #${opts.roomName}`),
        this.input,
        this.sendButton,
      ),
      this.error,
    );
  }

  focus() {
    this.input.focus();
  }

  private attach(files: File[]) {
    for (const file of files) this.startUpload(file);
  }

  private startUpload(file: File) {
    const progress = h("progress", { max: file.size, value: 0, "aria-label": `Uploading ${file.name}` });
    const bytes = h("span", { class: "bytes" }, `0 B / ${formatBytes(file.size)}`);
    const preview = file.type.startsWith("image/")
      ? h("img", { class: "thumb", src: URL.createObjectURL(file), alt: "" })
      : h("span", { class: "thumb file" }, icon("file"));
    const abort = new AbortController();
    const li = h(
      "li",
      { class: "upload uploading", "data-filename": file.name },
      preview,
      h("span", { class: "name" }, file.name),
      progress,
      bytes,
      h("button", { type: "button", class: "link", onClick: () => this.removeUpload(upload) }, "Remove"),
    );
    const upload: Upload = { li, abort, done: Promise.resolve() };
    upload.done = uploadFile(
      this.opts.api,
      file,
      { orgId: this.opts.orgId, roomId: this.opts.roomId },
      ({ sent, total }) => {
        progress.max = total;
        progress.value = sent;
        bytes.textContent = `${formatBytes(sent)} / ${formatBytes(total)}`;
      },
      abort.signal,
    ).then(
      (info) => {
        upload.file = info;
        li.classList.replace("uploading", "ready");
        bytes.textContent = `${formatBytes(info.size)} · ready`;
        announce(`${file.name} uploaded`);
        this.refresh();
      },
      (err) => {
        if (abort.signal.aborted) return;
        li.classList.replace("uploading", "failed");
        bytes.textContent = errorText(err);
        this.refresh();
      },
    );
    this.uploads.add(upload);
    this.list.append(li);
    this.refresh();
  }

  private removeUpload(upload: Upload) {
    upload.abort.abort();
    const img = upload.li.querySelector("img");
    if (img) URL.revokeObjectURL(img.src);
    upload.li.remove();
    this.uploads.delete(upload);
    this.refresh();
  }

  private busy() {
    return [...this.uploads].some((u) => u.li.classList.contains("uploading"));
  }

  private refresh() {
    this.sendButton.disabled = this.busy();
    this.sendButton.textContent = this.busy() ? "Uploading…" : "Send";
  }

  private submit(e: SubmitEvent) {
    e.preventDefault();
    if (this.busy()) return;
    const ready = [...this.uploads].filter((u) => u.file);
    const text = this.input.value.trim();
    if (!text && ready.length === 0) return;
    const body = text || ready.map((u) => u.file!.filename).join(", ");
    this.error.textContent = "";
    this.opts.send(
      body.slice(0, 4000),
      ready.map((u) => u.file!.id),
    );
    for (const u of [...this.uploads]) this.removeUpload(u);
    this.input.value = "";
    this.input.focus();
  }
}
