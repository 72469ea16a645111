/**
 * Fake Ultralytics checkpoints for tests: nn.Modules pickled the way torch pickles them, zipped the way
 * `torch.save` zips them.
 * @module
 */
import { zipSync } from "fflate";
import { type Op, pickler } from "./_pickler.ts";

/** The pickler the fake checkpoints use (protocol 4; the real checkpoint covers protocol 2). */
export const p = pickler(4);

const setOf = (...names: string[]) =>
  p.reduce(p.global("builtins", "set"), p.tuple(p.list(...names.map(p.str))));

export interface ModuleParts {
  parameters?: [string, Op][];
  buffers?: [string, Op][];
  modules?: [string, Op][];
  nonPersistent?: string[];
  attributes?: [string, Op][];
}

/** An nn.Module as torch pickles it: `cls.__new__(cls)` then BUILD with its `__dict__`. */
export function module(className: string, parts: ModuleParts = {}): Op {
  const dot = className.lastIndexOf(".");
  return p.build(
    p.newobj(p.global(className.slice(0, dot), className.slice(dot + 1)), p.tuple()),
    p.dict([
      ["training", p.bool(false)],
      ["_parameters", p.ordered(parts.parameters ?? [])],
      ["_buffers", p.ordered(parts.buffers ?? [])],
      ["_non_persistent_buffers_set", setOf(...(parts.nonPersistent ?? []))],
      ["_modules", p.ordered(parts.modules ?? [])],
      ...(parts.attributes ?? []),
    ]),
  );
}

export const parameter = (tensor: Op) =>
  p.reduce(p.global("torch._utils", "_rebuild_parameter"), p.tuple(tensor, p.bool(true), p.ordered([])));

/** A model (DetectionModel by default) whose Sequential holds one layer with the given state, then a head. */
export function model(
  layer: ModuleParts,
  attributes: [string, Op][] = [],
  modelClass = "ultralytics.nn.tasks.DetectionModel",
  headClass = "ultralytics.nn.modules.head.Detect",
): Op {
  return module(modelClass, {
    modules: [[
      "model",
      module("torch.nn.modules.container.Sequential", {
        modules: [["0", module("torch.nn.modules.linear.Identity", layer)], [
          "1",
          module(headClass),
        ]],
      }),
    ]],
    attributes: [
      ["yaml", p.dict([["nc", p.int(2)], ["scale", p.str("n")], ["backbone", p.list()], ["head", p.list()]])],
      ...attributes,
    ],
  });
}

/** A checkpoint zip: `archive/data.pkl`, `archive/byteorder` and `archive/data/<key>` storages. */
export function checkpointZip(
  root: Op,
  storages: Record<string, Uint8Array>,
  byteorder = "little",
): Uint8Array {
  const entries: Record<string, [Uint8Array, { level: 0 }]> = {
    "archive/data.pkl": [p.dump(root), { level: 0 }],
    "archive/byteorder": [new TextEncoder().encode(byteorder), { level: 0 }],
  };
  for (const [key, bytes] of Object.entries(storages)) entries[`archive/data/${key}`] = [bytes, { level: 0 }];
  return zipSync(entries);
}
