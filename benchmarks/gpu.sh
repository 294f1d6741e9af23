#!/usr/bin/env bash
# GPU checks and benchmarks in one go (under 8 minutes), full logs in a directory.
#
#   benchmarks/gpu.sh DIR        # from the repository root
#
# Steps (each with its own time cap, all under one overall deadline):
#   probe       CuPy imports and sees a CUDA device          (fails fast: exit 2, nothing run)
#   pytest_gpu  pytest -m gpu, but test_formats_backend.py   -> DIR/pytest_gpu.log
#   formats     pytest -m gpu tests/test_formats_backend.py (rounding and low-precision
#               kernels, CuPy against NumPy bit for bit), then 10^7 values rounded to a
#               format, NumPy (ml_dtypes) vs CuPy (arithmetic kernel), timed
#                                                            -> DIR/formats.log, DIR/rounding.txt
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

step pytest_gpu 80 - "$PY" -m pytest -m gpu -q -p no:cacheprovider \
    --ignore=tests/test_formats_backend.py
# Number formats on the GPU: the bit-for-bit tests, then one timing row per format (the first
# call compiles CuPy's kernels and is not timed; CuPy: best of 3, synchronised).
ROUNDING_PY=$(cat <<'PYEOF'
import sys, time
import cupy
import numpy as np
from specdef import numerics as nx

n = 10**7
rng = np.random.default_rng(0)
x = rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, n)
xd = cupy.asarray(x)
rows = [f"{'format':<14} {'values':>7} {'numpy_ml_dtypes_s':>17} {'cupy_generic_s':>14} "
        f"{'speedup':>8}  bits"]
ok = True
for name in ("bfloat16", "float16", "float8_e4m3fn"):
    nx.round_to_format(xd[:1000], name)
    cupy.cuda.Device().synchronize()
    t = time.perf_counter()
    h = nx.round_to_format(x, name)
    t_np = time.perf_counter() - t
    t_cp = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        d = nx.round_to_format(xd, name)
        cupy.cuda.Device().synchronize()
        t_cp = min(t_cp, time.perf_counter() - t)
    g = nx.to_host(d)
    same = bool(np.all((g.view(np.uint64) == h.view(np.uint64)) | (np.isnan(g) & np.isnan(h))))
    ok = ok and same
    rows.append(f"{name:<14} {n:>7.0e} {t_np:>17.4f} {t_cp:>14.4f} {t_np / t_cp:>7.1f}x  "
                f"{'identical' if same else 'DIFFER'}")
with open(sys.argv[1], "w") as fh:
    fh.write("\n".join(rows) + "\n")
print("\n".join(rows))
sys.exit(0 if ok else 1)
PYEOF
)
step formats 60 - bash -c '"$1" -m pytest -m gpu -q -p no:cacheprovider \
    tests/test_formats_backend.py && "$1" -c "$2" "$3"' formats "$PY" "$ROUNDING_PY" \
    "$DIR/rounding.txt"
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
if [ -s "$DIR/rounding.txt" ]; then
    echo; echo "== rounding 10^7 float64 values to a format =="; cat "$DIR/rounding.txt"
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
