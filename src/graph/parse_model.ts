/**
 * Ultralytics' `parse_model` (8.3.x): turns a model YAML dict into the module tree and op graph, with the
 * same depth/width scaling, `max_channels` cap, `from` indices, repeats and per-module argument handling.
 */
import { ModelConfigError } from "../errors.ts";
import { Builder, type ModuleNode } from "./builder.ts";
import type { Graph, Value } from "./ir.ts";
import { bottleneck } from "./modules/bottleneck.ts";
import { c2f } from "./modules/c2f.ts";
import { c2psa } from "./modules/c2psa.ts";
import { c3, c3k, c3k2 } from "./modules/c3k2.ts";
import { conv, dwconv } from "./modules/conv.ts";
import { head } from "./modules/head.ts";
import { concat, upsample } from "./modules/layers.ts";
import { sppf } from "./modules/sppf.ts";

/** One YAML layer row: `[from, repeats, module, args]`. */
export type LayerRow = [number | number[], number, string, unknown[]];

/** A model YAML dict as Ultralytics stores it (`model.yaml`). */
export interface ModelYaml {
  nc?: number;
  scales?: Record<string, [number, number, number]>;
  scale?: string;
  depth_multiple?: number;
  width_multiple?: number;
  activation?: string;
  channels?: number;
  ch?: number;
  backbone: LayerRow[];
  head: LayerRow[];
  yaml_file?: string;
  [key: string]: unknown;
}

/** The result of parsing: module tree, op graph and the facts the runtime needs. */
export interface ParsedModel {
  root: ModuleNode;
  graph: Graph;
  nc: number;
  task: "segment" | "detect";
  strides: number[];
  scale: string;
  /** The indices of layers whose outputs later layers read (Ultralytics' `save`). */
  save: number[];
  /** One row per YAML layer, as Ultralytics' parse_model prints them. */
  layers: LayerSummary[];
}

/** A YAML layer after parsing: its inputs, repeats, module name and final constructor arguments. */
export interface LayerSummary {
  index: number;
  from: number | number[];
  n: number;
  module: string;
  args: unknown[];
}

/** Named argument table of a module after `c1` (Ultralytics' constructor signature). */
interface ModuleDef {
  /** Parameter names in constructor order, from the first YAML argument on. */
  params: readonly string[];
  /** Ultralytics' base_modules: args become [c1, c2 (width-scaled), ...rest]. */
  base: boolean;
  /** Ultralytics' repeat_modules: the repeat count moves into the arguments. */
  repeat: boolean;
  build: (b: Builder, path: string, x: Value[], a: Record<string, unknown>) => Value;
}

const num = (v: unknown, d: number): number => (v === undefined || v === null ? d : Number(v));
const bool = (v: unknown, d: boolean): boolean => (v === undefined || v === null ? d : Boolean(v));

