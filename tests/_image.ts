/**
 * Test inputs: a sample image decoded and letterboxed to an NCHW float tensor (a plain bilinear resize:
 * the parity tests feed the same tensor to both engines, so exact Ultralytics preprocessing is not needed).
 */
import decode from "@jsquash/jpeg/decode.js";
import { sharedPath } from "./_shared.ts";

/** `../shared/images/<name>` letterboxed into `[1, 3, h, w]`, RGB in 0..1, padding 114/255. */
export async function letterboxedImage(name: string, h: number, w: number): Promise<Float32Array> {
  const bytes = await Deno.readFile(sharedPath(`images/${name}`));
  const img = await decode(bytes.buffer as ArrayBuffer);
  const r = Math.min(h / img.height, w / img.width);
  const nh = Math.round(img.height * r);
  const nw = Math.round(img.width * r);
  const top = Math.floor((h - nh) / 2);
  const left = Math.floor((w - nw) / 2);
  const out = new Float32Array(3 * h * w).fill(114 / 255);
  for (let y = 0; y < nh; y++) {
    const sy = Math.min(Math.max((y + 0.5) / r - 0.5, 0), img.height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const fy = sy - y0;
    for (let x = 0; x < nw; x++) {
      const sx = Math.min(Math.max((x + 0.5) / r - 0.5, 0), img.width - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 4 + c];
        const v = (p(y0, x0) * (1 - fx) + p(y0, x1) * fx) * (1 - fy) +
          (p(y1, x0) * (1 - fx) + p(y1, x1) * fx) * fy;
        out[(c * h + top + y) * w + left + x] = v / 255;
      }
    }
  }
  return out;
}
