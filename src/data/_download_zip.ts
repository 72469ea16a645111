/**
 * A dataset zip fetched and unpacked as Ultralytics' `safe_download(url, dir, unzip=True, delete=True)` +
 * `unzip_file` do, streaming: the body goes through fflate's `Unzip` straight into a hidden folder of the
 * target (the zip is never held whole, so COCO's 19 GB image zip fits), which is moved into place only
 * when every entry arrived whole. A zip with one top-level folder lands as that folder; any other zip in
 * a folder named after it. `__MACOSX` and `.DS_Store` entries are skipped, entries pointing outside the
 * target refused.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { Unzip, type UnzipFile, UnzipInflate } from "../_deps.ts";
import { progress } from "../log.ts";

/** Zip entries Ultralytics' `unzip_file` skips. */
const EXCLUDED = [".DS_Store", "__MACOSX"];

/** `name` as a safe relative path inside the unpack folder. */
function entryPath(name: string): string {
  const parts = name.split(/[\\/]/).filter((p) => p !== "" && p !== ".");
  if (/^([\\/]|[A-Za-z]:)/.test(name) || parts.includes("..")) {
    throw new Error(`zip entry "${name}" points outside the target folder`);
  }
  return parts.join("/");
}

/** Moves `src` to `dst`, merging into folders that already exist there (files in `dst` are replaced). */
async function moveInto(src: string, dst: string): Promise<void> {
  let dstInfo: Deno.FileInfo | null = null;
  try {
    dstInfo = await Deno.stat(dst);
  } catch {
    // absent: a plain rename
  }
  if (dstInfo?.isDirectory && (await Deno.stat(src)).isDirectory) {
    for await (const e of Deno.readDir(src)) await moveInto(join(src, e.name), join(dst, e.name));
    return;
  }
  await Deno.mkdir(dirname(dst), { recursive: true });
  await Deno.rename(src, dst);
}

/** Why a request failed, in a few words. */
function networkReason(error: unknown): string {
  const text = `${error instanceof Error ? error.message : String(error)} ${
    error instanceof Error && error.cause !== undefined ? String(error.cause) : ""
  }`;
  if (/connection refused/i.test(text)) return "connection refused (offline?)";
  if (/dns error|lookup address|name resolution|not known/i.test(text)) return "DNS lookup failed (offline?)";
  if (/unreachable|no route to host/i.test(text)) return "network unreachable (offline?)";
  if (/timed out|timeout/i.test(text)) return "connection timed out (offline?)";
  return text.trim().split("\n")[0];
}

const mb = (n: number) => (n / 2 ** 20).toFixed(1);

/**
 * Fetches the zip at `url` and unpacks it into `target`, with a progress line.
 * @throws {Error} With a one-line reason (no URL) when the fetch, the archive or a write fails; nothing
 *   is left in `target` then.
 */
export async function downloadZip(
  url: string,
  target: string,
  fetchFn: typeof fetch,
  verbose: boolean,
): Promise<void> {
  const start = performance.now();
  let received = 0, total = 0, shownAt = 0;
  const show = (state: "running" | "done" | "failed") => {
    if (!verbose) return;
    const now = performance.now();
    if (state === "running" && shownAt > 0 && now - shownAt < 100) return;
    if (state === "failed" && shownAt === 0) return;
    shownAt = now;
    const size = total > 0
      ? `${Math.floor((100 * received) / total)}% ${mb(received)}/${mb(total)} MB`
      : `${mb(received)} MB`;
    const time = state === "done" ? ` in ${((now - start) / 1000).toFixed(1)}s` : "";
    progress(`Downloading ${url} to '${target}': ${size}${time}`, state);
  };

  let response: Response;
  try {
    response = await fetchFn(url, { redirect: "follow" });
  } catch (e) {
    throw new Error(networkReason(e));
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
  }
  total = Number(response.headers.get("content-length")) || 0;

  await Deno.mkdir(target, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: target, prefix: ".unzip-" });
  const open = new Set<Deno.FsFile>();
  let failure: Error | null = null;
  let files = 0, finished = 0;
  const unzip = new Unzip((file: UnzipFile) => {
    if (failure || EXCLUDED.some((x) => file.name.includes(x))) return;
    try {
      const rel = entryPath(file.name);
      if (rel === "") return;
      const out = join(tmp, rel);
      if (file.name.endsWith("/")) {
        Deno.mkdirSync(out, { recursive: true });
        return;
      }
      Deno.mkdirSync(dirname(out), { recursive: true });
      const fh = Deno.openSync(out, { write: true, create: true, truncate: true });
      open.add(fh);
      files++;
      file.ondata = (err, chunk, final) => {
        if (err) {
          failure ??= err;
          return;
        }
        for (let at = 0; at < chunk.length;) at += fh.writeSync(chunk.subarray(at));
        if (final) {
          fh.close();
          open.delete(fh);
          finished++;
        }
      };
      file.start();
    } catch (e) {
      failure ??= e instanceof Error ? e : new Error(String(e));
    }
  });
  unzip.register(UnzipInflate);

  try {
    const reader = response.body.getReader();
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new Error(networkReason(e));
      }
      if (chunk.done) break;
      received += chunk.value.length;
      unzip.push(chunk.value);
      if (failure) throw failure;
      show("running");
    }
    unzip.push(new Uint8Array(0), true);
    if (failure) throw failure;
    if (total > 0 && received !== total) {
      throw new Error(`download cut short (${received} of ${total} bytes)`);
    }
    if (files === 0) throw new Error("not a zip archive (no files in it)");
    if (finished !== files) throw new Error("zip archive is truncated");

    const top = (await Array.fromAsync(Deno.readDir(tmp))).filter((e) => !EXCLUDED.includes(e.name));
    if (top.length === 1 && top[0].isDirectory) {
      await moveInto(join(tmp, top[0].name), join(target, top[0].name));
    } else {
      const stem = basename(new URL(url).pathname).replace(/\.[^.]*$/, "") || "download";
      await moveInto(tmp, join(target, stem));
    }
    total ||= received;
    show("done");
  } catch (e) {
    show("failed");
    throw e;
  } finally {
    for (const fh of open) fh.close();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
