"""The ``authstream`` command line (see ``consumers.cli.main``)."""

import os

# One BLAS thread per process, unless the operator says otherwise; set before numpy loads (the
# CLI's imports load it). A worker is one Python thread on one core by design (scale out with
# processes), and the MiniLM encoder's small matrices gain nothing from more: on a busy two-core
# host OpenBLAS's default threads spun against each other and made an encoder pass 4-5 times
# dearer, long enough to stall the index stage's event loop (BENCHMARKS.md, "Interests").
# The tokenizer's Rust thread pool (tokenizers' batch encoding) likewise: one thread.
if not os.environ.get("OPENBLAS_NUM_THREADS", "").strip():  # unset, or set empty by a template
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
if not os.environ.get("TOKENIZERS_PARALLELISM", "").strip():
    os.environ["TOKENIZERS_PARALLELISM"] = "false"

from consumers.cli.main import main  # after the thread setting, on purpose

__all__ = ["main"]
