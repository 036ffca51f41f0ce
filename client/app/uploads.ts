/**
 * File upload: declare the file (POST /v1/files), PUT the bytes to the signed upload URL with
 * XMLHttpRequest (fetch has no upload progress), then ask the API to check and complete it.
 */
import { type Client, type FileInfo, ok } from "../index.ts";

export interface UploadProgress {
  sent: number;
  total: number;
}

export async function uploadFile(
  api: Client,
  file: File,
  where: { orgId: string; roomId: string },
  onProgress: (p: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<FileInfo> {
  const created = await ok(
    api.v1.files.$post({
      json: {
        filename: file.name,
        contentType: file.type || "application/octet-stream",
        size: file.size,
        orgId: where.orgId,
        roomId: where.roomId,
      },
    }),
  );
  await put(created.upload, file, onProgress, signal);
  return ok(api.v1.files[":fileId"].complete.$post({ param: { fileId: created.file.id } }));
}

function put(
  target: { method: string; url: string; headers: Record<string, string> },
  file: File,
  onProgress: (p: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(target.method, new URL(target.url, window.location.href).toString());
    // Browsers set content-length themselves (setting it is refused), so skip it.
    for (const [k, v] of Object.entries(target.headers)) {
      if (k.toLowerCase() !== "content-length") xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) =>
      onProgress({ sent: e.loaded, total: e.lengthComputable ? e.total : file.size });
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress({ sent: file.size, total: file.size });
        resolve();
      } else reject(new Error(`Upload failed (${xhr.status}).`));
    };
    xhr.onerror = () => reject(new Error("Upload failed: network error."));
    xhr.onabort = () => reject(new DOMException("Upload cancelled.", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
