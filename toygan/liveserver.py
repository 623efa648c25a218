"""The live page's server: the standard library's ``http.server`` on 127.0.0.1, serving the page
and answering its polls and commands from one :class:`toygan.live.LiveSession`."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from toygan.errors import DataError, UserError
from toygan.live import LiveSession
from toygan.pagedata import luts, page


class Handler(BaseHTTPRequestHandler):
    session: LiveSession
    html: str

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, body: bytes, kind: str = "application/json"):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj) -> None:
        self._send(code, json.dumps(obj).encode())

    def do_GET(self):
        from urllib.parse import parse_qs, urlparse

        url = urlparse(self.path)
        if url.path in ("/", "/index.html"):
            self._send(200, self.html.encode(), "text/html; charset=utf-8")
        elif url.path == "/favicon.ico":  # browsers ask on every load: no icon, and no 404
            self.send_response(204)
            self.end_headers()
        elif url.path == "/api/bookmark":
            try:
                html, name = self.session.bookmark()
            except UserError as e:
                return self._json(400, {"error": str(e)})
            self.send_response(200)
            body = html.encode()
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Disposition", f'attachment; filename="{name}"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif url.path == "/api/state":
            q = parse_qs(url.query)
            try:
                since = int(q.get("since", ["0"])[0])
                since_step = int(q.get("since_step", ["-1"])[0])
            except ValueError:
                return self._json(400, {"error": "since and since_step must be integers"})
            self._json(200, self.session.state(since, since_step))
        else:
            self._json(404, {"error": f"no such page: {url.path}"})

    def do_POST(self):
        try:
            n = int(self.headers.get("Content-Length") or 0)
            if n > 1_000_000:
                raise UserError("request too large")
            body = json.loads(self.rfile.read(n) or b"{}")
            if self.path == "/api/start":
                self._json(200, {"meta": self.session.configure(body)})
            elif self.path == "/api/settings":
                self._json(200, {"settings": self.session.settings(body)})
            elif self.path in ("/api/play", "/api/pause", "/api/step", "/api/dstep",
                               "/api/gstep"):
                steps = body.get("steps", 1) if isinstance(body, dict) else 1
                if not isinstance(steps, int) or not 1 <= steps <= 10_000:
                    raise UserError("steps must be an integer between 1 and 10000")
                self.session.control(self.path.rsplit("/", 1)[1], steps)
                self._json(200, {"ok": True})
            else:
                self._json(404, {"error": f"no such action: {self.path}"})
        except (UserError, DataError) as e:
            self._json(400, {"error": str(e)})
        except json.JSONDecodeError:
            self._json(400, {"error": "the request body must be JSON"})
        except Exception as e:  # noqa: BLE001 — never a traceback in the page: one message
            self._json(500, {"error": f"{type(e).__name__}: {e}"})


def serve(port: int = 0, threads: int | None = None) -> tuple[ThreadingHTTPServer, LiveSession]:
    """A live server on 127.0.0.1 (``port`` 0: a free one); call ``serve_forever`` on it. A
    port that cannot be had is one line (:class:`UserError`). ``threads``: torch's CPU threads
    for every run (default: chosen at each new run, :mod:`toygan.threads`)."""
    from toygan.data import DATASETS
    from toygan.lessons import LESSONS
    from toygan.losses import OBJECTIVES
    from toygan.variants import MITIGATIONS

    session = LiveSession(threads=threads)
    html = page({"mode": "live", "runs": [], "datasets": list(DATASETS),
                 "losses": list(OBJECTIVES),
                 "mitigations": ["none"] + [m for m in MITIGATIONS if m != "bug"],
                 "lessons": [{"name": k, "text": v["text"]} for k, v in LESSONS.items()],
                 "luts": luts()})
    handler = type("LiveHandler", (Handler,), {"session": session, "html": html})
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler), session
    except OSError as e:
        session.close()
        raise UserError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}") from None
