"""Score: 0-100 points with reasons for every paper, the optional LLM rerank, and the picks."""