/** The modules YOLO11-seg and YOLOv8-seg use, keyed by their YAML names. */
const MODULES: Record<string, ModuleDef> = {
  Conv: {
    params: ["c2", "k", "s", "p", "g", "d", "act"],
    base: true,
    repeat: false,
    build: (b, path, [x], a) =>
      conv(b, path, x, {
        c2: num(a.c2, 0),
        k: num(a.k, 1),
        s: num(a.s, 1),
        p: a.p === undefined ? null : (a.p as number | null),
        g: num(a.g, 1),
        act: bool(a.act, true),
      }),
  },
  DWConv: {
    params: ["c2", "k", "s", "d", "act"],
    base: true,
    repeat: false,
    build: (b, path, [x], a) => dwconv(b, path, x, { c2: num(a.c2, 0), k: num(a.k, 1), s: num(a.s, 1) }),
  },
  Bottleneck: {
    params: ["c2", "shortcut", "g", "k", "e"],
    base: true,
    repeat: false,
    build: (b, path, [x], a) =>
      bottleneck(b, path, x, {
        c2: num(a.c2, 0),
        shortcut: bool(a.shortcut, true),
        g: num(a.g, 1),
        e: num(a.e, 0.5),
      }),
  },
  C2f: {
    params: ["c2", "n", "shortcut", "g", "e"],
    base: true,
    repeat: true,
    build: (b, path, [x], a) =>
      c2f(b, path, x, {
        c2: num(a.c2, 0),
        n: num(a.n, 1),
        shortcut: bool(a.shortcut, false),
        g: num(a.g, 1),
        e: num(a.e, 0.5),
      }),
  },
  C3: {
    params: ["c2", "n", "shortcut", "g", "e"],
    base: true,
    repeat: true,
    build: (b, path, [x], a) =>
      c3(b, path, x, {
        c2: num(a.c2, 0),
        n: num(a.n, 1),
        shortcut: bool(a.shortcut, true),
        g: num(a.g, 1),
        e: num(a.e, 0.5),
      }),
  },
  C3k: {
    params: ["c2", "n", "shortcut", "g", "e", "k"],
    base: true,
    repeat: true,
    build: (b, path, [x], a) =>
      c3k(b, path, x, {
        c2: num(a.c2, 0),
        n: num(a.n, 1),
        shortcut: bool(a.shortcut, true),
        g: num(a.g, 1),
        e: num(a.e, 0.5),
        k: num(a.k, 3),
      }),
  },
  C3k2: {
    params: ["c2", "n", "c3k", "e", "g", "shortcut"],
    base: true,
    repeat: true,
    build: (b, path, [x], a) =>
      c3k2(b, path, x, {
        c2: num(a.c2, 0),
        n: num(a.n, 1),
        c3k: bool(a.c3k, false),
        e: num(a.e, 0.5),
        g: num(a.g, 1),
        shortcut: bool(a.shortcut, true),
      }),
  },
  SPPF: {
    params: ["c2", "k"],
    base: true,
    repeat: false,
    build: (b, path, [x], a) => sppf(b, path, x, { c2: num(a.c2, 0), k: num(a.k, 5) }),
  },
  C2PSA: {
    params: ["c2", "n", "e"],
    base: true,
    repeat: true,
    build: (b, path, [x], a) => c2psa(b, path, x, { c2: num(a.c2, 0), n: num(a.n, 1), e: num(a.e, 0.5) }),
  },
  Concat: {
    params: ["dimension"],
    base: false,
    repeat: false,
    build: (b, path, xs, a) => concat(b, path, xs, num(a.dimension, 1)),
  },
  "nn.Upsample": {
    params: ["size", "scale_factor", "mode"],
    base: false,
    repeat: false,
    build: (b, path, [x], a) => upsample(b, path, x, num(a.scale_factor, 1), String(a.mode ?? "nearest")),
  },
};

/** Heads: `Detect(nc, ch)` and `Segment(nc, nm, npr, ch)`. */
const HEADS: Record<string, readonly string[]> = {
  Detect: ["nc"],
  Segment: ["nc", "nm", "npr"],
};

/** `math.ceil(x / divisor) * divisor`. */
export function makeDivisible(x: number, divisor: number): number {
  return Math.ceil(x / divisor) * divisor;
}

/** Python's `round()` for the repeat count: round half to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Ultralytics evaluates string arguments: `nc` and other locals, then Python literals. */
function evalArg(a: unknown, locals: Record<string, unknown>): unknown {
  if (typeof a !== "string") return a;
  if (a in locals) return locals[a];
  if (a === "None") return null;
  if (a === "True") return true;
  if (a === "False") return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(a)) return Number(a);
  return a;
}

/**
 * Parse a model YAML dict exactly as Ultralytics' `parse_model` does and expand every module.
 * @throws {ModelConfigError} on an unknown module or malformed row, naming `file` and the layer.
 */
