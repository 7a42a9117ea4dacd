"""Limits and error shapes of the HTTP core, against the real binary."""

import socket
import time
import unittest

from harness import StudioTestCase, status_of


class HttpLimits(StudioTestCase):
    def test_unknown_path_is_404_problem(self):
        r = self.studio.request("GET", "/nope")
        p = self.assertProblem(r, 404, "NOT_FOUND")
        self.assertTrue(p["type"].startswith("https://"))

    def test_wrong_method_is_405_with_allow(self):
        r = self.studio.request("DELETE", "/status/live")
        self.assertProblem(r, 405, "METHOD_NOT_ALLOWED")
        self.assertIn("GET", r.headers["allow"])

    def test_body_over_limit_is_413(self):
        r = self.studio.request("POST", "/debug/echo", body=b"[" + b"1," * 700000 + b"1]",
                                headers={"Content-Type": "application/json"})
        self.assertProblem(r, 413, "PAYLOAD_TOO_LARGE")

    def test_chunked_body_over_limit_is_413(self):
        chunk = b"x" * 65536
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
        raw = self.studio.raw(b"POST /debug/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n" + body)
        self.assertEqual(status_of(raw), 413)

    def test_long_url_is_414(self):
        r = self.studio.request("GET", "/status/live?x=" + "a" * 9000)
        self.assertProblem(r, 414, "URI_TOO_LONG")

    def test_huge_headers_are_431(self):
        r = self.studio.request("GET", "/status/live", headers={"X-Big": "b" * 20000})
        self.assertProblem(r, 431, "HEADERS_TOO_LARGE")

    def test_wrong_content_type_is_415(self):
        r = self.studio.request("POST", "/debug/echo", body=b"{}", headers={"Content-Type": "text/plain"})
        self.assertProblem(r, 415, "UNSUPPORTED_MEDIA_TYPE")

    def test_malformed_json_is_400_naming_the_problem(self):
        r = self.studio.request("POST", "/debug/echo", body=b'{"a": tru}', headers={"Content-Type": "application/json"})
        p = self.assertProblem(r, 400, "INVALID_JSON")
        self.assertRegex(p["detail"], r"^Malformed JSON at byte \d+")

    def test_deep_nesting_rejected_fast_and_server_survives(self):
        start = time.time()
        r = self.studio.request("POST", "/debug/echo", body=b"[" * 100000,
                                headers={"Content-Type": "application/json"})
        self.assertLess(time.time() - start, 5)
        self.assertProblem(r, 400, "JSON_TOO_DEEP")
        self.assertEqual(self.studio.request("GET", "/status/live").status, 200)

    def test_valid_json_round_trips(self):
        r = self.studio.request("POST", "/debug/echo", body=b'{"a":[1,2,{"b":"\\u00e9"}]}',
                                headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"a": [1, 2, {"b": "\u00e9"}]})

    def test_unexpected_failure_is_500_without_internals(self):
        r = self.studio.request("GET", "/debug/fail")
        p = self.assertProblem(r, 500, "INTERNAL")
        self.assertNotIn("passwd", r.body.decode())
        self.assertIn("request id", p["detail"])
        self.assertNotIn("debug failure", r.body.decode())

    def test_request_id_is_echoed_when_sane_and_generated_otherwise(self):
        r = self.studio.request("GET", "/status/live", headers={"X-Request-Id": "client-abc-123"})
        self.assertEqual(r.headers["x-request-id"], "client-abc-123")
        r = self.studio.request("GET", "/status/live", headers={"X-Request-Id": "bad id\x7f<script>"})
        self.assertNotEqual(r.headers["x-request-id"], "bad id\x7f<script>")
        self.assertRegex(r.headers["x-request-id"], r"^req_[0-9a-f]{24}$")
        r2 = self.studio.request("GET", "/status/live")
        self.assertNotEqual(r.headers["x-request-id"], r2.headers["x-request-id"])

    def test_security_headers_on_success_and_error(self):
        for path in ("/status/live", "/nope"):
            h = self.studio.request("GET", path).headers
            self.assertEqual(h.get("x-content-type-options"), "nosniff")
            self.assertEqual(h.get("x-frame-options"), "DENY")
            self.assertEqual(h.get("referrer-policy"), "no-referrer")
            self.assertIn("frame-ancestors 'none'", h.get("content-security-policy", ""))
            self.assertNotIn("server", h)

    def test_slowloris_connection_is_closed(self):
        s = socket.create_connection(("127.0.0.1", self.studio.port), timeout=5)
        s.sendall(b"GET /status/live HTTP/1.1\r\nHost: x\r\n")
        start = time.time()
        closed = False
        try:
            for _ in range(30):  # drip a header line every 200 ms; the 1 s header deadline must still hold
                s.sendall(b"X-Drip: 1\r\n")
                s.settimeout(0.2)
                try:
                    if s.recv(65536) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        finally:
            s.close()
        self.assertTrue(closed, "server kept a slowloris connection open")
        self.assertLess(time.time() - start, 4)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        c = self.studio.conn()
        for _ in range(20):
            c.request("GET", "/status/live")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        c.close()

    def test_access_log_has_route_template_and_no_secrets(self):
        self.studio.request("GET", "/status/live?token=supersecretvalue",
                            headers={"Authorization": "Bearer supersecretvalue", "X-Request-Id": "log-check-1"})
        time.sleep(0.2)
        lines = [l for l in self.studio.log_lines() if l.get("requestId") == "log-check-1"]
        self.assertEqual(len(lines), 1, lines)
        line = lines[0]
        for field in ("time", "level", "method", "route", "status", "durationMs", "bytesOut"):
            self.assertIn(field, line)
        self.assertEqual(line["route"], "/status/live")
        self.assertNotIn("supersecretvalue", "\n".join(self.studio.raw_lines()))


if __name__ == "__main__":
    unittest.main()
