from __future__ import annotations

import base64 as _base64
import json
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from array import array
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union,
                    overload)

from ._errors import NestorConnectionError, NestorError
from ._types import (Collection, Document, DocumentPage, DocumentSummary, IngestedDocument, IngestResult,
                     RerankResult, SearchResult, StoredDocument, Tokens)

__version__ = "0.1.0"

DocumentLike = Union[Document, Mapping[str, Any], str]
Progress = Callable[[int, Optional[int]], None]


def quote(segment: Union[str, int]) -> str:
    """A path segment percent-encoded as the server expects (`/`, spaces, `%`, `#`, `?` and
    non-ASCII included), so any accepted collection name or document id is addressable."""
    return urllib.parse.quote(str(segment), safe="")


class NestorClient:
    """A client for one Nestor server.

    >>> client = NestorClient("http://127.0.0.1:8080")
    >>> client.create_collection("docs")                      # get-or-create
    >>> client.ingest("docs", [{"id": "cp", "text": "To copy a file, use cp."}])
    >>> client.search("docs", "Wie kopiere ich eine Datei?").hits[0].text

    Every error answer raises `NestorError` (its `status`, `type`, `message`, `param`, `code`);
    an unreachable server or a timeout raises `NestorConnectionError` (status 0). Only the
    standard library is used; the client holds no connection and can be shared between threads.
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8080", api_key: Optional[str] = None,
                 timeout: float = 120.0, headers: Optional[Mapping[str, str]] = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.headers: Dict[str, str] = dict(headers or {})

    def __repr__(self) -> str:
        return f"NestorClient({self.base_url!r})"

    # --- HTTP -------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None,
                query: Optional[Mapping[str, Any]] = None) -> Tuple[int, Any]:
        """Sends one request and returns (status, decoded JSON body); raises `NestorError` for
        any status of 400 and above. `path` must already be percent-encoded."""
        url = self.base_url + path
        if query:
            q = {k: v for k, v in query.items() if v is not None}
            if q:
                url += "?" + urllib.parse.urlencode(q)
        headers = {"Accept": "application/json", "User-Agent": f"nestor-client/{__version__} (python-urllib)",
                   **self.headers}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            try:
                raw = e.read()
            finally:
                e.close()
            raise NestorError.from_response(e.code, raw) from None
        except urllib.error.URLError as e:
            raise NestorConnectionError(f"{method} {url}: {e.reason}") from e
        except (socket.timeout, TimeoutError) as e:
            raise NestorConnectionError(f"{method} {url}: timed out after {self.timeout} s") from e
        except (ConnectionError, OSError) as e:
            raise NestorConnectionError(f"{method} {url}: {e}") from e
        if not raw:
            return status, None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def _get(self, path: str, query: Optional[Mapping[str, Any]] = None) -> Any:
        return self.request("GET", path, query=query)[1]

    def _post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)[1]

    # --- service ----------------------------------------------------------------------------

    def health(self) -> Dict[str, Any]:
        return dict(self._get("/health"))

    def models(self) -> List[Dict[str, Any]]:
        """The served model under each of its names (`GET /v1/models`)."""
        return list(self._get("/v1/models")["data"])

    def model(self, id: str) -> Dict[str, Any]:
        """One served model by name or alias (`GET /v1/models/{id}`); 404 for another name."""
        return dict(self._get("/v1/models/" + quote(id)))

    # --- collections ------------------------------------------------------------------------

    def collections(self) -> List[Collection]:
        return [Collection.from_json(c) for c in self._get("/collections")["collections"]]

    def collection(self, name: str) -> Collection:
        return Collection.from_json(self._get("/collections/" + quote(name)))

    def create_collection(self, name: str, coarse_dimensions: Optional[int] = None, m: Optional[int] = None,
                          ef_construction: Optional[int] = None, exist_ok: bool = True, *,
                          bm25_k1: Optional[float] = None, bm25_b: Optional[float] = None,
                          fold_diacritics: Optional[bool] = None) -> Collection:
        """Creates a collection, or with `exist_ok` (the default) returns the existing one when
        the settings given match it. Settings that differ from the existing collection's raise
        `NestorError` 409, and so does any existing collection when `exist_ok` is False. Settings
        left None take the server's defaults (and match any existing value)."""
        body: Dict[str, Any] = {"name": name}
        for k, v in (("coarse_dimensions", coarse_dimensions), ("m", m), ("ef_construction", ef_construction),
                     ("bm25_k1", bm25_k1), ("bm25_b", bm25_b), ("fold_diacritics", fold_diacritics)):
            if v is not None:
                body[k] = v
        try:
            status, reply = self.request("POST", "/collections", body)
        except NestorError as e:
            # A server that predates idempotent creation answers 409 for any existing collection.
            if e.status != 409 or not exist_ok:
                raise
            try:
                existing = self.collection(name)
            except NestorError:
                raise e from None
            if existing.unavailable or any(v is not None and getattr(existing, k) != v
                                           for k, v in body.items() if k != "name"):
                raise
            return existing
        if status == 200 and not exist_ok:
            raise NestorError(409, "invalid_request_error", f"collection {name} already exists", "name", "409")
        return Collection.from_json(reply)

    def delete_collection(self, name: str, missing_ok: bool = False) -> bool:
        """Deletes a collection and everything in it; True when it existed."""
        try:
            self.request("DELETE", "/collections/" + quote(name))
        except NestorError as e:
            if missing_ok and e.status == 404:
                return False
            raise
        return True

    def optimize(self, name: str) -> Collection:
        """Refits the collection's coarse PCA basis and rebuilds its graph."""
        return Collection.from_json(self._post("/collections/" + quote(name) + "/optimize", None))

    # --- ingest -----------------------------------------------------------------------------

    def ingest(self, collection: str, documents: Iterable[DocumentLike], batch_size: int = 64,
               chunking: Optional[Mapping[str, int]] = None, progress: Optional[Progress] = None,
               create_collection: bool = False) -> IngestResult:
        """Chunks, embeds and stores documents, `batch_size` to a request.

        `documents` holds `Document`s, dicts `{"id"?, "text", "metadata"?}` or plain strings (an
        id is generated). `chunking` is `{"max_tokens": n, "overlap_tokens": k}`. `progress(done,
        total)` is called after each batch (`total` is None for an iterator of unknown length).
        With `create_collection` a missing collection is created with the default settings.

        Each batch is applied whole or not at all; a batch the server finds too large (413: too
        many chunks) is split and retried. When a batch fails the error is raised and the batches
        before it stay stored (ingest is an upsert by id, so calling again with the same ids is
        safe)."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        total: Optional[int] = len(documents) if hasattr(documents, "__len__") else None  # type: ignore[arg-type]
        result = IngestResult(collection=collection, documents=[], chunks=0)
        done = 0
        batch: List[Dict[str, Any]] = []

        def send(docs: List[Dict[str, Any]]) -> None:
            body: Dict[str, Any] = {"collection": collection, "documents": docs}
            if chunking is not None:
                body["chunking"] = dict(chunking)
            if create_collection:
                body["create_collection"] = True
            try:
                reply = self._post("/ingest", body)
            except NestorError as e:
                if e.status == 413 and len(docs) > 1:
                    half = len(docs) // 2
                    send(docs[:half])
                    send(docs[half:])
                    return
                raise
            result.batches += 1
            for d in reply["documents"]:
                result.documents.append(IngestedDocument(id=d["id"], chunks=d["chunks"]))
            result.chunks += reply["chunks"]

        def flush() -> None:
            nonlocal done, batch
            if not batch:
                return
            send(batch)
            done += len(batch)
            batch = []
            if progress is not None:
                progress(done, total)

        for d in documents:
            batch.append(_document_json(d))
            if len(batch) >= batch_size:
                flush()
        flush()
        return result

    # --- search -----------------------------------------------------------------------------

    def search(self, collection: str, query: Optional[str] = None, vector: Optional[Sequence[float]] = None,
               top_k: int = 10, filter: Optional[Mapping[str, Any]] = None, offset: int = 0,
               include: Optional[Sequence[str]] = None, group_by_document: bool = False, exact: bool = False,
               rerank_depth: Optional[int] = None, ef: Optional[int] = None, *, mode: Optional[str] = None,
               fusion_k: Optional[int] = None, alpha: Optional[float] = None,
               rerank: Union[bool, Mapping[str, int], None] = None) -> SearchResult:
        """Searches by text (`query`, embedded with the model's query prompt) or by `vector`.

        `filter` uses the vector-store syntax (`{"lang": "de"}`, `{"year": {"$gte": 2020}}`,
        `$in`, `$and`, `$or`, …). Page with `offset`: the result's `next_offset` is the offset of
        the next page, None on the last (offset + top_k is at most 1000). `include` picks from
        "text", "metadata", "vector" (default text and metadata). `mode` is "hybrid" (the
        server's default for a text query: embeddings and BM25 fused by weighted scores, `alpha`
        the dense side's weight, default 0.5, each lexical hit weighted by its coverage of the
        query; or by reciprocal rank with `fusion_k`), "dense" (the default for `vector`) or
        "lexical" (BM25; needs `query`).
        `rerank=True` (or `{"depth": 50}`) rescores the head with the server's cross-encoder
        (`serve --rerank-model`) and returns the best `top_k` by its score."""
        body: Dict[str, Any] = {"collection": collection, "top_k": top_k}
        if query is not None:
            body["query"] = query
        if vector is not None:
            body["vector"] = [float(x) for x in vector]
        if filter is not None:
            body["filter"] = filter
        if offset:
            body["offset"] = offset
        if include is not None:
            body["include"] = list(include)
        if group_by_document:
            body["group_by_document"] = True
        if exact:
            body["exact"] = True
        if rerank_depth is not None:
            body["rerank_depth"] = rerank_depth
        if ef is not None:
            body["ef"] = ef
        for k, v in (("mode", mode), ("fusion_k", fusion_k), ("alpha", alpha)):
            if v is not None:
                body[k] = v
        if rerank:
            body["rerank"] = {} if rerank is True else dict(rerank)  # type: ignore[arg-type]
        return SearchResult.from_json(self._post("/search", body))

    # --- documents --------------------------------------------------------------------------

    def document(self, collection: str, id: Union[str, int]) -> StoredDocument:
        """A stored document with its chunks; NestorError 404 when it is not stored."""
        return StoredDocument.from_json(self._get(f"/documents/{quote(collection)}/{quote(id)}"))

    def list_documents(self, collection: str, limit: int = 100, cursor: Optional[str] = None) -> DocumentPage:
        """One page of the collection's documents in id order (`GET /documents/{collection}`)."""
        j = self._get("/documents/" + quote(collection), {"limit": limit, "cursor": cursor})
        return DocumentPage(collection=j.get("collection", collection),
                            documents=[DocumentSummary.from_json(d) for d in j["documents"]],
                            next_cursor=j.get("next_cursor"))

    def documents(self, collection: str, limit: int = 100) -> Iterator[DocumentSummary]:
        """Every document of the collection, in id order, fetched `limit` to a request by
        following the server's cursor."""
        cursor: Optional[str] = None
        while True:
            page = self.list_documents(collection, limit=limit, cursor=cursor)
            yield from page.documents
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def delete_document(self, collection: str, id: Union[str, int], missing_ok: bool = False) -> bool:
        """Deletes a document and its chunks; True when it was stored."""
        try:
            self.request("DELETE", f"/documents/{quote(collection)}/{quote(id)}")
        except NestorError as e:
            if missing_ok and e.status == 404:
                return False
            raise
        return True

    # --- embeddings -------------------------------------------------------------------------

    @overload
    def embed(self, texts: str, input_type: Optional[str] = ..., dimensions: Optional[int] = ...,  # type: ignore[overload-overlap]
              model: Optional[str] = ..., base64: bool = ...) -> List[float]: ...  # (a str is also a Sequence[str])

    @overload
    def embed(self, texts: Sequence[str], input_type: Optional[str] = ..., dimensions: Optional[int] = ...,
              model: Optional[str] = ..., base64: bool = ...) -> List[List[float]]: ...

    def embed(self, texts: Union[str, Sequence[str]], input_type: Optional[str] = None,
              dimensions: Optional[int] = None, model: Optional[str] = None,
              base64: bool = True) -> Union[List[float], List[List[float]]]:
        """Embeds texts (`POST /v1/embeddings`): one vector for a string, a list for a list.
        `input_type` "query" or "document" selects the model's prompt (none by default);
        `dimensions` asks for a Matryoshka size. With `base64` (the default) vectors travel as
        little-endian float32 and are decoded here; False asks for JSON floats."""
        single = isinstance(texts, str)
        body: Dict[str, Any] = {"input": [texts] if single else list(texts),
                                "encoding_format": "base64" if base64 else "float"}
        if model is not None:
            body["model"] = model
        if input_type is not None:
            body["input_type"] = input_type
        if dimensions is not None:
            body["dimensions"] = dimensions
        data = sorted(self._post("/v1/embeddings", body)["data"], key=lambda d: d["index"])
        vectors = [_decode_vector(d["embedding"]) for d in data]
        return vectors[0] if single else vectors

    @overload
    def score(self, text_1: str, text_2: str,  # type: ignore[overload-overlap]  # a str is also a Sequence[str]
              model: Optional[str] = ...) -> float: ...

    @overload
    def score(self, text_1: Union[str, Sequence[str]], text_2: Sequence[str],
              model: Optional[str] = ...) -> List[float]: ...

    def score(self, text_1: Union[str, Sequence[str]], text_2: Union[str, Sequence[str]],
              model: Optional[str] = None) -> Union[float, List[float]]:
        """Cosine similarities (`POST /v1/score`): one text against one (a float) or against
        many, or two lists pairwise (a list). Texts are embedded as they are, without a prompt."""
        body: Dict[str, Any] = {"text_1": text_1 if isinstance(text_1, str) else list(text_1),
                                "text_2": text_2 if isinstance(text_2, str) else list(text_2)}
        if model is not None:
            body["model"] = model
        scores = [d["score"] for d in sorted(self._post("/v1/score", body)["data"], key=lambda d: d["index"])]
        return scores[0] if isinstance(text_1, str) and isinstance(text_2, str) else scores

    def rerank(self, query: str, documents: Sequence[str], top_n: Optional[int] = None,
               model: Optional[str] = None) -> List[RerankResult]:
        """Scores `documents` against `query` with the server's cross-encoder (`POST /v1/rerank`;
        the server needs `--rerank-model`): the best first, each with its index in `documents`."""
        body: Dict[str, Any] = {"query": query, "documents": list(documents), "return_documents": False}
        if top_n is not None:
            body["top_n"] = top_n
        if model is not None:
            body["model"] = model
        return [RerankResult(index=r["index"], score=r["relevance_score"], document=documents[r["index"]])
                for r in self._post("/v1/rerank", body)["results"]]

    def tokenize(self, text: str, model: Optional[str] = None, add_special_tokens: Optional[bool] = None,
                 input_type: Optional[str] = None) -> Tokens:
        """The token ids and pieces the model reads for `text` (`POST /tokenize`), with the
        model's input limit; `input_type` puts the query or document prompt first."""
        body: Dict[str, Any] = {"text": text}
        if model is not None:
            body["model"] = model
        if add_special_tokens is not None:
            body["add_special_tokens"] = add_special_tokens
        if input_type is not None:
            body["input_type"] = input_type
        j = self._post("/tokenize", body)
        return Tokens(tokens=j["tokens"], pieces=j.get("pieces", []), count=j["count"], max_model_len=j["max_model_len"])


def _document_json(d: DocumentLike) -> Dict[str, Any]:
    if isinstance(d, Document):
        return d.to_json()
    if isinstance(d, str):
        return {"text": d}
    if isinstance(d, Mapping):
        if "text" not in d:
            raise ValueError(f"a document needs 'text': {dict(d)!r:.200}")
        return {k: v for k, v in d.items() if v is not None or k == "text"}
    raise TypeError(f"a document is a Document, a mapping or a string, not {type(d).__name__}")


def _decode_vector(embedding: Union[str, List[float]]) -> List[float]:
    if not isinstance(embedding, str):
        return embedding
    a = array("f")
    a.frombytes(_base64.b64decode(embedding))
    if sys.byteorder != "little":
        a.byteswap()
    return a.tolist()
