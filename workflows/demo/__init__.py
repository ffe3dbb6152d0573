"""`cxp demo`: a realistic programme generated from a seed and driven through every stage."""
