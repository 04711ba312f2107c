"""The values the client returns: small dataclasses over the server's JSON, each keeping the
whole reply in `raw` so that fields added by a newer server stay reachable."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

JSON = Any
Metadata = Dict[str, Any]


@dataclass
class Document:
    """A document to ingest. Without an id the server generates one; an existing id is replaced."""

    text: str
    id: Optional[Union[str, int]] = None
    metadata: Optional[Metadata] = None

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"text": self.text}
        if self.id is not None:
            out["id"] = self.id
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return out


@dataclass
class Collection:
    name: str
    model: str
    dimensions: int
    coarse_dimensions: int
    coarse_basis: str
    metric: str
    m: int
    ef_construction: int
    documents: int
    chunks: int
    graph_nodes: int
    deleted_nodes: int
    unavailable: Optional[str] = None
    bm25_k1: Optional[float] = None
    bm25_b: Optional[float] = None
    fold_diacritics: Optional[bool] = None
    terms: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "Collection":
        return cls(name=j["name"], model=j.get("model", ""), dimensions=j.get("dimensions", 0),
                   coarse_dimensions=j.get("coarse_dimensions", 0), coarse_basis=j.get("coarse_basis", ""),
                   metric=j.get("metric", "cosine"), m=j.get("m", 0), ef_construction=j.get("ef_construction", 0),
                   documents=j.get("documents", 0), chunks=j.get("chunks", 0), graph_nodes=j.get("graph_nodes", 0),
                   deleted_nodes=j.get("deleted_nodes", 0), unavailable=j.get("unavailable"), bm25_k1=j.get("bm25_k1"),
                   bm25_b=j.get("bm25_b"), fold_diacritics=j.get("fold_diacritics"), terms=j.get("terms"), raw=j)


@dataclass
class IngestedDocument:
    id: str
    chunks: int


@dataclass
class IngestResult:
    """Every document of an `ingest` call, in order, with the chunks it was cut into."""

    collection: str
    documents: List[IngestedDocument]
    chunks: int
    batches: int = 0

    @property
    def ids(self) -> List[str]:
        return [d.id for d in self.documents]


@dataclass
class Hit:
    """One search hit: a chunk of a document. `id` is the chunk's stable id,
    `"{document_id}#{chunk_index}"`; `score` is what the result's `score_type` says. A hybrid
    search also gives the hit's 1-based places in the dense and lexical rankings (None where it
    was not in one)."""

    id: str
    document_id: str
    chunk_index: int
    score: float
    text: Optional[str] = None
    metadata: Optional[Metadata] = None
    vector: Optional[List[float]] = None
    dense_rank: Optional[int] = None
    lexical_rank: Optional[int] = None

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "Hit":
        doc, index = j["document_id"], j["chunk_index"]
        return cls(id=j.get("id") or f"{doc}#{index}", document_id=doc, chunk_index=index, score=j["score"],
                   text=j.get("text"), metadata=j.get("metadata"), vector=j.get("vector"),
                   dense_rank=j.get("dense_rank"), lexical_rank=j.get("lexical_rank"))


@dataclass
class SearchResult:
    """A page of hits. `next_offset` is the `offset` of the next page (None on the last);
    `score_type` says what `score` is: "cosine" (dense), "bm25" (lexical), "rrf" or "weighted"
    (hybrid), or "rerank" (the cross-encoder's relevance)."""

    collection: str
    hits: List[Hit]
    next_offset: Optional[int]
    score_type: str
    path: str
    candidates: int
    timings: Dict[str, float]
    mode: str = "dense"
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "SearchResult":
        return cls(collection=j.get("collection", ""), hits=[Hit.from_json(h) for h in j.get("hits", [])],
                   next_offset=j.get("next_offset"), score_type=j.get("score_type", "cosine"), path=j.get("path", ""),
                   candidates=j.get("candidates", 0), timings=j.get("timings", {}), mode=j.get("mode", "dense"), raw=j)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)


@dataclass
class Chunk:
    index: int
    text: str
    token_start: int
    token_end: int


@dataclass
class StoredDocument:
    """A document as stored, with its chunks (`document()`)."""

    id: str
    collection: str
    text: str
    metadata: Metadata
    chunks: List[Chunk]

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "StoredDocument":
        return cls(id=j["id"], collection=j.get("collection", ""), text=j.get("text", ""), metadata=j.get("metadata") or {},
                   chunks=[Chunk(index=c["index"], text=c["text"], token_start=c["token_start"], token_end=c["token_end"])
                           for c in j.get("chunks", [])])


@dataclass
class DocumentSummary:
    """A document as the listing gives it: its text and metadata, and how many chunks it has."""

    id: str
    text: str
    metadata: Metadata
    chunks: int

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "DocumentSummary":
        chunks = j.get("chunks", 0)
        return cls(id=j["id"], text=j.get("text", ""), metadata=j.get("metadata") or {},
                   chunks=len(chunks) if isinstance(chunks, list) else int(chunks))


@dataclass
class DocumentPage:
    """One page of `GET /documents/{collection}`; pass `next_cursor` on for the next one."""

    collection: str
    documents: List[DocumentSummary]
    next_cursor: Optional[str]


@dataclass
class Tokens:
    tokens: List[int]
    pieces: List[str]
    count: int
    max_model_len: int


@dataclass(frozen=True)
class RerankResult:
    """One document of a rerank: its place in the input list, its relevance score and text."""

    index: int
    score: float
    document: str
