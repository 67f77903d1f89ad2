"""The local HTTP server's own answers, shaped like API Gateway's and the app's (problems, 404, 405)."""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger("local_stack")


def request_handler_cls() -> type:
    """ChaliceRequestHandler whose every own answer is a problem, like the app's, and whose access
    log never holds a token (`?access_token=` is redacted like the Authorization header)."""
    from http import HTTPStatus

    from chalice.local import ChaliceRequestHandler, ForbiddenError

    from chalicelib.core import http
    from chalicelib.core.errors import NotFound

    class ProblemRequestHandler(ChaliceRequestHandler):
        max_request_bytes = 10 * 1024 * 1024  # API Gateway's own limit: nothing larger is read
        # Chalice writes the headers and the body in two sends: with Nagle on, the body waits for
        # the client's delayed ACK, ~40 ms added to every answer (measured: 44 ms -> 1 ms a 4xx).
        disable_nagle_algorithm = True

        def _send_error_response(self, error: Any) -> None:
            # API Gateway says 403 "Missing Authentication Token" for a path it does not know;
            # the portal contract wants a 404 problem. Authorizer refusals keep their codes.
            unknown_route = (
                isinstance(error, ForbiddenError)
                and error.headers.get("x-amzn-ErrorType") == "UnauthorizedException"
            )
            if not unknown_route:
                return super()._send_error_response(error)
            path = self.path.split("?", 1)[0]
            body = NotFound(f"No resource at {self.command} {path}").to_dict()
            headers = {
                "Content-Type": "application/problem+json",
                "x-amzn-RequestId": error.headers.get("x-amzn-RequestId", ""),
            }
            self._send_http_response(404, headers, json.dumps(body))

        def _allowed_methods(self) -> list[str]:
            """What the request's route serves; for a target that is no route, what this server serves."""
            try:
                match = self.local_gateway.event_converter._route_matcher.match_route(self.path or "/")
                methods = set(self.local_gateway._app_object.routes[match.route])
            except (ValueError, KeyError):
                methods = {name[3:] for name in dir(self) if name.startswith("do_")}
            return sorted(methods)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server answers what it cannot parse or serve with its own HTML page: an unknown
            # method (TRACE, CONNECT: 501), oversized headers (431), a long request line (414).
            # A method this server does not know is one no route serves: 405 with Allow.
            status, extra = code, {}
            if code == HTTPStatus.NOT_IMPLEMENTED:
                status, extra = HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": ", ".join(self._allowed_methods())}
                message = f"{self.command} is not served here; see Allow"
            self.log_error("code %d, message %s", status, message)
            body = json.dumps(http.generic_problem(status, message or HTTPStatus(status).phrase)).encode()
            self.send_response(status)
            for name, value in {
                "Content-Type": http.PROBLEM_TYPE,
                "Content-Length": str(len(body)),
                "Connection": "close",
                **extra,
            }.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.close_connection = True

        def _send_http_response_with_body(self, code: int, headers: dict, body: str | bytes) -> None:
            # A HEAD answer has a GET's headers and never a body (RFC 9110 §9.3.2): on a kept-alive
            # connection the client would read those bytes as the start of its next response.
            if self.command != "HEAD":
                return super()._send_http_response_with_body(code, headers, body)
            self.send_response(code)
            self.send_header(
                "Content-Length", str(len(body.encode("utf-8") if isinstance(body, str) else body))
            )
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self._send_headers(headers)

        def _generic_handle(self) -> None:
            # Chalice's handler int()s Content-Length unchecked (a crash, no answer) and would read
            # any length it is told.
            length = self.headers.get("content-length", "0").strip()
            if not (length.isascii() and length.isdigit()):
                return self.send_error(HTTPStatus.BAD_REQUEST, "Content-Length must be ASCII digits")
            if int(length) > self.max_request_bytes:
                return self.send_error(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"The request is larger than {self.max_request_bytes} bytes",
                )
            super()._generic_handle()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), http.redact(format % args))

    return ProblemRequestHandler
