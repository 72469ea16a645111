/**
 * Ultralytics' predict `source=` resolution (`LoadImagesAndVideos`, 8.3.x) for still images: a file, a
 * directory (its images, sorted), a glob (`*`, `?`), a `.txt` file of paths (relative to the `.txt`'s folder),
 * an `http://` or `https://` URL, or a list of any of these; raw bytes come through the API. URLs are
 * fetched when their image is read ({@link readSourceItem}), so a bad one is a bad image like any other.
 * @module
 */
import { basename, dirname, extname, join, resolve } from "node:path";
import { DatasetError } from "../errors.ts";
import { fetchBytes } from "../io/download.ts";
import { readFileOr } from "../io/_read_file.ts";

/** Ultralytics' `IMG_FORMATS`: the extensions a directory or glob yields (we decode only JPEG and PNG). */
export const IMG_FORMATS: ReadonlySet<string> = new Set([
  "bmp",
  "dng",
  "jpeg",
  "jpg",
  "mpo",
  "png",
  "tif",
  "tiff",
  "webp",
  "pfm",
  "heic",
]);

/** What `predict` accepts as a source: a path, a directory, a glob, a `.txt` of paths, a URL, bytes, or a list. */
export type Source = string | Uint8Array | readonly (string | Uint8Array)[];

/** One image to read: a path, a URL, or bytes, with a name for messages and saved files. */
export interface SourceItem {
  /** The path, the URL's last path component, or `image<i>.jpg` style name for bytes. */
  file: string;
  /** The file's bytes when given directly. */
  bytes?: Uint8Array;
  /** The `http://` or `https://` URL the bytes come from. */
  url?: string;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/**
 * Ultralytics' name for a URL's download (`Path(clean_url(url)).name`): the last path component,
 * percent-decoded, without the query or fragment; the host when the path is empty.
 */
export function urlFileName(url: string): string {
  let path = url.replace(/[?#].*$/, ""), host = "";
  try {
    ({ pathname: path, hostname: host } = new URL(url));
  } catch {
    // not a valid URL: its fetch will say so; name it from the text
  }
  try {
    path = decodeURIComponent(path);
  } catch {
    // a malformed escape: keep it as written
  }
  return basename(path) || host || "image.jpg";
}

/**
 * The bytes of one source item: given, fetched from its URL, or read from its path.
 *
 * @param item An item of {@link resolveSources}.
 * @returns The file's bytes.
 * @throws {DatasetError} naming the path or URL, when it cannot be read or fetched (offline, refused,
 * not 2xx, cut short).
 */
export function readSourceItem(item: SourceItem): Promise<Uint8Array> {
  if (item.bytes) return Promise.resolve(item.bytes);
  const url = item.url;
  if (url !== undefined) {
    return fetchBytes(url, (d) => new DatasetError(url, `Cannot download "${url}": ${d}`));
  }
  return readFileOr(item.file, (d) => new DatasetError(item.file, `Cannot read image "${item.file}": ${d}`));
}

const isImage = (path: string) => IMG_FORMATS.has(extname(path).slice(1).toLowerCase());

/** `fnmatch`-style `*` and `?` of one path component as a RegExp. */
function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`);
}

/** Files matching a glob whose wildcards are in the last component (or `**` for any depth below). */
async function globFiles(pattern: string): Promise<string[]> {
  const dir = dirname(pattern);
  if (/[*?]/.test(dir)) {
    const [root, ...rest] = pattern.split("/**/");
    if (rest.length !== 1 || /[*?]/.test(root)) {
      throw new DatasetError(
        pattern,
        `Cannot expand glob "${pattern}": wildcards go in the file name or /**/`,
      );
    }
    const re = globRegExp(rest[0]);
    const out: string[] = [];
    const walk = async (d: string) => {
      for await (const e of Deno.readDir(d)) {
        const p = join(d, e.name);
        if (e.isDirectory) await walk(p);
        else if (re.test(e.name)) out.push(p);
      }
    };
    await walk(root);
    return out.sort();
  }
  const re = globRegExp(basename(pattern));
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isDirectory && re.test(e.name)) out.push(join(dir, e.name));
    }
  } catch {
    // no such directory: no matches
  }
  return out.sort();
}

/** Expand one path-like source into image paths. */
async function expand(source: string): Promise<string[]> {
  if (/[*?]/.test(source)) {
    const files = (await globFiles(resolve(source))).filter(isImage);
    if (files.length === 0) throw new DatasetError(source, `No images match "${source}": check the glob`);
    return files;
  }
  const path = resolve(source);
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch {
    throw new DatasetError(source, `Cannot find source "${source}": no such file or directory`);
  }
  if (stat.isDirectory) {
    const files: string[] = [];
    for await (const e of Deno.readDir(path)) {
      if (!e.isDirectory && isImage(e.name)) files.push(join(path, e.name));
    }
    if (files.length === 0) throw new DatasetError(source, `No images in directory "${source}"`);
    return files.sort();
  }
  if (extname(path).toLowerCase() === ".txt") {
    const base = dirname(path);
    const lines = (await Deno.readTextFile(path)).split(/\r?\n/).map((l) => l.trim()).filter((l) => l);
    const out: string[] = [];
    for (const l of lines) out.push(...await expand(resolve(base, l)));
    return out;
  }
  return [path];
}

/**
 * Resolve a predict source into the images to read, in Ultralytics' order.
 *
 * @param source A path, directory, glob, `.txt` of paths, URL, bytes, or a list of these.
 * @returns One item per image (paths are absolute; URLs are not fetched yet).
 * @throws {DatasetError} naming a path that does not exist, or a directory or glob with no images.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSources } from "./sources.ts";
 * const items = await resolveSources([new Uint8Array([1, 2, 3])]);
 * assert.equal(items[0].file, "image0.jpg");
 * await assert.rejects(resolveSources("no/such.jpg"), { name: "DatasetError" });
 * ```
 */
export async function resolveSources(source: Source): Promise<SourceItem[]> {
  const list = typeof source === "string" || source instanceof Uint8Array ? [source] : source;
  const out: SourceItem[] = [];
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    if (s instanceof Uint8Array) out.push({ file: `image${i}.jpg`, bytes: s });
    else if (isUrl(s)) out.push({ file: urlFileName(s), url: s });
    else for (const file of await expand(s)) out.push({ file });
  }
  if (out.length === 0) {
    throw new DatasetError(String(source), "No images to predict: the source list is empty");
  }
  return out;
}
