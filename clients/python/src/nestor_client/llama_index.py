"""A LlamaIndex retriever over a Nestor collection (`pip install "nestor-client[llama-index]"`).

    from nestor_client import NestorClient
    from nestor_client.llama_index import NestorRetriever

    retriever = NestorRetriever(NestorClient("http://127.0.0.1:8080"), "docs", top_k=4)
    retriever.retrieve("Wie kopiere ich eine Datei?")   # [NodeWithScore(node=TextNode(...), score=...)]
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

try:
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("nestor_client.llama_index needs llama-index-core: pip install 'nestor-client[llama-index]'") from e

from ._client import NestorClient
from ._types import Hit

__all__ = ["NestorRetriever", "hit_to_node"]


def hit_to_node(hit: Hit) -> NodeWithScore:
    """A hit as a scored TextNode: `id_` is the chunk's id (`"{document_id}#{chunk_index}"`), the
    metadata is the document's plus `document_id` and `chunk_index`, and the node's source
    (`ref_doc_id`) is the document."""
    metadata: Dict[str, Any] = dict(hit.metadata or {})
    metadata.update(document_id=hit.document_id, chunk_index=hit.chunk_index)
    node = TextNode(id_=hit.id, text=hit.text or "", metadata=metadata,
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=hit.document_id)})
    return NodeWithScore(node=node, score=hit.score)


class NestorRetriever(BaseRetriever):
    """Retrieves the `top_k` chunks of `collection` closest to the query, optionally restricted
    by a metadata `filter`; `search_kwargs` go to `NestorClient.search` as they are
    (`{"mode": "hybrid"}`)."""

    def __init__(self, client: NestorClient, collection: str, top_k: int = 4, filter: Optional[Dict[str, Any]] = None,
                 search_kwargs: Optional[Dict[str, Any]] = None, callback_manager: Optional[CallbackManager] = None,
                 **kwargs: Any) -> None:
        self.client = client
        self.collection = collection
        self.top_k = top_k
        self.filter = filter
        self.search_kwargs = dict(search_kwargs or {})
        super().__init__(callback_manager=callback_manager, **kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        result = self.client.search(self.collection, query=query_bundle.query_str, top_k=self.top_k, filter=self.filter,
                                    **self.search_kwargs)
        return [hit_to_node(h) for h in result.hits]
