"""fastsum: a vectorisable sum of squares, shipped as x86-64 level wheel variants."""

from fastsum._fastsum import compiled_isa, sumsq

__all__ = ["compiled_isa", "sumsq"]
__version__ = "0.1.0"
