/**
 * Attachment metadata, fetched once per file and kept until shortly before its signed download
 * URL expires; images get an <img> with that URL, other files a download link.
 */
import { type Client, type FileInfo, ok } from "../index.ts";
import { formatBytes, h, icon } from "./dom.ts";

const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

export class Files {
  private cache = new Map<string, { at: number; file: Promise<FileInfo> }>();
  private readonly api: Client;

  constructor(api: Client) {
    this.api = api;
  }

  get(id: string, fresh = false): Promise<FileInfo> {
    const hit = this.cache.get(id);
    if (hit && !fresh && Date.now() - hit.at < 60_000) return hit.file;
    const file = ok(this.api.v1.files[":fileId"].$get({ param: { fileId: id } }));
    this.cache.set(id, { at: Date.now(), file });
    file.catch(() => this.cache.delete(id));
    return file;
  }

  /** A placeholder now, the preview or link once the metadata is in. */
  render(id: string): HTMLElement {
    const item = h(
      "li",
      { class: "attachment", "data-file-id": id },
      h("span", { class: "muted" }, "Loading file…"),
    );
    this.get(id)
      .then((f) => item.replaceChildren(this.view(f)))
      .catch(() => item.replaceChildren(h("span", { class: "muted" }, "File unavailable")));
    return item;
  }

  private view(f: FileInfo): HTMLElement {
    if (f.status !== "ready" || !f.downloadUrl)
      return h("span", { class: "muted" }, `${f.filename} (processing)`);
    if (IMAGE_TYPES.has(f.contentType)) {
      let retried = false;
      const img = h("img", {
        src: f.downloadUrl,
        alt: f.filename,
        loading: "lazy",
        decoding: "async",
        // A signed URL that expired while the page was open: fetch a fresh one, once.
        onError: () => {
          if (retried) return;
          retried = true;
          this.get(f.id, true)
            .then((again) => {
              if (again.downloadUrl) img.src = again.downloadUrl;
            })
            .catch(() => undefined);
        },
      });
      return h(
        "figure",
        { class: "image" },
        h("a", { href: f.downloadUrl, target: "_blank", rel: "noopener" }, img),
        h("figcaption", {}, `${f.filename} · ${formatBytes(f.size)}`),
      );
    }
    return h(
      "a",
      { class: "file-link", href: f.downloadUrl, rel: "noopener", download: f.filename },
      icon("file"),
      `${f.filename} (${formatBytes(f.size)})`,
    );
  }
}
