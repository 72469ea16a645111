/**
 * Downloads: Ultralytics' official segmentation weights fetched by name on first use (as its
 * `attempt_download_asset`), and the plain HTTP(S) fetch that weights and `http(s)://` image sources share.
 * Redirects are followed (GitHub release assets redirect to a CDN), the body length is checked against
 * `Content-Length`, and every failure is one line naming the URL.
 * @module
 */
import { join } from "node:path";
import { CheckpointError } from "../errors.ts";
import { progress } from "../log.ts";
import { envVar } from "../env.ts";

/** Where Ultralytics publishes the weights of its 8.3.x releases. */
export const ASSETS_URL = "https://github.com/ultralytics/assets/releases/download/v8.3.0";

/** The checkpoints that download by name: YOLO11 and YOLOv8 segmentation, every scale. */
export const OFFICIAL_WEIGHTS: ReadonlySet<string> = new Set(
  ["yolo11", "yolov8"].flatMap((v) => ["n", "s", "m", "l", "x"].map((s) => `${v}${s}-seg.pt`)),
);

/** Where official weights are looked for and downloaded to. */
export interface WeightsOptions {
  /**
   * The folder of downloaded weights.
   * @default `$YOLO_WGSL_WEIGHTS_DIR` when set, else `"weights"` (relative to the working directory)
   */
  weightsDir?: string | null;
  /**
   * The URL the weight names are appended to (a test or a mirror points it elsewhere).
   * @default `$YOLO_WGSL_ASSETS_URL` when set, else {@link ASSETS_URL}
   */
  assetsUrl?: string | null;
}

/** The weights folder that `weightsDir` (or its default) names. */
export function weightsDir(dir?: string | null): string {
  return dir ?? envVar("YOLO_WGSL_WEIGHTS_DIR") ?? "weights";
}

/** Why a request failed, in a few words ("connection refused (offline?)", "HTTP 404 Not Found"). */
function networkDetail(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause !== undefined ? String(error.cause) : "";
  const text = `${message} ${cause}`;
  if (/dns error|lookup address|name resolution|name or service not known/i.test(text)) {
    return "DNS lookup failed (offline?)";
  }
  if (/connection refused/i.test(text)) return "connection refused (offline?)";
  if (/network is unreachable|no route to host/i.test(text)) return "network unreachable (offline?)";
  if (/timed out|timeout/i.test(text)) return "connection timed out (offline?)";
  if (/connection reset/i.test(text)) return "connection reset (offline?)";
  // Anything else (TLS, a permission, a blocked port): its own first line, without the URL prefix.
  const first = (cause || message).split("\n")[0];
  return first.replace(/^(Error: )?error sending request for url \([^)]*\): /, "");
}

const mb = (n: number) => (n / 1e6).toFixed(1);

/** `fail(detail)` with `cause` attached. */
function failWith(fail: (detail: string) => Error, detail: string, cause: unknown): Error {
  const e = fail(detail);
  e.cause = cause;
  return e;
}

/** The first line of an error's message. */
const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split("\n")[0];

/** What {@link fetchInto} reports as the body arrives. */
type OnProgress = (received: number, total: number | undefined) => void;

/**
 * Stream `url`'s body into `write`, refusing a non-2xx status and a body shorter or longer than its
 * `Content-Length`.
 * @returns The number of bytes received.
 * @throws The error `fail(detail)` returns, with the original error as its cause.
 */
async function fetchInto(
  url: string,
  fail: (detail: string) => Error,
  write: (chunk: Uint8Array) => Promise<void> | void,
  onProgress?: OnProgress,
): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw failWith(fail, networkDetail(e), e);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
  }
  // fetch undoes a Content-Encoding, after which the header counts other bytes.
  const encoding = response.headers.get("content-encoding");
  const length = Number(response.headers.get("content-length") ?? NaN);
  const total = Number.isFinite(length) && (!encoding || encoding === "identity") ? length : undefined;
  let received = 0;
  const cut = () =>
    `the connection was cut after ${received}${total === undefined ? "" : ` of ${total}`} bytes`;
  const reader = response.body?.getReader();
  while (reader) {
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (e) {
      throw failWith(fail, cut(), e);
    }
    if (step.done) break;
    received += step.value.length;
    try {
      await write(step.value);
    } catch (e) {
      await reader.cancel().catch(() => {});
      throw e;
    }
    onProgress?.(received, total);
  }
  if (total !== undefined && received !== total) throw fail(cut());
  return received;
}

