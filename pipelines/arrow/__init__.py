"""Arrow column kernels: the few vectorised string and set operations the library needs, without pyarrow.compute."""

from pipelines.arrow import kernels

__all__ = ["kernels"]
