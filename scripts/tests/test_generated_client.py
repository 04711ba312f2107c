"""A client generated from the served /openapi.json with openapi-python-client (in a temporary
folder) works: the generator warns about nothing, and the generated code round-trips create
collection -> ingest -> search -> documents get/list -> delete against a real `nestor serve`,
parsing every answer into its declared model (errors into Error)."""
import importlib
import json
import subprocess
import sys
import urllib.request

import pytest


@pytest.fixture(scope="module")
def api(server, tmp_path_factory):
    pytest.importorskip("openapi_python_client")
    pytest.importorskip("httpx")
    pytest.importorskip("attrs")
    work = tmp_path_factory.mktemp("generated-client")
    with urllib.request.urlopen(server.url + "/openapi.json", timeout=10) as r:
        (work / "openapi.json").write_bytes(r.read())
    # No post hooks: they run ruff, which need not be on PATH; the code works unformatted.
    (work / "config.json").write_text(json.dumps({"post_hooks": []}))
    proc = subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json",
                           "--config", "config.json", "--meta", "none", "--output-path", "nestor_generated"],
                          cwd=work, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "warning" not in out.lower() and "error" not in out.lower(), out
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module("nestor_generated")
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == "nestor_generated" or m.startswith("nestor_generated.")]:
            del sys.modules[name]


def test_every_operation_is_generated(api):
    """One module per operation, each with its sync and async functions (an operation the
    generator cannot read is left out with a warning, which the fixture refuses too)."""
    for module in ("search.create_collection", "search.list_collections", "search.get_collection", "search.delete_collection",
                   "search.optimize_collection", "search.ingest", "search.search", "search.get_document",
                   "search.list_documents", "search.delete_document", "embeddings.create_embeddings",
                   "embeddings.cohere_embed", "embeddings.cohere_embed_v1", "embeddings.score", "embeddings.score_alias",
                   "embeddings.tokenize", "service.list_models", "service.get_model", "service.health",
                   "service.metrics", "service.openapi"):
        op = importlib.import_module(f"nestor_generated.api.{module}")
        assert callable(op.sync_detailed) and callable(op.asyncio_detailed), module