/**
 * The body of `url` as bytes.
 *
 * @param url An `http://` or `https://` URL.
 * @param fail Builds the error to throw from a short detail ("HTTP 404 Not Found").
 * @returns The whole body.
 * @throws The error `fail(detail)` returns when offline, refused, not 2xx, or cut short.
 */
export async function fetchBytes(url: string, fail: (detail: string) => Error): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const n = await fetchInto(url, fail, (c) => void chunks.push(c));
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Download `url` to `dest` with a progress line: the body goes to `<dest>.part`, renamed to `dest` once
 * complete, so an interrupted download never leaves a partial `dest` (the `.part` file is removed).
 *
 * @param url An `http://` or `https://` URL.
 * @param dest The file to create (its folder must exist).
 * @param fail Builds the error to throw from a short detail.
 * @throws The error `fail(detail)` returns when offline, refused, not 2xx, cut short, or not writable.
 */
export async function downloadFile(
  url: string,
  dest: string,
  fail: (detail: string) => Error,
): Promise<void> {
  const part = `${dest}.part`;
  const start = performance.now();
  let received = 0, total: number | undefined, shownAt = 0;
  const show = (state: "running" | "done" | "failed") => {
    const pct = total === undefined ? -1 : total === 0 ? 100 : Math.floor((100 * received) / total);
    const now = performance.now();
    // Redraw at most every 0.1 s; end the line on failure only when one was drawn.
    if (state === "running" && shownAt > 0 && now - shownAt < 100) return;
    if (state === "failed" && shownAt === 0) return;
    shownAt = now;
    const size = total === undefined ? `${mb(received)} MB` : `${pct}% ${mb(received)}/${mb(total)} MB`;
    const time = state === "done" ? ` in ${((now - start) / 1000).toFixed(1)}s` : "";
    progress(`Downloading ${url} to '${dest}': ${size}${time}`, state);
  };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(part, { write: true, create: true, truncate: true });
  } catch (e) {
    throw failWith(fail, `cannot write "${part}": ${firstLine(e)}`, e);
  }
  let closed = false;
  try {
    await fetchInto(url, fail, async (chunk) => {
      try {
        for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
      } catch (e) {
        throw failWith(fail, `cannot write "${part}": ${firstLine(e)}`, e);
      }
    }, (r, t) => {
      received = r;
      total = t;
      show("running");
    });
    file.close();
    closed = true;
    await Deno.rename(part, dest).catch((e) => {
      throw failWith(fail, `cannot rename "${part}" to "${dest}": ${firstLine(e)}`, e);
    });
    total ??= received;
    show("done");
  } catch (e) {
    if (!closed) file.close();
    show("failed");
    await Deno.remove(part).catch(() => {});
    throw e;
  }
}

/**
 * Find an official checkpoint (`yolo11n-seg.pt`, ..., `yolov8x-seg.pt`) in the weights folder, downloading
 * it there from Ultralytics' release assets the first time. The caller has already tried `name` as a path.
 *
 * @param name A bare name from {@link OFFICIAL_WEIGHTS}.
 * @param options The weights folder and the download URL.
 * @returns The path of the file in the weights folder.
 * @throws {CheckpointError} naming the URL and where to put the file by hand, when the download fails.
 */
export async function findOrDownloadWeights(name: string, options: WeightsOptions = {}): Promise<string> {
  const dir = weightsDir(options.weightsDir);
  const dest = join(dir, name);
  try {
    if ((await Deno.stat(dest)).isFile) return dest;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const base = options.assetsUrl ?? envVar("YOLO_WGSL_ASSETS_URL") ?? ASSETS_URL;
  const url = `${base.replace(/\/+$/, "")}/${name}`;
  const fail = (detail: string) =>
    new CheckpointError(
      name,
      `Cannot download "${name}" from ${url}: ${detail}. Download it yourself and put it at ${dest}, ` +
        `or pass model=/path/to/${name}`,
    );
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw failWith(fail, `cannot create "${dir}": ${firstLine(e)}`, e);
  }
  await downloadFile(url, dest, fail);
  return dest;
}
