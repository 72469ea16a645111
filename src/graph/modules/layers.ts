/** Ultralytics `Concat(dimension=1)` and `nn.Upsample(size=None, scale_factor=2, mode="nearest")`. */
import type { Builder } from "../builder.ts";
import type { Value } from "../ir.ts";

/** `torch.cat(xs, 1)`; all inputs must share a spatial size. */
export function concat(b: Builder, path: string, xs: Value[], dimension = 1): Value {
  if (dimension !== 1) {
    throw new RangeError(`Cannot build "${path}": only Concat along channels (1) is supported`);
  }
  const stride = xs[0].stride;
  for (const x of xs) {
    if (x.stride !== stride) {
      throw new RangeError(
        `Cannot build "${path}": Concat inputs have strides ${xs.map((v) => v.stride).join(", ")}`,
      );
    }
  }
  b.leaf("Concat", path, {});
  const y = b.value(xs.reduce((s, x) => s + x.c, 0), stride);
  b.emit({ op: "concat", xs: xs.map((x) => x.id), y: y.id });
  return y;
}

/** Nearest upsampling by an integer `scaleFactor`. */
export function upsample(b: Builder, path: string, x: Value, scaleFactor: number, mode: string): Value {
  if (
    mode !== "nearest" || !Number.isInteger(scaleFactor) || scaleFactor < 1 || x.stride % scaleFactor !== 0
  ) {
    throw new RangeError(
      `Cannot build "${path}": only integer nearest upsampling is supported, got scale ${scaleFactor} mode "${mode}"`,
    );
  }
  b.leaf("Upsample", path, {});
  const y = b.value(x.c, x.stride / scaleFactor);
  b.emit({ op: "upsample", x: x.id, y: y.id, scale: scaleFactor });
  return y;
}
