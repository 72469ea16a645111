/** Ultralytics `Conv` (Conv2d + BatchNorm2d + SiLU), `DWConv`, and a plain `nn.Conv2d` with bias. */
import type { Builder } from "../builder.ts";
import type { Value } from "../ir.ts";

/** `autopad(k, p, d)`: same-size padding for odd kernels. */
export function autopad(k: number, p: number | null = null, d = 1): number {
  if (p !== null) return p;
  const kd = d > 1 ? d * (k - 1) + 1 : k;
  return Math.floor(kd / 2);
}

/** Arguments of `Conv(c1, c2, k=1, s=1, p=None, g=1, d=1, act=True)`. */
export interface ConvArgs {
  c2: number;
  k?: number;
  s?: number;
  p?: number | null;
  g?: number;
  act?: boolean;
}

/** `Conv`: weight at `${path}.conv.weight`, BatchNorm at `${path}.bn`, SiLU unless `act` is false. */
export function conv(b: Builder, path: string, x: Value, a: ConvArgs, cls = "Conv"): Value {
  const { c2, k = 1, s = 1, g = 1, act = true } = a;
  const p = autopad(k, a.p ?? null);
  const c1 = x.c;
  if (c1 % g !== 0 || c2 % g !== 0) {
    throw new RangeError(`Cannot build "${path}": groups ${g} do not divide channels ${c1} -> ${c2}`);
  }
  return b.module(cls, path, () => {
    b.leaf("Conv2d", `${path}.conv`, { weight: [c2, c1 / g, k, k] });
    b.leaf("BatchNorm2d", `${path}.bn`, { weight: [c2], bias: [c2] }, {
      running_mean: [c2],
      running_var: [c2],
      num_batches_tracked: [],
    });
    if (act) b.silu();
    else b.leaf("Identity", `${path}.act`, {});
    const y = b.value(c2, x.stride * s);
    b.emit({
      op: "conv",
      name: path,
      x: x.id,
      y: y.id,
      cin: c1,
      cout: c2,
      k,
      s,
      p,
      g,
      act: act ? "silu" : "none",
      weight: `${path}.conv.weight`,
      bias: `${path}.conv.bias`,
      bn: `${path}.bn`,
    });
    return y;
  });
}

/** Greatest common divisor. */
export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** `DWConv(c1, c2, k=1, s=1, d=1, act=True)`: a `Conv` with `g = gcd(c1, c2)`. */
export function dwconv(b: Builder, path: string, x: Value, a: Omit<ConvArgs, "g" | "p">): Value {
  return conv(b, path, x, { ...a, g: gcd(x.c, a.c2) }, "DWConv");
}

/** A plain `nn.Conv2d(c1, c2, k)` with bias and no activation (the heads' last 1x1 convs). */
export function conv2d(b: Builder, path: string, x: Value, c2: number, k = 1): Value {
  b.leaf("Conv2d", path, { weight: [c2, x.c, k, k], bias: [c2] });
  const y = b.value(c2, x.stride);
  b.emit({
    op: "conv",
    name: path,
    x: x.id,
    y: y.id,
    cin: x.c,
    cout: c2,
    k,
    s: 1,
    p: autopad(k),
    g: 1,
    act: "none",
    weight: `${path}.weight`,
    bias: `${path}.bias`,
  });
  return y;
}
