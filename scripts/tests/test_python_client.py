"""clients/python (`nestor_client`) against a real `nestor serve`: collections (get-or-create),
ingest in batches with progress, search with offset paging, the document listing through its
cursor, ids that need percent-encoding, errors as NestorError, the embeddings routes, and the
LangChain and LlamaIndex retrievers (skipped when those libraries are absent)."""
import asyncio
import math
import os
import sys

import pytest

from conftest import ROOT, Server

# The checkout's client, not whatever copy pip installed earlier.
sys.path.insert(0, os.path.join(ROOT, "clients", "python", "src"))

from nestor_client import (Collection, Document, DocumentSummary, Hit, NestorClient,  # noqa: E402
                           NestorConnectionError, NestorError, SearchResult)

CORPUS = [
    ("cp", "To copy a file, use cp SOURCE DEST.", {"lang": "en", "topic": "files", "year": 2024}),
    ("mv", "Dateien verschiebt man mit mv QUELLE ZIEL.", {"lang": "de", "topic": "files", "year": 2019}),
    ("rm", "Pour supprimer un fichier, utilisez rm.", {"lang": "fr", "topic": "files", "year": 2021}),
    ("ls", "ls muestra el contenido de un directorio.", {"lang": "es", "topic": "files", "year": 2022}),
    ("mkdir", "mkdir crea una nuova cartella.", {"lang": "it", "topic": "files", "year": 2020}),
    ("tea", "Green tea is brewed at about 80 degrees.", {"lang": "en", "topic": "food", "year": 2018}),
    ("bread", "Brot braucht Mehl, Wasser, Salz und Hefe.", {"lang": "de", "topic": "food", "year": 2023}),
    ("cheese", "Le fromage se conserve au frais.", {"lang": "fr", "topic": "food", "year": 2017}),
    ("rain", "It is going to rain tomorrow afternoon.", {"lang": "en", "topic": "weather", "year": 2024}),
    ("snow", "Im Winter fällt in den Alpen viel Schnee.", {"lang": "de", "topic": "weather", "year": 2016}),
    ("sun", "El sol brilla en verano.", {"lang": "es", "topic": "weather", "year": 2015}),
    ("wind", "Il vento soffia forte sul mare.", {"lang": "it", "topic": "weather", "year": 2014}),
    ("git", "git clone copies a repository.", {"lang": "en", "topic": "code", "year": 2024}),
    ("python", "Python-Listen werden mit eckigen Klammern geschrieben.", {"lang": "de", "topic": "code", "year": 2022}),
    ("swift", "Swift est un langage compilé.", {"lang": "fr", "topic": "code", "year": 2021}),
    ("rust", "Rust evita errores de memoria.", {"lang": "es", "topic": "code", "year": 2020}),
    ("cat", "猫はとてもかわいい動物です。", {"lang": "ja", "topic": "animals", "year": 2019}),
    ("dog", "Собака — друг человека.", {"lang": "ru", "topic": "animals", "year": 2018}),
    ("bird", "鸟在天空中飞翔。", {"lang": "zh", "topic": "animals", "year": 2017}),
    ("fish", "Vissen zwemmen in het water.", {"lang": "nl", "topic": "animals", "year": 2016}),
    ("scp", "scp copies files between hosts over SSH.", {"lang": "en", "topic": "files", "year": 2023}),
    ("rsync", "rsync synchronisiert Verzeichnisse, auch über das Netz.", {"lang": "de", "topic": "files", "year": 2024}),
]
ODD_IDS = ["docs/guide/intro.md", "with space", "100% sure", "ümlaut/日本語 テキスト", "a#b?c&d=e+f", "trailing/",
           "%2F already encoded"]


@pytest.fixture(scope="module")
def client(server):
    return NestorClient(server.url, timeout=60)


@pytest.fixture(scope="module")
def corpus(client):
    """The collection `pyclient`, filled once through the client (22 documents in batches of 5)."""
    client.delete_collection("pyclient", missing_ok=True)
    client.create_collection("pyclient")
    calls = []
    result = client.ingest("pyclient", [{"id": i, "text": t, "metadata": m} for i, t, m in CORPUS],
                           batch_size=5, progress=lambda done, total: calls.append((done, total)))
    return result, calls


