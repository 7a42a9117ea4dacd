#!/usr/bin/env python3
"""A fake OpenAI-compatible API for tests (Python 3 standard library only).

    python3 tests/fakes/fake_openai.py [--api-key KEY] [--fault JSON]... [--exit-on-eof]

Listens on 127.0.0.1, port 0, and prints the port on stdout (one line) when it is ready.

API routes (OpenAI's request and response shapes, including its error shape):
  POST /v1/embeddings   deterministic unit vectors: the same (model, dimensions, text) always gives
                        the same vector, different texts give unrelated ones.
Every API request must carry "Authorization: Bearer KEY" (401 otherwise). To add a route (e.g.
/v1/chat/completions), write a handler method and add it to API_ROUTES: authentication, scripted
faults and recording are done for every route in one place (Handler._api).

Control routes, for the tests that drive the fake (no authentication):
  GET  /_fake/requests  {"requests": [{"method", "path", "authorized", "body", "status"}, ...]}
                        in arrival order ("status" is what the fake answered, null while pending)
  POST /_fake/faults    {"faults": [FAULT, ...]} appended to the fault script
  POST /_fake/options   {"reverse_data": bool} (answer embeddings in reverse index order)
  POST /_fake/reset     clears requests, faults and options

A FAULT applies to the next `count` (default 1) API requests whose path matches `path` (default:
any), in script order, before authentication:
  {"status": 429, "retry_after": "1"}        an error response in OpenAI's shape, with this
                                             Retry-After header if given (seconds or a date)
  {"status": 503, "retry_after_date_in": 5}  Retry-After as the HTTP date 5 s from now
  {"status": 429, "code": "insufficient_quota"}  the error's code field
  {"status": 200, "body": {...}}             this JSON body instead of the real answer
  {"delay_ms": 2000}                         wait, then answer normally
  {"drop": true}                             close the connection without answering
A fault with "match": "TEXT" applies only to requests whose raw body contains TEXT (e.g. one
poisoned document among many); with "count": -1 a fault never runs out.
"""

import argparse
import base64
import email.utils
import hashlib
import json
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EMBEDDING_MODELS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
MAX_EMBEDDING_INPUTS = 2048

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
    500: "server_error",
    503: "server_error",
}


class ApiError(Exception):
    """Raised by a route handler: answered in OpenAI's error shape."""

    def __init__(self, status, message, code=None, param=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self, api_key):
        self.api_key = api_key
        self.lock = threading.Lock()
        self.requests = []
        self.faults = []
        self.options = {}

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.options = {}

    def add_faults(self, faults):
        with self.lock:
            for fault in faults:
                fault = dict(fault)
                fault.setdefault("count", 1)
                self.faults.append(fault)

    def take_fault(self, path, raw=b""):
        with self.lock:
            for fault in self.faults:
                if "match" in fault and fault["match"].encode() not in raw:
                    continue
                if fault.get("path", path) == path and fault["count"] != 0:
                    if fault["count"] > 0:
                        fault["count"] -= 1
                        if fault["count"] == 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def option(self, name, default=None):
        with self.lock:
            return self.options.get(name, default)


def unit_vector(seed_text, dimensions):
    """A deterministic pseudo-random unit vector, seeded by sha256(seed_text)."""
    values = []
    counter = 0
    while len(values) < dimensions:
        block = hashlib.sha256(f"{counter}\0{seed_text}".encode("utf-8", "surrogatepass")).digest()
        for (word,) in struct.iter_unpack("<I", block):
            values.append(word / 2**31 - 1.0)
        counter += 1
    values = values[:dimensions]
    norm = sum(x * x for x in values) ** 0.5
    return [x / norm for x in values]


