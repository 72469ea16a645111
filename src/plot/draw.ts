/**
 * Pixel primitives of the annotator on 8-bit RGB images: filled rectangles, box outlines of a given line
 * width, translucent mask blending (Ultralytics' `Annotator.masks`), and masks mapped from the letterbox
 * back to the original image (`ops.scale_image`, nearest neighbour).
 * @module
 */
import type { Image } from "../io/image.ts";
import type { Rgb } from "./colors.ts";

/** Fills the pixels `x0..x1`, `y0..y1` (inclusive, clipped to the image) with `color`. */
export function fillRect(img: Image, x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
  const { width: W, height: H, data } = img;
  const xa = Math.max(0, Math.min(x0, x1)), xb = Math.min(W - 1, Math.max(x0, x1));
  const ya = Math.max(0, Math.min(y0, y1)), yb = Math.min(H - 1, Math.max(y0, y1));
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const i = 3 * (y * W + x);
      data[i] = color[0], data[i + 1] = color[1], data[i + 2] = color[2];
    }
  }
}

/**
 * Draws the outline of the box with corners `(x1, y1)`, `(x2, y2)` (integer pixels), `lineWidth` thick and
 * centred on the box edges as `cv2.rectangle` does: `floor(lw / 2)` pixels outside, the rest inside.
 */
export function drawBox(
  img: Image,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  color: Rgb,
  lineWidth: number,
): void {
  const out = Math.floor(lineWidth / 2), inn = lineWidth - 1 - out;
  const l = Math.min(x1, x2), r = Math.max(x1, x2), t = Math.min(y1, y2), b = Math.max(y1, y2);
  fillRect(img, l - out, t - out, r + out, t + inn, color); // top
  fillRect(img, l - out, b - inn, r + out, b + out, color); // bottom
  fillRect(img, l - out, t - out, l + inn, b + out, color); // left
  fillRect(img, r - inn, t - out, r + out, b + out, color); // right
}

/**
 * Blends instance masks into an image as Ultralytics' `Annotator.masks` with `alpha`:
 * `pixel * prod_i(1 - alpha * m_i) + max_i(alpha * m_i * color_i)`, truncated to bytes.
 *
 * @param img The image, changed in place.
 * @param masks `k * height * width` binary values at the image's resolution.
 * @param colors One color per mask.
 * @param alpha Mask opacity.
 */
export function blendMasks(img: Image, masks: Uint8Array, colors: readonly Rgb[], alpha = 0.5): void {
  const { width: W, height: H, data } = img;
  const plane = W * H, k = colors.length;
  if (masks.length < k * plane) {
    throw new RangeError(`Cannot blend masks: ${masks.length} values are fewer than ${k}x${H}x${W}`);
  }
  for (let p = 0; p < plane; p++) {
    let inv = 1, r = 0, g = 0, b = 0, hit = false;
    for (let m = 0; m < k; m++) {
      if (!masks[m * plane + p]) continue;
      hit = true;
      inv *= 1 - alpha;
      const c = colors[m];
      r = Math.max(r, alpha * c[0]), g = Math.max(g, alpha * c[1]), b = Math.max(b, alpha * c[2]);
    }
    if (!hit) continue;
    const i = 3 * p;
    data[i] = Math.min(255, Math.floor(data[i] * inv + r));
    data[i + 1] = Math.min(255, Math.floor(data[i + 1] * inv + g));
    data[i + 2] = Math.min(255, Math.floor(data[i + 2] * inv + b));
  }
}

/** Python 3 `round`: half to even. */
function pyRound(x: number): number {
  const f = Math.floor(x), d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

/**
 * Maps `k` masks from the letterbox back to the original image as `ops.scale_image` does (the padding
 * cut off with `round(pad -/+ 0.1)`, then resized), with a nearest-neighbour resize.
 *
 * @param masks `k * lh * lw` binary values.
 * @param shape `[k, lh, lw]`.
 * @param origShape The original `[height, width]`.
 * @returns `k * height * width` binary values.
 */
export function masksToOriginal(
  masks: Uint8Array,
  shape: readonly [number, number, number],
  origShape: readonly [number, number],
): Uint8Array {
  const [k, lh, lw] = shape, [h, w] = origShape;
  if (lh === h && lw === w) return masks;
  const gain = Math.min(lh / h, lw / w);
  const padX = (lw - w * gain) / 2, padY = (lh - h * gain) / 2;
  const top = pyRound(padY - 0.1), left = pyRound(padX - 0.1);
  const ch = lh - pyRound(padY + 0.1) - top, cw = lw - pyRound(padX + 0.1) - left;
  const out = new Uint8Array(k * h * w);
  const sx = Int32Array.from(
    { length: w },
    (_, x) => left + Math.min(cw - 1, Math.floor((x + 0.5) * cw / w)),
  );
  for (let m = 0; m < k; m++) {
    const src = m * lh * lw, dst = m * h * w;
    for (let y = 0; y < h; y++) {
      const row = src + (top + Math.min(ch - 1, Math.floor((y + 0.5) * ch / h))) * lw;
      for (let x = 0; x < w; x++) out[dst + y * w + x] = masks[row + sx[x]];
    }
  }
  return out;
}
