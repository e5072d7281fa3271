"""Use cases, each defined once: the JSON routes, the web pages and the CLI are thin adapters over these modules.

``datasets`` (stage uploads safely, validate, import all-or-nothing, clean up). They know nothing of HTTP: they
raise the store's and gis' domain errors, which ``api/errors.py`` maps to status codes in one place.
"""
