/** A real PNG for the upload test (hand-written encoder: ~20 lines, no image package needed). */
import { crc32, deflateSync } from "node:zlib";

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A sunset-like gradient with grain (the grain keeps it large enough for upload progress to show). */
export function makePng(width: number, height: number): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let seed = 42;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed % 33) - 16;
  };
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    const t = y / height;
    for (let x = 0; x < width; x++) {
      const sun = Math.max(0, 1 - Math.hypot(x - width * 0.7, y - height * 0.55) / (height * 0.35));
      const sea = y > height * 0.62 ? 0.55 : 1;
      const px = row + 1 + x * 3;
      raw[px] = clamp((40 + 200 * t + 120 * sun) * sea + noise());
      raw[px + 1] = clamp((60 + 90 * t + 140 * sun) * sea + noise());
      raw[px + 2] = clamp((150 - 60 * t + 30 * sun) * (y > height * 0.62 ? 1.1 : 1) + noise());
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
