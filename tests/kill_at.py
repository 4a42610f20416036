"""`python -m tests.kill_at POINT ARGS...`: run `linksweep ARGS...` and SIGKILL the process at POINT
(as kill -9 would), or hold it there (`sleep:STAGE`) until killed:

- `ingest:after-first-file`: once the first corpus file's unit has ended (published), before it is folded;
- `match:before-verdicts`: after the match's transaction, before the verdicts are derived;
- `stage:NAME`: as the stage starts (its row says running);
- `exports:after-first-file`: once the first export file and its manifest are written;
- `sleep:NAME`: sleep for a minute as the stage starts (a run that holds the store).
"""

from __future__ import annotations

import os
import signal
import sys
import time


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def after(module, name: str) -> None:
    original = getattr(module, name)

    def then_die(*args, **kwargs):
        original(*args, **kwargs)
        die()

    setattr(module, name, then_die)


def main() -> None:
    point, args = sys.argv[1], sys.argv[2:]
    kind, _, where = point.partition(":")
    if point == "ingest:after-first-file":
        import crawler.ingest.runner as runner

        after(runner._Folder, "add")
    elif point == "match:before-verdicts":
        import pipelines.matching.driver as driver

        driver.refresh_verdicts = lambda *args, **kwargs: die()
    elif point == "exports:after-first-file":
        import pipelines.export.writer as writer

        after(writer, "write_manifest")
    elif kind in ("stage", "sleep"):
        import crawler.run.stages as stages

        stages.STAGE_FUNCTIONS[where] = (
            (lambda config, db: die()) if kind == "stage" else (lambda config, db: time.sleep(60))
        )
    else:
        raise SystemExit(f"unknown point {point}")
    from crawler.cli import run

    sys.argv = ["linksweep", *args]
    run()


if __name__ == "__main__":
    main()
