"""One Lightning training loop shared by the retriever and the generator (see `loop`)."""
