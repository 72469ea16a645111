/**
 * Paths into `../shared/` (data shared by every checkout, never copied into the repo).
 * @module
 */
import { fileURLToPath } from "node:url";

/** Absolute path of `../shared/<rel>`, relative to the repository root. */
export function sharedPath(rel: string): string {
  return fileURLToPath(new URL(`../../shared/${rel}`, import.meta.url));
}
