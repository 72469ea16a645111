/**
 * CPU reference of `kernels/detect.wgsl`: Ultralytics' inference decode (DFL, dist2bbox to xywh times
 * stride, class sigmoid, raw mask coefficients) written as `output0` [batch, 4 + nc + nm, A], in f64.
 *
 * @module
 */
import {
  DETECT_MAX_LEVELS,
  detectAnchors,
  type DetectOverrides,
  type DetectParams,
} from "../../kernels/detect.ts";

/** Buffers of a detect call; `y` is written in place, only inside `output0`'s extent. */
export interface DetectBuffers {
  x: Float32Array;
  y: Float32Array;
}

/** Runs detect on the CPU, writing `buf.y` like the GPU kernel. */
export function detect(buf: DetectBuffers, p: DetectParams, o: Partial<DetectOverrides> = {}): void {
  const regMax = o.REG_MAX ?? 16;
  const inC = 4 * regMax + p.nc + p.nm;
  const outC = 4 + p.nc + p.nm;
  const anchors = detectAnchors(p);
  const field = (name: string, l: number) => p[`${name}${l}` as keyof DetectParams];
  const dfl = (c0: number) => {
    const bins = Array.from({ length: regMax }, (_, i) => buf.x[c0 + i]);
    const max = Math.max(...bins);
    const e = bins.map((v) => Math.exp(v - max));
    const sum = e.reduce((s, v) => s + v, 0);
    return e.reduce((s, v, i) => s + v * i, 0) / sum;
  };
  for (let img = 0; img < p.batch; img++) {
    let a = 0;
    for (let l = 0; l < Math.min(p.nLevels, DETECT_MAX_LEVELS); l++) {
      const [h, w, stride] = [field("h", l), field("w", l), field("stride", l)];
      for (let py = 0; py < h; py++) {
        for (let px = 0; px < w; px++, a++) {
          const row = field("xBase", l) + ((img * h + py) * w + px) * inC;
          const out = (ch: number) => p.yBase + (img * outC + ch) * anchors + a;
          const [left, top, right, bottom] = [0, 1, 2, 3].map((side) => dfl(row + side * regMax));
          const [x1, y1] = [px + 0.5 - left, py + 0.5 - top];
          const [x2, y2] = [px + 0.5 + right, py + 0.5 + bottom];
          buf.y[out(0)] = ((x1 + x2) / 2) * stride;
          buf.y[out(1)] = ((y1 + y2) / 2) * stride;
          buf.y[out(2)] = (x2 - x1) * stride;
          buf.y[out(3)] = (y2 - y1) * stride;
          for (let c = 0; c < p.nc; c++) buf.y[out(4 + c)] = 1 / (1 + Math.exp(-buf.x[row + 4 * regMax + c]));
          for (let c = 0; c < p.nm; c++) buf.y[out(4 + p.nc + c)] = buf.x[row + 4 * regMax + p.nc + c];
        }
      }
    }
  }
}
