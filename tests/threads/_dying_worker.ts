/** A worker that says it is ready, then fails on its first task (for ThreadPool's fallback test). */
const scope = self as unknown as { onmessage: (() => void) | null; postMessage(message: unknown): void };
scope.onmessage = () => {
  throw new Error("this worker fails on purpose");
};
scope.postMessage({ ready: true });
