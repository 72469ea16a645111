/**
 * Images in, as Ultralytics sees them: `cv2.imdecode(bytes, cv2.IMREAD_COLOR)` (what its patched
 * `imread` calls), as RGB instead of OpenCV's BGR.
 *
 * - JPEG: libjpeg-turbo's decode (via `@jsquash/jpeg`, bit-exact with the libjpeg-turbo OpenCV links),
 *   then the EXIF orientation applied as OpenCV does ({@linkcode jpegOrientation}).
 * - PNG: every color type and bit depth, converted as libpng does for OpenCV's `IMREAD_COLOR`: gray
 *   replicated to RGB, palette expanded, alpha (or tRNS) dropped without blending, 16-bit samples cut to
 *   their high byte (`png_set_strip_16`), 1/2/4-bit gray scaled to 0..255.
 *
 * The format is sniffed from the first bytes, never the file name. Anything that cannot be read is a
 * one-line {@linkcode DatasetError} naming the file; a truncated JPEG is one too (OpenCV would return it
 * with the missing rows filled).
 *
 * @module
 */
import { decodeJpegWasm, decodePngWasm, initJpeg } from "../_deps.ts";
import { DatasetError } from "../errors.ts";
import { jpegOrientation, orientPixels } from "./image_exif.ts";
import { readFileOr } from "./_read_file.ts";

/** An 8-bit RGB image: `data` holds `width * height * 3` bytes, row-major, R G B per pixel. */
export interface Image {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** RGB bytes, row-major. */
  data: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Formats recognised only to name them in the error (OpenCV reads them; this reader does not yet). */
const OTHER_FORMATS: [number[], string][] = [
  [[0x47, 0x49, 0x46, 0x38], "GIF"],
  [[0x42, 0x4d], "BMP"],
  [[0x49, 0x49, 0x2a, 0x00], "TIFF"],
  [[0x4d, 0x4d, 0x00, 0x2a], "TIFF"],
];

const startsWith = (b: Uint8Array, sig: number[]) =>
  b.length >= sig.length && sig.every((v, i) => b[i] === v);

/**
 * Decodes a JPEG or PNG file into RGB pixels exactly as `cv2.imdecode(bytes, cv2.IMREAD_COLOR)` gives
 * them (channels reversed to RGB).
 *
 * @param bytes The whole file.
 * @param file The name used in error messages.
 * @returns The upright image.
 * @throws {DatasetError} When `bytes` is empty, not a JPEG or PNG, or corrupt or truncated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage } from "./image.ts";
 * await assert.rejects(decodeImage(new TextEncoder().encode("hello"), "a.jpg"), {
 *   name: "DatasetError",
 *   message: 'Cannot read image "a.jpg": not an image (starts with 68 65 6c 6c 6f)',
 * });
 * ```
 */
export async function decodeImage(bytes: Uint8Array, file = "<bytes>"): Promise<Image> {
  const fail = (why: string) => new DatasetError(file, `Cannot read image "${file}": ${why}`);
  if (bytes.length === 0) throw fail("file is empty");
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return await decodeJpeg(bytes, fail);
  }
  if (startsWith(bytes, PNG_SIGNATURE)) return await decodePng(bytes, fail);
  if (
    startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes.subarray(8), [0x57, 0x45, 0x42, 0x50])
  ) {
    throw fail("WebP is not supported (JPEG and PNG are)");
  }
  for (const [sig, name] of OTHER_FORMATS) {
    if (startsWith(bytes, sig)) throw fail(`${name} is not supported (JPEG and PNG are)`);
  }
  const head = [...bytes.subarray(0, 8)].map((v) => v.toString(16).padStart(2, "0")).join(" ");
  throw fail(`not an image (starts with ${head})`);
}

/**
 * Reads and decodes an image file ({@linkcode decodeImage}).
 *
 * @param path The file.
 * @returns The upright RGB image.
 * @throws {DatasetError} When the file cannot be read or decoded.
 */
export async function loadImage(path: string): Promise<Image> {
  const bytes = await readFileOr(path, (d) => new DatasetError(path, `Cannot read image "${path}": ${d}`));
  return await decodeImage(bytes, path);
}

/** RGBA (as the decoders return it) to RGB, alpha dropped. */
function rgbaToRgb(rgba: ArrayLike<number>, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    out[3 * i] = rgba[j];
    out[3 * i + 1] = rgba[j + 1];
    out[3 * i + 2] = rgba[j + 2];
  }
  return out;
}

