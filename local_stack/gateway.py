"""The local HTTP server's request handler: API Gateway in front of the app, its own answers problems.

It drives Chalice's public `LocalGateway.handle_request` (what `chalice local` runs per request) from
the standard library's request handler instead of subclassing Chalice's handler, whose private
methods change with any release. What it answers itself is shaped like the app's: problems, 404 for
a path no route serves, 405 with Allow for a method none serves.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.local import LocalGateway, LocalGatewayException, RouteMatcher

from chalicelib import composition
from chalicelib.core import logs, messages, problems
from chalicelib.core.errors import NotFound
from chalicelib.core.messages import Message

log = logging.getLogger("local_stack")

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's own limit: nothing larger is read
# What http.server says of a header block it refuses (431), as messages of the catalogue.
SERVER_DETAILS = {"Line too long": Message("Line too long"), "Too many headers": Message("Too many headers")}


def localized_problem(
    body: dict[str, Any], accept_language: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A gateway problem in the language `accept_language` negotiates (the stage's default without one),
    and the Content-Language and Vary headers that say so, as the app's own problems."""
    token = messages.choose(accept_language, composition.services().settings.default_language)
    try:
        return messages.localized_problem(body), messages.language_headers({})
    finally:
        messages.release(token)


class ProblemRequestHandler(BaseHTTPRequestHandler):
    """One connection of the local server; `LocalDevServer` builds it with the app and its config."""

    # The answer's headers and body go out in separate sends: with Nagle on, the body waits for the
    # client's delayed ACK, ~40 ms added to every answer (measured: 44 ms -> 1 ms a 4xx).
    disable_nagle_algorithm = True

    protocol_version = "HTTP/1.1"  # kept-alive connections, as API Gateway and `chalice local`

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any):
        self.routes = RouteMatcher(list(app_object.routes))
        self.app_object = app_object
        self.gateway = LocalGateway(app_object, config)
        super().__init__(request, client_address, server)

    def handle_http(self) -> None:
        """Every method the app may serve: the request through the gateway, its answer sent back."""
        length = self._content_length()
        if length is None:
            return
        body = self.rfile.read(length) if length > 0 else None
        try:
            self.routes.match_route(self.path)
        except ValueError:
            # API Gateway says 403 "Missing Authentication Token" for a path it does not know;
            # the portal contract wants a 404 problem.
            return self._send_unknown_route()
        try:
            response = self.gateway.handle_request(
                method=self.command, path=self.path, headers=dict(self.headers), body=body
            )
        except LocalGatewayException as error:  # an authorizer's refusal keeps its code
            return self.respond(error.CODE, dict(error.headers), error.body)
        headers = {**response["headers"], **response["multiValueHeaders"]}
        payload = response["body"]
        if response.get("isBase64Encoded"):
            payload = base64.b64decode(payload)
        self.respond(response["statusCode"], headers, payload)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = handle_http

    def _content_length(self) -> int | None:
        """The request's declared body length; None once a length not to be read has been answered."""
        length = self.headers.get("content-length", "0").strip()
        if not (length.isascii() and length.isdigit()):
            self.send_error(HTTPStatus.BAD_REQUEST, Message("Content-Length must be ASCII digits"))
            return None
        if int(length) > MAX_REQUEST_BYTES:
            self.send_error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                Message("The request is larger than %(max_bytes)s bytes", max_bytes=MAX_REQUEST_BYTES),
            )
            return None
        return int(length)

    def _send_unknown_route(self) -> None:
        path = self.path.split("?", 1)[0]
        body, language = localized_problem(
            NotFound(Message("No resource at %(method)s %(path)s", method=self.command, path=path)).to_dict(),
            self.headers.get("Accept-Language"),
        )
        headers = {"Content-Type": problems.PROBLEM_TYPE, "x-amzn-RequestId": str(uuid.uuid4()), **language}
        self.respond(404, headers, json.dumps(body))

    def parse_request(self) -> bool:
        # A request refused before its header block is read (431, 414) must not answer in the
        # language of the connection's previous request.
        self.headers = None
        return super().parse_request()

    def respond(self, code: int, headers: dict[str, Any], body: str | bytes | None) -> None:
        """Send an answer as `chalice local` does; a HEAD answer has a GET's headers and never a body
        (RFC 9110 §9.3.2: on a kept-alive connection the client would read it as its next response)."""
        self.send_response(code)
        if body is None:
            headers["Content-Length"] = "0"
        else:
            body = body if isinstance(body, bytes) else body.encode("utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        for name, value in headers.items():
            for one in value if isinstance(value, list) else [value]:
                self.send_header(name, one)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _allowed_methods(self) -> list[str]:
        """What the request's route serves; for a target that is no route, what this server serves."""
        try:
            methods = set(self.app_object.routes[self.routes.match_route(self.path or "/").route])
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
            message = Message("%(method)s is not served here; see Allow", method=self.command)
        self.log_error("code %d, message %s", status, message)
        detail = SERVER_DETAILS.get(message, message) or HTTPStatus(status).phrase
        problem, language = localized_problem(
            problems.generic_problem(status, detail),
            self.headers.get("Accept-Language") if self.headers else None,
        )
        body = json.dumps(problem).encode()
        self.send_response(status)
        for name, value in {
            "Content-Type": problems.PROBLEM_TYPE,
            "Content-Length": str(len(body)),
            "Connection": "close",
            **extra,
            **language,
        }.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), logs.redact(format % args))
