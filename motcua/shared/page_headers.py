"""The headers every server-rendered page carries, in one place for the four services.

Pages show personal data (a dossier's timeline, a message, the leaders' figures), so no
cache keeps them (``no-store``), no other site may frame them (clickjacking:
``frame-ancestors 'none'``), and the content security policy allows nothing the page
does not need: by default no script at all, styles inline, forms posting to this origin.
"""

from __future__ import annotations

NO_SCRIPT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def page_headers(csp: str = NO_SCRIPT_CSP, *, referrer: str = "no-referrer") -> dict[str, str]:
    """Headers of one HTML page; ``csp`` must keep ``frame-ancestors 'none'``."""
    if "frame-ancestors 'none'" not in csp:
        raise ValueError("a page's CSP must forbid framing (frame-ancestors 'none')")
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": referrer,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # for browsers that ignore frame-ancestors
        "Content-Security-Policy": csp,
    }
