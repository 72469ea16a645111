/**
 * Spec of `select_candidates.wgsl`: NMS's first filter on the GPU (anchors whose best class score is > conf),
 * compacting each image's candidate columns of `output0` into a list of at most `cap` rows.
 *
 * @module
 */
import code from "./select_candidates.wgsl" with { type: "text" };
import { ceilDiv, fold, type KernelSpec, type ParamSpec, u32Params } from "./_spec.ts";

/** Names of the `Params` fields of `select_candidates.wgsl`, in order. */
export type SelectCandidatesParam = "batch" | "channels" | "anchors" | "nc" | "xBase" | "cap" | "conf";

/** Params values of a select_candidates dispatch. */
export type SelectCandidatesParams = Record<SelectCandidatesParam, number>;

/**
 * The select_candidates kernel: bindings x (f32 `output0`, `[batch][channels][anchors]` from `xBase`), count
 * (one u32 per image, zeroed before the dispatch), y (`[batch][cap][channels + 1]`: anchor index, then the
 * column), params.
 */
export const selectCandidates: KernelSpec<SelectCandidatesParam, "WG"> = {
  name: "select_candidates",
  code,
  bindings: [
    { name: "x", access: "read" },
    { name: "count", access: "read_write" },
    { name: "y", access: "read_write" },
    { name: "params", access: "uniform" },
  ],
  params: [
    ...u32Params<SelectCandidatesParam>("batch", "channels", "anchors", "nc", "xBase", "cap"),
    { name: "conf", type: "f32" } satisfies ParamSpec<SelectCandidatesParam>,
  ],
  overrides: { WG: 64 },
  dispatch(p, o) {
    const [x, y] = fold(ceilDiv(p.batch * p.anchors, o.WG));
    return [x, y, 1];
  },
};