def test_collections_get_or_create(client):
    client.delete_collection("pyclient-c", missing_ok=True)
    c = client.create_collection("pyclient-c", m=12, ef_construction=100)
    assert isinstance(c, Collection) and (c.name, c.m, c.ef_construction, c.documents) == ("pyclient-c", 12, 100, 0)
    assert c.metric == "cosine" and c.dimensions == 384 and c.unavailable is None
    # The same settings (or none): the existing collection, not an error.
    assert client.create_collection("pyclient-c", m=12) == c
    assert client.create_collection("pyclient-c") == c
    # Other settings: 409, naming the difference.
    with pytest.raises(NestorError) as e:
        client.create_collection("pyclient-c", m=16)
    assert e.value.status == 409 and e.value.code == "409" and "m 12" in e.value.message
    # exist_ok=False refuses any existing collection.
    with pytest.raises(NestorError) as e:
        client.create_collection("pyclient-c", exist_ok=False)
    assert e.value.status == 409
    assert client.collection("pyclient-c") == c
    assert "pyclient-c" in [x.name for x in client.collections()]
    assert client.delete_collection("pyclient-c") is True
    assert client.delete_collection("pyclient-c", missing_ok=True) is False
    with pytest.raises(NestorError) as e:
        client.collection("pyclient-c")
    assert (e.value.status, e.value.type, e.value.code) == (404, "invalid_request_error", "404")


def test_ingest_batches_with_progress(client, corpus):
    result, calls = corpus
    assert calls == [(5, 22), (10, 22), (15, 22), (20, 22), (22, 22)]
    assert result.batches == 5
    assert result.ids == [i for i, _, _ in CORPUS]
    assert all(d.chunks == 1 for d in result.documents) and result.chunks == 22
    assert client.collection("pyclient").documents == 22


def test_ingest_document_kinds_generated_ids_and_create_collection(client):
    client.delete_collection("pyclient-new", missing_ok=True)
    with pytest.raises(NestorError) as e:
        client.ingest("pyclient-new", ["no collection yet"])
    assert e.value.status == 404
    long_text = "\n\n".join(f"Paragraph {i}: " + "words and more words " * 30 for i in range(6))
    docs = (d for d in [Document("a dataclass document", id="dc", metadata={"k": 1}), "just a string",
                        {"text": "a dict without id"}, {"id": 7, "text": "an integer id"},
                        Document(long_text, id="long")])
    seen = []
    r = client.ingest("pyclient-new", docs, batch_size=2, create_collection=True,
                      chunking={"max_tokens": 64, "overlap_tokens": 8}, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, None), (4, None), (5, None)]  # a generator has no length
    assert r.ids[0] == "dc" and r.ids[3] == "7" and r.ids[4] == "long"
    assert r.ids[1] and r.ids[2] and len(set(r.ids)) == 5
    assert r.documents[4].chunks > 3 and r.chunks == 4 + r.documents[4].chunks
    stored = client.document("pyclient-new", "long")
    assert [c.index for c in stored.chunks] == list(range(r.documents[4].chunks))
    assert client.document("pyclient-new", 7).text == "an integer id"
    assert client.document("pyclient-new", "dc").metadata == {"k": 1}
    client.delete_collection("pyclient-new")


