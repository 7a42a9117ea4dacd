#!/usr/bin/env python3
"""A fake OpenAI-compatible API for tests (Python 3 standard library only).

    python3 tests/fakes/fake_openai.py [--api-key KEY] [--fault JSON]... [--exit-on-eof] [--backlog N]

Listens on 127.0.0.1, port 0, and prints the port on stdout (one line) when it is ready.

API routes (OpenAI's request and response shapes, including its error shape):
  POST /v1/embeddings   deterministic unit vectors: the same (model, dimensions, text) always gives
                        the same vector, different texts give unrelated ones.
  POST /v1/chat/completions
                        the reply is the "chat_reply" option, or else "Echo: " + the last user
                        message; cut at the first `stop` string, and at `max_tokens` tokens
                        (finish_reason "length"). A token is a word with its leading whitespace.
                        With "stream": true it is sent as Server-Sent Events (chunked), OpenAI's
                        chunk shapes: a role chunk, one chunk per token, a finish_reason chunk, a
                        usage chunk when "stream_options": {"include_usage": true}, "data: [DONE]".
Every API request must carry "Authorization: Bearer KEY" (401 otherwise). To add a route, write a
handler method and add it to API_ROUTES: authentication, scripted faults and recording are done for
every route in one place (Handler._api). A handler returns (status, payload), or (200, SseReply)
to stream.

Control routes, for the tests that drive the fake (no authentication):
  GET  /_fake/requests  {"requests": [{"method", "path", "authorized", "body", "status"}, ...]}
                        in arrival order ("status" is what the fake answered, null while pending;
                        a stream's status is set when it ends). A stream's entry also has
                        "chunks_sent" (data events written, [DONE] not counted) and
                        "client_disconnected": true when a write failed because the client
                        closed the connection.
  POST /_fake/faults    {"faults": [FAULT, ...]} appended to the fault script
  POST /_fake/options   {"reverse_data": bool} (answer embeddings in reverse index order)
                        {"chat_reply": "TEXT"} (what chat completions answer; null: the echo)
                        {"chat_token_delay_ms": N} (a pause before each streamed token)
                        {"chat_hold_ms": N} (a stream pauses N ms after its first token, or until the
                        client closes the connection: keeps streams open with a token delivered)
                        {"record": false} (API requests are no longer recorded: a long benchmark
                        run would grow /_fake/requests without bound; true again to resume)
                        {"tcp_nodelay": true} (answers are written with TCP_NODELAY: without it, Nagle
                        holds a stream's first chunk until the client's delayed ACK, ~40 ms)
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
  {"drop_after_chunks": 3}                   stream: close the connection after 3 data events
A fault with "match": "TEXT" applies only to requests whose raw body contains TEXT (e.g. one
poisoned document among many); with "count": -1 a fault never runs out.
"""

import argparse
import base64
import email.utils
import hashlib
import itertools
import json
import re
import select
import socket
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
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool")

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
            if self.options.get("record", True):
                self.requests.append(entry)

    def option(self, name, default=None):
        with self.lock:
            return self.options.get(name, default)


class SseReply:
    """A route's answer sent as Server-Sent Events: one `data:` event per chunk, then `data: [DONE]`.
    `delay_ms` is paused before each chunk whose delta carries content (a token); `hold_ms` after
    the first such chunk (cut short when the client closes the connection)."""

    def __init__(self, chunks, delay_ms=0, hold_ms=0):
        self.chunks = chunks
        self.delay_ms = delay_ms
        self.hold_ms = hold_ms


def chat_tokens(text):
    """The reply cut the way streaming models send it: words with their leading whitespace."""
    tokens = re.findall(r"\s*\S+", text)
    rest = text[len("".join(tokens)):]
    if rest:
        tokens.append(rest)
    return tokens


