/**
 * The fold autotuner: which kinds of fold (neighbouring layers run in one `conv2d` or attention dispatch, see
 * `Executor.graphAt`) a shape's program makes, chosen by the GPU time of whole forwards. A fold saves a
 * dispatch and a round trip through memory, but its kernel does more per workgroup (a post-conv's loop, a
 * pre-conv's taps, an upsample's extra stores), so on some GPUs and shapes a kind may cost more than it saves,
 * and a kind left out by default (`large`) may pay: starting from the default kinds, the tuner times the
 * program with each kind toggled in turn and keeps a toggle only when the forward is faster by more than
 * {@linkcode FOLD_MARGIN}.
 *
 * @module
 */
/**
 * A kind of fold: `pre` a depthwise conv inside the 1x1 conv after it (`PRE_K`), `pe` C2PSA's positional conv
 * inside its attention (`PE_K`), `cat` a 1x1 conv over a concat inside the conv of its tile part (`POST_CAT`),
 * `post` a 1x1 conv inside the conv before it (`POST_N`), `up` a nearest upsample inside the conv it copies
 * (`UP_R`); `cat` and `post` only for layers of at most `POST_FOLD_MAX_PIXELS` output pixels unless `large`
 * is made too (by itself `large` folds nothing).
 */
export type FoldKind = "pre" | "pe" | "cat" | "post" | "up" | "large";

/** Every kind of fold, in the order `Executor.graphAt` makes them. */
export const FOLD_KINDS: readonly FoldKind[] = ["pre", "pe", "cat", "post", "up", "large"];

/** The kinds made untimed (`fuse` true without the autotuner) and where the fold tuner starts: all but `large`. */
export const DEFAULT_FOLDS: readonly FoldKind[] = FOLD_KINDS.filter((k) => k !== "large");

/** How much faster (a fraction) a forward must be with a kind toggled for the tuner to keep the toggle. */
export const FOLD_MARGIN = 0.01;

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
  /** The kinds that change the program at this shape (what was tuned among). */
  present: FoldKind[];
  /**
   * Each program timed, in order: the starting kinds, then each toggle tried (the incumbent re-timed beside
   * it); empty when cached.
   */
  timings: FoldTiming[];
  /** The choice came from the tuning cache (nothing timed). */
  cached: boolean;
}

/**
 * Chooses the kinds of fold by time: builds and times the program making `initial`, then, for each kind of
 * `present` in turn, the current best with that kind toggled (removed if made, added if not; the best re-timed
 * right before, so drifting clocks favour neither), and keeps a toggle that is faster by more than `margin`.
 * A toggle `same` says changes nothing is skipped. Every program but the chosen one is released as soon as it
 * has lost (also when a build or timing throws).
 *
 * @param present The kinds that change the program.
 * @param initial The kinds to start from (those of `present` among them).
 * @param build Builds the program making exactly these kinds of fold.
 * @param time Median GPU milliseconds of a program's forward.
 * @param release Frees a program that lost.
 * @param same Whether two sets of kinds give the same program. @default never
 * @param margin See {@linkcode FOLD_MARGIN}.
 * @returns The chosen program and what was timed.
 * @example A kind that makes the forward slower is dropped, one that pays is added
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseFolds, type FoldKind } from "./autotune_folds.ts";
 * const cost: Record<FoldKind, number> = { pre: -0.1, pe: -0.1, cat: -0.2, post: 0.3, up: -0.05, large: -0.1 };
 * const ms = (kinds: FoldKind[]) => 2 + kinds.reduce((a, k) => a + cost[k], 0);
 * const released: string[] = [];
 * const { program, choice } = await chooseFolds(
 *   ["pre", "pe", "cat", "post", "up", "large"],
 *   ["pre", "pe", "cat", "post", "up"],
 *   (kinds) => Promise.resolve(kinds.join(",")),
 *   (p) => Promise.resolve(ms(p ? p.split(",") as FoldKind[] : [])),
 *   (p) => void released.push(p),
 * );
 * assert.equal(program, "pre,pe,cat,up,large");
 * assert.deepEqual(choice.kinds, ["pre", "pe", "cat", "up", "large"]);
 * assert.ok(!released.includes(program));
 * ```
 */
export async function chooseFolds<P>(
  present: readonly FoldKind[],
  initial: readonly FoldKind[],
  build: (kinds: FoldKind[]) => Promise<P>,
  time: (program: P) => Promise<number>,
  release: (program: P) => void,
  same: (a: FoldKind[], b: FoldKind[]) => boolean = () => false,
  margin = FOLD_MARGIN,
): Promise<{ program: P; choice: FoldChoice }> {
  let kinds = FOLD_KINDS.filter((k) => present.includes(k) && initial.includes(k));
  let best = await build(kinds);
  const timings: FoldTiming[] = [];
  try {
    let bestMs = await time(best);
    timings.push({ kinds, ms: bestMs });
    for (const k of present) {
      const toggled = FOLD_KINDS.filter((x) => (x === k ? !kinds.includes(x) : kinds.includes(x)));
      if (same(kinds, toggled)) continue;
      if (timings.length > 1) {
        bestMs = await time(best);
        timings.push({ kinds, ms: bestMs });
      }
      const candidate = await build(toggled);
      let ms: number;
      try {
        ms = await time(candidate);
      } catch (e) {
        release(candidate);
        throw e;
      }
      timings.push({ kinds: toggled, ms });
      if (ms < bestMs * (1 - margin)) {
        release(best);
        best = candidate;
        kinds = toggled;
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