export function parseModel(yaml: ModelYaml, file = "<yaml>"): ParsedModel {
  const fail = (msg: string): never => {
    throw new ModelConfigError(file, `Cannot build model "${file}": ${msg}`);
  };
  if (!Array.isArray(yaml.backbone) || !Array.isArray(yaml.head)) {
    fail("it has no 'backbone' and 'head' lists");
  }
  const nc = Number(yaml.nc ?? 80);
  if (!Number.isInteger(nc) || nc < 1) {
    fail(`'nc' must be a positive integer, got ${JSON.stringify(yaml.nc)}`);
  }
  if (yaml.activation !== undefined) {
    fail(`custom activation "${yaml.activation}" is not supported (SiLU only)`);
  }
  let depth = Number(yaml.depth_multiple ?? 1);
  let width = Number(yaml.width_multiple ?? 1);
  let maxChannels = Infinity;
  let scale = String(yaml.scale ?? "");
  if (yaml.scales) {
    const keys = Object.keys(yaml.scales);
    if (!scale) scale = keys[0];
    const s = yaml.scales[scale];
    if (!s) fail(`scale "${scale}" is not one of ${keys.map((k) => `"${k}"`).join(", ")}`);
    [depth, width, maxChannels] = s.map(Number) as [number, number, number];
  }
  const inChannels = Number(yaml.channels ?? yaml.ch ?? 3);
  let legacy = true;

  const b = new Builder("SegmentationModel");
  const input = b.value(inChannels, 1);
  const outputs: Value[] = [];
  const ch: number[] = [];
  const save = new Set<number>();
  const layers: LayerSummary[] = [];
  let headOut: ReturnType<typeof head> | undefined;
  const rows = [...yaml.backbone, ...yaml.head];

  b.module("Sequential", "model", () => {
    rows.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== 4) {
        fail(`layer ${i} is not a [from, repeats, module, args] row`);
      }
      const [from, nRaw, name, rawArgs] = row;
      const path = `model.${i}`;
      const froms = Array.isArray(from) ? from : [from];
      const xs = froms.map((f) => {
        const j = f < 0 ? i + f : f;
        if (!Number.isInteger(j) || j < -1 || j >= i) {
          fail(`layer ${i} reads from ${f}, which does not exist`);
        }
        if (f !== -1) save.add(j);
        return j === -1 ? input : outputs[j];
      });
      const args = (Array.isArray(rawArgs) ? rawArgs : []).map((a) => evalArg(a, { nc }));
      let n = Number(nRaw);
      n = n > 1 ? Math.max(roundHalfEven(n * depth), 1) : n;
      const nShown = n;

      if (name in HEADS) {
        const named: Record<string, unknown> = {};
        HEADS[name].forEach((k, j) => (named[k] = args[j]));
        const nm = name === "Segment" ? num(named.nm, 32) : undefined;
        const npr = name === "Segment"
          ? makeDivisible(Math.min(num(named.npr, 256), maxChannels) * width, 8)
          : undefined;
        headOut = head(b, path, xs, {
          nc: num(named.nc, nc),
          nm,
          npr,
          legacy,
          strides: xs.map((x) => x.stride),
        });
        outputs.push(headOut.output0);
        ch.push(0);
        const shownArgs = name === "Segment" ? [num(named.nc, nc), nm, npr] : [num(named.nc, nc)];
        layers.push({ index: i, from, n: nShown, module: name, args: [...shownArgs, xs.map((x) => x.c)] });
        return;
      }
      const def = MODULES[name] ?? fail(`unknown module "${name}" in layer ${i}`);
      const named: Record<string, unknown> = {};
      let c2: number;
      if (def.base) {
        const c1 = xs[0].c;
        c2 = Number(args[0]);
        if (c2 !== nc) c2 = makeDivisible(Math.min(c2, maxChannels) * width, 8);
        const full = [c2, ...args.slice(1)];
        if (def.repeat) {
          full.splice(1, 0, n);
          n = 1;
        }
        if (name === "C3k2") {
          legacy = false;
          if ("mlx".includes(scale)) full[2] = true;
        }
        def.params.forEach((k, j) => (named[k] = full[j]));
        if (c1 === undefined) fail(`layer ${i} has no input channels`);
        layers.push({ index: i, from, n: nShown, module: name, args: [c1, ...full] });
      } else {
        def.params.forEach((k, j) => (named[k] = args[j]));
        layers.push({ index: i, from, n: nShown, module: name, args });
        c2 = name === "Concat" ? xs.reduce((s, x) => s + x.c, 0) : xs[0].c;
      }
      let y: Value;
      if (n > 1) {
        y = b.module("Sequential", path, () => {
          let v = xs;
          for (let j = 0; j < n; j++) v = [def.build(b, `${path}.${j}`, v, named)];
          return v[0];
        });
      } else {
        y = def.build(b, path, xs, named);
      }
      if (y.c !== c2) fail(`layer ${i} (${name}) produced ${y.c} channels, expected ${c2}`);
      outputs.push(y);
      ch.push(c2);
    });
  });

  if (!headOut) fail("it has no Detect or Segment head");
  const out = headOut as ReturnType<typeof head>;
  const graphOutputs: Record<string, Value> = { output0: out.output0 };
  if (out.output1) graphOutputs.output1 = out.output1;
  const detectOp = b.ops.findLast((o) => o.op === "detect");
  return {
    root: b.root,
    graph: b.graph(input, graphOutputs),
    nc,
    task: out.output1 ? "segment" : "detect",
    strides: detectOp && detectOp.op === "detect" ? detectOp.strides : [],
    scale,
    save: [...save].sort((a, c) => a - c),
    layers,
  };
}
