"""Starts the real `studio` binary on a free loopback port and talks HTTP to it.

Only the Python standard library is used, so the tests need nothing beyond Debian's python3.
The binary comes from $STUDIO_BIN (set by CTest)."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

STUDIO_BIN = os.environ.get("STUDIO_BIN", "build/asan/src/app/studio")


class Studio:
    """One `studio serve` process with its own data dir. Use as a context manager."""

    def __init__(self, env=None, args=None):
        self.data_dir = tempfile.mkdtemp(prefix="studio-func-")
        self.env = dict(os.environ)
        self.env.update({
            "STUDIO_LISTEN": "127.0.0.1:0",
            "STUDIO_DATA_DIR": self.data_dir,
            "STUDIO_TEST_ROUTES": "true",
            "STUDIO_HEADER_TIMEOUT": "1s",
            # Suites create many accounts from one address; the rate-limit tests turn these on.
            "STUDIO_RATE_LIMIT_ENDPOINTS": "false",
            "STUDIO_RATE_LIMIT_PER_IP": "0",
        })
        self.env.pop("DATABASE_URL", None)
        self.env.update(env or {})
        self.args = args or []
        self.lines = []
        self.port = None
        self.proc = None
        self._lock = threading.Lock()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def start(self, timeout=30):
        self.proc = subprocess.Popen([STUDIO_BIN, "serve", *self.args], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace")
        threading.Thread(target=self._read_output, daemon=True).start()
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.log_lines():
                if line.get("msg") == "listening":
                    self.port = line["port"]
                    return
            if self.proc.poll() is not None:
                raise RuntimeError("studio exited early:\n" + "\n".join(self.raw_lines()))
            time.sleep(0.02)
        raise RuntimeError("studio did not start listening:\n" + "\n".join(self.raw_lines()))

    def _read_output(self):
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def raw_lines(self):
        with self._lock:
            return list(self.lines)

    def log_lines(self):
        out = []
        for raw in self.raw_lines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                pass
        return out

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=60):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=10):
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return Response(r.status, dict((k.lower(), v) for k, v in r.getheaders()), data)
        finally:
            c.close()

    def raw(self, data, timeout=5):
        """Sends raw bytes, returns everything the server sends until it closes or times out."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            s.sendall(data)
            return recv_all(s, timeout)
        finally:
            s.close()


def recv_all(sock, timeout):
    sock.settimeout(timeout)
    chunks = []
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                break
            chunks.append(b)
    except (socket.timeout, ConnectionResetError):
        pass
    return b"".join(chunks)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def status_of(raw_response):
    m = re.match(rb"HTTP/1\.1 (\d{3})", raw_response)
    return int(m.group(1)) if m else None


def run(cmd_args, env=None, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([STUDIO_BIN, *cmd_args], env=e, capture_output=True, text=True, timeout=timeout)


class StudioTestCase(unittest.TestCase):
    """A test class sharing one server across its tests (started in setUpClass)."""

    server_env = {}

    @classmethod
    def setUpClass(cls):
        cls.studio = Studio(env=cls.server_env).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    def assertProblem(self, r, status, code):
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.headers.get("content-type"), "application/problem+json")
        p = r.json()
        for field in ("type", "title", "status", "detail", "code", "requestId"):
            self.assertIn(field, p)
        self.assertEqual(p["status"], status)
        self.assertEqual(p["code"], code)
        self.assertEqual(p["requestId"], r.headers.get("x-request-id"))
        return p


def create_pg_database(server_url, prefix):
    """Creates a throwaway database on the test PostgreSQL; returns (name, url)."""
    name = prefix + uuid.uuid4().hex[:12]
    subprocess.run(["psql", "-q", server_url, "-c", "CREATE DATABASE " + name], check=True, capture_output=True)
    return name, server_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(server_url, name):
    subprocess.run(["psql", "-q", server_url, "-c", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name],
                   capture_output=True)


class OnPostgres:
    """Mixin that runs a suite's server on a fresh PostgreSQL database instead of SQLite:
        class FooOnPostgres(OnPostgres, Foo): pg_prefix = "studio_foo_"
    The server env is read from (and written back to) the class attribute `pg_env_attr`, with
    DATABASE_URL, a JWT secret and `pg_extra_env` added. Skips without STUDIO_TEST_PG_URL (the
    suites' skipUnless decorator turns that into a failure when STUDIO_REQUIRE_PG=1)."""

    pg_prefix = "studio_test_"
    pg_env_attr = "env"
    pg_extra_env = {}

    @classmethod
    def setUpClass(cls):
        pg_url = os.environ.get("STUDIO_TEST_PG_URL")
        if not pg_url:
            raise unittest.SkipTest("STUDIO_TEST_PG_URL is not set")
        cls.pg_url = pg_url
        cls.dbname, cls.db_url = create_pg_database(pg_url, cls.pg_prefix)
        env = dict(getattr(cls, cls.pg_env_attr, None) or {})
        env.update(cls.pg_extra_env, DATABASE_URL=cls.db_url, JWT_SECRET="p" * 48)
        setattr(cls, cls.pg_env_attr, env)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_pg_database(cls.pg_url, cls.dbname)
