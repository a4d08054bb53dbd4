# setuptools needs setup.py for a C extension; everything else is in pyproject.toml.
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("fastsum._fastsum", ["src/fastsum/_fastsum.c"], extra_compile_args=["-O3"])
    ]
)