def test_round_trip(api, server):
    from nestor_generated import Client
    from nestor_generated.api.search import (create_collection, delete_collection, delete_document, get_collection,
                                             get_document, ingest, list_documents, search)
    from nestor_generated.models import (Collection, CollectionCreateRequest, Document, DocumentList, Error, Filter,
                                         IngestDocument, IngestRequest, IngestResponse, Metadata, SearchRequest,
                                         SearchRequestModeType0, SearchResponse, SearchResponseMode,
                                         SearchResponseScoreType)

    c = Client(base_url=server.url, raise_on_unexpected_status=True, timeout=60)
    name = "generated"
    delete_collection.sync_detailed(name, client=c)

    created = create_collection.sync_detailed(client=c, body=CollectionCreateRequest(name=name, m=16))
    assert created.status_code == 201 and isinstance(created.parsed, Collection) and created.parsed.name == name
    again = create_collection.sync_detailed(client=c, body=CollectionCreateRequest(name=name))
    assert again.status_code == 200 and again.parsed.name == name
    conflict = create_collection.sync_detailed(client=c, body=CollectionCreateRequest(name=name, m=8))
    assert conflict.status_code == 409 and isinstance(conflict.parsed, Error) and conflict.parsed.error.code == "409"

    docs = [IngestDocument(text=t, id=i, metadata=Metadata.from_dict(m)) for i, t, m in [
        ("guide/copy files.md", "To copy a file, use cp SOURCE DEST.", {"lang": "en"}),
        ("de/verschieben", "Dateien verschiebt man mit mv.", {"lang": "de"}),
        ("tea", "Green tea is brewed at about 80 degrees.", {"lang": "en", "topic": "food"}),
    ]]
    ingested = ingest.sync(client=c, body=IngestRequest(collection=name, documents=docs))
    assert isinstance(ingested, IngestResponse)
    assert [d.id for d in ingested.documents] == ["guide/copy files.md", "de/verschieben", "tea"]
    assert ingested.chunks == 3

    found = search.sync(client=c, body=SearchRequest(collection=name, query="Wie kopiere ich eine Datei?", top_k=2))
    assert isinstance(found, SearchResponse) and found.score_type == SearchResponseScoreType.WEIGHTED
    assert found.hits[0].document_id == "guide/copy files.md" and found.hits[0].id == "guide/copy files.md#0"
    assert found.next_offset == 2
    rest = search.sync(client=c, body=SearchRequest(collection=name, query="Wie kopiere ich eine Datei?", top_k=2,
                                                    offset=found.next_offset))
    assert len(rest.hits) == 1 and rest.next_offset is None
    filtered = search.sync(client=c, body=SearchRequest(collection=name, query="Datei", top_k=3,
                                                        filter_=Filter.from_dict({"lang": "de"})))
    assert [h.document_id for h in filtered.hits] == ["de/verschieben"]
    assert filtered.hits[0].metadata.to_dict() == {"lang": "de"}
    lexical = search.sync(client=c, body=SearchRequest(collection=name, query="Green tea", top_k=3,
                                                       mode=SearchRequestModeType0.LEXICAL))
    assert lexical.mode == SearchResponseMode.LEXICAL and lexical.score_type == SearchResponseScoreType.BM25
    assert lexical.hits[0].document_id == "tea"

    doc = get_document.sync(name, "guide/copy files.md", client=c)
    assert isinstance(doc, Document) and doc.text.startswith("To copy") and doc.chunks[0].index == 0

    first = list_documents.sync(name, client=c, limit=2)
    assert isinstance(first, DocumentList) and len(first.documents) == 2 and first.next_cursor
    second = list_documents.sync(name, client=c, limit=2, cursor=first.next_cursor)
    assert len(second.documents) == 1 and second.next_cursor is None
    assert [d.id for d in first.documents + second.documents] == sorted(["guide/copy files.md", "de/verschieben", "tea"])

    deleted = delete_document.sync(name, "de/verschieben", client=c)
    assert deleted.deleted is True and deleted.id == "de/verschieben"
    gone = get_document.sync_detailed(name, "de/verschieben", client=c)
    assert gone.status_code == 404 and isinstance(gone.parsed, Error) and gone.parsed.error.code == "404"
    assert get_collection.sync(name, client=c).documents == 2

    dropped = delete_collection.sync(name, client=c)
    assert dropped.deleted is True
    missing = get_collection.sync_detailed(name, client=c)
    assert missing.status_code == 404 and isinstance(missing.parsed, Error)


def test_embeddings_routes(api, server):
    from nestor_generated import Client
    from nestor_generated.api.embeddings import cohere_embed_v1, create_embeddings, tokenize
    from nestor_generated.api.service import get_model
    from nestor_generated.models import (CohereV1EmbedRequest, CohereV1EmbedResponse, EmbeddingRequest, Model,
                                         TokenizeRequest, TokenizeResponse)

    c = Client(base_url=server.url, raise_on_unexpected_status=True, timeout=60)
    r = create_embeddings.sync(client=c, body=EmbeddingRequest(input_=["hello", "world"]))
    assert [len(d.embedding) for d in r.data] == [384, 384]
    v1 = cohere_embed_v1.sync(client=c, body=CohereV1EmbedRequest(texts=["hello"]))
    assert isinstance(v1, CohereV1EmbedResponse) and v1.response_type == "embeddings_floats"
    assert len(v1.embeddings[0]) == 384
    t = tokenize.sync(client=c, body=TokenizeRequest(text="hello world"))
    assert isinstance(t, TokenizeResponse) and t.count == len(t.tokens) == len(t.pieces)
    m = get_model.sync("e5", client=c)
    assert isinstance(m, Model) and m.id == "e5" and m.dimensions == 384
