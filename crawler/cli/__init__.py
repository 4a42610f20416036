"""The `linksweep` command line: thin click commands, each calling the library or an application part."""

from crawler.cli.errors import PRECEDENCE, ExitCode
from crawler.cli.main import main, run

__all__ = [
    "PRECEDENCE",
    "ExitCode",
    "main",
    "run",
]
