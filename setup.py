"""Build of the optional compiled matcher (pipelines/_fastmatch.c); everything else is in pyproject.toml.

The extension is optional: where no C compiler is available the install still succeeds and
pipelines/matching.py uses its SQL kernel instead.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pipelines._fastmatch",
            sources=["pipelines/_fastmatch.c"],
            extra_compile_args=["-O3", "-std=c11"],
            libraries=["dl"],
            optional=True,
        )
    ]
)