def test_search_typed_hits(client, corpus):
    r = client.search("pyclient", "Wie kopiere ich eine Datei?", top_k=3)
    assert isinstance(r, SearchResult) and r.score_type == "weighted" and r.mode == "hybrid" and len(r) == 3
    assert r.hits[0].document_id in {"cp", "scp"}
    for h in r:
        assert isinstance(h, Hit) and h.id == f"{h.document_id}#{h.chunk_index}"
        assert -1 <= h.score <= 1 and h.text and h.metadata["topic"]
    assert [h.score for h in r.hits] == sorted((h.score for h in r.hits), reverse=True)
    assert set(r.timings) >= {"embed_ms", "coarse_ms", "rerank_ms", "fetch_ms"}
    only = client.search("pyclient", "weather", top_k=10, filter={"topic": "weather", "year": {"$gte": 2015}})
    assert {h.document_id for h in only.hits} == {"rain", "snow", "sun"}
    bare = client.search("pyclient", "tea", top_k=1, include=[])
    assert bare.hits[0].text is None and bare.hits[0].metadata is None
    grouped = client.search("pyclient", "files", top_k=5, group_by_document=True)
    assert len({h.document_id for h in grouped.hits}) == len(grouped.hits)


def test_search_modes(client, corpus):
    dense = client.search("pyclient", "rsync", top_k=3, mode="dense")
    assert dense.mode == "dense" and dense.score_type == "cosine" and dense.hits[0].dense_rank is None
    default = client.search("pyclient", "rsync", top_k=3)
    assert default.mode == "hybrid" and default.score_type == "weighted"
    lexical = client.search("pyclient", "rsync synchronisiert", top_k=3, mode="lexical")
    assert lexical.mode == "lexical" and lexical.score_type == "bm25" and lexical.path == "none"
    assert lexical.hits[0].document_id == "rsync"
    hybrid = client.search("pyclient", "rsync Verzeichnisse", top_k=5, mode="hybrid", fusion_k=60)
    assert hybrid.mode == "hybrid" and hybrid.score_type == "rrf" and hybrid.hits[0].document_id == "rsync"
    assert hybrid.hits[0].dense_rank >= 1 and hybrid.hits[0].lexical_rank == 1
    weighted = client.search("pyclient", "rsync", top_k=3, mode="hybrid", alpha=0.5)
    assert weighted.score_type == "weighted"
    with pytest.raises(NestorError) as e:
        client.search("pyclient", "x", mode="dense", alpha=0.5)
    assert e.value.status == 400 and e.value.param == "alpha"
    c = client.create_collection("pyclient-bm25", bm25_k1=1.5, bm25_b=0.5, fold_diacritics=True)
    assert (c.bm25_k1, c.bm25_b, c.fold_diacritics, c.terms) == (1.5, 0.5, True, 0)
    assert client.create_collection("pyclient-bm25", bm25_k1=1.5) == c
    with pytest.raises(NestorError) as e:
        client.create_collection("pyclient-bm25", fold_diacritics=False)
    assert e.value.status == 409 and "fold_diacritics" in e.value.message
    client.delete_collection("pyclient-bm25")


def test_search_by_vector(client, corpus):
    v = client.embed("query: green tea temperature")
    r = client.search("pyclient", vector=v, top_k=1, include=["text", "vector"])
    assert r.hits[0].document_id == "tea" and len(r.hits[0].vector) == 384


def test_search_offset_paging(client, corpus):
    whole = client.search("pyclient", "copy files", top_k=22, exact=True)
    assert whole.next_offset is None or whole.next_offset == 22
    pages, offset = [], 0
    while offset is not None:
        page = client.search("pyclient", "copy files", top_k=8, offset=offset, exact=True)
        pages.append(page)
        offset = page.next_offset
    assert [len(p) for p in pages] == [8, 8, 6]
    assert [p.next_offset for p in pages] == [8, 16, None]
    assert [h.id for p in pages for h in p.hits] == [h.id for h in whole.hits]
    with pytest.raises(NestorError) as e:
        client.search("pyclient", "x", top_k=10, offset=995)
    assert e.value.status == 400 and e.value.param == "offset"


