/**
 * The worker behind {@linkcode ThreadPool}: runs the tasks it is sent and sends back the result (its
 * buffers transferred) or the error's name, file and one-line message.
 *
 * Messages in: `{ id, task }`; out: `{ ready: true }` once loaded, then `{ id, result }` or `{ id, error }`
 * per task. Tasks: `decode` ({@linkcode decodeImage}), `postprocess` ({@linkcode postprocessImage}), `save`
 * ({@linkcode Result.save}), `valSample` ({@linkcode valSample}) and `matches` ({@linkcode imageMatches}).
 * @module
 */
import { valSample } from "../data/val_sample.ts";
import { DatasetError } from "../errors.ts";
import { decodeImage } from "../io/image.ts";
import { imageMatches } from "../metrics/image_matches.ts";
import { postprocessImage } from "../postprocess/segment.ts";
import { Result, tracedMasks } from "../results.ts";
import type { Task } from "./pool.ts";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<{ id: number; task: Task }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

/** Runs a task: its result and the buffers to transfer with it. */
async function run(task: Task): Promise<[unknown, ArrayBuffer[]]> {
  switch (task.kind) {
    case "decode": {
      const img = await decodeImage(task.bytes, task.file);
      return [img, [img.data.buffer as ArrayBuffer]];
    }
    case "postprocess": {
      const det = postprocessImage(task.out, task.opts, task.nc, task.letterboxShape, task.origShape);
      const buffers = [det.boxes.buffer, det.conf.buffer, det.cls.buffer];
      if (det.masks) buffers.push(det.masks.data.buffer);
      return [det, buffers as ArrayBuffer[]];
    }
    case "save": {
      const { masks, ...rest } = task.result;
      const result = new Result({
        ...rest,
        masks: masks && tracedMasks(masks.data, masks.shape, rest.origShape),
      });
      await result.save(task.path, task.image, task.options);
      return [undefined, []];
    }
    case "valSample": {
      const img = await decodeImage(task.bytes, task.file);
      const { input, truth } = valSample(img, task.label, task.shape, task.imgsz);
      return [{ input, truth }, [input.buffer, truth.boxes.buffer, truth.mask.buffer] as ArrayBuffer[]];
    }
    case "matches": {
      const m = imageMatches(task.out, task.truth, task.opts, task.letterboxShape);
      return [m, [m.tp.buffer, m.tpM.buffer, m.conf.buffer, m.cls.buffer] as ArrayBuffer[]];
    }
  }
}

scope.onmessage = async ({ data: { id, task } }) => {
  try {
    const [result, transfer] = await run(task);
    scope.postMessage({ id, result }, [...new Set(transfer)]);
  } catch (e) {
    scope.postMessage({
      id,
      error: {
        name: e instanceof Error ? e.name : "Error",
        message: e instanceof Error ? e.message : String(e),
        file: e instanceof DatasetError ? e.file : undefined,
      },
    });
  }
};

scope.postMessage({ ready: true });
