"""One TLS context per process for every HTTP client the desk makes.

``httpx.AsyncClient()`` builds a fresh SSL context (the CA bundle read and parsed) each time,
60-130 ms on a busy laptop even for an ``http://`` server; the desk makes a client for the
sign-in check, the replicator, status refreshes and the lead panel. The context is the
same for all of them (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured as httpx does), so it is
built once and shared.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
