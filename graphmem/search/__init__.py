"""Search: retrieve (vector, keyword, graph) -> fuse -> rerank, in named recipes.

Start at ``engine.py``; ``recipes.py`` is the page to read to tune or add a recipe, and
``docs/search-recipes.md`` holds the figures behind each default.
"""

from ..index.filters import visible
from ..index.keyword import KeywordIndex, tokenise
from .engine import Searcher
from .fuse import Fused, fuse, min_max
from .recipes import HYBRID, RECIPES, Recipe, get, register

__all__ = [
    "HYBRID",
    "RECIPES",
    "Fused",
    "KeywordIndex",
    "Recipe",
    "Searcher",
    "fuse",
    "get",
    "min_max",
    "register",
    "tokenise",
    "visible",
]
