/**
 * Zip archives as `torch.save` writes them: stored entries, ZIP64 records, data aligned by padding in
 * the local headers. The central directory is read here so that a damaged archive is reported rather
 * than half-read (fflate's `unzipSync` accepts some); fflate inflates the rare deflated entry.
 * @module
 */
import { inflateSync } from "../_deps.ts";
import { CheckpointError } from "../errors.ts";

const endSignature = 0x06054b50;
const zip64LocatorSignature = 0x07064b50;
const zip64EndSignature = 0x06064b50;
const centralSignature = 0x02014b50;
const localSignature = 0x04034b50;
const endSize = 22;
const unset32 = 0xffffffff;

/**
 * Reads every entry of a zip archive held in memory. Stored entries are views into `bytes`, not copies.
 *
 * @param bytes The whole archive.
 * @param file The file name used in error messages.
 * @returns Entry contents keyed by their path inside the archive, in central-directory order.
 * @throws {CheckpointError} When the bytes are not a zip archive, or it is truncated or damaged.
 */
export function readZip(bytes: Uint8Array, file = "<bytes>"): Map<string, Uint8Array> {
  const fail = (detail: string) => new CheckpointError(file, `Cannot read checkpoint "${file}": ${detail}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => u32(at) + u32(at + 4) * 2 ** 32;
  const inside = (at: number, size: number) => at >= 0 && at + size <= bytes.length;

  const end = findEnd(view);
  if (end < 0) throw fail("truncated or not a zip archive (no end-of-central-directory record)");
  let count = u16(end + 10);
  let at = u32(end + 16);
  const locator = end - 20;
  if (inside(locator, 20) && u32(locator) === zip64LocatorSignature) {
    const end64 = u64(locator + 8);
    if (!inside(end64, 56) || u32(end64) !== zip64EndSignature) {
      throw fail("damaged zip archive (bad ZIP64 record)");
    }
    count = u64(end64 + 32);
    at = u64(end64 + 48);
  }

  const decoder = new TextDecoder();
  const entries = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    if (!inside(at, 46) || u32(at) !== centralSignature) {
      throw fail("damaged zip archive (bad central directory)");
    }
    const [flags, method] = [u16(at + 8), u16(at + 10)];
    let [packed, size] = [u32(at + 20), u32(at + 24)];
    const [nameLength, extraLength, commentLength] = [u16(at + 28), u16(at + 30), u16(at + 32)];
    let local = u32(at + 42);
    if (!inside(at + 46, nameLength + extraLength)) throw fail("damaged zip archive (bad central directory)");
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // ZIP64 extra field: 8-byte values for exactly the fields set to 0xffffffff, in this order.
    for (let x = at + 46 + nameLength; x + 4 <= at + 46 + nameLength + extraLength;) {
      const [id, length] = [u16(x), u16(x + 2)];
      if (id === 0x0001) {
        let y = x + 4;
        if (size === unset32) [size, y] = [u64(y), y + 8];
        if (packed === unset32) [packed, y] = [u64(y), y + 8];
        if (local === unset32) local = u64(y);
      }
      x += 4 + length;
    }
    at += 46 + nameLength + extraLength + commentLength;

    if (flags & 1) throw fail(`zip entry "${name}" is encrypted`);
    if (!inside(local, 30) || u32(local) !== localSignature) throw fail(`zip entry "${name}" is damaged`);
    const start = local + 30 + u16(local + 26) + u16(local + 28);
    if (!inside(start, packed)) throw fail(`zip entry "${name}" is truncated`);
    const data = bytes.subarray(start, start + packed);
    if (method === 0) entries.set(name, data);
    else if (method === 8) {
      entries.set(
        name,
        inflate(data, size, () => fail(`zip entry "${name}" is corrupt`)),
      );
    } else throw fail(`zip entry "${name}" uses unsupported compression method ${method}`);
  }
  return entries;
}

/** Offset of the end-of-central-directory record (within the last 64 KiB), or -1. */
function findEnd(view: DataView): number {
  const last = view.byteLength - endSize;
  for (let at = last; at >= Math.max(0, last - 0xffff); at--) {
    if (view.getUint32(at, true) === endSignature) return at;
  }
  return -1;
}

function inflate(data: Uint8Array, size: number, fail: () => CheckpointError): Uint8Array {
  let out: Uint8Array;
  try {
    out = inflateSync(data, { out: new Uint8Array(size) });
  } catch {
    throw fail();
  }
  if (out.length !== size) throw fail();
  return out;
}
