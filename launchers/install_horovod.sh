#!/usr/bin/env bash
# Build Horovod 0.28.1 against the installed TensorFlow and install it.
#
# Usage: launchers/install_horovod.sh            (CPU build: collectives over gloo)
#
# `pip install horovod` fails against current TensorFlow (2.21); this builds the PyPI sdist with two
# source fixes (TF's bundled highwayhash/farmhash headers on the include path; xla_builder.h
# moved to xla/hlo/builder/), strips debug info and caches the wheel outside the clone, keyed
# by the TensorFlow and Horovod versions, python tag and build flavour. A cached wheel
# installs in seconds; a fresh build takes ~14 min on 2 cores.
#
# Environment:
#   PYTHON=python                   interpreter whose TensorFlow to build against:
#                                   `python` from PATH unless set (printed)
#   VSML_HOROVOD_CACHE=~/.cache/vsml_tf/horovod   where built wheels are kept
#   VSML_HOROVOD_REBUILD=1          ignore a cached wheel
#   HOROVOD_GPU_OPERATIONS=NCCL     GPU build (untested here): also HOROVOD_NCCL_HOME,
#                                   HOROVOD_CUDA_HOME, HOROVOD_GPU=CUDA|ROCM; see Horovod's
#                                   docs/gpus.rst. HOROVOD_WITH_MPI=1 builds MPI support too.
set -euo pipefail
if [[ $# -gt 0 ]]; then sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2; fi

HOROVOD_VERSION=0.28.1
TESTED_TF="2.21"
PYTHON=${PYTHON:-python}
command -v "$PYTHON" >/dev/null || {
  echo "error: PYTHON=$PYTHON: command not found; set PYTHON to the interpreter that has vsml_tf" >&2; exit 2; }
echo "install_horovod.sh: python $(command -v "$PYTHON") ($("$PYTHON" --version 2>&1)); PYTHON=... picks another" >&2

tf_info=$("$PYTHON" - <<'EOF' 2>/dev/null
import sys, tensorflow as tf
print(tf.__version__, tf.sysconfig.get_include(), f"cp{sys.version_info[0]}{sys.version_info[1]}")
EOF
) || { echo "error: '$PYTHON' cannot import tensorflow: install TensorFlow first (pip install -e .)" >&2; exit 1; }
read -r TF_VERSION TF_INCLUDE PY_TAG <<<"$tf_info"
tf_minor=$(cut -d. -f1,2 <<<"$TF_VERSION")
if [[ " $TESTED_TF " != *" $tf_minor "* ]]; then
  echo "WARNING: TensorFlow $TF_VERSION: this script was tested with TensorFlow $TESTED_TF only;" \
       "the build may fail or need other source fixes." >&2
fi

flavour=cpu-${HOROVOD_CPU_OPERATIONS:-gloo}
if [[ -n "${HOROVOD_GPU_OPERATIONS:-}" ]]; then flavour=gpu-${HOROVOD_GPU_OPERATIONS,,}; fi
CACHE_ROOT=${VSML_HOROVOD_CACHE:-$HOME/.cache/vsml_tf/horovod}
CACHE_DIR=$CACHE_ROOT/tf-$TF_VERSION/horovod-$HOROVOD_VERSION-$PY_TAG-$flavour

install() {  # this exact wheel, then its small pure-Python dependencies
  "$PYTHON" -m pip install --quiet --no-deps --force-reinstall "$1"
  "$PYTHON" -m pip install --quiet "$1"
}
check() {
  (cd / && "$PYTHON" -c "import horovod.tensorflow as hvd; hvd.init(); \
print('horovod', __import__('horovod').__version__, 'rank', hvd.rank(), 'of', hvd.size(), \
'gloo built:', hvd.gloo_built())")
}

wheel=$(ls "$CACHE_DIR"/horovod-*.whl 2>/dev/null | head -1 || true)
if [[ -n "$wheel" && "${VSML_HOROVOD_REBUILD:-0}" != 1 ]]; then
  echo "installing cached $wheel"
  install "$wheel"; check; exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/horovod-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "building horovod $HOROVOD_VERSION for TensorFlow $TF_VERSION ($PY_TAG, $flavour) in $work"
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "horovod==$HOROVOD_VERSION" -d "$work"
tar -xzf "$work/horovod-$HOROVOD_VERSION.tar.gz" -C "$work"
src=$work/horovod-$HOROVOD_VERSION

# Source fixes for current TensorFlow; each fails loudly if its anchor is gone.
"$PYTHON" - "$src" "$TF_INCLUDE" <<'EOF'
import os, sys
src, inc = sys.argv[1:]
cm = os.path.join(src, "horovod/tensorflow/CMakeLists.txt")
text = open(cm).read()
anchor = "include_directories(SYSTEM ${Tensorflow_INCLUDE_DIRS})\n"
if anchor not in text:
    sys.exit(f"error: {cm} has no '{anchor.strip()}' line: the patch needs updating")
extra = [os.path.join(inc, "external/highwayhash"), os.path.join(inc, "external/farmhash_archive/src")]
for d in extra:
    if not os.path.isdir(d):
        sys.exit(f"error: {d} not in the TensorFlow wheel: the patch needs updating")
text = text.replace(anchor, anchor + "include_directories(SYSTEM %s)\n" % " ".join(extra))
open(cm, "w").write(text)
print("patched", cm)
old, new = "xla/client/xla_builder.h", "xla/hlo/builder/xla_builder.h"
if not os.path.exists(os.path.join(inc, "tensorflow/compiler", old)):
    if not os.path.exists(os.path.join(inc, "tensorflow/compiler", new)):
        sys.exit(f"error: neither {old} nor {new} in {inc}: the patch needs updating")
    cc = os.path.join(src, "horovod/tensorflow/xla_mpi_ops.cc")
    text = open(cc).read()
    if old not in text:
        sys.exit(f"error: {cc} does not include {old}: the patch needs updating")
    open(cc, "w").write(text.replace(old, new))
    print("patched", cc)
EOF

export HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_PYTORCH=1 \
  HOROVOD_WITHOUT_MXNET=1 HOROVOD_CPU_OPERATIONS=${HOROVOD_CPU_OPERATIONS:-gloo}
if [[ "${HOROVOD_WITH_MPI:-}" != 1 ]]; then export HOROVOD_WITHOUT_MPI=1; fi
export MAKEFLAGS=${MAKEFLAGS:--j$(nproc)}
cmake_major=$(cmake --version | sed -n 's/^cmake version \([0-9]*\).*/\1/p')
if [[ "${cmake_major:-0}" -ge 4 ]]; then export CMAKE_POLICY_VERSION_MINIMUM=3.5; fi

start=$SECONDS
nice -n 10 "$PYTHON" -m pip wheel --no-build-isolation --no-deps -w "$work/dist" "$src"
built=$(ls "$work"/dist/horovod-*.whl)
echo "built $(basename "$built") in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s," \
     "$(( $(stat -c %s "$built") / 1000000 )) MB"

# Strip debug info (RelWithDebInfo) from the shared libraries and repack (RECORD regenerated).
"$PYTHON" -m wheel unpack -d "$work/unpacked" "$built" >/dev/null
find "$work/unpacked" -name '*.so' -exec strip --strip-debug {} +
mkdir -p "$CACHE_DIR" "$work/stripped"
"$PYTHON" -m wheel pack -d "$work/stripped" "$work/unpacked"/horovod-* >/dev/null
wheel=$(ls "$work"/stripped/horovod-*.whl)
echo "stripped: $(( $(stat -c %s "$wheel") / 1000000 )) MB"
cp "$wheel" "$CACHE_DIR/$(basename "$wheel").part"
mv "$CACHE_DIR/$(basename "$wheel").part" "$CACHE_DIR/$(basename "$wheel")"
wheel=$CACHE_DIR/$(basename "$wheel")
echo "cached $wheel"
install "$wheel"
check
