"""The landing page of ``motcua dev`` (port 8000): one link to every page.

A tiny threaded HTTP server from the standard library; it only links to the
services' own pages and shows whether each service is ready.

It also signs a newcomer in with one click (``SIGN_IN``): ``/sign-in/leader`` and
``/sign-in/clerk`` mint a fresh one-time code (``motcua.shared.dev_sign_in``) at each
click and send the browser on to the dashboard or the counter console, which trade it
for a token. The links themselves hold nothing secret, so they can be printed and
bookmarked; the stack serves them on loopback, in dev mode only.
"""

from __future__ import annotations

import html
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from string import Template

import httpx

from motcua.shared.dev_sign_in import Target, mint


@cache
def _template() -> Template:
    return Template(files("motcua.devtools.templates").joinpath("landing.html").read_text("utf-8"))


PAGES: tuple[tuple[str, str, str, str], ...] = (
    # (service, path, Vietnamese title, English title)
    ("queue", "/kiosk", "Ki-ốt lấy số", "Ticket kiosk"),
    ("queue", "/board", "Màn hình gọi số", "Display board"),
    ("queue", "/counter", "Bàn làm việc của cán bộ", "Counter console"),
    ("intake", "/lookup", "Tra cứu hồ sơ", "Dossier lookup"),
    ("deadlines", "/dashboard", "Bảng điều hành của lãnh đạo", "Leaders' dashboard"),
    ("notify", "/dev/inbox", "Hộp thư thử nghiệm", "Dev inbox"),
    ("registry", "/centers", "Các trung tâm", "Centers"),
)


SIGN_IN: dict[str, tuple[str, Target, str, str]] = {
    # link: (service, the page the code opens, Vietnamese title, English title)
    "/sign-in/leader": ("deadlines", "dashboard", "Đăng nhập: lãnh đạo", "Sign in as dev-leader"),
    "/sign-in/clerk": ("queue", "counter", "Đăng nhập: cán bộ", "Sign in as dev-clerk"),
}
DEV_CODE_PATHS: dict[Target, str] = {
    "dashboard": "/dashboard/sign-in/dev",
    "counter": "/counter/sign-in/dev",
}


def sign_in_location(link: str, urls: dict[str, str], secret: str, center: str) -> str | None:
    """Where a sign-in link sends the browser: the page's code route with a fresh code."""
    if link not in SIGN_IN or SIGN_IN[link][0] not in urls:
        return None
    service, target, _, _ = SIGN_IN[link]
    return f"{urls[service]}{DEV_CODE_PATHS[target]}?code={mint(secret, target, center)}"


def render(urls: dict[str, str], ready: dict[str, bool], *, sign_in: bool = False) -> str:
    pages = []
    for link, (service, _, vi, en) in SIGN_IN.items():
        if sign_in and service in urls:
            pages.append(
                f'<li><a href="{link}" data-testid="dev-sign-in"><strong>{html.escape(vi)}'
                f"</strong>{html.escape(en)}</a><small>{service} · một lần bấm / one click"
                "</small></li>"
            )
    for service, path, vi, en in PAGES:
        if service not in urls:
            continue
        href = html.escape(urls[service] + path)
        state = "sẵn sàng / ready" if ready.get(service) else "đang khởi động / starting"
        pages.append(
            f'<li><a href="{href}"><strong>{html.escape(vi)}</strong>{html.escape(en)}</a>'
            f"<small>{service} · {state}</small></li>"
        )
    apis = [f'<li><a href="{html.escape(u)}/docs">{n} API</a></li>' for n, u in urls.items()]
    return _template().substitute(pages="".join(pages), apis="".join(apis))


def serve_landing(
    port: int, urls: dict[str, str], *, secret: str | None = None, center: str = "nam-cuong"
) -> ThreadingHTTPServer:
    """Start the landing page in a daemon thread; call ``shutdown()`` to stop it. With
    the services' auth ``secret``, it serves the one-click sign-in links too."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if secret is not None and self.path in SIGN_IN:
                location = sign_in_location(self.path, urls, secret, center)
                self.send_response(303 if location else 404)
                if location:
                    self.send_header("Location", location)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            ready = {}
            for name, url in urls.items():
                try:
                    ready[name] = httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200
                except httpx.HTTPError:
                    ready[name] = False
            body = render(urls, ready, sign_in=secret is not None).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the services log what matters

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="landing", daemon=True).start()
    return server
