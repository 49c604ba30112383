"""The headers every server-rendered page carries, in one place for the four services.

Pages show personal data (a dossier's timeline, a message, the leaders' figures), so no
cache keeps them (``no-store``), no other site may frame them (clickjacking:
``frame-ancestors 'none'``), and the content security policy allows nothing the page
does not need: scripts and styles only from this origin's static files (none inline),
forms posting to this origin.
"""

from __future__ import annotations


def content_security_policy(
    *, scripts: bool = True, connect: str = "", framed: bool = False
) -> str:
    """The policy of one page. ``connect`` adds origins the page's script may call;
    ``framed`` allows a same-origin frame whose document carries its own inline styles
    (intake's printable receipt, shown in the counter console's sandboxed frame)."""
    script = "'self'" if scripts else "'none'"
    style = "'self' 'unsafe-inline'" if framed else "'self'"
    frame = "frame-src 'self'; " if framed else ""
    return (
        f"default-src 'none'; script-src {script}; style-src {style}; img-src 'self' data:; "
        f"connect-src 'self'{connect}; {frame}form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def page_headers(csp: str | None = None, *, referrer: str = "no-referrer") -> dict[str, str]:
    """Headers of one HTML page; ``csp`` must keep ``frame-ancestors 'none'``."""
    csp = csp if csp is not None else content_security_policy(scripts=False)
    if "frame-ancestors 'none'" not in csp:
        raise ValueError("a page's CSP must forbid framing (frame-ancestors 'none')")
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": referrer,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # for browsers that ignore frame-ancestors
        "Content-Security-Policy": csp,
    }
