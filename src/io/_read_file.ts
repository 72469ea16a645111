/** Reading a user's file with the one-line error the callers' error classes carry. */

/**
 * The bytes of `path`; on failure throws `fail(detail)` ("file not found", or the system's message),
 * with the original error as its cause.
 */
export async function readFileOr(path: string, fail: (detail: string) => Error): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    const detail = error instanceof Deno.errors.NotFound
      ? "file not found"
      : String(error instanceof Error ? error.message : error).split("\n")[0];
    const wrapped = fail(detail);
    wrapped.cause = error;
    throw wrapped;
  }
}
