/**
 * The GPU side of predict's post-processing for one program (input shape): the candidate list of
 * `select_candidates` (NMS's first filter), and `nms` + `instance_masks` (NMS and the masks of the kept
 * detections), with the buffers each forward reads back from them. The executor records them after the
 * network and reads them through these functions.
 *
 * @module
 */
import { packParams } from "../../kernels/_spec.ts";
import { instanceMasks, type InstanceMasksParams } from "../../kernels/instance_masks.ts";
import {
  MASK_NO_ROOM,
  nms as nmsKernel,
  NMS_DET_WORDS,
  NMS_HEADER_WORDS,
  NMS_OVERFLOW,
  nmsHeaderStride,
  nmsIouThreshold,
  type NmsParams,
} from "../../kernels/nms.ts";
import { selectCandidates, type SelectCandidatesParams } from "../../kernels/select_candidates.ts";
import type { MapReader } from "./map_read.ts";
import type { PipelineCache } from "./pipeline_cache.ts";
import { type Dispatch, recordStep } from "./step.ts";

/** Most candidates per image the GPU list holds; an image with more reads back all of `output0`. */
export const SELECT_CAP = 1024;

/** Mask pool per image of `nms` forwards, in input images' worth of 1-bit masks. */
export const NMS_POOL_IMAGES = 8;

/**
 * Workgroups sharing one mask in `instance_masks` (each takes every `groups`-th 32x32 tile of the mask's
 * window in turn): on a hardware adapter enough for a few masks to fill a large GPU (a 640x480 image's 8
 * masks are ~600 tiles); on a software adapter, whose few threads run the workgroups anyway, fewer.
 */
export function maskGroups(software: boolean): number {
  return software ? 8 : 32;
}

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Predict's NMS thresholds, Ultralytics' names (see `SubmitOptions.nms`). */
export interface NmsOptions {
  /** NMS IoU threshold: a box whose IoU with a kept box is `> iou` is suppressed. */
  iou: number;
  /** Most detections kept per image. */
  max_det: number;
  /** Keep only these classes, or all. */
  classes: readonly number[] | null;
  /** Class-agnostic NMS. */
  agnostic_nms: boolean;
}

/** `max_det` as a whole count: NMS keeps detections while fewer than `max_det` are kept (NaN keeps none). */
export function nmsMaxDet(maxDet: number): number {
  return Math.min(Math.max(Math.ceil(maxDet), 0), 2 ** 31) || 0;
}

/** A network output on the device: its buffer (values from offset 0) and shape. */
export interface DeviceOutput {
  buffer: GPUBuffer;
  shape: number[];
}

/** One image's detections from the GPU's NMS and masks (see `SubmitOptions.nms`). */
export interface NmsImage {
  /**
   * The image's header (`kernels/nms.wgsl`): detections `k`, status, pool words used, 0, then `k`
   * records of {@linkcode NMS_DET_WORDS} words (box, score, class, anchor, mask window, area, ...).
   */
  header: Uint32Array;
  /** The used part of the image's mask pool: each stored mask's window, 32 pixels a word (bit 0 first). */
  pool: Uint32Array;
}

/** GPU state of `select` forwards for one program. */
export interface SelectState extends Dispatch {
  cap: number;
  count: GPUBuffer;
  rows: GPUBuffer;
  params: GPUBuffer;
  values: SelectCandidatesParams;
}

/** Builds the candidate list buffers, params and dispatch of `select` forwards over `output0`. */
export async function buildSelect(
  device: GPUDevice,
  cache: PipelineCache,
  out0: DeviceOutput,
): Promise<SelectState> {
  const [n, channels, anchors] = out0.shape;
  const cap = Math.min(anchors, SELECT_CAP);
  const values: SelectCandidatesParams = { batch: n, channels, anchors, nc: 1, xBase: 0, cap, conf: 0 };
  const kernel = await cache.get(selectCandidates);
  const count = device.createBuffer({ label: "select.count", size: Math.max(16, n * 4), usage: USAGE });
  const rows = device.createBuffer({
    label: "select.rows",
    size: n * cap * (channels + 1) * 4,
    usage: USAGE,
  });
  const params = cache.params(selectCandidates, values, "select.params");
  return {
    kernel,
    bindGroup: cache.bindGroup(kernel, { x: out0.buffer, count, y: rows, params }, "select"),
    dispatch: selectCandidates.dispatch(values, kernel.overrides),
    cap,
    count,
    rows,
    params,
    values,
  };
}