def test_documents_listing_through_the_cursor(client, corpus):
    pages = []
    cursor = None
    while True:
        page = client.list_documents("pyclient", limit=6, cursor=cursor)
        pages.append([d.id for d in page.documents])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert [len(p) for p in pages] == [6, 6, 6, 4]
    ids = [i for p in pages for i in p]
    assert ids == sorted((i for i, _, _ in CORPUS), key=lambda s: s.encode())
    listed = list(client.documents("pyclient", limit=7))
    assert [d.id for d in listed] == ids
    d = next(x for x in listed if x.id == "bread")
    assert isinstance(d, DocumentSummary) and d.text.startswith("Brot") and d.metadata["year"] == 2023 and d.chunks == 1
    assert len(list(client.documents("pyclient"))) == 22
    with pytest.raises(NestorError) as e:
        client.list_documents("pyclient", limit=0)
    assert e.value.status == 400 and e.value.param == "limit"
    with pytest.raises(NestorError) as e:
        client.list_documents("pyclient", cursor="not a cursor!")
    assert e.value.status == 400 and e.value.param == "cursor"


def test_odd_ids_round_trip(client):
    client.delete_collection("pyclient-ids", missing_ok=True)
    r = client.ingest("pyclient-ids", [{"id": i, "text": f"document number {n}: {i}"} for n, i in enumerate(ODD_IDS)],
                      create_collection=True)
    assert r.ids == ODD_IDS
    for n, i in enumerate(ODD_IDS):
        doc = client.document("pyclient-ids", i)
        assert doc.id == i and doc.text == f"document number {n}: {i}"
    assert sorted(d.id for d in client.documents("pyclient-ids", limit=2)) == sorted(ODD_IDS)
    hits = client.search("pyclient-ids", "document number", top_k=len(ODD_IDS)).hits
    assert {h.document_id for h in hits} == set(ODD_IDS)
    assert all(h.id == h.document_id + "#0" for h in hits)
    for i in ODD_IDS:
        assert client.delete_document("pyclient-ids", i) is True
        with pytest.raises(NestorError) as e:
            client.document("pyclient-ids", i)
        assert e.value.status == 404
    assert client.delete_document("pyclient-ids", ODD_IDS[0], missing_ok=True) is False
    assert list(client.documents("pyclient-ids")) == []
    client.delete_collection("pyclient-ids")


def test_errors_are_nestor_errors(client, corpus):
    with pytest.raises(NestorError) as e:
        client.search("pyclient", "x", top_k=0)
    assert (e.value.status, e.value.type, e.value.param, e.value.code) == (400, "invalid_request_error", "top_k", "400")
    with pytest.raises(NestorError) as e:
        client.search("pyclient", "x", filter={"year": {"$bogus": 1}})
    assert e.value.status == 400 and "filter" in (e.value.param or "")
    with pytest.raises(NestorError) as e:
        client.search("pyclient", query="x", vector=[1.0] * 384)
    assert e.value.status == 400
    with pytest.raises(NestorError) as e:
        client.ingest("pyclient", [{"id": "x", "text": "y", "unknown": 1}])
    assert e.value.status == 400 and "unknown" in e.value.message
    with pytest.raises(NestorError) as e:
        client.document("pyclient", "no such document")
    assert e.value.status == 404 and "404" in str(e.value)
    with pytest.raises(NestorError) as e:
        client.model("text-embedding-3-small")
    assert e.value.status == 404
    with pytest.raises(NestorConnectionError) as e:
        NestorClient("http://127.0.0.1:9", timeout=5).health()
    assert e.value.status == 0 and isinstance(e.value, NestorError)


def test_api_key():
    s = Server("--api-key", "sesame")
    try:
        with pytest.raises(NestorError) as e:
            NestorClient(s.url).collections()
        assert (e.value.status, e.value.type) == (401, "authentication_error")
        assert NestorClient(s.url).health()["status"] == "ok"  # /health stays open
        assert NestorClient(s.url, api_key="sesame").collections() == []
    finally:
        s.stop()


