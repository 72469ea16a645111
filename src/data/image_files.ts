/**
 * The images of a dataset split, as Ultralytics' `BaseDataset.get_img_files` lists them, their label files
 * (`img2label_paths`), and what a split scan needs to know of each image without decoding it: the format,
 * the size after EXIF rotation (Ultralytics' `exif_size`) and whether the file is whole.
 * @module
 */
import { dirname, join, resolve, sep } from "node:path";
import { DatasetError } from "../errors.ts";
import { jpegOrientation } from "../io/image_exif.ts";
import { IMG_FORMATS } from "./sources.ts";

/** Ultralytics' test: the text after the path's last `.` names an image format. */
const isImagePath = (path: string) => IMG_FORMATS.has(path.slice(path.lastIndexOf(".") + 1).toLowerCase());

/** Whether `path` exists (following links), and what it is. */
async function kind(path: string): Promise<"dir" | "file" | null> {
  try {
    const s = await Deno.stat(path);
    return s.isDirectory ? "dir" : "file";
  } catch {
    return null;
  }
}

/**
 * Every non-hidden file below `dir` whose name has a dot, at any depth, following links to folders:
 * Python's `glob(dir + "/**" + "/*.*", recursive=True)`.
 */
async function walk(dir: string, out: string[]): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    const isDir = e.isDirectory || (e.isSymlink && await kind(p) === "dir");
    if (isDir) await walk(p, out);
    else if (e.name.includes(".")) out.push(p);
  }
}

