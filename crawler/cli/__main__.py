"""`python -m crawler.cli`: the same as the `linksweep` command."""

from crawler.cli.main import run

run()
