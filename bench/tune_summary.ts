/**
 * What the conv autotuner chose, from its cache file: how often each knob value won (register tile, workgroup
 * shape, split-K, prefetch, buffers, groups along the reduction, f16 arithmetic, vec4 A staging, BK), and the conv
 * GPU time before and after, per adapter.
 *
 *   deno run -A bench/tune_summary.ts [PATH/tune.json]   (default: the tuner's default cache file)
 * @module
 */
import { defaultTuneCachePath, type TuneEntry } from "../src/gpu/tune_cache.ts";

const path = Deno.args[0] ?? defaultTuneCachePath();
if (!path) throw new Error("Give the tuning cache file: deno run -A bench/tune_summary.ts PATH/tune.json");
const raw = JSON.parse(await Deno.readTextFile(path)) as { entries: Record<string, TuneEntry> };
const byAdapter = new Map<string, TuneEntry[]>();
for (const [key, entry] of Object.entries(raw.entries)) {
  const adapter = key.split("|")[0];
  byAdapter.set(adapter, [...(byAdapter.get(adapter) ?? []), entry]);
}
for (const [adapter, entries] of byAdapter) {
  const before = entries.reduce((s, e) => s + (e.heuristicMs ?? NaN), 0);
  const after = entries.reduce((s, e) => s + e.bestMs, 0);
  console.log(
    `${adapter}: ${entries.length} layer shapes; conv GPU time ${before.toFixed(3)} ms (heuristic) -> ${
      after.toFixed(3)
    } ms (tuned), ${(before / after).toFixed(2)}x`,
  );
  const count = (name: string, value: (e: TuneEntry) => string | number) => {
    const n = new Map<string, number>();
    for (const e of entries) n.set(String(value(e)), (n.get(String(value(e))) ?? 0) + 1);
    console.log(`  ${name}: ${[...n].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} x${v}`).join(", ")}`);
  };
  count("register tile (pixels x channels)", (e) => `${4 * (e.tile.PIX4 ?? 1)}x${4 * (e.tile.CH4 ?? 1)}`);
  count("workgroup (WG_M x WG_N)", (e) => `${e.tile.WG_M}x${e.tile.WG_N}`);
  count("KSPLIT", (e) => e.tile.KSPLIT ?? 1);
  count("PREFETCH", (e) => e.tile.PREFETCH ?? 0);
  count("BUFFERS", (e) => e.tile.BUFFERS ?? 1);
  count("WG_K", (e) => e.tile.WG_K ?? 1);
  count("HALF_MATH", (e) => e.tile.HALF_MATH ?? 0);
  count("VEC_A", (e) => e.tile.VEC_A ?? 0);
  count("BK", (e) => e.tile.BK);
}