/** `fnmatch`-style `*`, `?` and `[...]` of one path component. */
function componentRegExp(pattern: string): RegExp {
  let body = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") body += "[^/]*";
    else if (c === "?") body += "[^/]";
    else if (c === "[" && pattern.indexOf("]", i + 2) > 0) {
      const end = pattern.indexOf("]", i + 2);
      const set = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
      body += set.startsWith("!") ? `[^${set.slice(1)}]` : `[${set}]`;
      i = end;
    } else body += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${body}$`);
}

/** Files matching a glob (`*`, `?`, `[...]` within a component, `**` for any depth), hidden names excluded. */
async function globFiles(pattern: string): Promise<string[]> {
  const parts = pattern.split("/");
  const first = parts.findIndex((p) => /[*?[]/.test(p));
  const root = parts.slice(0, first).join("/") || "/";
  const out: string[] = [];
  const step = async (dir: string, rest: string[]): Promise<void> => {
    if (rest.length === 0) {
      if (await kind(dir) === "file") out.push(dir);
      return;
    }
    const [head, ...tail] = rest;
    if (head === "**") {
      await step(dir, tail);
      let entries: Deno.DirEntry[] = [];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.name.startsWith(".") && await kind(join(dir, e.name)) === "dir") {
          await step(join(dir, e.name), rest);
        }
      }
      return;
    }
    if (!/[*?[]/.test(head)) return await step(join(dir, head), tail);
    const re = componentRegExp(head);
    try {
      for await (const e of Deno.readDir(dir)) {
        if (!e.name.startsWith(".") && re.test(e.name)) await step(join(dir, e.name), tail);
      }
    } catch {
      // not a folder: no matches below it
    }
  };
  await step(root, parts.slice(first));
  return [...new Set(out)];
}

/**
 * The images of a dataset split, sorted as Ultralytics sorts them (by path). A folder gives every image
 * below it (recursively, hidden names skipped); a `.txt` file lists one image per line, `./` lines relative
 * to the list's folder and other relative lines to the working directory; a glob (`*`, `?`, `**`) gives the
 * images it matches, and an image path itself (additions: Ultralytics takes only folders and lists here).
 *
 * @param spec A folder, list file or glob, or several.
 * @returns Absolute image paths, sorted.
 * @throws {DatasetError} When a path does not exist or no images are found.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageFiles } from "./image_files.ts";
 * await assert.rejects(imageFiles("no/such/dir"), { name: "DatasetError" });
 * ```
 */
export async function imageFiles(spec: string | readonly string[]): Promise<string[]> {
  const specs = typeof spec === "string" ? [spec] : spec;
  const shown = typeof spec === "string" ? `"${spec}"` : `[${spec.map((s) => `"${s}"`).join(", ")}]`;
  const found: string[] = [];
  for (const s of specs) {
    const path = resolve(s);
    if (/[*?[]/.test(s) && await kind(path) === null) {
      found.push(...await globFiles(path));
      continue;
    }
    const k = await kind(path);
    if (k === "dir") await walk(path, found);
    else if (k === "file" && isImagePath(path)) found.push(path);
    else if (k === "file") {
      const base = dirname(path);
      for (const line of (await Deno.readTextFile(path)).trim().split(/\r?\n|\r/)) {
        const l = line.trim();
        if (!l) continue;
        found.push(l.startsWith("./") ? join(base, l.slice(2)) : resolve(l));
      }
    } else {
      throw new DatasetError(s, `Cannot load images from "${s}": no such file or directory`);
    }
  }
  const images = found.filter(isImagePath).sort();
  if (images.length === 0) {
    throw new DatasetError(
      specs[0] ?? "",
      `No images found in ${shown}: image files end in ${[...IMG_FORMATS].map((f) => `.${f}`).join(", ")}`,
    );
  }
  return images;
}

/**
 * The label file of an image, Ultralytics' `img2label_paths`: the last `/images/` in the path becomes
 * `/labels/`, and the text after the last `.` becomes `txt`.
 *
 * @param image An image path.
 * @returns Its label path.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelPathFor } from "./image_files.ts";
 * assert.equal(labelPathFor("/d/images/a/images/x.jpg"), "/d/images/a/labels/x.txt");
 * assert.equal(labelPathFor("/d/img/x.png"), "/d/img/x.txt");
 * ```
 */
export function labelPathFor(image: string): string {
  const from = `${sep}images${sep}`;
  const at = image.lastIndexOf(from);
  const swapped = at < 0 ? image : `${image.slice(0, at)}${sep}labels${sep}${image.slice(at + from.length)}`;
  const dot = swapped.lastIndexOf(".");
  return `${dot < 0 ? swapped : swapped.slice(0, dot)}.txt`;
}

/** What a scan learns of an image file from its bytes, without decoding the pixels. */
export interface ImageHeader {
  /** `"JPEG"` or `"PNG"`. */
  format: "JPEG" | "PNG";
  /** Rows, after Ultralytics' `exif_size` (EXIF orientations 6 and 8 swap the sides). */
  height: number;
  /** Columns, after the same swap. */
  width: number;
  /** A JPEG that does not end with its end-of-image marker (Ultralytics rewrites such files; we keep them). */
  truncated: boolean;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Formats that are only named: `[signature, its offset, PIL's format name]`. */
const OTHER_SIGNATURES: [number[], number, string][] = [
  [[0x42, 0x4d], 0, "BMP"],
  [[0x49, 0x49, 0x2a, 0x00], 0, "TIFF"],
  [[0x4d, 0x4d, 0x00, 0x2a], 0, "TIFF"],
  [[0x57, 0x45, 0x42, 0x50], 8, "WEBP"],
  [[0x47, 0x49, 0x46, 0x38], 0, "GIF"],
];
const has = (b: Uint8Array, sig: number[], at = 0) => sig.every((v, i) => b[at + i] === v);

/** The first SOFn frame's `[height, width]`, or null when the header ends before it. */
function jpegSize(b: Uint8Array): [number, number] | null {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) throw new Error("corrupt JPEG header (marker expected)");
    const m = b[i + 1];
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2;
      continue;
    }
    if (m === 0xda || m === 0xd9) throw new Error("corrupt JPEG header (no frame before the scan)");
    const len = (b[i + 2] << 8) | b[i + 3];
    if (len < 2) throw new Error("corrupt JPEG header (bad segment length)");
    const isFrame = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isFrame) {
      if (i + 9 > b.length) return null;
      return [(b[i + 5] << 8) | b[i + 6], (b[i + 7] << 8) | b[i + 8]];
    }
    i += 2 + len;
  }
  return null;
}

