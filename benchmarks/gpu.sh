#!/usr/bin/env bash
# GPU checks and benchmarks in one go (under 8 minutes), full logs in a directory.
#
#   benchmarks/gpu.sh DIR        # from the repository root
#
# Steps (each with its own time cap, all under one overall deadline):
#   probe       CuPy imports and sees a CUDA device          (fails fast: exit 2, nothing run)
#   pytest_gpu  pytest -m gpu                                -> DIR/pytest_gpu.log
#   check       specdef check --backend cupy --size large    -> DIR/check/, DIR/check.log
#   bench       specdef bench --backend cupy --quick --json  -> DIR/bench.json, DIR/bench.log
#   bench_eigs  joint_hessian_eigs at full size (d = 4096)   -> DIR/bench_eigs.json
#   agreement   NumPy vs CuPy, float64 and float32           -> DIR/agreement.log
# and prints a summary table last.  Exit status: 0 if every step passed, 1 otherwise,
# 2 without a usable GPU or on a usage error.
# Environment: PYTHON (default .venv/bin/python if present, else python3), GPU_SH_DEADLINE
# (overall seconds, default 450).
set -u -o pipefail

if [ $# -ne 1 ] || [ -z "${1:-}" ]; then
    echo "usage: benchmarks/gpu.sh OUTPUT_DIR" >&2
    exit 2
fi
mkdir -p "$1" || { echo "gpu.sh: cannot create $1" >&2; exit 2; }
DIR=$(cd "$1" && pwd)  # absolute, relative to the caller's directory
cd "$(dirname "$0")/.." || exit 2

if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python3; fi
SPECDEF=("$PY" -m specdef.validation.cli)
DEADLINE=$(( $(date +%s) + ${GPU_SH_DEADLINE:-450} ))

# ---- probe: fail clearly, and fast, without a GPU -------------------------------------------
if ! "$PY" - > "$DIR/probe.log" 2>&1 <<'EOF'
import sys
try:
    import cupy
    n = cupy.cuda.runtime.getDeviceCount()
except Exception as exc:
    print(f"no usable CuPy/CUDA: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    sys.exit(1)
if n < 1:
    print("CuPy sees 0 CUDA devices")
    sys.exit(1)
p = cupy.cuda.runtime.getDeviceProperties(0)
print(f"{n} device(s); device 0: {p['name'].decode() if isinstance(p['name'], bytes) else p['name']}, "
      f"{p['totalGlobalMem'] / 2**30:.0f} GiB; CuPy {cupy.__version__}")
EOF
then
    echo "gpu.sh: no GPU run possible here: $(tail -n 1 "$DIR/probe.log")" >&2
    echo "gpu.sh: needs CuPy (pip install -e '.[gpu]') and a CUDA device; nothing was run" >&2
    exit 2
fi
command -v nvidia-smi > /dev/null && nvidia-smi > "$DIR/nvidia-smi.log" 2>&1

NAMES=(); RCS=(); SECS=(); NOTES=()
# step NAME CAP_SECONDS STDOUT_FILE COMMAND...   (stderr -> DIR/NAME.log; stdout -> file)
step() {
    local name=$1 cap=$2 out=$3; shift 3
    local left=$(( DEADLINE - $(date +%s) ))
    [ "$cap" -gt "$left" ] && cap=$left
    local t0 rc note=""
    t0=$(date +%s)
    if [ "$cap" -lt 10 ]; then
        rc=125; note="skipped: overall deadline reached"
    else
        echo "gpu.sh: [$name] up to ${cap}s ..." >&2
        if [ "$out" = "-" ]; then
            timeout --kill-after=10 "$cap" "$@" > "$DIR/$name.log" 2>&1; rc=$?
        else
            timeout --kill-after=10 "$cap" "$@" > "$out" 2> "$DIR/$name.log"; rc=$?
        fi
        [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && note="TIMEOUT after ${cap}s"
    fi
    NAMES+=("$name"); RCS+=("$rc"); SECS+=("$(( $(date +%s) - t0 ))"); NOTES+=("$note")
}

step pytest_gpu 80 - "$PY" -m pytest -m gpu -q -p no:cacheprovider
step check 100 - "${SPECDEF[@]}" check --backend cupy --size large --out "$DIR/check" \
    --no-progress
# --threads 0: the library's BLAS threads for the host-side set-up on a dedicated GPU machine
step bench 130 "$DIR/bench.json" "${SPECDEF[@]}" bench --backend cupy --quick --json \
    --threads 0 --no-progress
step bench_eigs 100 "$DIR/bench_eigs.json" "${SPECDEF[@]}" bench --backend cupy --json \
    --only joint_hessian_eigs --threads 0 --no-progress
step agreement 40 - "$PY" -m benchmarks._agreement

# ---- summary, printed last --------------------------------------------------------------------
for f in "$DIR/bench.json" "$DIR/bench_eigs.json"; do
    [ -s "$f" ] || continue
    echo
    echo "== $(basename "$f") =="
    "$PY" - "$f" <<'EOF' || echo "(could not render $f)"
import sys
from benchmarks import load_results, print_table
m, results = load_results(sys.argv[1])
print_table(results)
print(f"\n{m.get('gpu')}; {m.get('cores')} cores, {m.get('cpu')}; {m.get('runtime_s')} s")
EOF
done
if [ -s "$DIR/agreement.log" ]; then
    echo; echo "== agreement =="; cat "$DIR/agreement.log"
fi
echo
echo "== gpu.sh summary ($(head -n 1 "$DIR/probe.log")) =="
printf '%-12s %-8s %6s  %s\n' step status seconds "log / note"
fail=0
for i in "${!NAMES[@]}"; do
    if [ "${RCS[$i]}" -eq 0 ]; then status=ok; else status="FAIL(${RCS[$i]})"; fail=1; fi
    printf '%-12s %-8s %6s  %s\n' "${NAMES[$i]}" "$status" "${SECS[$i]}" \
        "$DIR/${NAMES[$i]}.log ${NOTES[$i]}"
done
exit $fail
