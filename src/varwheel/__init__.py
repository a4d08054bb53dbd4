"""varwheel: build, publish and install wheel variants (PEP 817 / PEP 825)."""

__version__ = "0.1.0"
