"""Threads for NumPy work split over blocks of samples (FFT, pooling).

NumPy's FFT and ufunc loops release the GIL, so a few threads working on
disjoint blocks of a batch use the cores that the BLAS would use for a GEMM.
No pool is kept between calls (no global state): each call that runs in
threads starts its own executor, which costs well under a millisecond next
to the tens of milliseconds of work it splits.
"""

import functools
import os
from concurrent.futures import ThreadPoolExecutor

__all__ = ["cpu_threads", "run_in_threads"]


@functools.lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # a scikit-learn dependency, so normally present
        return None
    return ThreadpoolController()


def cpu_threads():
    """Threads for NumPy work split over samples: as many as the BLAS pools
    use now (the smallest if several BLAS libraries are loaded, 1 if none is
    seen).

    NumPy's FFT and ufuncs are single-threaded but release the GIL, so
    blocks of samples run in parallel (FFT 1.4-1.7x, pooling 1.7x faster on
    2 cores); taking the BLAS thread count makes them follow the same
    limits as the GEMM of the direct method (``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``,
    ``threadpoolctl``, joblib workers), capped by the usable cores.
    """
    controller = _blas_controller()
    counts = [] if controller is None else [
        lib.num_threads for lib in controller.lib_controllers
        if lib.user_api == "blas"]
    cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count() or 1)
    return max(1, min(min(counts, default=1), cores))


def run_in_threads(work, n_samples, chunk, threads):
    """Call ``work(lo, hi)`` on contiguous ranges of whole chunks covering
    ``range(n_samples)``: one range per thread (at most ``threads``)."""
    n_chunks = -(-n_samples // chunk)
    threads = max(1, min(threads, n_chunks))
    if threads == 1:
        work(0, n_samples)
        return
    bounds = [min(n_samples, (i * n_chunks // threads) * chunk)
              for i in range(threads + 1)]
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work, lo, hi)
                       for lo, hi in zip(bounds[:-1], bounds[1:])]:
            future.result()