/** One forward's threshold into a select state's uniform (a queue write) and its count zeroed (in `encoder`). */
export function prepareSelect(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  sel: SelectState,
  { conf, nc }: { conf: number; nc: number },
): void {
  sel.values.conf = conf;
  sel.values.nc = nc;
  device.queue.writeBuffer(sel.params, 0, packParams(selectCandidates, sel.values));
  encoder.clearBuffer(sel.count);
}

/** Frees a select state's buffers. */
export function destroySelect(st: SelectState): void {
  for (const b of [st.count, st.rows, st.params]) b.destroy();
}

/** GPU state of `nms` forwards for one program: NMS, then the masks by an indirect dispatch. */
export interface NmsState {
  /** Most detections per image its header holds. */
  maxDet: number;
  headerStride: number;
  poolWords: number;
  nms: Dispatch;
  masks: Omit<Dispatch, "dispatch">;
  params: GPUBuffer;
  values: NmsParams;
  classes: GPUBuffer;
  scratch: GPUBuffer;
  header: GPUBuffer;
  pool: GPUBuffer;
  args: GPUBuffer;
  masksParams: GPUBuffer;
  masksValues: InstanceMasksParams;
}

/**
 * Builds the buffers, params and dispatches of GPU NMS and masks over a select state's candidate list and
 * the prototypes `out1` (f32), for an `[ih, iw]` input, headers of at least `maxDet` (and 300) records, and
 * `maskPool` images' worth of mask bits per image (within the device's binding limit), `groups` workgroups per
 * mask (see {@linkcode maskGroups}).
 */
export async function buildNms(
  device: GPUDevice,
  cache: PipelineCache,
  sel: SelectState,
  out1: DeviceOutput,
  [ih, iw]: [number, number],
  maxDet: number,
  maskPool: number,
  groups: number,
): Promise<NmsState> {
  const [n, channels] = [sel.values.batch, sel.values.channels];
  const [, nm, mh, mw] = out1.shape;
  const cap = sel.cap;
  const capacity = Math.max(maxDet, 300);
  const headerStride = nmsHeaderStride(capacity);
  const maxBinding = device.limits.maxStorageBufferBindingSize;
  // Whole 16-byte groups per image, so each image's range of the readback maps at an aligned offset.
  const poolWords = Math.max(
    4,
    Math.floor(Math.min((maskPool * ih * iw) / 32, maxBinding / (4 * n)) / 4) * 4,
  );
  const values: NmsParams = {
    batch: n,
    cap,
    channels,
    nc: sel.values.nc,
    maxDet: capacity,
    classFilter: 0,
    agnostic: 0,
    headerStride,
    ih,
    iw,
    mh,
    mw,
    poolWords,
    groups,
    iou: 0.7,
    maxWh: 7680,
  };
  const buffer = (label: string, size: number, usage = USAGE) =>
    device.createBuffer({ label, size: Math.max(16, Math.ceil(size / 16) * 16), usage });
  const classes = buffer("nms.classes", 4 * Math.ceil(Math.max(sel.values.nc, 1) / 32));
  const scratch = buffer("nms.scratch", n * cap * 16 * 4);
  const header = buffer("nms.header", n * headerStride * 4);
  const pool = buffer("nms.pool", n * poolWords * 4);
  const args = buffer("nms.args", 12, USAGE | GPUBufferUsage.INDIRECT);
  const nmsCompiled = await cache.get(nmsKernel, { MAXN: cap });
  const params = cache.params(nmsKernel, values, "nms.params");
  const masksValues: InstanceMasksParams = {
    batch: n,
    maxDet: capacity,
    cap,
    channels,
    nc: sel.values.nc,
    nm,
    ih,
    iw,
    mh,
    mw,
    headerStride,
    poolWords,
    protoBase: 0,
  };
  const masksCompiled = await cache.get(instanceMasks, { GROUPS: groups });
  const masksParams = cache.params(instanceMasks, masksValues, "instance_masks.params");
  return {
    maxDet: capacity,
    headerStride,
    poolWords,
    nms: {
      kernel: nmsCompiled,
      bindGroup: cache.bindGroup(
        nmsCompiled,
        { rows: sel.rows, count: sel.count, classes, scratch, header, args, params },
        "nms",
      ),
      dispatch: nmsKernel.dispatch(values, nmsCompiled.overrides),
    },
    masks: {
      kernel: masksCompiled,
      bindGroup: cache.bindGroup(
        masksCompiled,
        { rows: sel.rows, protos: out1.buffer, header, pool, params: masksParams },
        "instance_masks",
      ),
    },
    params,
    values,
    classes,
    scratch,
    header,
    pool,
    args,
    masksParams,
    masksValues,
  };
}

