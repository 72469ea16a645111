/**
 * The memory plan of one graph at one input shape, before any GPU object exists: the shape of every
 * value, where each value lives (a region, a base offset and a channel slice of it), and which GPU buffer
 * each region uses. Splits are views of their input; concat inputs are written in place into the concat's
 * region when lifetimes allow (else a copy is planned); the three detection levels share one head region;
 * regions whose lifetimes do not overlap share a buffer.
 */
import type { Graph, Op } from "./ir.ts";

/** Where a value lives: element (b, y, x, c) at `base + ((b * h + y) * w + x) * cStride + cOff + c`. */
export interface Loc {
  region: number;
  base: number;
  cStride: number;
  cOff: number;
}

/** Shape of one activation value (NHWC in memory). */
export interface ValueShape {
  n: number;
  c: number;
  h: number;
  w: number;
}

/** A contiguous allocation, live from `start` to `end` (op indices, inclusive). */
export interface Region {
  id: number;
  elements: number;
  start: number;
  end: number;
  /** The buffer the region is given (index into {@linkcode Plan.buffers}). */
  buffer: number;
  /** Layout of the region's contents: NCHW for the network input and output1, else NHWC. */
  nchw: boolean;
}

/** A planned channel copy, run at the position of concat op `at`. */
export interface CopyStep {
  at: number;
  from: number;
  to: Loc;
}

/** The memory plan. */
export interface Plan {
  shapes: ValueShape[];
  locs: Loc[];
  regions: Region[];
  /** Buffer sizes in elements (f32). */
  buffers: number[];
  copies: CopyStep[];
  /** Ops in execution order (split and concat are free and stay for bookkeeping). */
  ops: Op[];
  input: number;
  outputs: Record<string, number>;
  /** For the detect op: the anchor count and each level's base offset in the head region. */
  anchors: number;
}

/** Values each op reads. */
export function opInputs(op: Op): number[] {
  switch (op.op) {
    case "conv":
      return [op.x, ...(op.r === undefined ? [] : [op.r]), ...(op.cat ? [op.cat.x] : [])];
    case "conv_transpose":
    case "maxpool":
    case "upsample":
    case "split":
      return [op.x];
    case "add":
      return [op.a, op.b];
    case "concat":
      return op.xs;
    case "attention":
      return [op.qkv];
    case "detect":
      return [...op.boxes, ...op.scores, ...op.coeffs];
  }
}

/** Values each op writes. */
export function opOutputs(op: Op): number[] {
  switch (op.op) {
    case "split":
      return op.ys;
    case "attention":
      return op.v === undefined ? [op.o] : [op.o, op.v];
    case "conv":
      return op.up ? [op.y, op.up.y] : [op.y];
    default:
      return [op.y];
  }
}

/**
 * Plan memory for `graph` at input `[n, 3, h, w]`.
 * @throws {RangeError} when `h`/`w` are not multiples of the largest stride, or an op is left unfused.
 */