def chat_content(message):
    """A message's text: a string, or the text parts of a list of content parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


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
        ("POST", "/v1/chat/completions"): "chat_completions",
    }
    completion_ids = itertools.count(1)
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

    def _write_chunk(self, data):
        """One chunk of a chunked (Transfer-Encoding) body; b"" ends the body."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def send_sse(self, reply, entry):
        """Streams `reply`, recording on `entry` how far it got and whether the client went away."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        drop_after = self.fault.get("drop_after_chunks")
        entry["chunks_sent"] = 0
        held = False
        try:
            for chunk in reply.chunks:
                if drop_after is not None and entry["chunks_sent"] >= drop_after:
                    self.close_connection = True
                    self.connection.shutdown(2)  # mid-stream, without the terminating chunk
                    entry["status"] = "dropped"
                    return
                choices = chunk.get("choices") or [{}]
                if reply.delay_ms and choices[0].get("delta", {}).get("content"):
                    time.sleep(reply.delay_ms / 1000)
                self._write_chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                entry["chunks_sent"] += 1
                if reply.hold_ms and not held and choices[0].get("delta", {}).get("content"):
                    held = True
                    # Readable before the hold ends: the client closed (or sent something; a
                    # streaming client does not), so stop holding and let the write notice it.
                    if select.select([self.connection], [], [], reply.hold_ms / 1000)[0]:
                        if not self.connection.recv(1, socket.MSG_PEEK):
                            raise ConnectionResetError("client closed during the hold")
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            entry["client_disconnected"] = True
            self.close_connection = True
        entry["status"] = 200

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
        if self.state.option("tcp_nodelay"):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        authorization = self.headers.get("Authorization", "")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        entry = {"method": method, "path": path, "authorized": authorization == f"Bearer {self.state.api_key}",
                 "body": body, "status": None}
        self.state.record(entry)  # at arrival, so the order is that of the requests

        fault = self.state.take_fault(path, raw or b"")
        self.fault = fault or {}  # a streaming route reads drop_after_chunks from it
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
            if isinstance(payload, SseReply):
                self.send_sse(payload, entry)
            else:
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

    def chat_completions(self, body):
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "you must provide a model parameter", param="model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "[] is too short - 'messages'", param="messages")
        for index, message in enumerate(messages):
            if (not isinstance(message, dict) or message.get("role") not in CHAT_ROLES
                    or not isinstance(message.get("content"), (str, list))):
                raise ApiError(400, f"Invalid value for 'messages[{index}]'.", param=f"messages[{index}]")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise ApiError(400, f"Invalid value for 'stream' = {stream}.", param="stream")
        if body.get("stream_options") is not None and not stream:
            raise ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                           param="stream_options")
        temperature = body.get("temperature")
        if temperature is not None and (not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2):
            raise ApiError(400, f"Invalid value for 'temperature' = {temperature}.", param="temperature")
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise ApiError(400, f"Invalid value for 'max_tokens' = {max_tokens}.", param="max_tokens")
        stop = body.get("stop")
        if isinstance(stop, str):
            stop = [stop]
        if stop is not None and (not isinstance(stop, list) or len(stop) > 4
                                 or not all(isinstance(x, str) and x for x in stop)):
            raise ApiError(400, "Invalid value for 'stop'.", param="stop")

        reply = self.state.option("chat_reply")
        if reply is None:
            users = [m for m in messages if m["role"] == "user"]
            reply = "Echo: " + (chat_content(users[-1]) if users else "")
        for s in stop or []:
            reply = reply.split(s, 1)[0]
        tokens = chat_tokens(reply)
        finish_reason = "stop"
        if max_tokens is not None and len(tokens) > max_tokens:
            tokens = tokens[:max_tokens]
            finish_reason = "length"
        prompt_tokens = sum(approximate_tokens(chat_content(m)) for m in messages)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(tokens),
                 "total_tokens": prompt_tokens + len(tokens)}
        head = {"id": f"chatcmpl-fake{next(self.completion_ids)}", "created": int(time.time()), "model": model,
                "system_fingerprint": "fp_fake"}
        if not stream:
            choice = {"index": 0, "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                      "logprobs": None, "finish_reason": finish_reason}
            return 200, {**head, "object": "chat.completion", "choices": [choice], "usage": usage}

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta, finish):
            c = {**head, "object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if include_usage:
                c["usage"] = None  # as OpenAI: every chunk has the field, only the last one fills it
            return c

        chunks = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
        chunks += [chunk({"content": token}, None) for token in tokens]
        chunks.append(chunk({}, finish_reason))
        if include_usage:
            chunks.append({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        return 200, SseReply(chunks, self.state.option("chat_token_delay_ms", 0), self.state.option("chat_hold_ms", 0))

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
    parser.add_argument("--backlog", type=int, default=ThreadingHTTPServer.request_queue_size,
                        help="listen backlog (default 5, the standard library's): raise it for benchmarks that "
                             "open many connections at once, or the overflow waits for SYN retransmits (1 s, 3 s)")
    args = parser.parse_args()

    Handler.state = State(args.api_key)
    Handler.state.add_faults(json.loads(f) for f in args.fault)
    server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": args.backlog})
    server = server_class(("127.0.0.1", 0), Handler)
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
