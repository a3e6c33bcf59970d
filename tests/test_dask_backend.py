"""The Dask backend runs the same stages and finds the same pairs and clusters."""

from __future__ import annotations

from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason='dask.distributed not installed (pip install "dedup[dask]")')

from dedup import Document, scan_documents  # noqa: E402
from dedup.dask_backend import DaskBackend  # noqa: E402
from dedup.parallel import cached_documents  # noqa: E402
from dedup.read import iter_documents  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = [str(ROOT / "fixtures" / "seeds"), str(ROOT / "fixtures" / "reuters")]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _outcome(result):
    return ([(p.a, p.b, p.relation) for p in result.pairs], [(c.id, c.members) for c in result.clusters])


def test_dask_gives_the_single_machine_result(client):
    docs = [d for d in iter_documents(FIXTURES) if isinstance(d, Document)]
    assert len(docs) == 405
    single = scan_documents(docs, jobs=1)
    stages_seen = set()
    with DaskBackend(client=client) as backend:
        assert backend.workers == 2
        on_dask = scan_documents(docs, backend=backend, shard_size=60,
                                 progress=lambda stage, done, total: stages_seen.add(stage))
    assert _outcome(on_dask) == _outcome(single)
    assert on_dask.stats["candidates"] == single.stats["candidates"]
    assert stages_seen == {"read", "prepare", "verify"}
    assert set(client.run(cached_documents).values()) == {0}  # the run's documents were dropped


def test_dask_backend_by_scheduler_address(client):
    docs = [Document("a", "Le chat dort sur le canapé du salon depuis ce matin."),
            Document("b", "Le chat dort sur le canapé du salon depuis ce matin.")]
    result = scan_documents(docs, backend="dask", scheduler=client.scheduler.address)
    assert [(p.a, p.b, p.relation) for p in result.pairs] == [("a", "b", "duplicate")]
