/**
 * The conv autotuner's memory across runs: a JSON file mapping (adapter, kernel source, pipeline, layer
 * shape) to the tile that was fastest there, so a model's later loads skip the timing. Missing, unreadable
 * or corrupt files are treated as empty; a file that cannot be written is left alone (tuning then simply
 * happens again next time). Writes are atomic (temporary file + rename) and merge with what another
 * process may have written meanwhile.
 *
 * @module
 */
import type { Conv2dTile } from "../../kernels/conv2d.ts";
import { envVar } from "../env.ts";

/** One remembered choice. */
export interface TuneEntry {
  /**
   * The chosen tile of a conv2d layer (fields left out are 1), or for another op (see `kernel`) the chosen
   * kernel's full override set.
   */
  tile: Conv2dTile | Readonly<Record<string, number>>;
  /** The chosen kernel's stem where the tuner picks among kernels (attention); absent for conv2d tiles. */
  kernel?: string;
  /** GPU milliseconds of the heuristic tile when it was tuned. */
  heuristicMs: number;
  /** GPU milliseconds of the chosen tile when it was tuned. */
  bestMs: number;
  /** How many tiles were timed. */
  candidates: number;
}

interface TuneFile {
  version: 1;
  entries: Record<string, TuneEntry>;
}

/** Environment variable naming the folder of the tuning cache. */
export const TUNE_CACHE_ENV = "YOLO_WGSL_CACHE_DIR";

/**
 * Where the tuning cache lives by default: `$YOLO_WGSL_CACHE_DIR/tune.json`, else
 * `$XDG_CACHE_HOME/yolo-wgsl/tune.json`, else `$HOME/.cache/yolo-wgsl/tune.json`; undefined when none of
 * them is known (no environment access): no cache then.
 */
export function defaultTuneCachePath(): string | undefined {
  const home = envVar("HOME");
  const cache = envVar("XDG_CACHE_HOME") ?? (home ? `${home}/.cache` : undefined);
  const dir = envVar(TUNE_CACHE_ENV) ?? (cache ? `${cache}/yolo-wgsl` : undefined);
  return dir ? `${dir}/tune.json` : undefined;
}

/**
 * FNV-1a hash of a string, as 8 hex digits: ties cache entries to the exact kernel source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashText } from "./tune_cache.ts";
 * assert.equal(hashText(""), "811c9dc5");
 * assert.notEqual(hashText("conv2d a"), hashText("conv2d b"));
 * ```
 */
export function hashText(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

function parse(text: string): Record<string, TuneEntry> {
  try {
    const data = JSON.parse(text) as TuneFile;
    if (data?.version === 1 && data.entries && typeof data.entries === "object") return data.entries;
  } catch {
    // corrupt: start over
  }
  return {};
}

/** The tuning cache of one file (or of none: `path` undefined keeps choices in memory only). */
export class TuneCache {
  readonly path?: string;
  #entries: Record<string, TuneEntry>;
  #added: Record<string, TuneEntry> = {};

  private constructor(path: string | undefined, entries: Record<string, TuneEntry>) {
    this.path = path;
    this.#entries = entries;
  }

  /** Reads the cache at `path` (an absent or unreadable file is an empty cache). */
  static async open(path: string | undefined): Promise<TuneCache> {
    if (!path) return new TuneCache(undefined, {});
    try {
      return new TuneCache(path, parse(await Deno.readTextFile(path)));
    } catch {
      return new TuneCache(path, {});
    }
  }

  /** The remembered choice for `key`, if any. */
  get(key: string): TuneEntry | undefined {
    return Object.hasOwn(this.#entries, key) ? this.#entries[key] : undefined;
  }

  /** Remembers a choice (written by {@linkcode save}). */
  set(key: string, entry: TuneEntry): void {
    this.#entries[key] = entry;
    this.#added[key] = entry;
  }

  /**
   * Writes the new choices, merged into the file's current contents, atomically. Returns false when the
   * file could not be written (read-only folder, no permission); the choices stay in memory.
   */
  async save(): Promise<boolean> {
    if (!this.path || Object.keys(this.#added).length === 0) return true;
    const path = this.path;
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
    const tmp = `${path}.${Deno.pid}.${Date.now()}.tmp`;
    try {
      await Deno.mkdir(dir, { recursive: true });
      let current: Record<string, TuneEntry> = {};
      try {
        current = parse(await Deno.readTextFile(path));
      } catch {
        // none yet
      }
      const file: TuneFile = { version: 1, entries: { ...current, ...this.#added } };
      await Deno.writeTextFile(tmp, JSON.stringify(file));
      await Deno.rename(tmp, path);
      this.#added = {};
      return true;
    } catch {
      await Deno.remove(tmp).catch(() => {});
      return false;
    }
  }
}
