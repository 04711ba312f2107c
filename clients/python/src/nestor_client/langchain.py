"""A LangChain retriever over a Nestor collection (`pip install "nestor-client[langchain]"`).

    from nestor_client import NestorClient
    from nestor_client.langchain import NestorRetriever

    retriever = NestorRetriever(client=NestorClient("http://127.0.0.1:8080"), collection="docs", top_k=4)
    retriever.invoke("Wie kopiere ich eine Datei?")   # [Document(page_content=..., metadata={...})]
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("nestor_client.langchain needs langchain-core: pip install 'nestor-client[langchain]'") from e

from ._client import NestorClient
from ._types import Hit

__all__ = ["NestorRetriever", "hit_to_document"]


def hit_to_document(hit: Hit) -> Document:
    """A hit as a LangChain Document: the chunk's text, its document's metadata plus `id`
    (the chunk's, `"{document_id}#{chunk_index}"`), `document_id`, `chunk_index` and `score`."""
    metadata: Dict[str, Any] = dict(hit.metadata or {})
    metadata.update(id=hit.id, document_id=hit.document_id, chunk_index=hit.chunk_index, score=hit.score)
    return Document(page_content=hit.text or "", metadata=metadata, id=hit.id)


class NestorRetriever(BaseRetriever):
    """Retrieves the `top_k` chunks of `collection` closest to the query, optionally restricted
    by a metadata `filter` (`{"lang": "de"}`, `{"year": {"$gte": 2020}}`, …). `search_kwargs`
    go to `NestorClient.search` as they are (`{"mode": "hybrid"}`, `{"group_by_document": True}`)."""

    client: NestorClient
    collection: str
    top_k: int = 4
    filter: Optional[Dict[str, Any]] = None
    search_kwargs: Dict[str, Any] = {}

    model_config = {"arbitrary_types_allowed": True}

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> List[Document]:
        result = self.client.search(self.collection, query=query, top_k=self.top_k, filter=self.filter,
                                    **self.search_kwargs)
        return [hit_to_document(h) for h in result.hits]
