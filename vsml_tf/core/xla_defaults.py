"""XLA:CPU settings that VSML's CPU steps need, applied when `vsml_tf` is imported.

A CPU ES step is bound by the element-wise LSTM passes (five activations per state unit
per micro tick), not by the matmul. XLA:CPU emits 256-bit vectors by default; on a CPU with
AVX-512, 512-bit vectors make `vsml-bench` es_digits ~14% faster (and the straightforward
reference not at all). XLA reads `XLA_FLAGS` once, at its first compilation, so this
must run before anything is compiled; `vsml_tf/__init__.py` does it.

Opt out with VSML_XLA_DEFAULTS=0. A flag already in XLA_FLAGS is never overridden.
"""

from __future__ import annotations

import os
import platform

WIDE_VECTORS = "--xla_cpu_prefer_vector_width=512"


def cpu_has_avx512() -> bool:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


def apply(environ=os.environ) -> None:
    """Add our XLA:CPU defaults to XLA_FLAGS (unless opted out or already set)."""
    if environ.get("VSML_XLA_DEFAULTS", "1") == "0":
        return
    flags = environ.get("XLA_FLAGS", "")
    if "xla_cpu_prefer_vector_width" in flags or not cpu_has_avx512():
        return
    environ["XLA_FLAGS"] = f"{flags} {WIDE_VECTORS}".strip()
