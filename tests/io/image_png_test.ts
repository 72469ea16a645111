/**
 * PNG decoding as `cv2.imdecode(bytes, cv2.IMREAD_COLOR)` does it through libpng: gray replicated,
 * palette expanded, alpha and tRNS dropped without blending, 16-bit samples cut to their high byte
 * (`png_set_strip_16`), 1/2/4-bit gray scaled by 255 / (2^depth - 1).
 *
 * RGBA files come from `@jsquash/png`'s encoder (it writes RGBA only); the other color types are written
 * here by a minimal PNG writer (IHDR, optional PLTE/tRNS, one zlib IDAT with filter 0, IEND).
 */
import assert from "node:assert/strict";
import encodePng from "@jsquash/png/encode.js";
import { zlibSync } from "fflate";
import { decodeImage } from "../../src/io/image.ts";
import { DatasetError } from "../../src/errors.ts";

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = CRC_TABLE[(c ^ v) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const SAMPLES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** A PNG of `samples` (one number per sample, row-major) packed at `depth` bits, big-endian as PNG stores them. */
function writePng(
  w: number,
  h: number,
  depth: number,
  color: number,
  samples: number[],
  extra: [string, Uint8Array][] = [],
): Uint8Array {
  const spp = SAMPLES_PER_PIXEL[color];
  const rowBytes = Math.ceil((w * spp * depth) / 8);
  const raw = new Uint8Array(h * (rowBytes + 1)); // each row: filter type 0, then the packed samples
  for (let y = 0; y < h; y++) {
    const o = y * (rowBytes + 1) + 1;
    for (let i = 0; i < w * spp; i++) {
      const v = samples[y * w * spp + i];
      if (depth === 16) raw[o + 2 * i] = v >> 8, raw[o + 2 * i + 1] = v & 255;
      else if (depth === 8) raw[o + i] = v;
      else raw[o + ((i * depth) >> 3)] |= v << (8 - depth - ((i * depth) & 7));
    }
  }
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, w);
  new DataView(ihdr.buffer).setUint32(4, h);
  ihdr[8] = depth;
  ihdr[9] = color;
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    ...extra.map(([t, d]) => chunk(t, d)),
    chunk("IDAT", zlibSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

const W = 5, H = 3, N = W * H;
/** Deterministic samples in [0, max], covering both ends. */
const samples = (n: number, max: number) =>
  Array.from({ length: n }, (_, i) => i === 0 ? 0 : i === 1 ? max : (i * 2654435761 >>> 7) % (max + 1));

/** Expected RGB when each pixel's gray value is `g(i)`. */
const grayRgb = (g: (i: number) => number) => Array.from({ length: 3 * N }, (_, k) => g(Math.floor(k / 3)));

async function decoded(png: Uint8Array): Promise<number[]> {
  const img = await decodeImage(png, "t.png");
  assert.deepEqual([img.width, img.height], [W, H]);
  return [...img.data];
}

Deno.test("PNG gray at 1, 2, 4, 8 bits: scaled to 0..255 and replicated to RGB", async () => {
  for (const depth of [1, 2, 4, 8]) {
    const max = 2 ** depth - 1;
    const s = samples(N, max);
    assert.deepEqual(
      await decoded(writePng(W, H, depth, 0, s)),
      grayRgb((i) => s[i] * (255 / max)),
      `depth ${depth}`,
    );
  }
});

Deno.test("PNG gray 16-bit: the high byte of each sample", async () => {
  const s = samples(N, 65535);
  assert.deepEqual(await decoded(writePng(W, H, 16, 0, s)), grayRgb((i) => s[i] >> 8));
});

Deno.test("PNG gray with tRNS: the transparent gray is kept, not blended", async () => {
  const s = samples(N, 255);
  const trns = new Uint8Array([0, s[2]]); // gray value s[2] marked transparent
  assert.deepEqual(await decoded(writePng(W, H, 8, 0, s, [["tRNS", trns]])), grayRgb((i) => s[i]));
});

Deno.test("PNG gray + alpha, 8 and 16 bits: alpha dropped, gray replicated", async () => {
  for (const depth of [8, 16]) {
    const s = samples(2 * N, 2 ** depth - 1);
    const hi = (v: number) => depth === 16 ? v >> 8 : v;
    assert.deepEqual(
      await decoded(writePng(W, H, depth, 4, s)),
      grayRgb((i) => hi(s[2 * i])),
      `depth ${depth}`,
    );
  }
});

Deno.test("PNG RGB 8 and 16 bits", async () => {
  const s8 = samples(3 * N, 255);
  assert.deepEqual(await decoded(writePng(W, H, 8, 2, s8)), s8);
  const s16 = samples(3 * N, 65535);
  assert.deepEqual(await decoded(writePng(W, H, 16, 2, s16)), s16.map((v) => v >> 8));
});

Deno.test("PNG palette at 1, 2, 4, 8 bits, with and without tRNS: PLTE colors, alpha dropped", async () => {
  for (const depth of [1, 2, 4, 8]) {
    const n = 2 ** depth;
    const plte = Uint8Array.from({ length: 3 * n }, (_, i) => (i * 37 + 11) % 256);
    const idx = samples(N, n - 1);
    const want = idx.flatMap((k) => [plte[3 * k], plte[3 * k + 1], plte[3 * k + 2]]);
    assert.deepEqual(await decoded(writePng(W, H, depth, 3, idx, [["PLTE", plte]])), want, `depth ${depth}`);
    const trns = new Uint8Array([0, 128]); // entries 0 and 1 (partly) transparent
    const withTrns = writePng(W, H, depth, 3, idx, [["PLTE", plte], ["tRNS", trns]]);
    assert.deepEqual(await decoded(withTrns), want, `depth ${depth} with tRNS`);
  }
});

Deno.test("PNG RGBA from @jsquash/png's encoder, 8 and 16 bits: alpha dropped without blending", async () => {
  const rgba8 = Uint8ClampedArray.from(samples(4 * N, 255));
  rgba8[3] = 0, rgba8[7] = 128; // fully and half transparent pixels keep their color
  const png8 = new Uint8Array(
    await encodePng({ data: rgba8, width: W, height: H, colorSpace: "srgb" } as ImageData),
  );
  assert.deepEqual([png8[24], png8[25]], [8, 6]); // IHDR: 8-bit RGBA
  assert.deepEqual(await decoded(png8), [...rgba8].filter((_, k) => k % 4 !== 3));

  // The encoder copies the array's bytes as PNG's big-endian samples: swap them on a little-endian host.
  const s16 = samples(4 * N, 65535);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const u16 = Uint16Array.from(s16, (v) => le ? ((v & 255) << 8) | (v >> 8) : v);
  const png16 = new Uint8Array(await encodePng({ data: u16, width: W, height: H }, { bitDepth: 16 }));
  assert.deepEqual([png16[24], png16[25]], [16, 6]); // IHDR: 16-bit RGBA
  assert.deepEqual(await decoded(png16), s16.filter((_, k) => k % 4 !== 3).map((v) => v >> 8));
});

Deno.test("PNG: truncated or malformed files are one-line DatasetErrors", async () => {
  const good = writePng(W, H, 8, 2, samples(3 * N, 255));
  const cases: [Uint8Array, RegExp][] = [
    [good.slice(0, good.length - 20), /: corrupt PNG data \(truncated \(chunk "IDAT" runs past the end\)\)$/],
    [good.slice(0, good.length - 12), /: corrupt PNG data \(truncated \(no IEND chunk\)\)$/],
    [good.slice(0, 20), /: corrupt PNG data \(no IHDR chunk\)$/],
    [writePng(W, H, 3, 2, []), /: corrupt PNG data \(bad IHDR \(bit depth 3, color type 2\)\)$/],
  ];
  const badCrc = good.slice();
  badCrc[good.length - 20] ^= 0xff; // the zlib stream's last byte: IDAT's CRC no longer matches (libpng refuses)
  cases.push([badCrc, /: corrupt PNG data \(CRC error in chunk "IDAT"\)$/]);
  // A broken deflate stream inside a chunk whose CRC is right: the decoder itself refuses.
  const raw = new Uint8Array(H * (3 * W + 1)).fill(7);
  const z = zlibSync(raw);
  z[z.length >> 1] ^= 0x5a;
  const ihdr = good.subarray(8, 8 + 25);
  const badData = new Uint8Array([
    ...good.subarray(0, 8),
    ...ihdr,
    ...chunk("IDAT", z),
    ...chunk("IEND", new Uint8Array(0)),
  ]);
  cases.push([badData, /: corrupt PNG data \(invalid image data\)$/]);
  for (const [bytes, detail] of cases) {
    await assert.rejects(decodeImage(bytes, "x.png"), (e: unknown) => {
      assert.ok(e instanceof DatasetError);
      assert.equal(e.file, "x.png");
      assert.ok(!e.message.includes("\n"));
      assert.match(e.message, /^Cannot read image "x\.png": /);
      assert.match(e.message, detail);
      return true;
    });
  }
});
