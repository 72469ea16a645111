/**
 * What a `POST /predict` carries, read and checked with one-line errors: the image (the raw body, or the
 * `file` / `image` field of a `multipart/form-data` body), and the prediction parameters (the query string,
 * or form fields; the query wins).
 * @module
 */
import type { BatchOptions } from "../modes/predict.ts";

/** A request the server answers with `status` and `{ "error": message }`. */
export class HttpError extends Error {
  /** Always `"HttpError"`. */
  override name = "HttpError";
  /** The HTTP status to answer with. */
  status: number;
  /** An error answered with `status` and the one-line `message`. */
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The parameters of one prediction request. */
export interface PredictParams extends BatchOptions {
  /** `json`: the `predictions.json` entry and `speed`; `png`: the annotated image. */
  format: "json" | "png";
}

/** What a request may ask for. */
export interface ParamLimits {
  /** Number of classes of the model (`classes` must be below it). */
  nc: number;
  /** `imgsz` must be a multiple of this (the model's largest stride). */
  stride: number;
  /** The largest `imgsz`. */
  maxImgsz: number;
}

/** The parameters a request may set (also as form fields). */
export const PARAM_KEYS = [
  "conf",
  "iou",
  "imgsz",
  "max_det",
  "classes",
  "agnostic_nms",
  "retina_masks",
  "format",
] as const;

const bad = (key: string, want: string, got: string) =>
  new HttpError(400, `Give "${key}" as ${want}: got "${got}"`);

function number(key: string, v: string, lo: number, hi: number): number {
  const x = v.trim() === "" ? NaN : Number(v);
  if (!(x >= lo && x <= hi)) throw bad(key, `a number from ${lo} to ${hi}`, v);
  return x;
}

function integer(key: string, v: string, lo: number, hi: number, multiple = 1): number {
  const x = v.trim() === "" ? NaN : Number(v);
  if (!Number.isInteger(x) || x < lo || x > hi || x % multiple !== 0) {
    const of = multiple > 1 ? `a multiple of ${multiple}` : "an integer";
    throw bad(key, `${of} from ${lo} to ${hi}`, v);
  }
  return x;
}

function boolean(key: string, v: string): boolean {
  const s = v.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(s)) return true;
  if (["false", "0", "no", "off", ""].includes(s)) return false;
  throw bad(key, "true or false", v);
}

/**
 * The prediction parameters of a request: `defaults` overridden by the given `key=value` pairs.
 *
 * @param entries Query or form pairs; `classes` may repeat or list several (`0,2` or `[0, 2]`).
 * @param defaults The server's parameters.
 * @param limits What the model allows.
 * @returns The checked parameters.
 * @throws {HttpError} 400 naming the first unknown key or bad value.
 */
export function parseParams(
  entries: Iterable<[string, string]>,
  defaults: PredictParams,
  limits: ParamLimits,
): PredictParams {
  const p: PredictParams = { ...defaults };
  let classes: number[] | undefined;
  for (const [key, v] of entries) {
    switch (key) {
      case "conf":
      case "iou":
        p[key] = number(key, v, 0, 1);
        break;
      case "imgsz":
        p.imgsz = integer(key, v, limits.stride, limits.maxImgsz, limits.stride);
        break;
      case "max_det":
        p.max_det = integer(key, v, 1, 10_000);
        break;
      case "classes":
        classes ??= [];
        for (const s of v.replace(/^\s*[[(]|[\])]\s*$/g, "").split(",")) {
          if (s.trim() !== "") classes.push(integer(key, s.trim(), 0, limits.nc - 1));
        }
        break;
      case "agnostic_nms":
      case "retina_masks":
        p[key] = boolean(key, v);
        break;
      case "format":
        if (v !== "json" && v !== "png") throw bad(key, '"json" or "png"', v);
        p.format = v;
        break;
      default:
        throw new HttpError(400, `Unknown parameter "${key}": use ${PARAM_KEYS.join(", ")}`);
    }
  }
  if (classes) p.classes = classes.length > 0 ? classes : null;
  return p;
}

