/** The one place that prints. Modes and the CLI call these; library code stays silent unless verbose. */
let quiet = false;

/** Silence or restore `info` output (errors and warnings always print). */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** Print an informational line to stdout. */
export function info(line: string): void {
  if (!quiet) console.log(line);
}

/** Print a warning line to stderr. */
export function warn(line: string): void {
  console.error(`WARNING ⚠️ ${line}`);
}

/** Print an error line to stderr. */
export function error(line: string): void {
  console.error(line);
}

const encoder = new TextEncoder();

/**
 * Show a progress line on stderr: on a terminal redrawn in place, and ended with a newline once `done` or
 * `failed`; elsewhere (logs, pipes) only the `done` line prints, once. Silenced by {@link setQuiet} like
 * `info`.
 */
export function progress(line: string, state: "running" | "done" | "failed" = "running"): void {
  if (quiet) return;
  if (Deno.stderr.isTerminal()) {
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[K${line}${state === "running" ? "" : "\n"}`));
  } else if (state === "done") console.error(line);
}
