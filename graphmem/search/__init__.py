"""Search: retrieve (vector, keyword, graph) -> fuse -> rerank, in named recipes.

Start at ``engine.py``; ``recipes.py`` is the page to read to tune or add a recipe.
"""

from .engine import Searcher
from .filters import visible
from .fuse import Fused, fuse, min_max
from .index import IndexedVectorStore, ScopeIndex
from .keyword import KeywordIndex, tokenise
from .recipes import HYBRID, RECIPES, Recipe, get, register

__all__ = [
    "HYBRID",
    "RECIPES",
    "Fused",
    "IndexedVectorStore",
    "KeywordIndex",
    "Recipe",
    "ScopeIndex",
    "Searcher",
    "fuse",
    "get",
    "min_max",
    "register",
    "tokenise",
    "visible",
]