function oneLine(e: unknown): string {
  const s = e instanceof Error ? e.message : typeof e === "string" ? e : String(e);
  return s.replace(/\s+/g, " ").trim();
}

// ---- JPEG ----

/**
 * libjpeg reports through the module's `printErr`: fatal errors just before it throws, warnings (such
 * as a truncated file) without throwing. Decodes run one at a time so each one's messages are its own.
 */
let jpegMessages: string[] | undefined;
let jpegReady: Promise<void> | undefined;
let jpegQueue: Promise<unknown> = Promise.resolve();

function jpegModule(): Promise<void> {
  jpegReady ??= initJpeg(
    {
      printErr: (msg: string) => {
        if (jpegMessages) jpegMessages.push(String(msg));
        else console.error(msg);
      },
    } as Parameters<typeof initJpeg>[0],
  );
  return jpegReady;
}

async function decodeJpeg(bytes: Uint8Array, fail: (why: string) => DatasetError): Promise<Image> {
  await jpegModule();
  const run = jpegQueue.then(async () => {
    const messages: string[] = [];
    jpegMessages = messages;
    try {
      const buf = bytes.slice().buffer as ArrayBuffer;
      const img = await decodeJpegWasm(buf, { preserveOrientation: false });
      return { img, messages };
    } catch (e) {
      return { error: messages.length > 0 ? messages.join("; ") : oneLine(e), messages };
    } finally {
      jpegMessages = undefined;
    }
  });
  jpegQueue = run.catch(() => {});
  const r = await run;
  if ("error" in r) throw fail(`corrupt JPEG data (${oneLine(r.error)})`);
  // libjpeg's JWRN_JPEG_EOF: the file ends before the image does. Other warnings (extraneous bytes,
  // a corrupt segment) leave a usable image, as OpenCV returns it.
  const premature = r.messages.find((m) => m.startsWith("Premature end of JPEG file"));
  if (premature) throw fail(`truncated JPEG data (${oneLine(premature)})`);
  const { width, height, data } = r.img;
  const rgb: Image = { width, height, data: rgbaToRgb(data, width * height) };
  return orientPixels(rgb, jpegOrientation(bytes));
}

// ---- PNG ----

/** Bit depths allowed for each PNG color type. */
const PNG_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16], // gray
  2: [8, 16], // RGB
  3: [1, 2, 4, 8], // palette
  4: [8, 16], // gray + alpha
  6: [8, 16], // RGBA
};

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Checks what libpng would refuse before decoding: IHDR first and valid, every chunk inside the file,
 * critical chunks (IHDR, PLTE, IDAT, IEND) with a correct CRC, IEND present. Returns the problem or "".
 */
function pngProblem(b: Uint8Array): string {
  const u32 = (o: number) => ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  const type = (o: number) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
  if (b.length < 33 || type(12) !== "IHDR" || u32(8) !== 13) return "no IHDR chunk";
  const depth = b[24], color = b[25];
  if (!PNG_DEPTHS[color]?.includes(depth)) return `bad IHDR (bit depth ${depth}, color type ${color})`;
  if (u32(16) === 0 || u32(20) === 0) return "bad IHDR (zero size)";
  let o = 8;
  while (o + 12 <= b.length) {
    const len = u32(o);
    const t = type(o + 4);
    if (o + 12 + len > b.length) return `truncated (chunk "${t}" runs past the end)`;
    const critical = b[o + 4] >= 0x41 && b[o + 4] <= 0x5a; // uppercase first letter
    if (critical && crc32(b.subarray(o + 4, o + 8 + len)) !== u32(o + 8 + len)) {
      return `CRC error in chunk "${t}"`;
    }
    if (t === "IEND") return "";
    o += 12 + len;
  }
  return "truncated (no IEND chunk)";
}

async function decodePng(bytes: Uint8Array, fail: (why: string) => DatasetError): Promise<Image> {
  const problem = pngProblem(bytes);
  if (problem) throw fail(`corrupt PNG data (${problem})`);
  let img: ImageData;
  try {
    // 8-bit output: libpng-style expansion to RGBA; 16-bit samples keep their high byte.
    img = await decodePngWasm(bytes.slice().buffer as ArrayBuffer);
  } catch (e) {
    const msg = oneLine(e);
    throw fail(`corrupt PNG data (${msg.includes("unwrap_throw") ? "invalid image data" : msg})`);
  }
  return { width: img.width, height: img.height, data: rgbaToRgb(img.data, img.width * img.height) };
}