export function planMemory(graph: Graph, n: number, h: number, w: number): Plan {
  const maxStride = Math.max(...graph.values.map((v) => v.stride));
  if (h % maxStride !== 0 || w % maxStride !== 0 || h <= 0 || w <= 0) {
    throw new RangeError(`Use an input size that is a multiple of ${maxStride}: got ${h}x${w}`);
  }
  const ops = graph.ops;
  for (const op of ops) {
    if (op.op === "add") {
      throw new RangeError("Fuse residual adds into convs before planning (fuseResidualAdds)");
    }
  }
  const nv = graph.values.length;
  const shapes: ValueShape[] = graph.values.map((v) => ({
    n,
    c: v.c,
    h: v.stride > 0 ? h / v.stride : 0,
    w: v.stride > 0 ? w / v.stride : 0,
  }));

  // Definition and last use of every value (input defined at -1; outputs used forever).
  const def = new Array<number>(nv).fill(-1);
  const lastUse = new Array<number>(nv).fill(-1);
  ops.forEach((op, i) => {
    for (const y of opOutputs(op)) def[y] = i;
    for (const x of opInputs(op)) if (op.op !== "concat") lastUse[x] = Math.max(lastUse[x], i);
  });
  for (const id of Object.values(graph.outputs)) lastUse[id] = Infinity;

  // Aliases: a split output is a channel slice of its input; a concat input placed in the concat's region.
  const parent = new Array<number>(nv).fill(-1); // value this one is a slice of
  const parentOff = new Array<number>(nv).fill(0);
  for (const op of ops) {
    if (op.op !== "split") continue;
    let off = 0;
    op.ys.forEach((y, i) => {
      parent[y] = op.x;
      parentOff[y] = off;
      off += op.sizes[i];
    });
  }
  const root = (v: number): [number, number] => {
    let off = 0;
    while (parent[v] >= 0) {
      off += parentOff[v];
      v = parent[v];
    }
    return [v, off];
  };
  // Concat results, and the detect head's per-level [box | cls | coeff] groups, are places values go.
  interface Group {
    at: number;
    y: number;
    parts: { v: number; off: number }[];
  }
  const groups: Group[] = [];
  const detect = ops.find((o) => o.op === "detect");
  const headLevels: number[] = [];
  ops.forEach((op, i) => {
    if (op.op === "concat") {
      let off = 0;
      groups.push({
        at: i,
        y: op.y,
        parts: op.xs.map((v) => ({ v, off: (off += shapes[v].c) - shapes[v].c })),
      });
    }
  });
  if (detect && detect.op === "detect") {
    detect.boxes.forEach((box, l) => {
      const parts = [box, detect.scores[l], ...(detect.coeffs.length ? [detect.coeffs[l]] : [])];
      // A synthetic value stands for the level's concatenated channels.
      const y = shapes.length;
      const c = parts.reduce((s, v) => s + shapes[v].c, 0);
      shapes.push({ n, c, h: shapes[box].h, w: shapes[box].w });
      parent.push(-1);
      parentOff.push(0);
      def.push(ops.indexOf(detect));
      lastUse.push(ops.indexOf(detect));
      headLevels.push(y);
      let off = 0;
      groups.push({
        at: ops.indexOf(detect),
        y,
        parts: parts.map((v) => ({ v, off: (off += shapes[v].c) - shapes[v].c })),
      });
    });
  }
  const total = shapes.length;
  const home = new Array<number>(total).fill(-1); // group value a root value was moved into
  const homeOff = new Array<number>(total).fill(0);
  // The end of a value's life: its own last use, or its group's when its root was placed in one.
  const endOf = (v: number): number => {
    const [r] = root(v);
    return Math.max(lastUse[v], home[r] >= 0 ? endOf(home[r]) : -1);
  };
  // Occupants of each group value's channel space: value, channels [c0, c1), first op writing it.
  const occupants = new Map<number, { v: number; c0: number; c1: number; start: number }[]>();
  const copies: { at: number; from: number; y: number; off: number }[] = [];
  // Process groups outer-first: a later concat's region may receive values that feed an earlier one.
  for (const g of [...groups].reverse()) {
    const list = occupants.get(g.y) ?? [];
    occupants.set(g.y, list);
    for (const part of g.parts) {
      const [r, delta] = root(part.v);
      const want = part.off - delta;
      if (home[r] === g.y && homeOff[r] === want) continue; // already there through another slice
      const movable = home[r] < 0 && r !== graph.input && def[r] >= 0 &&
        !Object.values(graph.outputs).includes(r) &&
        want >= 0 && want + shapes[r].c <= shapes[g.y].c && shapes[r].h === shapes[g.y].h &&
        !isGroupValue(r);
      let ok = movable;
      if (ok) {
        // Every slice of r must not overlap in channels and time with what is already placed there.
        const slices = slicesOf(r).map(([v, o]) => ({
          v,
          c0: want + o,
          c1: want + o + shapes[v].c,
          start: def[r],
        }));
        ok = slices.every((s) =>
          list.every((o) =>
            s.c1 <= o.c0 || o.c1 <= s.c0 || endOfLocal(s.v, g) < o.start || endOfLocal(o.v, g) < s.start
          )
        );
        if (ok) {
          home[r] = g.y;
          homeOff[r] = want;
          list.push(...slices);
        }
      }
      if (!ok) {
        copies.push({ at: g.at, from: part.v, y: g.y, off: part.off });
        list.push({ v: -1, c0: part.off, c1: part.off + shapes[part.v].c, start: g.at });
      }
    }
  }
  function isGroupValue(v: number): boolean {
    return groups.some((g) => g.y === v);
  }
  function slicesOf(r: number): [number, number][] {
    const out: [number, number][] = [[r, 0]];
    for (let v = 0; v < nv; v++) {
      if (v !== r) {
        const [rr, o] = root(v);
        if (rr === r) out.push([v, o]);
      }
    }
    return out;
  }
  function endOfLocal(v: number, g: Group): number {
    if (v < 0) return Infinity;
    // Inside group g a slice is needed until its own last use, or until g is used when it is a part of g.
    const isPart = g.parts.some((p) => p.v === v);
    return Math.max(lastUse[v], isPart ? endOf(g.y) : -1);
  }

  // Regions: one per value that is neither a slice nor moved; the head levels share one region.
  const regionOf = new Array<number>(total).fill(-1);
  const baseOf = new Array<number>(total).fill(0);
  const regions: Region[] = [];
  const output1 = graph.outputs.output1;
  const elems = (v: number) => shapes[v].n * shapes[v].h * shapes[v].w * shapes[v].c;
  let headRegion = -1;
  let headBase = 0;
  for (let v = 0; v < total; v++) {
    if (parent[v] >= 0 || home[v] >= 0) continue;
    if (detect && detect.op === "detect" && v === detect.y) continue;
    if (headLevels.includes(v)) {
      if (headRegion < 0) {
        headRegion = regions.length;
        regions.push({ id: headRegion, elements: 0, start: Infinity, end: -1, buffer: -1, nchw: false });
      }
      regionOf[v] = headRegion;
      baseOf[v] = headBase;
      headBase += elems(v);
      regions[headRegion].elements = headBase;
      continue;
    }
    regionOf[v] = regions.length;
    regions.push({
      id: regions.length,
      elements: elems(v),
      start: Infinity,
      end: -1,
      buffer: -1,
      nchw: v === graph.input || v === output1,
    });
  }
  let anchors = 0;
  if (detect && detect.op === "detect") {
    anchors = headLevels.reduce((s, v) => s + shapes[v].h * shapes[v].w, 0);
    regionOf[detect.y] = regions.length;
    regions.push({
      id: regions.length,
      elements: n * shapes[detect.y].c * anchors,
      start: Infinity,
      end: -1,
      buffer: -1,
      nchw: true,
    });
  }

  // Locations, resolved through slices and moves.
  const locs: Loc[] = new Array(total);
  const locOf = (v: number): Loc => {
    if (locs[v]) return locs[v];
    let loc: Loc;
    if (parent[v] >= 0) {
      const p = locOf(parent[v]);
      loc = { ...p, cOff: p.cOff + parentOff[v] };
    } else if (home[v] >= 0) {
      const g = locOf(home[v]);
      loc = { ...g, cOff: g.cOff + homeOff[v] };
    } else {
      loc = { region: regionOf[v], base: baseOf[v], cStride: shapes[v].c, cOff: 0 };
    }
    return (locs[v] = loc);
  };
  for (let v = 0; v < total; v++) locOf(v);

  // Region lifetimes from the values living in them.
  for (let v = 0; v < total; v++) {
    const r = regions[locs[v].region];
    const start = def[v];
    const end = Math.max(lastUse[v], def[v]);
    r.start = Math.min(r.start, start);
    r.end = Math.max(r.end, end);
  }
  for (const c of copies) {
    const r = regions[locs[c.y].region];
    r.end = Math.max(r.end, c.at);
    const f = regions[locs[c.from].region];
    f.end = Math.max(f.end, c.at);
  }
  for (const g of groups) {
    const r = regions[locs[g.y].region];
    r.end = Math.max(r.end, endOf(g.y));
  }

  // Buffers: greedy reuse of buffers whose last region ended before a region starts.
  const buffers: number[] = [];
  const freeAt: number[] = [];
  for (const r of [...regions].sort((a, b) => a.start - b.start || b.elements - a.elements)) {
    let best = -1;
    for (let b = 0; b < buffers.length; b++) {
      if (freeAt[b] >= r.start) continue;
      if (best < 0 || Math.abs(buffers[b] - r.elements) < Math.abs(buffers[best] - r.elements)) best = b;
    }
    if (best < 0) {
      best = buffers.length;
      buffers.push(0);
      freeAt.push(-Infinity);
    }
    buffers[best] = Math.max(buffers[best], r.elements);
    freeAt[best] = r.end;
    r.buffer = best;
  }

  return {
    shapes,
    locs,
    regions,
    buffers,
    copies: copies.map((c) => ({
      at: c.at,
      from: c.from,
      to: { ...locs[c.y], cOff: locs[c.y].cOff + c.off },
    })),
    ops,
    input: graph.input,
    outputs: graph.outputs,
    anchors,
  };
}
