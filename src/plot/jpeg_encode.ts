/**
 * A baseline JPEG encoder with libjpeg's defaults, as OpenCV's `imwrite` writes annotated images: JFIF,
 * YCbCr with 2x2 chroma subsampling (4:2:0), the standard (Annex K) quantization tables scaled by quality
 * as `jpeg_quality_scaling` does, the standard Huffman tables, one sequential scan. About 10x faster than
 * MozJPEG's WebAssembly build, which always runs trellis quantization (~150 ms for a 640x480 image on this
 * project's machine); the files are close to OpenCV's, not byte-identical (float DCT and color conversion).
 * @module
 */
import type { Image } from "../io/image.ts";

/** Zigzag order: `ZIGZAG[k]` is the row-major index of the k-th coefficient. */
// deno-fmt-ignore
const ZIGZAG = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

/** Annex K.1 luminance and chrominance quantization tables (row-major, 8 per row). */
// deno-fmt-ignore
const STD_LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61,
  12, 12, 14, 19, 26, 58, 60, 55,
  14, 13, 16, 24, 40, 57, 69, 56,
  14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77,
  24, 35, 55, 64, 81, 104, 113, 92,
  49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];
// deno-fmt-ignore
const STD_CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99,
  18, 21, 26, 66, 99, 99, 99, 99,
  24, 26, 56, 99, 99, 99, 99, 99,
  47, 66, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
];

/** Annex K.3 Huffman tables: code counts per length 1..16, then the symbols. */
// deno-fmt-ignore
const DC_LUMA = {
  bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
  vals: [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  ],
};
// deno-fmt-ignore
const DC_CHROMA = {
  bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  vals: [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  ],
};
// deno-fmt-ignore
const AC_LUMA = {
  bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  vals: [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71,
    0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72,
    0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37,
    0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
    0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3,
    0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
  ],
};
// deno-fmt-ignore
const AC_CHROMA = {
  bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  vals: [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22,
    0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1,
    0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36,
    0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
    0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a,
    0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba,
    0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
  ],
};

interface HuffSpec {
  bits: number[];
  vals: number[];
}

/** Code and length per symbol of a Huffman table (Annex C). */
function huffCodes({ bits, vals }: HuffSpec): { code: Uint16Array; size: Uint8Array } {
  const code = new Uint16Array(256), size = new Uint8Array(256);
  let c = 0, k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]; i++) {
      code[vals[k]] = c++;
      size[vals[k]] = len;
      k++;
    }
    c <<= 1;
  }
  return { code, size };
}

const HUFF = {
  dcL: huffCodes(DC_LUMA),
  acL: huffCodes(AC_LUMA),
  dcC: huffCodes(DC_CHROMA),
  acC: huffCodes(AC_CHROMA),
};

/** libjpeg's `jpeg_quality_scaling` and `jpeg_add_quant_table` (baseline: at most 255). */
function scaledTable(base: number[], quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return Uint8Array.from(base, (v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
}

/** The AAN float DCT's output scale per index (`cos(k * pi / 16) * sqrt(2)`, 1 for k = 0), folded into the divisors. */
const AAN = [1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.5411961, 0.275899379];

/** Divisors for the float DCT's outputs (row-major), from a quantization table (as libjpeg's `jfdctflt`). */
function divisors(table: Uint8Array): Float64Array {
  const d = new Float64Array(64);
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) d[r * 8 + c] = 1 / (table[r * 8 + c] * AAN[r] * AAN[c] * 8);
  }
  return d;
}

