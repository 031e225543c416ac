"""An HTTP forwarder on 127.0.0.1 that sits between boto3 and the moto server.

It lets a test see the S3 requests on the wire (to prove a cache hit sends no
GET of an object) and break a download the way a dropped connection does:
the full ``Content-Length`` is announced, half the body sent, the connection
closed. boto3 and moto stay unchanged; only the bytes between them are cut.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

# Hop-by-hop headers belong to one connection and are not forwarded.
_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "host"}


class S3Proxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlparse(upstream)
        self.requests: list[tuple[str, str]] = []
        self.cut_downloads = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # A short poll keeps shutdown() from waiting half a second per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def object_gets(self) -> list[str]:
        """Paths of the GETs that read an object (not a bucket listing)."""
        return [path for method, path in self.requests if _reads_object(method, path)]

    def start(self) -> S3Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                self._forward()

            do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

            def log_message(self, *_: object) -> None:
                pass

            def _forward(self) -> None:
                proxy.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, headers, data = proxy._ask_upstream(
                    self.command, self.path, body, dict(self.headers)
                )

                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _HOP:
                        self.send_header(name, value)
                self.end_headers()
                if self.command == "HEAD":
                    return

                if proxy.cut_downloads and _reads_object(self.command, self.path):
                    # Announced in full above; half arrives; the line drops.
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(data)

        return Handler

    def _ask_upstream(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=30
        )
        try:
            kept = {k: v for k, v in headers.items() if k.lower() not in _HOP}
            kept["Host"] = headers.get("Host", "")
            connection.request(method, path, body=body, headers=kept)
            response = connection.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        finally:
            connection.close()


def _reads_object(method: str, path: str) -> bool:
    # Path-style addressing: /bucket?list-type=2 lists, /bucket/key reads.
    return method == "GET" and "list-type=" not in path and path.count("/") > 1
