/**
 * EXIF orientation of JPEG files, read and applied the way OpenCV's `cv2.imread`/`cv2.imdecode` do with
 * `IMREAD_COLOR`: the first APP1 segment is taken as Exif (6 bytes of `"Exif\0\0"`, then a TIFF header),
 * IFD0's Orientation tag (0x0112) gives 1..8, and the decoded pixels are flipped/transposed as
 * `ExifTransform` in `modules/imgcodecs/src/loadsave.cpp` does. Any other value, or no Exif, leaves the
 * image as decoded.
 *
 * @module
 */

/** Pixels of any channel count, row-major, `channels` bytes per pixel. */
export interface Pixels {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** `width * height * channels` bytes. */
  data: Uint8Array;
}

const APP1 = 0xe1;
const SOS = 0xda;
const EOI = 0xd9;
const ORIENTATION_TAG = 0x0112;

/**
 * The EXIF Orientation (1..8) of a JPEG file, or 1 when it has none (or an unreadable one). Only the
 * header segments before the first scan are looked at, as libjpeg's saved markers are.
 *
 * @param jpeg The whole file.
 * @returns 1 (as stored), 2 (mirrored), 3 (rotated 180°), 4 (flipped), 5 (transposed), 6 (rotate 90° clockwise
 *   to view), 7 (transversed), 8 (rotate 90° counter-clockwise to view).
 */
export function jpegOrientation(jpeg: Uint8Array): number {
  const app1 = firstApp1(jpeg);
  if (!app1 || app1.length <= 6) return 1;
  return tiffOrientation(app1.subarray(6));
}

/** The payload (after the length field) of the first APP1 segment, as OpenCV's JPEG reader picks it. */
function firstApp1(b: Uint8Array): Uint8Array | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    let m = b[i + 1];
    while (m === 0xff && i + 2 < b.length) m = b[++i + 1]; // fill bytes
    if (m === SOS || m === EOI) return undefined;
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { // standalone markers
      i += 2;
      continue;
    }
    if (i + 4 > b.length) return undefined;
    const len = (b[i + 2] << 8) | b[i + 3];
    if (len < 2 || i + 2 + len > b.length) return undefined;
    if (m === APP1) return b.subarray(i + 4, i + 2 + len);
    i += 2 + len;
  }
  return undefined;
}

/** Orientation from a TIFF structure (`II`/`MM`, 42, IFD0 offset, IFD0 entries). */
function tiffOrientation(t: Uint8Array): number {
  if (t.length < 8) return 1;
  let le: boolean;
  if (t[0] === 0x49 && t[1] === 0x49) le = true;
  else if (t[0] === 0x4d && t[1] === 0x4d) le = false;
  else return 1;
  const u16 = (o: number) => le ? t[o] | (t[o + 1] << 8) : (t[o] << 8) | t[o + 1];
  const u32 = (o: number) =>
    le
      ? (t[o] | (t[o + 1] << 8) | (t[o + 2] << 16)) + t[o + 3] * 0x1000000
      : ((t[o + 1] << 16) | (t[o + 2] << 8) | t[o + 3]) + t[o] * 0x1000000;
  if (u16(2) !== 42) return 1;
  const ifd = u32(4);
  if (ifd + 2 > t.length) return 1;
  const n = u16(ifd);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + 12 * k;
    if (e + 12 > t.length) return 1;
    if (u16(e) === ORIENTATION_TAG) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/**
 * Pixels turned upright for an EXIF orientation, as OpenCV's `ExifTransform` does: 2 flips
 * horizontally, 3 both ways, 4 vertically, 5 transposes, 6 transposes then flips horizontally (90°
 * clockwise), 7 transposes then flips both ways, 8 transposes then flips vertically (90° counter-clockwise).
 *
 * @param img The decoded pixels (any channel count).
 * @param orientation 1..8; anything else returns `img` unchanged.
 * @returns New pixels (or `img` itself for 1 and unknown values); 5..8 swap width and height.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orientPixels } from "./image_exif.ts";
 * // a 2x1 gray image [a b] rotated 90° clockwise becomes 1x2 [a; b]
 * const out = orientPixels({ width: 2, height: 1, data: new Uint8Array([1, 2]) }, 6);
 * assert.deepEqual([out.width, out.height, [...out.data]], [1, 2, [1, 2]]);
 * ```
 */
export function orientPixels<P extends Pixels>(img: P, orientation: number): P {
  if (!(orientation >= 2 && orientation <= 8)) return img;
  const { width: w, height: h, data } = img;
  const cn = data.length / (w * h);
  const swap = orientation >= 5;
  const ow = swap ? h : w, oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx: number, sy: number;
      switch (orientation) {
        case 2:
          sx = w - 1 - x, sy = y;
          break;
        case 3:
          sx = w - 1 - x, sy = h - 1 - y;
          break;
        case 4:
          sx = x, sy = h - 1 - y;
          break;
        case 5:
          sx = y, sy = x;
          break;
        case 6:
          sx = y, sy = h - 1 - x;
          break;
        case 7:
          sx = w - 1 - y, sy = h - 1 - x;
          break;
        default: // 8
          sx = w - 1 - y, sy = x;
      }
      const s = (sy * w + sx) * cn, d = (y * ow + x) * cn;
      for (let c = 0; c < cn; c++) out[d + c] = data[s + c];
    }
  }
  return { ...img, width: ow, height: oh, data: out };
}
