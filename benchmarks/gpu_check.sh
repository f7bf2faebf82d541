#!/usr/bin/env bash
# The GPU checks of issues 4 and 6 in one short session (about 4 minutes on one H100 without the
# compiled run, the machine's start excluded):
#   1. inference at full size with random weights: samples/s and peak memory for batch 1..128
#      (target: the 12,799 MER-UniBench clips in under 1 hour on one H100);
#   2. training at full size with random weights: step time, tokens/s and LLM MFU at the paper's
#      batch of 3 and at batch 8, with the feature cache (target: MFU >= 40 %; batch 12 needs more than
#      an H100's 80 GB without gradient checkpointing);
#      the same with model.compile_layers=true (torch.compile per decoder layer; the untimed warm-up
#      steps cover the compilation), not measured yet;
#   3. a short FSDP run of the tiny model through configs/accelerate/fsdp.yaml on one GPU, then a
#      resume of it from its last checkpoint;
#   4. (issue 14) the zero-shot hf: baselines (Video-LLaVA-7B, LLaVA-OneVision-7B, Qwen2-Audio-7B,
#      Qwen2.5-Omni-7B thinker, whichever the adapters run) at full size with random weights: clips/s,
#      tokens/s and peak memory for batch 1..64, 32 new tokens; JSON to
#      benchmarks/gpu-runs/<date>-<gpu>/baselines.json (RUN_DIR). Not measured yet; about 5-8 minutes,
#      so on a 15-minute device budget run it alone: STEPS=baselines bash benchmarks/gpu_check.sh
#   5. (issue 17) label extraction at full size with random weights (Qwen2.5-7B shapes): prompts/s of the
#      transformers backend at batch 8/32/128 and of the vllm: backend (when the machine has vLLM; it does
#      not travel in .whl/), 512 step-A prompts, 64 new tokens each; JSON to $RUN_DIR/extractor.json.
#      About 3 minutes: STEPS=extractor bash benchmarks/gpu_check.sh
#   6. (issue 17) AffectGPT's LLM stage, batched transformers loop and vLLM from prompt embeddings in the
#      same run (needs vLLM on the machine): STEPS=inference-vllm bash benchmarks/gpu_check.sh
#   7. (issue 17) a whole 12,799-clip `ovmer bench` pass at full size with random weights (AffectGPT frame
#      model, batch 64, 32 new tokens; the random Qwen2.5-7B-shaped extractor): wall time per stage. About
#      8-10 minutes, so alone: STEPS=unibench-pass bash benchmarks/gpu_check.sh (ASSETS=<emotion_wheel dir>)
#
# Run from the repository root on a CUDA machine whose python3 has torch, accelerate and peft:
#     bash benchmarks/gpu_check.sh            # logs and JSON in benchmarks/results/gpu/
#     STEPS="train-b3 fsdp" bash benchmarks/gpu_check.sh   # only some steps
# Wheels under .whl/ are installed into /tmp/site first when present: the device machine of
# 2026-11-26 needed transformers and tokenizers at the versions of requirements/constraints.txt,
# peft, av (audio), platformdirs and openpyxl. benchmarks/gpu_wheels.sh downloads them. Each step has its own time limit and a failing
# step does not stop the others.
set -u
OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH=src
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site:src
fi
{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
    python3 -c "import torch, transformers, peft, accelerate; print('torch', torch.__version__, '| transformers', transformers.__version__, '| peft', peft.__version__, '| accelerate', accelerate.__version__)"
} 2>&1 | tee "$OUT/gpu.txt"

STEPS=${STEPS:-"inference train-b3 train-b8 train-b3-compiled fsdp fsdp-resume baselines extractor inference-vllm unibench-pass"}
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 | awk '{print tolower($2)}')
RUN_DIR=${RUN_DIR:-benchmarks/gpu-runs/$(date +%F)-${gpu:-gpu}}
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.log
    local name=$1 limit=$2
    shift 2
    [[ " $STEPS " == *" $name "* ]] || return 0
    echo "== $name (limit ${limit}s): $*"
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    tail -n 14 "$OUT/$name.log"
    echo "== $name: exit $rc after $((SECONDS - start)) s"
}

