/**
 * Collects, while the YAML is expanded, the two things a model is: the module tree with every parameter
 * under its Ultralytics state-dict name, and the op graph the executor runs.
 */
import type { Graph, Op, Value } from "./ir.ts";

/** One `nn.Module` of the Ultralytics model, with its own parameters and buffers. */
export interface ModuleNode {
  /** Ultralytics / torch class name: `Conv`, `Conv2d`, `BatchNorm2d`, `C3k2`, ... */
  cls: string;
  /** State-dict prefix, e.g. `model.2.m.0.cv1`. */
  path: string;
  params: Map<string, number[]>;
  buffers: Map<string, number[]>;
  children: ModuleNode[];
}

/** Builds the module tree and op graph of one model. */
export class Builder {
  readonly values: Value[] = [];
  readonly ops: Op[] = [];
  readonly root: ModuleNode;
  /** Whether the one shared `SiLU` instance (Ultralytics' `Conv.default_act`) is in the tree yet. */
  private sharedSilu = false;
  private current: ModuleNode;

  constructor(rootClass: string) {
    this.root = { cls: rootClass, path: "", params: new Map(), buffers: new Map(), children: [] };
    this.current = this.root;
  }

  /** A new activation value. */
  value(c: number, stride: number): Value {
    const v = { id: this.values.length, c, stride };
    this.values.push(v);
    return v;
  }

  /** Append an op to the graph. */
  emit(op: Op): void {
    this.ops.push(op);
  }

  /** Open a module node under the current one, run `body` inside it, and return what it returns. */
  module<T>(cls: string, path: string, body: () => T): T {
    const node: ModuleNode = { cls, path, params: new Map(), buffers: new Map(), children: [] };
    this.current.children.push(node);
    const parent = this.current;
    this.current = node;
    try {
      return body();
    } finally {
      this.current = parent;
    }
  }

  /** Declare a leaf module with parameters (and optionally buffers). */
  leaf(
    cls: string,
    path: string,
    params: Record<string, number[]>,
    buffers: Record<string, number[]> = {},
  ): void {
    this.module(cls, path, () => {
      for (const [k, shape] of Object.entries(params)) this.current.params.set(k, shape);
      for (const [k, shape] of Object.entries(buffers)) this.current.buffers.set(k, shape);
    });
  }

  /** Reference the shared SiLU module (counted once in the whole tree, as torch counts modules). */
  silu(): void {
    if (!this.sharedSilu) {
      this.sharedSilu = true;
      this.current.children.push({
        cls: "SiLU",
        path: "",
        params: new Map(),
        buffers: new Map(),
        children: [],
      });
    }
  }

  /** The finished op graph. */
  graph(input: Value, outputs: Record<string, Value>): Graph {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(outputs)) out[k] = v.id;
    return { values: this.values, ops: this.ops, input: input.id, outputs: out };
  }
}

/** Every node of a module tree, depth first. */
export function* walkModules(node: ModuleNode): Generator<ModuleNode> {
  yield node;
  for (const child of node.children) yield* walkModules(child);
}

/** Every parameter of a module tree as `[state-dict key, shape]`. */
export function* parameterShapes(node: ModuleNode): Generator<[string, number[]]> {
  for (const m of walkModules(node)) {
    for (const [k, shape] of m.params) yield [`${m.path}.${k}`, shape];
  }
}

/** Every buffer of a module tree as `[state-dict key, shape]`. */
export function* bufferShapes(node: ModuleNode): Generator<[string, number[]]> {
  for (const m of walkModules(node)) {
    for (const [k, shape] of m.buffers) yield [`${m.path}.${k}`, shape];
  }
}