/** Appends bits to a byte stream, stuffing a 0 after each 0xFF. */
class BitWriter {
  buf: Uint8Array;
  pos = 0;
  #acc = 0;
  #n = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  #byte(b: number): void {
    if (this.pos + 2 > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.pos++] = b;
  }
  bytes(b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.#byte(b[i]);
  }
  bits(value: number, size: number): void {
    this.#acc = (this.#acc << size) | (value & ((1 << size) - 1));
    this.#n += size;
    while (this.#n >= 8) {
      const b = (this.#acc >> (this.#n - 8)) & 0xff;
      this.#byte(b);
      if (b === 0xff) this.#byte(0);
      this.#n -= 8;
    }
    this.#acc &= (1 << this.#n) - 1;
  }
  /** Pads the last byte with 1 bits. */
  flush(): void {
    if (this.#n > 0) this.bits((1 << (8 - this.#n)) - 1, 8 - this.#n);
  }
}

/** In-place 2-D float DCT (AAN, as libjpeg's `jpeg_fdct_float`) of an 8x8 block (row-major). */
function fdct(d: Float64Array): void {
  for (let pass = 0; pass < 2; pass++) {
    const step = pass === 0 ? 1 : 8, stride = pass === 0 ? 8 : 1;
    for (let i = 0; i < 8; i++) {
      const o = i * stride;
      const p0 = o, p1 = o + step, p2 = o + 2 * step, p3 = o + 3 * step;
      const p4 = o + 4 * step, p5 = o + 5 * step, p6 = o + 6 * step, p7 = o + 7 * step;
      const t0 = d[p0] + d[p7], t7 = d[p0] - d[p7];
      const t1 = d[p1] + d[p6], t6 = d[p1] - d[p6];
      const t2 = d[p2] + d[p5], t5 = d[p2] - d[p5];
      const t3 = d[p3] + d[p4], t4 = d[p3] - d[p4];
      // even part
      let t10 = t0 + t3;
      const t13 = t0 - t3;
      let t11 = t1 + t2;
      let t12 = t1 - t2;
      d[p0] = t10 + t11;
      d[p4] = t10 - t11;
      const z1 = (t12 + t13) * 0.707106781;
      d[p2] = t13 + z1;
      d[p6] = t13 - z1;
      // odd part
      t10 = t4 + t5;
      t11 = t5 + t6;
      t12 = t6 + t7;
      const z5 = (t10 - t12) * 0.382683433;
      const z2 = 0.5411961 * t10 + z5;
      const z4 = 1.306562965 * t12 + z5;
      const z3 = t11 * 0.707106781;
      const z11 = t7 + z3, z13 = t7 - z3;
      d[p5] = z13 + z2;
      d[p3] = z13 - z2;
      d[p1] = z11 + z4;
      d[p7] = z11 - z4;
    }
  }
}

/** Writes a marker segment: `FF marker`, length, payload. */
function segment(w: BitWriter, marker: number, payload: number[]): void {
  w.bytes([0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
  w.bytes(payload);
}

/**
 * Encodes RGB pixels as a baseline JPEG (4:2:0, standard tables scaled by `quality`).
 *
 * @param img The pixels.
 * @param quality 1..100, as libjpeg's (OpenCV's `imwrite` default: 95).
 * @returns The file's bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeJpeg } from "./jpeg_encode.ts";
 * const jpg = encodeJpeg({ width: 2, height: 2, data: new Uint8Array(12).fill(200) });
 * assert.deepEqual([...jpg.subarray(0, 2)], [0xff, 0xd8]); // SOI
 * assert.deepEqual([...jpg.subarray(-2)], [0xff, 0xd9]); // EOI
 * ```
 */
export function encodeJpeg(img: Image, quality = 95): Uint8Array {
  const { width: w, height: h, data } = img;
  if (!(w >= 1 && h >= 1 && w <= 65535 && h <= 65535) || data.length !== w * h * 3) {
    throw new RangeError(`Give a JPEG 1..65535 pixels a side and 3 bytes per pixel: got ${w}x${h}`);
  }
  const qL = scaledTable(STD_LUMA_Q, quality), qC = scaledTable(STD_CHROMA_Q, quality);
  const dL = divisors(qL), dC = divisors(qC);
  // Planes padded to whole 16x16 MCUs by repeating the last column and row (as libjpeg's edge expansion).
  const pw = Math.ceil(w / 16) * 16, ph = Math.ceil(h / 16) * 16;
  const Y = new Float32Array(pw * ph), Cb = new Float32Array(pw * ph), Cr = new Float32Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    const sy = Math.min(y, h - 1);
    for (let x = 0; x < pw; x++) {
      const s = (sy * w + Math.min(x, w - 1)) * 3;
      const r = data[s], g = data[s + 1], b = data[s + 2];
      const o = y * pw + x;
      Y[o] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
      Cb[o] = -0.168735892 * r - 0.331264108 * g + 0.5 * b;
      Cr[o] = 0.5 * r - 0.418687589 * g - 0.081312411 * b;
    }
  }
  const w8 = new BitWriter(Math.max(1024, (w * h) >> 1));
  w8.bytes([0xff, 0xd8]);
  segment(w8, 0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]); // JFIF 1.1, aspect 1:1
  const zig = (t: Uint8Array) => Array.from(ZIGZAG, (k) => t[k]);
  segment(w8, 0xdb, [0, ...zig(qL), 1, ...zig(qC)]);
  segment(w8, 0xc0, [8, h >> 8, h & 0xff, w >> 8, w & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  const dht = (cls: number, spec: HuffSpec) => [cls, ...spec.bits, ...spec.vals];
  segment(w8, 0xc4, [
    ...dht(0x00, DC_LUMA),
    ...dht(0x10, AC_LUMA),
    ...dht(0x01, DC_CHROMA),
    ...dht(0x11, AC_CHROMA),
  ]);
  segment(w8, 0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);

  const block = new Float64Array(64);
  const q = new Int32Array(64);
  const pred = [0, 0, 0];
  const encodeBlock = (comp: number, div: Float64Array, dc: typeof HUFF.dcL, ac: typeof HUFF.acL) => {
    fdct(block);
    for (let k = 0; k < 64; k++) q[k] = Math.round(block[ZIGZAG[k]] * div[ZIGZAG[k]]);
    // DC: the difference from the component's last block, as size category + bits.
    const diff = q[0] - pred[comp];
    pred[comp] = q[0];
    writeValue(w8, diff, dc.code, dc.size, 0);
    // AC: runs of zeros (ZRL per 16), then the value; EOB after the last nonzero.
    let last = 63;
    while (last > 0 && q[last] === 0) last--;
    let run = 0;
    for (let k = 1; k <= last; k++) {
      if (q[k] === 0) {
        run++;
        continue;
      }
      while (run > 15) {
        w8.bits(ac.code[0xf0], ac.size[0xf0]);
        run -= 16;
      }
      writeValue(w8, q[k], ac.code, ac.size, run);
      run = 0;
    }
    if (last < 63) w8.bits(ac.code[0], ac.size[0]);
  };
  for (let my = 0; my < ph; my += 16) {
    for (let mx = 0; mx < pw; mx += 16) {
      for (let by = 0; by < 16; by += 8) {
        for (let bx = 0; bx < 16; bx += 8) {
          for (let r = 0; r < 8; r++) {
            const o = (my + by + r) * pw + mx + bx;
            for (let c = 0; c < 8; c++) block[r * 8 + c] = Y[o + c];
          }
          encodeBlock(0, dL, HUFF.dcL, HUFF.acL);
        }
      }
      // chroma: each sample the mean of its 2x2 pixels
      for (const [comp, plane] of [[1, Cb], [2, Cr]] as const) {
        for (let r = 0; r < 8; r++) {
          const o = (my + 2 * r) * pw + mx;
          for (let c = 0; c < 8; c++) {
            const i = o + 2 * c;
            block[r * 8 + c] = (plane[i] + plane[i + 1] + plane[i + pw] + plane[i + pw + 1]) * 0.25;
          }
        }
        encodeBlock(comp, dC, HUFF.dcC, HUFF.acC);
      }
    }
  }
  w8.flush();
  w8.bytes([0xff, 0xd9]);
  return w8.buf.slice(0, w8.pos);
}

/** Writes `(run, size)`'s code, then `value`'s size bits (negative values as one's complement). */
function writeValue(w: BitWriter, value: number, code: Uint16Array, size: Uint8Array, run: number): void {
  const a = Math.abs(value);
  let n = 0;
  while (a >> n) n++;
  const sym = (run << 4) | n;
  w.bits(code[sym], size[sym]);
  if (n > 0) w.bits(value < 0 ? value + (1 << n) - 1 : value, n);
}
