#!/usr/bin/env bash
# The GPU checks and benchmarks, ready for a session that is lent a GPU machine (the `device`
# tool): that machine has PyTorch but not our other dependencies, and no network.
#
#   bash benchmarks/gpu_session.sh prepare      # here: wheels -> .whl/, a data slice -> .gpudata/
#   # then one device call, carrying both:
#   #   run(command="bash benchmarks/gpu_session.sh run", carry=[".whl", ".gpudata"])
#
# `run` installs the wheels into /tmp/site, then: CUDA training (fp32, bf16, and a resume
# compared with an uninterrupted run), generation on CUDA, benchmarks/model_throughput.py (fp32,
# and bf16 --quick) and benchmarks/lstm_ceiling.py on CUDA. The tables and logs land in $OUT
# (or ./gpu-out).
# DEVICE=cpu QUICK=1 NO_WHEELS=1 PYTHON=.venv/bin/python bash benchmarks/gpu_session.sh run
# rehearses it here, on the CPU (the wheels are for the GPU image's Python 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=.whl
DATA=.gpudata
PY=${PYTHON:-python3}

copy_slice() {  # copy_slice SRC DST N: the first N MIDI files under SRC, flattened into DST
    local src=$1 dst=$2 n=$3 file
    find "$src" -name '*.mid' | sort | awk -v n="$n" 'NR <= n' | while read -r file; do
        cp "$file" "$dst/$(echo "${file#"$src"/}" | tr / _)"
    done
}

prepare() {
    local pip=(.venv/bin/python -m pip)
    rm -rf "$WHEELS" && mkdir -p "$WHEELS"
    # pure-Python and cp312 wheels of what the GPU image lacks (its python is 3.12)
    "${pip[@]}" download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$WHEELS" \
        mido sacred==0.8.7 docopt-ng jsonpickle munch GitPython gitdb smmap \
        pydantic pydantic-core annotated-types typing-inspection "setuptools>=77.0.3,<81"
    "${pip[@]}" wheel -q --no-deps -w "$WHEELS" "pretty_midi==0.2.11.post0"
    # a slice of the built-in corpus (the whole of it is too large to carry with the wheels)
    [ -d data/folk/train ] || .venv/bin/python -m symusic.data.corpus --out data/folk
    rm -rf "$DATA" && mkdir -p "$DATA/train" "$DATA/eval"
    copy_slice data/folk/train "$DATA/train" 2000
    copy_slice data/folk/eval "$DATA/eval" 300
    du -sh "$WHEELS" "$DATA"
}

train() {  # train NAME CONFIG [key=value ...]: a run folder under /tmp/gpu-runs/NAME
    local name=$1 config=$2
    shift 2
    rm -rf "/tmp/gpu-runs/$name"
    $PY -m symusic.musicvae.train with "$config" "train_dir=$PWD/$DATA/train" \
        "eval_dir=$PWD/$DATA/eval" "device=$DEVICE" "$@" -F "/tmp/gpu-runs/$name" \
        2>&1 | tee "$OUT/train_$name.log" | grep -E "^step|^eval|device|resumed|error|bf16" || true
}

last_loss() {  # last_loss NAME: the last train.loss of the run
    $PY -c "import json,sys; m=json.load(open('/tmp/gpu-runs/$1/1/metrics.json'))['train.loss'];\
print(m['steps'][-1], repr(m['values'][-1]))"
}

run() {
    DEVICE=${DEVICE:-cuda}
    OUT=${OUT:-gpu-out}
    mkdir -p "$OUT"
    if [ -d "$WHEELS" ] && [ -z "${NO_WHEELS:-}" ]; then
        $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site "$WHEELS"/*.whl
        export PYTHONPATH=/tmp/site:$PWD
    fi
    export PYTHONUNBUFFERED=1
    { nvidia-smi || true; $PY -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } \
        2>&1 | tee "$OUT/machine.txt"
    local cfg=symusic/musicvae/config_flat_2bar_small.json steps=${STEPS:-300}
    [ -n "${QUICK:-}" ] && steps=20
    local every="seed=1234 evaluate_interval=$((steps / 2)) advanced_interval=$steps print_interval=10"
    # shellcheck disable=SC2086
    {
        echo "== fp32, $steps steps"; train fp32 $cfg num_steps=$steps $every
        echo "== bf16, $steps steps"; train bf16 $cfg num_steps=$steps precision=bf16 $every
        echo "== resume: $((steps / 2)) steps, then on to $steps from its checkpoint"
        train half $cfg num_steps=$((steps / 2)) $every
        train resumed $cfg num_steps=$steps \
            "ckpt_path=/tmp/gpu-runs/half/1/checkpoints/last.pt" $every
        echo "uninterrupted: $(last_loss fp32)   resumed: $(last_loss resumed)"
        echo "== generation on $DEVICE"
        $PY -m symusic.musicvae.generate sample --checkpoint /tmp/gpu-runs/fp32/1/checkpoints/last.pt \
            --num 4 --out /tmp/gpu-samples --device "$DEVICE"
    } 2>&1 | tee "$OUT/training.txt"
    local quick=()
    [ -n "${QUICK:-}" ] && quick=(--quick)
    $PY benchmarks/model_throughput.py --device "$DEVICE" "${quick[@]}" \
        > "$OUT/model_throughput.md" 2> "$OUT/model_throughput.log"
    $PY benchmarks/lstm_ceiling.py --device "$DEVICE" > "$OUT/lstm_ceiling.md"
    $PY benchmarks/model_throughput.py --device "$DEVICE" --precision bf16 --quick \
        > "$OUT/model_throughput_bf16.md" 2> "$OUT/model_throughput_bf16.log"
    cat "$OUT/model_throughput.md" "$OUT/lstm_ceiling.md" "$OUT/model_throughput_bf16.md"
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: bash benchmarks/gpu_session.sh prepare|run" >&2; exit 2 ;;
esac
