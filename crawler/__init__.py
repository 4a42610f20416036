"""linksweep's application: corpus readers, the Scrapy project and the `linksweep` command line."""

import os

# linksweep does no linear algebra, but pyarrow imports numpy, and numpy's OpenBLAS then starts a thread per
# core that spins for a while, CPU time taken from the readers of an ingest. Set before
# anything imports numpy (the application's modules all import this package first); a user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
