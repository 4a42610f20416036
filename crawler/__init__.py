"""linksweep's application: corpus readers, ingest, the Scrapy project and the `linksweep` command line."""