def test_embeddings_score_tokenize_models(client):
    texts = ["query: wie kopiere ich eine Datei?", "passage: To copy a file, use cp."]
    b64 = client.embed(texts)
    floats = client.embed(texts, base64=False)
    assert len(b64) == 2 and all(len(v) == 384 for v in b64)
    assert max(abs(a - b) for u, v in zip(b64, floats) for a, b in zip(u, v)) < 1e-6
    assert abs(math.sqrt(sum(x * x for x in b64[0])) - 1) < 1e-5
    # input_type selects the model's query prompt: the same vector as writing the prefix.
    prompted = client.embed("wie kopiere ich eine Datei?", input_type="query")
    assert max(abs(a - b) for a, b in zip(prompted, b64[0])) < 1e-5
    same = client.score(texts[0], texts[0])
    assert isinstance(same, float) and abs(same - 1) < 1e-4
    many = client.score(texts[0], [texts[1], "passage: Brot braucht Mehl."])
    assert len(many) == 2 and many[0] > many[1]
    t = client.tokenize("hello world")
    assert t.count == len(t.tokens) == len(t.pieces) and t.max_model_len == 512
    assert t.tokens[0] == 0 and t.tokens[-1] == 2 and "".join(t.pieces[1:-1]).replace("▁", " ").strip() == "hello world"
    assert client.tokenize("hello", input_type="query").count > client.tokenize("hello").count
    assert [m["id"] for m in client.models()] == ["multilingual-e5-small", "e5"]
    assert client.model("e5")["dimensions"] == 384


def test_langchain_retriever(client, corpus):
    pytest.importorskip("langchain_core")
    from langchain_core.documents import Document as LCDocument

    from nestor_client.langchain import NestorRetriever

    r = NestorRetriever(client=client, collection="pyclient", top_k=3)
    docs = r.invoke("Wie kopiere ich eine Datei?")
    assert len(docs) == 3 and all(isinstance(d, LCDocument) for d in docs)
    top = docs[0]
    assert top.metadata["document_id"] in {"cp", "scp"} and top.metadata["chunk_index"] == 0
    assert top.metadata["id"] == top.id == f"{top.metadata['document_id']}#0"
    assert top.page_content == dict((i, t) for i, t, _ in CORPUS)[top.metadata["document_id"]]
    assert top.metadata["topic"] == "files" and 0 < top.metadata["score"] <= 1
    filtered = NestorRetriever(client=client, collection="pyclient", top_k=10, filter={"lang": "de"})
    assert {d.metadata["lang"] for d in filtered.invoke("Essen")} == {"de"}
    lexical = NestorRetriever(client=client, collection="pyclient", top_k=2, search_kwargs={"mode": "lexical"})
    assert lexical.invoke("rsync")[0].metadata["document_id"] == "rsync"
    assert len(asyncio.run(r.ainvoke("weather tomorrow"))) == 3
    assert [d.id for d in r.batch(["tea", "snow"])[0]] == [d.id for d in r.invoke("tea")]


def test_llama_index_retriever(client, corpus):
    pytest.importorskip("llama_index.core")
    from llama_index.core.schema import NodeWithScore, TextNode

    from nestor_client.llama_index import NestorRetriever

    r = NestorRetriever(client, "pyclient", top_k=3)
    nodes = r.retrieve("Wie kopiere ich eine Datei?")
    assert len(nodes) == 3 and all(isinstance(n, NodeWithScore) and isinstance(n.node, TextNode) for n in nodes)
    top = nodes[0]
    doc = top.node.metadata["document_id"]
    assert doc in {"cp", "scp"} and top.node.id_ == f"{doc}#0" and top.node.ref_doc_id == doc
    assert top.node.text == dict((i, t) for i, t, _ in CORPUS)[doc] and top.node.metadata["topic"] == "files"
    assert top.score == pytest.approx(client.search("pyclient", "Wie kopiere ich eine Datei?", top_k=1).hits[0].score)
    filtered = NestorRetriever(client, "pyclient", top_k=10, filter={"topic": "animals"})
    assert {n.node.metadata["topic"] for n in filtered.retrieve("Tiere")} == {"animals"}
    hybrid = NestorRetriever(client, "pyclient", top_k=2, search_kwargs={"mode": "hybrid"})
    assert hybrid.retrieve("rsync Verzeichnisse")[0].node.ref_doc_id == "rsync"
    assert len(asyncio.run(r.aretrieve("weather"))) == 3
