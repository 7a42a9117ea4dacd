"""Health, status, readiness, metrics and graceful shutdown of the real binary."""

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

from harness import Studio, StudioTestCase

OPERATOR_KEY = "op-key-0123456789abcdef"


class Operations(StudioTestCase):
    def test_live_and_ready(self):
        r = self.studio.request("GET", "/status/live")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ok"})
        r = self.studio.request("GET", "/status/ready")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["status"], "ready")

    def test_health_on_both_paths(self):
        for path in ("/health", "/api/v1/system/health"):
            r = self.studio.request("GET", path)
            self.assertEqual(r.status, 200)
            body = r.json()
            self.assertEqual(body["status"], "ok")
            db = body["checks"]["database"]
            self.assertEqual(db["status"], "ok")
            self.assertEqual(db["backend"], "sqlite")
            self.assertGreaterEqual(db["latencyMs"], 0)

    def test_status_reports_version_uptime_checks_memory(self):
        for path in ("/status", "/api/v1/system/status"):
            body = self.studio.request("GET", path).json()
            self.assertRegex(body["version"], r"^\d+\.\d+\.\d+$")
            self.assertTrue(body["commit"])
            self.assertEqual(body["mode"], "embedded")
            self.assertGreater(body["uptimeSeconds"], 0)
            self.assertEqual(body["checks"]["database"]["status"], "ok")
            self.assertGreater(body["memory"]["rssBytes"], 1_000_000)
            self.assertGreaterEqual(body["schemaVersion"], 1)

    def test_metrics_on_both_paths_pass_promtool(self):
        for _ in range(3):
            self.studio.request("GET", "/status/live")
        self.studio.request("GET", "/nope/123")
        for path in ("/metrics", "/api/v1/observability/metrics"):
            r = self.studio.request("GET", path)
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers["content-type"].startswith("text/plain; version=0.0.4"))
            text = r.body.decode()
            m = re.search(r'^http_requests_total\{method="GET",route="/status/live",status="200"\} (\d+)', text, re.M)
            self.assertIsNotNone(m, text[:2000])
            self.assertGreaterEqual(int(m.group(1)), 3)
            self.assertIn('http_request_duration_seconds_bucket{method="GET",route="/status/live",status="200",le="+Inf"}',
                          text)
            self.assertIn("http_request_size_bytes_count", text)
            self.assertIn("http_response_size_bytes_sum", text)
            self.assertIn('route="unmatched"', text)  # raw paths never become labels
            self.assertNotIn("/nope/123", text)
            for name in ("process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
                         "process_uptime_seconds", "db_pool_size", "db_pool_in_use", "db_queries_total"):
                self.assertRegex(text, r"(?m)^" + name + r"[{ ]")
            promtool = shutil.which("promtool")
            if promtool is None:
                if os.environ.get("STUDIO_REQUIRE_PROMTOOL") == "1":
                    self.fail("promtool is not installed")
                self.skipTest("promtool is not installed")
            check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertEqual((check.stdout + check.stderr).strip(), "")

    def test_cors_preflight_denied_for_unlisted_origin(self):
        r = self.studio.request("OPTIONS", "/status/live",
                                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        self.assertNotIn("access-control-allow-origin", r.headers)


class OperatorKey(StudioTestCase):
    server_env = {"STUDIO_OPERATOR_KEY": OPERATOR_KEY, "STUDIO_CORS_ORIGINS": "https://app.example"}

    def test_metrics_require_the_operator_key(self):
        r = self.studio.request("GET", "/metrics")
        self.assertProblem(r, 401, "UNAUTHORIZED")
        self.assertIn("www-authenticate", r.headers)
        r = self.studio.request("GET", "/metrics", headers={"Authorization": "Bearer wrong-key-0123456789"})
        self.assertEqual(r.status, 401)
        r = self.studio.request("GET", "/api/v1/observability/metrics",
                                headers={"Authorization": "Bearer " + OPERATOR_KEY})
        self.assertEqual(r.status, 200)
        self.assertNotIn(OPERATOR_KEY, "\n".join(self.studio.raw_lines()))

    def test_cors_allow_list(self):
        r = self.studio.request("GET", "/status/live", headers={"Origin": "https://app.example"})
        self.assertEqual(r.headers.get("access-control-allow-origin"), "https://app.example")
        r = self.studio.request("GET", "/status/live", headers={"Origin": "https://evil.example"})
        self.assertNotIn("access-control-allow-origin", r.headers)


class GracefulShutdown(unittest.TestCase):
    def test_sigterm_lets_slow_requests_finish_and_exits_zero(self):
        with Studio(env={"STUDIO_SHUTDOWN_GRACE": "10s"}) as s:
            results = [None] * 3

            def slow(i):
                results[i] = s.request("GET", "/debug/sleep?ms=1500", timeout=20)

            threads = [threading.Thread(target=slow, args=(i,)) for i in range(3)]
            for t in threads:
                t.start()
            time.sleep(0.5)  # the requests are in flight
            start = time.time()
            s.signal(signal.SIGTERM)
            time.sleep(0.3)
            refused = False
            try:
                socket.create_connection(("127.0.0.1", s.port), timeout=1).close()
            except OSError:
                refused = True
            self.assertTrue(refused, "the listener must stop accepting at once")
            for t in threads:
                t.join()
            for r in results:
                self.assertIsNotNone(r)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json(), {"sleptMs": 1500})
            self.assertEqual(s.wait(timeout=15), 0)
            self.assertLess(time.time() - start, 8)
            msgs = [l.get("msg") for l in s.log_lines()]
            self.assertIn("shutting down", msgs)
            self.assertEqual(msgs[-1], "stopped")

    def test_sigterm_closes_sse_streams_cleanly_with_retry_hint(self):
        with Studio(env={"STUDIO_SHUTDOWN_GRACE": "2s"}) as s:
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            sock.sendall(b"GET /debug/events?n=100000&gap=100 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            got = b""
            while b"id: 1\n" not in got:
                got += sock.recv(65536)
            start = time.time()
            s.signal(signal.SIGTERM)
            sock.settimeout(10)
            while True:
                b = sock.recv(65536)
                if not b:
                    break
                got += b
            sock.close()
            self.assertLess(time.time() - start, 5)
            self.assertIn(b"text/event-stream", got)
            self.assertIn(b"retry: 2000", got)
            self.assertTrue(got.endswith(b"\r\n0\r\n\r\n"), got[-200:])
            self.assertEqual(s.wait(timeout=15), 0)

    def test_sigint_also_drains(self):
        with Studio() as s:
            self.assertEqual(s.request("GET", "/status/live").status, 200)
            s.signal(signal.SIGINT)
            self.assertEqual(s.wait(timeout=15), 0)


class IdleMemory(unittest.TestCase):
    def test_idle_rss_is_reported(self):
        # The budget (< 30 MB) is measured on the Release build in `make bench`; a sanitizer build
        # is several times larger, so here we only check the number is real.
        with Studio() as s:
            body = s.request("GET", "/status").json()
            self.assertGreater(body["memory"]["rssBytes"], 0)


if __name__ == "__main__":
    unittest.main()
