/**
 * The worker behind {@linkcode DecodePool}: decodes the images it is sent ({@linkcode decodeImage}) and
 * sends back the pixels (transferred) or the error's name, file and one-line message.
 *
 * Messages in: `{ id, bytes, file }`; out: `{ ready: true }` once loaded, then `{ id, width, height, data }`
 * or `{ id, error }` per request.
 * @module
 */
import { decodeImage } from "./image.ts";
import { DatasetError } from "../errors.ts";

/** A decode request. */
interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  file: string;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<DecodeRequest>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = async ({ data: { id, bytes, file } }) => {
  try {
    const img = await decodeImage(bytes, file);
    scope.postMessage({ id, width: img.width, height: img.height, data: img.data }, [
      img.data.buffer as ArrayBuffer,
    ]);
  } catch (e) {
    scope.postMessage({
      id,
      error: {
        name: e instanceof Error ? e.name : "Error",
        message: e instanceof Error ? e.message : String(e),
        file: e instanceof DatasetError ? e.file : file,
      },
    });
  }
};

scope.postMessage({ ready: true });