const mb = (n: number) => `${+(n / 2 ** 20).toFixed(2)} MiB`;

/**
 * The request body, refused with 413 when its `Content-Length` or, while it streams in, its size passes
 * `maxBytes`.
 *
 * @param req The request.
 * @param maxBytes The largest body accepted.
 * @returns The body's bytes (empty when there is none).
 * @throws {HttpError} 413 for a body over `maxBytes`.
 */
export async function readBody(req: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = (size: string) =>
    new HttpError(413, `Send an image of at most ${mb(maxBytes)}: the body is ${size}`);
  const length = Number(req.headers.get("content-length") ?? NaN);
  if (length > maxBytes) throw tooLarge(mb(length));
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`over ${mb(maxBytes)}`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array<ArrayBuffer>; // stream chunks own their buffers
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) out.set(c, at), at += c.length;
  return out;
}

/** The image and parameters of one `POST /predict`. */
export interface PredictRequest {
  /** The image file's bytes. */
  bytes: Uint8Array;
  /** Its name: the uploaded file's name, else `image0.jpg` (as `predict` names bytes). */
  file: string;
  /** The checked parameters. */
  params: PredictParams;
}

/**
 * Reads a `POST /predict`: the image from the raw body or a multipart `file` (or `image`) field, the
 * parameters from form fields and the query string.
 *
 * @param req The request.
 * @param defaults The server's parameters.
 * @param limits The model's limits and the largest body.
 * @returns The image bytes, their name and the parameters.
 * @throws {HttpError} 400 for bad parameters or a multipart body without an image, 413 for a body too large.
 */
export async function readPredictRequest(
  req: Request,
  defaults: PredictParams,
  limits: ParamLimits & { maxBytes: number },
): Promise<PredictRequest> {
  const query = [...new URL(req.url).searchParams];
  const body = await readBody(req, limits.maxBytes);
  const type = req.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data\b/i.test(type)) {
    return { bytes: body, file: "image0.jpg", params: parseParams(query, defaults, limits) };
  }
  let form: FormData;
  try {
    form = await new Response(body, { headers: { "content-type": type } }).formData();
  } catch (e) {
    throw new HttpError(400, `Send a valid multipart/form-data body: ${e instanceof Error ? e.message : e}`);
  }
  const fields: [string, string][] = [];
  let image: File | undefined;
  for (const [key, value] of form) {
    if (key === "file" || key === "image") {
      if (typeof value === "string") throw new HttpError(400, `Send "${key}" as a file, not a text field`);
      image ??= value;
    } else fields.push([key, typeof value === "string" ? value : value.name]);
  }
  if (!image) throw new HttpError(400, 'Send the image in a "file" (or "image") field of the form');
  return {
    bytes: new Uint8Array(await image.arrayBuffer()),
    file: image.name || "image0.jpg",
    params: parseParams([...fields, ...query], defaults, limits),
  };
}

/**
 * An image's `[height, width]` from its header (JPEG frame or PNG `IHDR`), without decoding: a size check
 * before decoding refuses decompression bombs.
 *
 * @param b The file's bytes.
 * @returns The size, or null when the bytes are not a JPEG or PNG with a readable header (the decoder then
 *   says why).
 */
export function headerSize(b: Uint8Array): [number, number] | null {
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    if (String.fromCharCode(...b.subarray(12, 16)) !== "IHDR") return null;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return [v.getUint32(20), v.getUint32(16)];
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= b.length && b[i] === 0xff) {
    const m = b[i + 1];
    if (m === 0xff || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += m === 0xff ? 1 : 2;
      continue;
    }
    if (m === 0xda || m === 0xd9) return null;
    // SOF0..SOF15 carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return i + 9 <= b.length ? [(b[i + 5] << 8) | b[i + 6], (b[i + 7] << 8) | b[i + 8]] : null;
    }
    i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  return null;
}