step inference 150 python3 benchmarks/inference.py --full-size --device cuda --dtype fp16 \
    --max-batch 128 --new-tokens 32 --repeats 2
step train-b3 170 python3 benchmarks/train.py --config mercaptionplus-face --random-weights --device cuda \
    --steps 25 --warmup 5 --samples 24 --peak-tflops 989 --out "$OUT/train-b3.json"
step train-b8 130 python3 benchmarks/train.py --config mercaptionplus-face --random-weights --device cuda \
    --steps 12 --warmup 4 --samples 48 --peak-tflops 989 --no-cache-run --out "$OUT/train-b8.json" \
    run.batch_size=8
step train-b3-compiled 200 python3 benchmarks/train.py --config mercaptionplus-face --random-weights \
    --device cuda --steps 40 --warmup 15 --samples 24 --peak-tflops 989 --no-cache-run \
    --out "$OUT/train-b3-compiled.json" model.compile_layers=true
data=$(python3 -c "from ovmer.train.synthetic import write_synthetic_dataset as w; print(w('/tmp/ovmer-fsdp-data', 6))")
step fsdp 80 python3 -m accelerate.commands.launch --config_file configs/accelerate/fsdp.yaml --num_processes 1 \
    -m ovmer train tiny-face "data.dataset=csv:$data" data.num_workers=0 run.output_dir=/tmp/ovmer-fsdp \
    run.max_steps=6 run.iters_per_epoch=3 run.progress=false run.resume=never
step fsdp-resume 60 python3 -m accelerate.commands.launch --config_file configs/accelerate/fsdp.yaml \
    --num_processes 1 -m ovmer train tiny-face "data.dataset=csv:$data" data.num_workers=0 \
    run.output_dir=/tmp/ovmer-fsdp run.max_steps=8 run.iters_per_epoch=3 run.progress=false run.resume=auto
[[ " $STEPS " == *" fsdp "* ]] && { ls -R /tmp/ovmer-fsdp/checkpoints; cat /tmp/ovmer-fsdp/metrics.jsonl; } 2>&1 | tee -a "$OUT/fsdp-resume.log"
[[ " $STEPS " == *" baselines "* ]] && mkdir -p "$RUN_DIR"
step baselines 540 python3 benchmarks/baselines.py --device cuda --dtype fp16 --max-batch 64 --new-tokens 32 \
    --repeats 2 --json "$RUN_DIR/baselines.json"
[[ " $STEPS " == *" baselines "* ]] && cp "$OUT/baselines.log" "$RUN_DIR/baselines.log" 2>/dev/null
[[ " $STEPS " == *" extractor "* ]] && mkdir -p "$RUN_DIR"
step extractor 300 python3 benchmarks/extractor.py --full-size --device cuda --prompts 512 --max-tokens 64 \
    --batch-sizes 8,32,128 --engines hf,vllm --json "$RUN_DIR/extractor.json"
[[ " $STEPS " == *" extractor "* ]] && cp "$OUT/extractor.log" "$RUN_DIR/extractor.log" 2>/dev/null
step inference-vllm 400 python3 benchmarks/inference.py --full-size --device cuda --dtype fp16 \
    --max-batch 128 --new-tokens 32 --repeats 2 --generation both
[[ " $STEPS " == *" inference-vllm "* ]] && mkdir -p "$RUN_DIR" && cp "$OUT/inference-vllm.log" "$RUN_DIR/" 2>/dev/null
[[ " $STEPS " == *" unibench-pass "* ]] && mkdir -p "$RUN_DIR"
step unibench-pass 590 python3 benchmarks/unibench_pass.py --clips 12799 --extractor random-hf \
    --model "affectgpt:random:affectgpt-frame?device=cuda&dtype=fp16&batch_size=64&max_new_tokens=32" \
    --assets "${ASSETS:-../shared/reference/emotion_wheel}" --json "$RUN_DIR/unibench_pass.json"
[[ " $STEPS " == *" unibench-pass "* ]] && cp "$OUT/unibench-pass.log" "$RUN_DIR/" 2>/dev/null
