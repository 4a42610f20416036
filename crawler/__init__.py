"""linksweep's application: corpus readers, the Scrapy project and the `linksweep` command line."""
