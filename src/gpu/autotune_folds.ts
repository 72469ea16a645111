/**
 * The fold autotuner: which kinds of fold (neighbouring layers run in one `conv2d` or attention dispatch, see
 * `Executor.graphAt`) a shape's program makes, chosen by the GPU time of whole forwards. A fold saves a
 * dispatch and a round trip through memory, but its kernel does more per workgroup (a post-conv's loop, a
 * pre-conv's taps, an upsample's extra stores), so on some GPUs and shapes a kind may cost more than it saves:
 * the tuner times the program with every kind, then without each kind in turn, and keeps a removal only when
 * the forward is faster without it by more than {@linkcode FOLD_MARGIN}.
 *
 * @module
 */
import type { Graph } from "../graph/ir.ts";

/**
 * A kind of fold: `pre` a depthwise conv inside the 1x1 conv after it (`PRE_K`), `pe` C2PSA's positional conv
 * inside its attention (`PE_K`), `cat` a 1x1 conv over a concat inside the conv of its tile part (`POST_CAT`),
 * `post` a 1x1 conv inside the conv before it (`POST_N`), `up` a nearest upsample inside the conv it copies
 * (`UP_R`).
 */
export type FoldKind = "pre" | "pe" | "cat" | "post" | "up";

/** Every kind of fold, in the order `Executor.graphAt` makes them. */
export const FOLD_KINDS: readonly FoldKind[] = ["pre", "pe", "cat", "post", "up"];

/** How much faster (a fraction) a forward must be without a kind for the tuner to drop it. */
export const FOLD_MARGIN = 0.01;

/**
 * The kinds of fold a graph holds, in {@linkcode FOLD_KINDS} order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { foldsIn } from "./autotune_folds.ts";
 * assert.deepEqual(foldsIn({ ops: [], values: [], input: 0, outputs: {} }), []);
 * ```
 */
export function foldsIn(graph: Graph): FoldKind[] {
  const has = new Set<FoldKind>();
  for (const op of graph.ops) {
    if (op.op === "attention" && op.pe) has.add("pe");
    if (op.op !== "conv") continue;
    if (op.pre) has.add("pre");
    if (op.cat) has.add("cat");
    else if (op.post) has.add("post");
    if (op.up) has.add("up");
  }
  return FOLD_KINDS.filter((k) => has.has(k));
}

/** One timed set of kinds. */
export interface FoldTiming {
  /** The kinds of fold the program made. */
  kinds: FoldKind[];
  /** Median GPU milliseconds of its forward. */
  ms: number;
}

/** What the fold tuner chose for one input shape. */
export interface FoldChoice {
  /** The kinds of fold the shape's program makes. */
  kinds: FoldKind[];
  /** The kinds that fold something at this shape (what was tuned among). */
  present: FoldKind[];
  /** Each program timed, in order: every kind, then each removal tried (the incumbent re-timed beside it). */
  timings: FoldTiming[];
  /** The choice came from the tuning cache (nothing timed). */
  cached: boolean;
}

/**
 * Chooses the kinds of fold by time: builds and times the program with all of `present`, then, for each kind
 * in turn, the current best without it (the best re-timed right before, so drifting clocks do not favour
 * either), and keeps a removal that is faster by more than `margin`. Every program but the chosen one is
 * released as soon as it has lost (also when a build or timing throws).
 *
 * @param present The kinds that fold something (see {@linkcode foldsIn}).
 * @param build Builds the program making exactly these kinds of fold.
 * @param time Median GPU milliseconds of a program's forward.
 * @param release Frees a program that lost.
 * @param margin See {@linkcode FOLD_MARGIN}.
 * @returns The chosen program and what was timed.
 * @example A kind that makes the forward slower is dropped
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseFolds, type FoldKind } from "./autotune_folds.ts";
 * const cost: Record<FoldKind, number> = { pre: -0.1, pe: -0.1, cat: -0.2, post: 0.3, up: -0.05 };
 * const ms = (kinds: FoldKind[]) => 2 + kinds.reduce((a, k) => a + cost[k], 0);
 * const released: string[] = [];
 * const { program, choice } = await chooseFolds(
 *   ["pre", "pe", "cat", "post", "up"],
 *   (kinds) => Promise.resolve(kinds.join(",")),
 *   (p) => Promise.resolve(ms(p ? p.split(",") as FoldKind[] : [])),
 *   (p) => void released.push(p),
 * );
 * assert.equal(program, "pre,pe,cat,up");
 * assert.deepEqual(choice.kinds, ["pre", "pe", "cat", "up"]);
 * assert.ok(!released.includes(program));
 * ```
 */
export async function chooseFolds<P>(
  present: readonly FoldKind[],
  build: (kinds: FoldKind[]) => Promise<P>,
  time: (program: P) => Promise<number>,
  release: (program: P) => void,
  margin = FOLD_MARGIN,
): Promise<{ program: P; choice: FoldChoice }> {
  let kinds = [...present];
  let best = await build(kinds);
  const timings: FoldTiming[] = [];
  try {
    let bestMs = await time(best);
    timings.push({ kinds, ms: bestMs });
    for (const k of present) {
      if (timings.length > 1) {
        bestMs = await time(best);
        timings.push({ kinds, ms: bestMs });
      }
      const without = kinds.filter((x) => x !== k);
      const candidate = await build(without);
      let ms: number;
      try {
        ms = await time(candidate);
      } catch (e) {
        release(candidate);
        throw e;
      }
      timings.push({ kinds: without, ms });
      if (ms < bestMs * (1 - margin)) {
        release(best);
        best = candidate;
        kinds = without;
        bestMs = ms;
      } else {
        release(candidate);
      }
    }
  } catch (e) {
    release(best);
    throw e;
  }
  return { program: best, choice: { kinds, present: [...present], timings, cached: false } };
}
