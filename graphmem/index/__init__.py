"""In-process indexes of each scope's memories, kept in step with every write.

``IndexedVectorStore`` (``store.py``) wraps the vector store: every write of both
pipelines goes through it, and it keeps one ``ScopeIndex`` (``scope.py``) per recently
used scope: payloads, unit vectors, BM25 postings (``keyword.py``) and conversation
neighbours (``neighbours.py``). Search reads these indexes; ingest only writes through
the wrapper and asks it for similar entities (``stores.base.SearchMany``). Which
memories a read may return is ``filters.py``, shared by every channel.
"""

from ..stores.base import ENTITIES, FACTS, SOURCES
from .scope import ScopeIndex, is_source
from .scores import Scores
from .store import IndexedVectorStore

__all__ = [
    "ENTITIES",
    "FACTS",
    "SOURCES",
    "IndexedVectorStore",
    "ScopeIndex",
    "Scores",
    "is_source",
]
