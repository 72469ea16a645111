import assert from "node:assert/strict";
import { zipSync } from "fflate";
import { CheckpointError } from "../../src/errors.ts";
import { readZip } from "../../src/io/zip.ts";
import { sharedPath } from "../_shared.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** The CheckpointError thrown by readZip, checked to name the file. */
function zipError(bytes: Uint8Array, file: string): CheckpointError {
  try {
    readZip(bytes, file);
  } catch (error) {
    assert.ok(error instanceof CheckpointError, String(error));
    assert.equal(error.file, file);
    assert.ok(error.message.startsWith(`Cannot read checkpoint "${file}": `), error.message);
    return error;
  }
  assert.fail("no error thrown");
}

Deno.test("readZip returns stored and deflated entries in archive order", () => {
  const payload = new Uint8Array(1000).map((_, i) => i % 7);
  const bytes = zipSync({
    "archive/data.pkl": [text("pickle"), { level: 0 }],
    "archive/data/0": [payload, { level: 0 }],
    "archive/version": [text("3\n"), { level: 6 }],
  });
  const entries = readZip(bytes, "a.zip");
  assert.deepEqual([...entries.keys()], ["archive/data.pkl", "archive/data/0", "archive/version"]);
  assert.deepEqual(entries.get("archive/data.pkl"), text("pickle"));
  assert.deepEqual(entries.get("archive/data/0"), payload);
  assert.deepEqual(entries.get("archive/version"), text("3\n"));
});

Deno.test("readZip reads an archive of one entry and an empty archive", () => {
  assert.deepEqual(readZip(zipSync({ "x": text("y") })), new Map([["x", text("y")]]));
  assert.deepEqual(readZip(zipSync({})), new Map());
});

Deno.test("readZip reads the ZIP64 archive torch.save wrote", () => {
  const entries = readZip(Deno.readFileSync(sharedPath("models/yolo11n-seg-c128.pt")));
  assert.equal(entries.size, 571);
  assert.ok([...entries.keys()].every((name) => name.startsWith("last/")));
  assert.deepEqual(entries.get("last/byteorder"), text("little"));
});

/** One stored entry with every size and offset in ZIP64 fields (the 32-bit fields say 0xffffffff). */
function zip64(name: string, data: Uint8Array): Uint8Array {
  const u16 = (n: number) => [n & 0xff, n >> 8];
  const u32 = (n: number) => [...u16(n & 0xffff), ...u16(n >>> 16)];
  const u64 = (n: number) => [...u32(n), ...u32(Math.floor(n / 2 ** 32))];
  const path = [...text(name)];
  const size = data.length;
  const local = [
    ...[...u32(0x04034b50), ...u16(45), ...u16(0), ...u16(0), ...u32(0), ...u32(0)],
    ...[...u32(0xffffffff), ...u32(0xffffffff), ...u16(path.length), ...u16(20), ...path],
    ...[...u16(1), ...u16(16), ...u64(size), ...u64(size)],
  ];
  const centralAt = local.length + size;
  const extra = [...u16(1), ...u16(24), ...u64(size), ...u64(size), ...u64(0)];
  const central = [
    ...[...u32(0x02014b50), ...u16(45), ...u16(45), ...u16(0), ...u16(0), ...u32(0), ...u32(0)],
    ...[...u32(0xffffffff), ...u32(0xffffffff), ...u16(path.length), ...u16(extra.length), ...u16(0)],
    ...[...u16(0), ...u16(0), ...u32(0), ...u32(0xffffffff), ...path, ...extra],
  ];
  const end64At = centralAt + central.length;
  const end64 = [
    ...[...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0)],
    ...[...u64(1), ...u64(1), ...u64(central.length), ...u64(centralAt)],
  ];
  const locator = [...u32(0x07064b50), ...u32(0), ...u64(end64At), ...u32(1)];
  const end = [
    ...[...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(0xffff), ...u16(0xffff)],
    ...[...u32(0xffffffff), ...u32(0xffffffff), ...u16(0)],
  ];
  return new Uint8Array([...local, ...data, ...central, ...end64, ...locator, ...end]);
}

Deno.test("readZip reads sizes and offsets from ZIP64 extra fields", () => {
  const data = new Uint8Array(100).map((_, i) => 255 - i);
  assert.deepEqual(readZip(zip64("last/data/0", data)), new Map([["last/data/0", data]]));
});

Deno.test("readZip rejects a truncated archive, random bytes and no bytes", () => {
  const bytes = zipSync({ "a/data.pkl": [new Uint8Array(4096).fill(1), { level: 0 }] });
  const message = /truncated or not a zip archive \(no end-of-central-directory record\)$/;
  assert.match(zipError(bytes.subarray(0, bytes.length >> 1), "half.pt").message, message);
  assert.match(
    zipError(new Uint8Array(300).map((_, i) => (i * 37 + 11) & 0xff), "noise.pt").message,
    message,
  );
  assert.match(zipError(new Uint8Array(0), "empty.pt").message, message);
});

Deno.test("readZip rejects an archive whose entries were cut out", () => {
  const bytes = zipSync({ "a/data.pkl": [new Uint8Array(4096).fill(1), { level: 0 }] });
  const cut = new Uint8Array([...bytes.subarray(0, 100), ...bytes.subarray(3000)]);
  zipError(cut, "cut.pt");
});
