"""Build of the optional compiled extensions; everything else is in pyproject.toml.

pipelines/matching/_fastmatch.c is the bulk matcher, crawler/corpus/_fastlinks.c the link extraction of HTML pages.
Both are optional: where no C compiler is available the install still succeeds, pipelines/matching/driver.py uses
its SQL kernel and crawler/corpus/html_links.py parses every page with lexbor.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pipelines.matching._fastmatch",
            sources=["pipelines/matching/_fastmatch.c"],
            extra_compile_args=["-O3", "-std=c11"],
            libraries=["dl"],
            optional=True,
        ),
        Extension(
            "crawler.corpus._fastlinks",
            sources=["crawler/corpus/_fastlinks.c"],
            extra_compile_args=["-O3", "-std=c11"],
            optional=True,
        ),
    ]
)
