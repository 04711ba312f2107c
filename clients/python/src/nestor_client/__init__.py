"""Nestor's Python client: collections, ingest, search, documents and the embeddings routes over
the standard library's HTTP. Retrievers for LangChain and LlamaIndex are in
`nestor_client.langchain` and `nestor_client.llama_index` (optional extras)."""
from ._client import NestorClient, __version__, quote
from ._errors import NestorConnectionError, NestorError
from ._types import (Chunk, Collection, Document, DocumentPage, DocumentSummary, Hit, IngestedDocument, IngestResult,
                     RerankResult, SearchResult, StoredDocument, Tokens)

__all__ = [
    "NestorClient", "NestorError", "NestorConnectionError", "Document", "Collection", "IngestResult",
    "IngestedDocument", "SearchResult", "Hit", "StoredDocument", "Chunk", "DocumentSummary", "DocumentPage", "Tokens", "RerankResult",
    "quote", "__version__",
]
