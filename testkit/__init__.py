"""What the tests and the benchmarks share: tiny real models and pipelines, test servers, the local services.

tests/ and bench/ both import these from here rather than from each other.
"""
