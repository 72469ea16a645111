/**
 * Small image files and temporary dataset folders for the dataset tests, and a capture of what
 * `src/log.ts` prints.
 */
import encodeJpeg from "@jsquash/jpeg/encode.js";
import encodePng from "@jsquash/png/encode.js";
import { dirname, join } from "node:path";

/** A `width` x `height` gray-gradient RGBA image. */
function pixels(width: number, height: number): ImageData {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([(i * 7) % 256, (i * 13) % 256, 128, 255], 4 * i);
  return { data, width, height, colorSpace: "srgb" } as ImageData;
}

/** A baseline JPEG of `width` x `height`. */
export async function jpeg(width: number, height: number): Promise<Uint8Array> {
  return new Uint8Array(await encodeJpeg(pixels(width, height), { quality: 90 }));
}

/** An RGBA PNG of `width` x `height`. */
export async function png(width: number, height: number): Promise<Uint8Array> {
  return new Uint8Array(await encodePng(pixels(width, height)));
}

/** `jpegBytes` with an Exif APP1 (little-endian TIFF, IFD0 holding only Orientation) right after SOI. */
export function withOrientation(jpegBytes: Uint8Array, orientation: number): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 + 4);
  const dv = new DataView(tiff.buffer);
  tiff.set([0x49, 0x49]);
  dv.setUint16(2, 42, true);
  dv.setUint32(4, 8, true);
  dv.setUint16(8, 1, true);
  dv.setUint16(10, 0x0112, true);
  dv.setUint16(12, 3, true);
  dv.setUint32(14, 1, true);
  dv.setUint16(18, orientation, true);
  const payload = [..."Exif\0\0"].map((c) => c.charCodeAt(0)).concat([...tiff]);
  const len = payload.length + 2;
  const app1 = [0xff, 0xe1, len >> 8, len & 255, ...payload];
  return new Uint8Array([...jpegBytes.subarray(0, 2), ...app1, ...jpegBytes.subarray(2)]);
}

/** Writes `files` (relative path → text or bytes) under `root`, making folders. */
export async function writeTree(root: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    await Deno.mkdir(dirname(path), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
  }
}

/** Lines printed through `src/log.ts` (console.log and console.error) while `fn` runs. */
export async function captureLogs<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    return { result: await fn(), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}