let crcTable: Uint32Array | undefined;
function crc32(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** PNG `[height, width]` after PIL's `verify`: every chunk whole, CRCs right, up to `IEND`. */
function pngSize(b: Uint8Array): [number, number] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 8;
  let size: [number, number] | null = null;
  while (true) {
    if (i + 12 > b.length) throw new Error("truncated PNG (no IEND chunk)");
    const len = dv.getUint32(i);
    const type = String.fromCharCode(...b.subarray(i + 4, i + 8));
    if (i + 12 + len > b.length) throw new Error(`truncated PNG (chunk ${type} cut short)`);
    if (crc32(b.subarray(i + 4, i + 8 + len)) !== dv.getUint32(i + 8 + len)) {
      throw new Error(`broken PNG file (bad checksum in ${type})`);
    }
    if (type === "IHDR") size = [dv.getUint32(i + 12), dv.getUint32(i + 8)];
    if (type === "IEND") break;
    i += 12 + len;
  }
  if (!size) throw new Error("broken PNG file (no IHDR chunk)");
  return size;
}

/** The whole file, or its first `n` bytes and its last two. */
async function readHead(
  path: string,
  n: number,
): Promise<{ head: Uint8Array; tail: Uint8Array; size: number }> {
  using f = await Deno.open(path);
  const size = (await f.stat()).size;
  const head = new Uint8Array(Math.min(n, size));
  let got = 0;
  while (got < head.length) {
    const r = await f.read(head.subarray(got));
    if (r === null) break;
    got += r;
  }
  const tail = new Uint8Array(Math.min(2, size));
  if (size >= 2) {
    await f.seek(-2, Deno.SeekMode.End);
    await f.read(tail);
  }
  return { head: head.subarray(0, got), tail, size };
}

/**
 * Reads an image file's header as a split scan does (Ultralytics' `verify_image_label`, with PIL's
 * `Image.open` + `verify` + `exif_size`).
 *
 * @param path The image file.
 * @returns Format, upright size and whether a JPEG is truncated.
 * @throws {Error} With the reason as its message (no file name) when the image cannot be used: not found,
 *   not an image, a format other than JPEG and PNG, a broken header, or smaller than 10 pixels a side.
 */
export async function readImageHeader(path: string): Promise<ImageHeader> {
  let read: Awaited<ReturnType<typeof readHead>>;
  try {
    read = await readHead(path, 1 << 14); // the frame header is near the start; else the whole file
  } catch (e) {
    throw new Error(
      e instanceof Deno.errors.NotFound ? "image file not found" : String((e as Error).message),
    );
  }
  let { head } = read;
  let header: ImageHeader;
  if (head.length >= 3 && has(head, [0xff, 0xd8, 0xff])) {
    let hw = jpegSize(head);
    if (!hw && head.length < read.size) {
      head = await Deno.readFile(path);
      hw = jpegSize(head);
    }
    if (!hw) throw new Error("corrupt JPEG header (no frame)");
    const orientation = jpegOrientation(head);
    const swap = orientation === 6 || orientation === 8;
    header = {
      format: "JPEG",
      height: swap ? hw[1] : hw[0],
      width: swap ? hw[0] : hw[1],
      truncated: !(read.tail[0] === 0xff && read.tail[1] === 0xd9),
    };
  } else if (has(head, PNG_SIGNATURE)) {
    const [height, width] = pngSize(head.length < read.size ? await Deno.readFile(path) : head);
    header = { format: "PNG", height, width, truncated: false };
  } else {
    const other = OTHER_SIGNATURES.find(([sig, at]) => has(head, sig, at))?.[2];
    if (other === "GIF") throw new Error("invalid image format GIF"); // not in IMG_FORMATS
    if (other) throw new Error(`image format ${other} is not supported (JPEG and PNG are)`);
    throw new Error(`cannot identify image file '${path}'`);
  }
  if (!(header.height > 9 && header.width > 9)) {
    throw new Error(`image size (${header.height}, ${header.width}) <10 pixels`);
  }
  return header;
}
