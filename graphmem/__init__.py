"""graphmem: long-term memory for LLM agents as a knowledge graph and vectors at once."""
