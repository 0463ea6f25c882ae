"""SCEP, the Simple Certificate Enrolment Protocol (RFC 8894), as Apple devices use it.

``messages`` reads and writes the PKI messages, ``service`` decides what to do
with a request through small interfaces the app implements, and ``http``
maps the RFC 8894 §4 HTTP operations onto the service without a web framework.
"""
