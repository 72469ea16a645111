/**
 * CPU reference of `kernels/conv2d.wgsl`: direct convolution over the same views, weights in
 * PyTorch order `[cout, cinPerGroup, k, k]`, accumulated in f64.
 *
 * @module
 */
import type { Conv2dOverrides, Conv2dParams } from "../../kernels/conv2d.ts";
import { nchwIndex, nhwcIndex, silu, storeUpsampled } from "./_view.ts";

/** Buffers of a conv2d call; `y` is written in place, only inside its view. */
export interface Conv2dBuffers {
  x: Float32Array;
  /** Unpacked weights `[cout, inC / groups, KSIZE, KSIZE]`. */
  w: Float32Array;
  b: Float32Array;
  /** Residual, read when `RESIDUAL` is 1; or with `UP_R` > 0 the upsampled copy of y, written. */
  r?: Float32Array;
  y: Float32Array;
  /**
   * The depthwise pre-conv (`PRE_K` > 0): its unpacked weights `[inC, 1, PRE_K, PRE_K]` followed by its
   * `inC` biases; or the 1x1 post-conv (`POST_N` > 0): its weights `[POST_N, outC, 1, 1]` followed by its
   * `POST_N` biases (with `POST_CAT` the weights are `[POST_N, catC + outC, 1, 1]`, in `POST_CAT`'s order); with both, the
   * pre-conv's followed by the post-conv's.
   */
  aux?: Float32Array;
}

/** Runs conv2d on the CPU, writing `buf.y` like the GPU kernel (tile overrides are ignored). */
export function conv2d(buf: Conv2dBuffers, p: Conv2dParams, o: Partial<Conv2dOverrides> = {}): void {
  if (o.PRE_K) {
    // The depthwise pre-conv into a dense NHWC image, then the conv over it.
    const pre = depthwise(buf.x, buf.aux!, p, o.PRE_K, o.PRE_ACT === 1);
    const rest = buf.aux!.subarray((o.PRE_K * o.PRE_K + 1) * p.inC);
    conv2d({ ...buf, x: pre, aux: rest }, { ...p, xBase: 0, xStride: p.inC, xOff: 0 }, {
      ...o,
      PRE_K: 0,
    });
    return;
  }
  if (o.POST_N) {
    // The layer into a dense NHWC image (bias, activation; with POST_CAT the residual too, and catC channels
    // copied from r's buffer before or after it), then the 1x1 post-conv (+ residual without POST_CAT) into y.
    const n2 = o.POST_N, aux = buf.aux!;
    const cat = o.POST_CAT ? p.catC : 0;
    const cin2 = cat + p.outC;
    const pixels = p.batch * p.outH * p.outW;
    const mid = new Float32Array(pixels * cin2);
    // POST_CAT 1: [cat | tile]; 2: [tile | cat].
    const [tileAt, catAt] = o.POST_CAT === 2 ? [0, p.outC] : [cat, 0];
    const dense = { Base: 0, Stride: cin2, Off: tileAt };
    conv2d(
      { x: buf.x, w: buf.w, b: buf.b, r: buf.r, y: mid },
      { ...p, yBase: dense.Base, yStride: dense.Stride, yOff: dense.Off },
      { ...o, POST_N: 0, POST_CAT: 0, RESIDUAL: o.POST_CAT ? o.RESIDUAL : 0, OUT_NCHW: 0, UP_R: 0 },
    );
    for (let m = 0; m < pixels && cat > 0; m++) {
      for (let c = 0; c < cat; c++) {
        mid[m * cin2 + catAt + c] = buf.r![p.catBase + m * p.catStride + p.catOff + c];
      }
    }
    conv2d(
      { x: mid, w: aux.subarray(0, n2 * cin2), b: aux.subarray(n2 * cin2), r: buf.r, y: buf.y },
      {
        ...p,
        inH: p.outH,
        inW: p.outW,
        inC: cin2,
        outC: n2,
        groups: 1,
        pad: 0,
        xBase: 0,
        xStride: cin2,
        xOff: 0,
      },
      {
        ...o,
        KSIZE: 1,
        STRIDE: 1,
        ACT: o.POST_ACT ?? 0,
        POST_N: 0,
        POST_CAT: 0,
        RESIDUAL: o.POST_CAT ? 0 : o.RESIDUAL,
        IN_NCHW: 0,
        PRE_K: 0,
      },
    );
    return;
  }
  const k = o.KSIZE ?? 3;
  const stride = o.STRIDE ?? 1;
  const xAt = o.IN_NCHW ? nchwIndex : nhwcIndex;
  const yAt = o.OUT_NCHW ? nchwIndex : nhwcIndex;
  const cinG = p.inC / p.groups;
  const coutG = p.outC / p.groups;
  for (let n = 0; n < p.batch; n++) {
    for (let oy = 0; oy < p.outH; oy++) {
      for (let ox = 0; ox < p.outW; ox++) {
        for (let c = 0; c < p.outC; c++) {
          const g = Math.floor(c / coutG);
          let s = 0;
          for (let ky = 0; ky < k; ky++) {
            const iy = oy * stride - p.pad + ky;
            if (iy < 0 || iy >= p.inH) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = ox * stride - p.pad + kx;
              if (ix < 0 || ix >= p.inW) continue;
              for (let ci = 0; ci < cinG; ci++) {
                const xi = xAt(p.xBase, p.xStride, p.xOff, p.inH, p.inW, n, iy, ix, g * cinG + ci);
                s += buf.x[xi] * buf.w[((c * cinG + ci) * k + ky) * k + kx];
              }
            }
          }
          let v = s + buf.b[c];
          if (o.ACT === 1) v = silu(v);
          if (o.RESIDUAL) {
            v += buf.r![yAt(p.rBase, p.rStride, p.rOff, p.outH, p.outW, n, oy, ox, c)];
          }
          buf.y[yAt(p.yBase, p.yStride, p.yOff, p.outH, p.outW, n, oy, ox, c)] = v;
          if (o.UP_R) {
            const view = { base: p.rBase, stride: p.rStride, off: p.rOff };
            storeUpsampled(buf.r!, view, p.outH, p.outW, o.UP_R, { n, y: oy, x: ox, c }, v);
          }
        }
      }
    }
  }
}

/** The depthwise conv (stride 1, zero padding k / 2, bias, optional SiLU) of the input view, dense NHWC. */
function depthwise(
  x: Float32Array,
  aux: Float32Array,
  p: Conv2dParams,
  k: number,
  act: boolean,
): Float32Array {
  const c = p.inC;
  const out = new Float32Array(p.batch * p.inH * p.inW * c);
  const r = Math.floor(k / 2);
  for (let n = 0; n < p.batch; n++) {
    for (let y = 0; y < p.inH; y++) {
      for (let xx = 0; xx < p.inW; xx++) {
        for (let ch = 0; ch < c; ch++) {
          let s = aux[c * k * k + ch];
          for (let ty = 0; ty < k; ty++) {
            const iy = y + ty - r;
            if (iy < 0 || iy >= p.inH) continue;
            for (let tx = 0; tx < k; tx++) {
              const ix = xx + tx - r;
              if (ix < 0 || ix >= p.inW) continue;
              s += aux[(ch * k + ty) * k + tx] *
                x[nhwcIndex(p.xBase, p.xStride, p.xOff, p.inH, p.inW, n, iy, ix, ch)];
            }
          }
          out[((n * p.inH + y) * p.inW + xx) * c + ch] = act ? silu(s) : s;
        }
      }
    }
  }
  return out;
}
