"""MovieLens ratings API: the book's contract, served from a sorted columnar store."""
