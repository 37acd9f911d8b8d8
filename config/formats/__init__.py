"""Date formats of the staff pages (FORMAT_MODULE_PATH): a time to the second, as the status page and
the library's scans already write it, in every language; Django's own formats for the rest."""
