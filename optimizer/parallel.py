"""Executors for sweeps: local worker processes, or an existing Dask distributed cluster.

Both hand out large chunks of scenarios (never one per task), and each worker keeps one
persistent HiGHS model. Local processes start by ``fork`` where the platform has it, so
they inherit the built model instead of rebuilding it.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import InputError

DASK_TIMEOUT_S = 10


@contextmanager
def local_pool(engine, workers: int, init: Callable) -> Iterator:
    """A ``multiprocessing`` pool of ``workers`` processes, each holding the engine's model.

    The workers start (and build their HiGHS models) as soon as the pool exists, so the
    caller can check the scenarios meanwhile; nothing is solved until it hands out chunks.
    """
    import highspy  # noqa: F401 - imported once here, inherited by every worker

    from . import sweeps

    methods = mp.get_all_start_methods()
    # Objects that exist now are never collected in the children: freezing them keeps the
    # children's collector from touching (and so copying) every inherited page.
    gc.freeze()
    try:
        if "fork" in methods:
            ctx = mp.get_context("fork")
            sweeps._SHARED["engine"] = engine  # inherited by the children
            pool = ctx.Pool(workers, initializer=init, initargs=(None,))
        else:  # pragma: no cover - spawn platforms get the engine pickled once per worker
            ctx = mp.get_context("spawn")
            pool = ctx.Pool(workers, initializer=init, initargs=(engine,))
    finally:
        gc.unfreeze()
    with pool:
        yield pool


def run_on_dask(address: str, engine, chunks: list, run_chunk: Callable) -> Iterator[list]:
    """Run chunks on the Dask cluster at ``address``; the engine is shipped once."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError("--dask needs the optional extra: pip install 'irel-alloc[dask]'") \
            from None
    try:
        client = Client(address, timeout=f"{DASK_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address!r} within "
                         f"{DASK_TIMEOUT_S} s: {exc}") from None
    try:
        remote = client.scatter(engine, broadcast=True)
        futures = [client.submit(run_chunk, chunk, remote, pure=False) for chunk in chunks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()


