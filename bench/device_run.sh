#!/usr/bin/env bash
# The measurements of the speed issue on the device tool's GPU machine, in priority order: each step bounded,
# its output kept in $OUT/<step>.log (what a killed run leaves still comes back), its key lines echoed, and no
# step started once less than 20 s of the budget is left (the device tool stops a command at 600 s).
# Prepared here by bench/device_prep.sh (which prints the device command):
#
#   bash .gpu/gpu-env.sh bash bench/device_run.sh main [budget_s]   # forwards batch 1 (Deno's WebGPU, then
#                                                                   # Dawn's) and 32 (tuned: tiles, attention,
#                                                                   # folds), each fold kind untuned,
#                                                                   # kernel tests, half, ...
#   bash .gpu/gpu-env.sh bash bench/device_run.sh cpu [budget_s]    # the host side and the unfolded forward
set -u
mode=${1:-main}
budget=${2:-570}
start=$(date +%s)
export YOLO_WGSL_CACHE_DIR="$OUT/cache" DENO_DIR=.gpu/deno_dir
run=(deno run -A --cached-only --config bench/device.json)
tst=(deno test -A --cached-only --config bench/device.json)
# Lines worth seeing in the device tool's reply (the logs have everything).
keep='yolo-wgsl|folds:|vs none|autotune|profile:|by kernel|in flight|read together|MapReader|passed|FAIL|worst|adapter|empty|readback|upload|dispatch|attention|^ +[0-9.]+ ms'

# step NAME SECONDS COMMAND...: runs COMMAND for at most SECONDS (less when the budget is short).
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget - ($(date +%s) - start)))
  if ((left < 20)); then
    echo "== $name skipped: ${left} s of the budget left"
    return
  fi
  ((limit > left)) && limit=$left
  echo "== $name (at most ${limit} s; $(date +%T))"
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  echo "   exit $? at $(($(date +%s) - start)) s"
  grep -E "$keep" "$OUT/$name.log" | grep -v '^Check ' | head -60
}

# Dawn's native module travels xz-compressed (device_prep.sh).
dawn=$DENO_DIR/npm/registry.npmjs.org/webgpu/0.6.2/dist/linux-x64
[ -f "$dawn/dawn.node.xz" ] && [ ! -f "$dawn/dawn.node" ] && xz -d -k "$dawn/dawn.node.xz"

nvidia-smi -L
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,power.limit,temperature.gpu,utilization.gpu,clocks_throttle_reasons.active \
  --format=csv -lms 250 >"$OUT/smi.csv" 2>&1 &
smi=$!
trap 'kill $smi 2>/dev/null' EXIT

case $mode in
main)
  step forward_b1 200 "${run[@]}" bench/forward.ts --no-peer --iterations 20 --batch 1 --inflight 4 --profile --predict
  # The early readbacks (MapReader) on a real GPU: the probe's answer and reads against their own bytes.
  step map_read_test 20 "${tst[@]}" tests/gpu/map_read_test.ts
  # The same on Dawn (Vulkan): GPU and wall times against wgpu's (its own tuning: another adapter id).
  step forward_dawn 150 "${run[@]}" bench/forward.ts --no-peer --webgpu dawn --iterations 20 --batch 1 --inflight 4 --predict
  step forward_b32 150 "${run[@]}" bench/forward.ts --no-peer --iterations 10 --batch 32 --profile
  step folds 60 "${run[@]}" bench/folds.ts --imgsz 640 --rounds 2 --runs 5
  step kernel_tests 90 "${tst[@]}" \
    --filter "/WG_K|VEC_A|f16_math|BUFFERS|grouped|split|KV|attention|pre-conv|post-conv|upsampled|POST_CAT|POST_ROWS|positional/" \
    tests/kernels/conv2d_test.ts tests/kernels/conv2d_splitk_reduce_test.ts tests/kernels/attention_test.ts \
    tests/kernels/attention_rows_test.ts
  step dispatch 30 "${run[@]}" bench/dispatch.ts
  step attention 40 bash -c "${run[*]} bench/attention.ts && ${run[*]} bench/attention.ts --batch 32"
  step half 120 "${run[@]}" bench/forward.ts --no-peer --half --batch 1,32 --iterations 10 --profile
  step predict_test 50 "${tst[@]}" tests/e2e/predict_test.ts
  step gap 25 "${run[@]}" bench/gap.ts --mb 100
  step gap_dawn 20 "${run[@]}" bench/gap.ts --mb 100 --webgpu dawn
  step tune_summary 10 "${run[@]}" bench/tune_summary.ts "$OUT/cache/tune.json"
  ;;
cpu)
  nproc
  step forward_unfolded 150 "${run[@]}" bench/forward.ts --no-peer --no-fuse --batch 1,32 --iterations 10
  step decode 20 "${run[@]}" bench/decode.ts
  step postprocess 30 "${run[@]}" bench/postprocess.ts --batch 32
  step gpu_postprocess 30 "${run[@]}" bench/gpu_postprocess.ts --runs 50
  step save 30 "${run[@]}" bench/save.ts
  step val_cpu 60 "${run[@]}" bench/val_cpu.ts --runs 1
  ;;
*)
  echo "usage: bash bench/device_run.sh main|cpu [budget_s]" >&2
  exit 2
  ;;
esac
echo "== done at $(($(date +%s) - start)) s"
