"""The rerank routes over a real socket: `nestor serve --rerank-model` on the committed tiny
cross-encoder fixture, driven by plain HTTP and by the official `cohere` SDK (v1 and v2 clients),
with the scores compared to sentence-transformers' `CrossEncoder` outputs stored beside the
fixture; and `/search`'s rerank stage over ingested documents."""
import json
import os

import pytest

from conftest import ROOT, Server

FIXTURE = os.path.join(ROOT, "Tests", "EmbeddingModelTests", "Fixtures", "tiny-ce-bert")
REFERENCE = json.load(open(os.path.join(FIXTURE, "reference.json")))


@pytest.fixture(scope="module")
def rerank_server():
    s = Server("--rerank-model", FIXTURE)
    yield s
    s.stop()


def by_query():
    """Reference cases grouped by query: {query: [(document, score)]}."""
    out = {}
    for c in REFERENCE["cases"]:
        out.setdefault(c["query"], []).append((c["document"], c["score"]))
    return out


def test_scores_equal_sentence_transformers(rerank_server):
    for query, pairs in by_query().items():
        docs = [d for d, _ in pairs]
        status, body = rerank_server.post("/v1/rerank", {"query": query, "documents": docs})
        assert status == 200, body
        got = {r["index"]: r["relevance_score"] for r in body["results"]}
        assert sorted(got) == list(range(len(docs)))
        for i, (_, score) in enumerate(pairs):
            assert abs(got[i] - score) <= 1e-5, (query, docs[i], got[i], score)
        scores = [r["relevance_score"] for r in body["results"]]
        assert scores == sorted(scores, reverse=True)
        assert all(r["document"]["text"] == docs[r["index"]] for r in body["results"])


def test_official_cohere_clients(rerank_server):
    cohere = pytest.importorskip("cohere")
    query, pairs = next((q, p) for q, p in by_query().items() if len(p) >= 2)
    docs = [d for d, _ in pairs]
    best = max(range(len(docs)), key=lambda i: (pairs[i][1], -i))
    v2 = cohere.ClientV2(api_key="unused", base_url=rerank_server.url)
    r = v2.rerank(model="tiny-ce-bert", query=query, documents=docs, top_n=1)
    assert [x.index for x in r.results] == [best]
    assert abs(r.results[0].relevance_score - pairs[best][1]) <= 1e-5
    v1 = cohere.Client(api_key="unused", base_url=rerank_server.url)
    r1 = v1.rerank(model="tiny-ce-bert", query=query, documents=docs, return_documents=True)
    assert len(r1.results) == len(docs) and r1.results[0].index == best
    assert r1.results[0].document.text == docs[best]
    # Errors reach the SDK as its own exception types.
    with pytest.raises(cohere.core.api_error.ApiError) as e:
        v2.rerank(model="tiny-ce-bert", query=query, documents=[])
    assert e.value.status_code == 400


def test_search_rerank_stage_and_errors(rerank_server):
    docs = [{"id": f"d{i}", "text": d} for i, (d, _) in enumerate(by_query()[REFERENCE["cases"][0]["query"]])]
    docs += [{"id": "x1", "text": "Unrelated text about gardening tools."}, {"id": "x2", "text": "A recipe for bread."}]
    status, body = rerank_server.post("/ingest", {"collection": "rr", "documents": docs, "create_collection": True})
    assert status == 200, body
    query = REFERENCE["cases"][0]["query"]
    status, direct = rerank_server.post("/v1/rerank", {"query": query, "documents": [d["text"] for d in docs]})
    expected = [docs[r["index"]]["id"] for r in direct["results"]]
    for mode in ("dense", "hybrid"):
        status, body = rerank_server.post("/search", {"collection": "rr", "query": query, "mode": mode, "top_k": len(docs),
                                                      "rerank": {"depth": len(docs)}})
        assert status == 200, body
        assert body["score_type"] == "rerank"
        assert [h["document_id"] for h in body["hits"]] == expected
        assert body["timings"]["reranker_ms"] > 0
    status, body = rerank_server.post("/search", {"collection": "rr", "query": query, "rerank": {"top_n": 0}})
    assert status == 400 and body["error"]["param"] == "rerank.top_n"
    status, body = rerank_server.post("/v1/rerank", {"query": query, "documents": ["a"], "top_k": 3})
    assert status == 400 and body["error"]["param"] == "top_k"


def test_python_client_rerank(rerank_server):
    import sys
    sys.path.insert(0, os.path.join(ROOT, "clients", "python", "src"))
    from nestor_client import NestorClient
    c = NestorClient(rerank_server.url)
    query, pairs = next((q, p) for q, p in by_query().items() if len(p) >= 2)
    docs = [d for d, _ in pairs]
    out = c.rerank(query, docs, top_n=2)
    assert len(out) == 2 and out[0].score >= out[1].score
    assert all(abs(r.score - pairs[r.index][1]) <= 1e-5 and r.document == docs[r.index] for r in out)
    hits = c.search("rr", REFERENCE["cases"][0]["query"], top_k=3, rerank=True)
    assert hits.score_type == "rerank" and len(hits) == 3
