"""The landing page of ``motcua dev`` (port 8000): one link to every page.

A tiny threaded HTTP server from the standard library; it only links to the
services' own pages and shows whether each service is ready.
"""

from __future__ import annotations

import html
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from string import Template

import httpx


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


def render(urls: dict[str, str], ready: dict[str, bool]) -> str:
    pages = []
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


def serve_landing(port: int, urls: dict[str, str]) -> ThreadingHTTPServer:
    """Start the landing page in a daemon thread; call ``shutdown()`` to stop it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ready = {}
            for name, url in urls.items():
                try:
                    ready[name] = httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200
                except httpx.HTTPError:
                    ready[name] = False
            body = render(urls, ready).encode()
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