/**
 * One forward's thresholds into an nms state's uniforms and class bits (queue writes) and the indirect
 * dispatch's arguments zeroed (in `encoder`, before the pass {@linkcode recordNms} records into).
 */
export function prepareNms(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  st: NmsState,
  nc: number,
  o: NmsOptions,
): void {
  Object.assign(st.values, {
    nc,
    maxDet: Math.min(nmsMaxDet(o.max_det), st.maxDet),
    classFilter: o.classes ? 1 : 0,
    agnostic: o.agnostic_nms ? 1 : 0,
    iou: nmsIouThreshold(o.iou),
  });
  device.queue.writeBuffer(st.params, 0, packParams(nmsKernel, st.values));
  st.masksValues.nc = nc;
  device.queue.writeBuffer(st.masksParams, 0, packParams(instanceMasks, st.masksValues));
  const bits = new Uint32Array(st.classes.size / 4);
  for (const c of o.classes ?? []) if (c >= 0 && c < 32 * bits.length) bits[c >>> 5] |= 1 << (c & 31);
  device.queue.writeBuffer(st.classes, 0, bits);
  encoder.clearBuffer(st.args);
}

/** Records nms, then instance_masks dispatched with the arguments nms writes. */
export function recordNms(pass: GPUComputePassEncoder, st: NmsState): void {
  recordStep(pass, st.nms);
  pass.setPipeline(st.masks.kernel.pipeline);
  pass.setBindGroup(0, st.masks.bindGroup);
  pass.dispatchWorkgroupsIndirect(st.args, 0);
}

/** Frees an nms state's buffers. */
export function destroyNms(st: NmsState): void {
  for (const b of [st.params, st.classes, st.scratch, st.header, st.pool, st.args, st.masksParams]) {
    b.destroy();
  }
}

/**
 * Maps an `nms` forward's readback of the header and mask pool: each image's detections, or undefined for
 * one left to the CPU (`fallback`; `overflow` when one of those had more candidates than the list holds).
 */
export async function readNms(
  headerBuffer: GPUBuffer,
  poolBuffer: GPUBuffer,
  st: NmsState,
  n: number,
  reader: MapReader,
): Promise<{ images: (NmsImage | undefined)[]; fallback: number[]; overflow: boolean }> {
  // Both maps start before either is awaited: on Deno's WebGPU a first read of a buffer waits >= 10 ms once.
  const headerBytes = reader.read(headerBuffer, 0, n * st.headerStride * 4);
  return await reader.mapped(poolBuffer, async (range) => {
    const header = new Uint32Array(await headerBytes);
    const images: (NmsImage | undefined)[] = [];
    const fallback: number[] = [];
    let overflow = false;
    for (let b = 0; b < n; b++) {
      const hb = b * st.headerStride;
      const k = header[hb], used = header[hb + 2];
      const records = header.subarray(hb, hb + NMS_HEADER_WORDS + k * NMS_DET_WORDS);
      let cpu = header[hb + 1] === NMS_OVERFLOW;
      overflow ||= cpu;
      for (let d = 0; d < k && !cpu; d++) {
        cpu = records[NMS_HEADER_WORDS + d * NMS_DET_WORDS + 14] === MASK_NO_ROOM;
      }
      if (cpu) {
        images.push(undefined);
        fallback.push(b);
        continue;
      }
      const bytes = used === 0 ? new ArrayBuffer(0) : range(b * st.poolWords * 4, used * 4);
      images.push({ header: records, pool: new Uint32Array(bytes) });
    }
    return { images, fallback, overflow };
  });
}

/** Maps a `select` forward's readback of the candidate counts and lists of `n` images. */
export async function readCandidateLists(
  countBuffer: GPUBuffer,
  rowsBuffer: GPUBuffer,
  n: number,
  reader: MapReader,
): Promise<{ counts: number[]; rows: Float32Array }> {
  const [counts, rows] = await Promise.all([reader.read(countBuffer, 0, n * 4), reader.read(rowsBuffer)]);
  return { counts: [...new Uint32Array(counts)], rows: new Float32Array(rows) };
}
