"""Rate limits of the /api/v1 guard against the real binary: per client address, per workspace and
per endpoint; 429 with Retry-After and RateLimit-* headers; RateLimit-* on successful responses;
X-Forwarded-For ignored from an untrusted peer and honoured from a trusted proxy.

The harness turns the limits off; each class here starts its own server with one limit on, so the
buckets of one scenario are not spent by another. The limiter is in-process, so one backend is
enough."""

import json
import unittest
import uuid

from harness import Studio

PASSWORD = "correct horse battery staple 42!"


class LimitedServer(unittest.TestCase):
    env = {}

    @classmethod
    def setUpClass(cls):
        cls.studio = Studio(env=cls.env).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    def call(self, method, path, token=None, body=None, headers=None):
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            h["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        h.update(headers or {})
        return self.studio.request(method, path, body=data, headers=h)

    def onboard(self, headers=None):
        r = self.call("POST", "/api/v1/auth/onboarding", body={
            "workspaceName": "Limits " + uuid.uuid4().hex[:6],
            "adminEmail": "rl-%s@example.com" % uuid.uuid4().hex[:10], "adminPassword": PASSWORD}, headers=headers)
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def assertLimited(self, r, limit):
        self.assertEqual(r.status, 429, r.body)
        self.assertEqual(r.json()["code"], "RATE_LIMITED")
        self.assertGreaterEqual(int(r.headers["retry-after"]), 1)
        self.assertEqual(r.headers["ratelimit-limit"], str(limit))
        self.assertEqual(r.headers["ratelimit-remaining"], "0")
        self.assertGreaterEqual(int(r.headers["ratelimit-reset"]), 1)

    def assertHasRateLimitHeaders(self, r, limit):
        self.assertEqual(r.headers.get("ratelimit-limit"), str(limit), r.headers)
        self.assertGreaterEqual(int(r.headers["ratelimit-remaining"]), 0)
        self.assertGreaterEqual(int(r.headers["ratelimit-reset"]), 0)
        self.assertNotIn("retry-after", r.headers)

    def spend_until_limited(self, send, most):
        """Calls send() until it answers 429 (at most `most` times); returns (allowed, the 429)."""
        allowed = 0
        for _ in range(most):
            r = send()
            if r.status == 429:
                return allowed, r
            allowed += 1
        self.fail("no 429 after %d requests" % most)


class PerIpLimit(LimitedServer):
    # 20 a minute: one cell comes back every 3 s, far slower than the test sends.
    env = {"STUDIO_RATE_LIMIT_PER_IP": "20"}

    def test_an_address_is_limited_and_forwarded_for_from_an_untrusted_peer_is_ignored(self):
        owner = self.onboard()
        r = self.call("GET", "/api/v1/auth/me", owner["accessToken"])
        self.assertEqual(r.status, 200, r.body)
        self.assertHasRateLimitHeaders(r, 20)
        remaining = int(r.headers["ratelimit-remaining"])
        r2 = self.call("GET", "/api/v1/auth/me", owner["accessToken"])
        self.assertLessEqual(int(r2.headers["ratelimit-remaining"]), remaining)
        # Every request claims another client address; the peer is not a trusted proxy, so the
        # claim is ignored and all of them share 127.0.0.1's bucket.
        counter = iter(range(1, 1000))
        allowed, limited = self.spend_until_limited(
            lambda: self.call("GET", "/api/v1/auth/me", owner["accessToken"],
                              headers={"X-Forwarded-For": "203.0.113.%d" % next(counter)}), 40)
        self.assertLessEqual(allowed, 20)
        self.assertLimited(limited, 20)
        # Unauthenticated requests are counted as well (the limit comes before any other work).
        self.assertLimited(self.call("GET", "/api/v1/auth/me"), 20)


class TrustedProxy(LimitedServer):
    env = {"STUDIO_RATE_LIMIT_PER_IP": "5", "STUDIO_TRUSTED_PROXIES": "127.0.0.1"}

    def me(self, forwarded_for=None):
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        return self.call("GET", "/api/v1/auth/me", headers=headers)

    def test_forwarded_for_from_a_trusted_proxy_names_the_client(self):
        allowed, limited = self.spend_until_limited(lambda: self.me("198.51.100.1"), 10)
        self.assertEqual(allowed, 5)
        self.assertLimited(limited, 5)
        # The right-most untrusted hop is the client: anything left of it may be forged.
        self.assertLimited(self.me("192.0.2.77, 198.51.100.1"), 5)
        self.assertEqual(self.me("198.51.100.1, 198.51.100.2").status, 401)  # client .2: its own bucket
        self.assertEqual(self.me("198.51.100.3").status, 401)
        self.assertEqual(self.me().status, 401)  # the proxy itself, without the header


class PerWorkspaceLimit(LimitedServer):
    env = {"STUDIO_RATE_LIMIT_PER_WORKSPACE": "10"}

    def test_one_workspace_is_limited_and_another_is_not(self):
        a, b = self.onboard(), self.onboard()  # anonymous: no workspace cell spent
        path_a = "/api/v1/workspaces/" + a["workspaceId"]
        created = self.call("POST", path_a + "/api-keys", a["accessToken"], {"name": "k", "role": "owner"})
        self.assertEqual(created.status, 201, created.body)
        self.assertHasRateLimitHeaders(created, 10)
        self.assertEqual(created.headers["ratelimit-remaining"], "9")
        r = self.call("GET", path_a, a["accessToken"])
        self.assertEqual(r.status, 200, r.body)
        self.assertHasRateLimitHeaders(r, 10)
        self.assertEqual(r.headers["ratelimit-remaining"], "8")
        allowed, limited = self.spend_until_limited(lambda: self.call("GET", path_a, a["accessToken"]), 20)
        self.assertEqual(allowed, 8)
        self.assertLimited(limited, 10)
        # The bucket is the workspace's, whatever the credential: A's API key is limited too.
        self.assertLimited(self.call("GET", path_a, headers={"X-API-Key": created.json()["key"]}), 10)
        # Workspace B is untouched.
        r = self.call("GET", "/api/v1/workspaces/" + b["workspaceId"], b["accessToken"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers["ratelimit-remaining"], "9")


class PerEndpointLimit(LimitedServer):
    env = {"STUDIO_RATE_LIMIT_ENDPOINTS": "true"}

    def test_registration_is_limited_per_address(self):
        def register():
            return self.call("POST", "/api/v1/auth/register", body={
                "email": "reg-%s@example.com" % uuid.uuid4().hex[:10], "password": PASSWORD})
        allowed, limited = self.spend_until_limited(register, 15)
        self.assertEqual(allowed, 10)  # the policy table's 10 a minute
        self.assertLimited(limited, 10)
        # Onboarding has its own endpoint bucket, untouched by the registrations.
        token = self.onboard()["accessToken"]
        self.assertEqual(self.call("GET", "/api/v1/auth/me", token).status, 200)


if __name__ == "__main__":
    unittest.main()