def approximate_tokens(text):
    return max(1, len(text) // 4)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    server_version = "fake-openai"
    state = None  # set in main()

    API_ROUTES = {
        ("POST", "/v1/embeddings"): "embeddings",
    }
    CONTROL_ROUTES = {
        ("GET", "/_fake/requests"): "control_requests",
        ("POST", "/_fake/faults"): "control_faults",
        ("POST", "/_fake/options"): "control_options",
        ("POST", "/_fake/reset"): "control_reset",
    }

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # stdout carries the port; keep stderr quiet too

    # --- plumbing --------------------------------------------------------------------------------

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        return status

    def send_api_error(self, error):
        payload = {
            "error": {
                "message": error.message,
                "type": ERROR_TYPES.get(error.status, "invalid_request_error"),
                "param": error.param,
                "code": error.code,
            }
        }
        return self.send_json(error.status, payload, error.headers)

    def _dispatch(self, method):
        path = self.path.split("?", 1)[0]
        raw = self._read_body()
        try:
            if (method, path) in self.CONTROL_ROUTES:
                getattr(self, self.CONTROL_ROUTES[(method, path)])(raw)
            elif (method, path) in self.API_ROUTES:
                self._api(method, path, raw)
            else:
                self.send_json(404, {"error": {"message": f"Unknown request URL: {method} {path}.",
                                               "type": "invalid_request_error", "param": None, "code": None}})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout during a delay fault)

    def _api(self, method, path, raw):
        authorization = self.headers.get("Authorization", "")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        entry = {"method": method, "path": path, "authorized": authorization == f"Bearer {self.state.api_key}",
                 "body": body, "status": None}
        self.state.record(entry)  # at arrival, so the order is that of the requests

        fault = self.state.take_fault(path, raw or b"")
        if fault is not None:
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000)
            if fault.get("drop"):
                self.close_connection = True
                self.connection.shutdown(2)
                entry["status"] = "dropped"
                return
            if "status" in fault:
                if "body" in fault:
                    entry["status"] = self.send_json(fault["status"], fault["body"])
                    return
                headers = {}
                if "retry_after" in fault:
                    headers["Retry-After"] = str(fault["retry_after"])
                if "retry_after_date_in" in fault:
                    headers["Retry-After"] = http_date(fault["retry_after_date_in"])
                message = fault.get("message", f"Fake fault: HTTP {fault['status']}.")
                entry["status"] = self.send_api_error(ApiError(fault["status"], message, fault.get("code"),
                                                               headers=headers))
                return

        try:
            if not authorization:
                raise ApiError(401, "You didn't provide an API key. You need to provide your API key in an "
                               "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
            if not entry["authorized"]:
                given = authorization.removeprefix("Bearer ")
                masked = given[:3] + "*" * 10 + given[-4:] if len(given) > 8 else "*" * len(given)
                raise ApiError(401, f"Incorrect API key provided: {masked}. You can find your API key at "
                               "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
            if not isinstance(body, dict):
                raise ApiError(400, "We could not parse the JSON body of your request.")
            status, payload = getattr(self, self.API_ROUTES[(method, path)])(body)
            entry["status"] = self.send_json(status, payload)
        except ApiError as error:
            entry["status"] = self.send_api_error(error)

    # --- API routes: each takes the parsed JSON body and returns (status, payload) ----------------

    def embeddings(self, body):
        model = body.get("model")
        if not isinstance(model, str):
            raise ApiError(400, "you must provide a model parameter", param="model")
        if model not in EMBEDDING_MODELS:
            raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.",
                           code="model_not_found")
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if (not isinstance(inputs, list) or not inputs or len(inputs) > MAX_EMBEDDING_INPUTS
                or not all(isinstance(x, str) and x for x in inputs)):
            raise ApiError(400, "'$.input' is invalid. Please check the API reference: "
                           "https://platform.openai.com/docs/api-reference.")
        dimensions = body.get("dimensions")
        if dimensions is None:
            dimensions = EMBEDDING_MODELS[model]
        elif model == "text-embedding-ada-002":
            raise ApiError(400, "This model does not support specifying dimensions.", param="dimensions")
        elif not isinstance(dimensions, int) or not 1 <= dimensions <= EMBEDDING_MODELS[model]:
            raise ApiError(400, f"Invalid value for 'dimensions' = {dimensions}.", param="dimensions")
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise ApiError(400, f"Invalid value for 'encoding_format' = {encoding}.", param="encoding_format")

        data = []
        for index, text in enumerate(inputs):
            vector = unit_vector(f"{model}\0{dimensions}\0{text}", dimensions)
            if encoding == "base64":
                vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        if self.state.option("reverse_data"):
            data.reverse()
        tokens = sum(approximate_tokens(text) for text in inputs)
        return 200, {"object": "list", "data": data, "model": model,
                     "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    # --- control routes ---------------------------------------------------------------------------

    def control_requests(self, _raw):
        with self.state.lock:
            requests = [dict(r) for r in self.state.requests]
        self.send_json(200, {"requests": requests})

    def control_faults(self, raw):
        self.state.add_faults(json.loads(raw or b"{}").get("faults", []))
        self.send_json(200, {"ok": True})

    def control_options(self, raw):
        with self.state.lock:
            self.state.options.update(json.loads(raw or b"{}"))
        self.send_json(200, {"ok": True})

    def control_reset(self, _raw):
        self.state.reset()
        self.send_json(200, {"ok": True})


def http_date(seconds_from_now):
    """An HTTP date, for scripting a Retry-After in that form."""
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api-key", default="sk-test-key", help="the key requests must carry (default sk-test-key)")
    parser.add_argument("--fault", action="append", default=[], metavar="JSON",
                        help="a fault to script from the start (repeatable), e.g. '{\"status\": 500, \"count\": 2}'")
    parser.add_argument("--exit-on-eof", action="store_true",
                        help="exit when stdin closes (a test that spawns the fake dies → the fake goes too)")
    args = parser.parse_args()

    Handler.state = State(args.api_key)
    Handler.state.add_faults(json.loads(f) for f in args.fault)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if args.exit_on_eof:
        def watch_stdin():
            sys.stdin.read()
            threading.Thread(target=server.shutdown, daemon=True).start()
        threading.Thread(target=watch_stdin, daemon=True).start()
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
