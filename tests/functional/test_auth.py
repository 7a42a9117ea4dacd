"""Accounts and sessions over HTTP against the real binary, on SQLite and (when configured) on
PostgreSQL: onboarding, login, lockout, refresh rotation and reuse, logout, and token attacks."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import unittest
import uuid

from harness import OnPostgres, Studio

PASSWORD = "correct horse battery staple 42!"
PG_URL = os.environ.get("STUDIO_TEST_PG_URL")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s


def forge(header, payload, secret=b"", sign=True):
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = b64url(hmac.new(secret, (h + "." + p).encode(), hashlib.sha256).digest()) if sign else ""
    return h + "." + p + "." + sig


class AuthFlows(unittest.TestCase):
    # Logins are limited to 10 a minute per client address; the suite logs in more often than
    # that, so each login comes from its own (proxied) address unless a test picks one.
    env = {"STUDIO_TRUSTED_PROXIES": "127.0.0.1"}

    @classmethod
    def setUpClass(cls):
        cls.studio = Studio(env=cls.env).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    def post(self, path, body, headers=None):
        h = {"Content-Type": "application/json"}
        if path == "/api/v1/auth/login":
            h["X-Forwarded-For"] = "10.%d.%d.%d" % tuple(uuid.uuid4().bytes[:3])
        h.update(headers or {})
        return self.studio.request("POST", path, body=json.dumps(body).encode(), headers=h)

    def onboard(self, email=None, slug=None):
        email = email or "owner-%s@example.com" % uuid.uuid4().hex[:10]
        body = {"workspaceName": "Acme " + uuid.uuid4().hex[:6], "adminEmail": email, "adminPassword": PASSWORD}
        if slug:
            body["workspaceSlug"] = slug
        r = self.post("/api/v1/auth/onboarding", body)
        self.assertEqual(r.status, 201, r.body)
        return email, r.json()

    def me(self, token):
        return self.studio.request("GET", "/api/v1/auth/me", headers={"Authorization": "Bearer " + token})

    def test_onboarding_returns_tokens_and_me_works(self):
        email, body = self.onboard()
        for field in ("ok", "workspaceId", "workspaceSlug", "userId", "accessToken", "expiresAt", "refreshToken"):
            self.assertIn(field, body)
        self.assertTrue(body["workspaceId"].startswith("wks_"))
        self.assertTrue(body["userId"].startswith("usr_"))
        r = self.me(body["accessToken"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["role"], "owner")
        self.assertEqual(r.json()["workspaceId"], body["workspaceId"])
        self.assertEqual(r.headers.get("cache-control"), "no-store")

    def test_alias_path_and_cookie_flags(self):
        r = self.post("/api/v1/auth/create-workspace",
                      {"workspaceName": "Alias Co", "adminEmail": "alias-%s@example.com" % uuid.uuid4().hex[:8],
                       "adminPassword": PASSWORD})
        self.assertEqual(r.status, 201, r.body)
        cookie = r.headers["set-cookie"]
        for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"):
            self.assertIn(flag, cookie)

    def test_bad_onboarding_input_changes_nothing(self):
        email = "dup-%s@example.com" % uuid.uuid4().hex[:8]
        self.onboard(email=email)
        r = self.post("/api/v1/auth/onboarding", {"workspaceName": "Other", "adminEmail": email, "adminPassword": PASSWORD})
        self.assertEqual(r.status, 409)
        self.assertEqual(r.json()["code"], "EMAIL_TAKEN")
        weak_email = "weak-%s@example.com" % uuid.uuid4().hex[:8]
        r = self.post("/api/v1/auth/onboarding",
                      {"workspaceName": "Weak", "adminEmail": weak_email, "adminPassword": "password1234"})
        self.assertIn(r.status, (400, 422), r.body)
        self.assertEqual(r.json()["errors"][0]["field"], "password")
        # The weak attempt created no account: the same e-mail can still onboard.
        self.onboard(email=weak_email)
        r = self.post("/api/v1/auth/onboarding", {"workspaceName": "X", "adminEmail": "not-an-email",
                                                  "adminPassword": PASSWORD})
        self.assertIn(r.status, (400, 422))
        self.assertEqual(r.json()["errors"][0]["field"], "email")

    def test_login_unknown_user_and_wrong_password_look_identical(self):
        email, _ = self.onboard()
        wrong = self.post("/api/v1/auth/login", {"email": email, "password": "definitely not it 123"})
        unknown = self.post("/api/v1/auth/login", {"email": "nobody-%s@example.com" % uuid.uuid4().hex[:8],
                                                   "password": "definitely not it 123"})
        self.assertEqual(wrong.status, 401)
        self.assertEqual(unknown.status, 401)
        a, b = wrong.json(), unknown.json()
        del a["requestId"], b["requestId"]
        self.assertEqual(a, b)
        self.assertEqual(a["code"], "invalid_credentials")
        ok = self.post("/api/v1/auth/login", {"email": email.upper(), "password": PASSWORD})
        self.assertEqual(ok.status, 200, ok.body)
        self.assertEqual(ok.json()["role"], "owner")

    def test_lockout_refuses_even_the_right_password(self):
        email, _ = self.onboard()
        for _ in range(5):
            self.assertEqual(self.post("/api/v1/auth/login", {"email": email, "password": "wrong wrong wrong 1"},
                                       headers={"X-Forwarded-For": "198.51.100.%d" % _}).status, 401)
        r = self.post("/api/v1/auth/login", {"email": email, "password": PASSWORD})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["code"], "invalid_credentials")

    def test_login_flood_from_one_address_is_limited(self):
        email, _ = self.onboard()
        flood = {"X-Forwarded-For": "203.0.113.%d" % (uuid.uuid4().bytes[0] % 200)}
        statuses = [self.post("/api/v1/auth/login", {"email": email, "password": "wrong wrong wrong 1"},
                              headers=flood).status for _ in range(12)]
        self.assertEqual(statuses[:5], [401] * 5)
        self.assertEqual(statuses[-1], 429)
        r = self.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}, headers=flood)
        self.assertEqual(r.status, 429)
        self.assertIn("retry-after", r.headers)
        self.assertEqual(r.json()["code"], "RATE_LIMITED")

    def test_refresh_rotates_and_reuse_revokes_the_family(self):
        _, body = self.onboard()
        first = body["refreshToken"]
        r1 = self.post("/api/v1/auth/token/refresh", {"refreshToken": first})
        self.assertEqual(r1.status, 200, r1.body)
        second = r1.json()["refreshToken"]
        self.assertNotEqual(first, second)
        self.assertEqual(self.me(r1.json()["accessToken"]).status, 200)
        # Replaying the first token is reuse: 401, and the successor dies with the family.
        self.assertEqual(self.post("/api/v1/auth/token", {"refreshToken": first}).status, 401)
        self.assertEqual(self.post("/api/v1/auth/token", {"refreshToken": second}).status, 401)

    def test_refresh_is_bound_to_the_user_agent(self):
        _, body = self.onboard()
        r = self.post("/api/v1/auth/token", {"refreshToken": body["refreshToken"]}, headers={"User-Agent": "thief/1.0"})
        self.assertEqual(r.status, 401)

    def test_cross_site_cookie_refresh_is_refused(self):
        _, body = self.onboard()
        r = self.studio.request("POST", "/api/v1/auth/token", headers={
            "Cookie": "refresh_token=" + body["refreshToken"], "Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["code"], "CSRF_REJECTED")

    def test_logout_kills_the_access_token_and_the_refresh_token(self):
        _, body = self.onboard()
        token = body["accessToken"]
        r = self.post("/api/v1/auth/logout", {"refreshToken": body["refreshToken"]},
                      headers={"Authorization": "Bearer " + token})
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(self.me(token).status, 401)
        self.assertEqual(self.post("/api/v1/auth/token", {"refreshToken": body["refreshToken"]}).status, 401)

    def test_me_requires_a_valid_token(self):
        r = self.studio.request("GET", "/api/v1/auth/me")
        self.assertEqual(r.status, 401)
        self.assertIn("www-authenticate", r.headers)

    def test_token_attacks_are_rejected(self):
        _, body = self.onboard()
        token = body["accessToken"]
        header, payload, sig = jwt_parts(token)
        self.assertEqual(header["alg"], "HS256")
        for field in ("sub", "wid", "role", "jti", "iat", "nbf", "exp", "iss", "aud", "typ"):
            self.assertIn(field, payload)
        h, p, s = token.split(".")
        attacks = {
            "alg none": forge({"alg": "none", "typ": "JWT"}, payload, sign=False),
            "alg NoNe": forge({"alg": "NoNe", "typ": "JWT"}, payload, sign=False),
            "stripped signature": h + "." + p + ".",
            "two segments": h + "." + p,
            "altered signature": h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:],
            "empty secret": forge(header, payload, b""),
            "wrong secret": forge(header, payload, b"x" * 32),
            "HS512 header": forge({"alg": "HS512", "typ": "JWT"}, payload, b"x" * 32),
            "kid injection": forge(dict(header, kid="../../dev/null"), payload, b""),
            "edited role": h + "." + b64url(json.dumps(dict(payload, role="admin")).encode()) + "." + s,
            "edited wid": h + "." + b64url(json.dumps(dict(payload, wid="wks_other")).encode()) + "." + s,
            "expired": forge(header, dict(payload, exp=int(time.time()) - 3600), b""),
        }
        for name, forged in attacks.items():
            r = self.me(forged)
            self.assertEqual(r.status, 401, name)
        self.assertEqual(self.me(token).status, 200)  # the real one still works

    def secret(self):
        path = os.path.join(self.studio.data_dir, "jwt.secret")
        if os.path.exists(path):
            with open(path, "rb") as f:
                return f.read()
        return self.env["JWT_SECRET"].encode()

    def test_correctly_signed_but_invalid_tokens_are_rejected(self):
        # Signed with the real secret, so only the claim and header checks stand in the way.
        _, body = self.onboard()
        token = body["accessToken"]
        header, payload, _ = jwt_parts(token)
        key = self.secret()
        now = int(time.time())
        self.assertEqual(self.me(forge(header, dict(payload, jti="jti_control"), key)).status, 200)
        no_exp = dict(payload)
        del no_exp["exp"]
        attacks = {
            "future nbf": forge(header, dict(payload, nbf=now + 3600), key),
            "missing exp": forge(header, no_exp, key),
            "expired": forge(header, dict(payload, exp=now - 60), key),
            "refresh typ": forge(header, dict(payload, typ="refresh"), key),
            "wrong audience": forge(header, dict(payload, aud="someone-else"), key),
            "wrong issuer": forge(header, dict(payload, iss="evil"), key),
            "kid": forge(dict(header, kid="k1"), payload, key),
            "jku": forge(dict(header, jku="https://evil.example/jwks.json"), payload, key),
            "jwk": forge(dict(header, jwk={"kty": "oct", "k": b64url(b"x" * 32)}), payload, key),
            "alg HS256 lower": forge({"alg": "hs256", "typ": "JWT"}, payload, key),
            "edited role": forge(header, dict(payload, role="admin"), b"wrong" * 8),
            "other workspace": forge(header, dict(payload, wid="wks_" + "0" * 24), key),
        }
        for name, forged in attacks.items():
            r = self.me(forged)
            self.assertEqual(r.status, 401, name)
            self.assertEqual(r.headers.get("content-type"), "application/problem+json", name)

    def test_access_token_is_not_a_refresh_token(self):
        _, body = self.onboard()
        r = self.post("/api/v1/auth/token", {"refreshToken": body["accessToken"]})
        self.assertEqual(r.status, 401)
        self.assertEqual(self.post("/api/v1/auth/token", {"refreshToken": body["refreshToken"]}).status, 200)

    def test_password_change_ends_other_sessions(self):
        email, first = self.onboard()
        second = self.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}).json()
        auth = {"Authorization": "Bearer " + first["accessToken"]}
        wrong = self.post("/api/v1/auth/password", {"currentPassword": "not my password 99", "newPassword":
                                                    "another long passphrase 77!"}, headers=auth)
        self.assertEqual(wrong.status, 401)
        weak = self.post("/api/v1/auth/password", {"currentPassword": PASSWORD, "newPassword": "password1234"},
                         headers=auth)
        self.assertEqual(weak.status, 400, weak.body)
        extra = self.post("/api/v1/auth/password", {"currentPassword": PASSWORD, "newPassword": "x y z 1 2 3 4 5",
                                                    "role": "admin"}, headers=auth)
        self.assertEqual(extra.status, 400)
        self.assertEqual(self.me(first["accessToken"]).status, 200)  # refusals changed nothing
        new_password = "another long passphrase 77!"
        r = self.post("/api/v1/auth/password", {"currentPassword": PASSWORD, "newPassword": new_password},
                      headers=auth)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers.get("cache-control"), "no-store")
        fresh = r.json()
        # Every earlier token, access and refresh, of either session is dead; the new one works.
        for t in (first["accessToken"], second["accessToken"]):
            self.assertEqual(self.me(t).status, 401)
        for t in (first["refreshToken"], second["refreshToken"]):
            self.assertEqual(self.post("/api/v1/auth/token", {"refreshToken": t}).status, 401)
        self.assertEqual(self.me(fresh["accessToken"]).status, 200)
        self.assertEqual(self.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}).status, 401)
        self.assertEqual(self.post("/api/v1/auth/login", {"email": email, "password": new_password}).status, 200)

    def test_revoke_all_ends_every_session(self):
        email, first = self.onboard()
        second = self.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}).json()
        r = self.post("/api/v1/auth/token/revoke-all", {}, headers={"Authorization": "Bearer " + second["accessToken"]})
        self.assertEqual(r.status, 204, r.body)
        for s in (first, second):
            self.assertEqual(self.me(s["accessToken"]).status, 401)
            self.assertEqual(self.post("/api/v1/auth/token", {"refreshToken": s["refreshToken"]}).status, 401)
        self.assertEqual(self.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}).status, 200)

    def test_register_then_login_needs_a_workspace(self):
        email = "solo-%s@example.com" % uuid.uuid4().hex[:10]
        r = self.post("/api/v1/auth/register", {"email": email, "password": PASSWORD, "name": "Solo"})
        self.assertEqual(r.status, 201, r.body)
        self.assertTrue(r.json()["userId"].startswith("usr_"))
        self.assertNotIn("accessToken", r.json())
        again = self.post("/api/v1/auth/register", {"email": email.upper(), "password": PASSWORD})
        self.assertEqual(again.status, 409)
        self.assertEqual(again.json()["code"], "EMAIL_TAKEN")
        self.assertEqual(self.post("/api/v1/auth/register", {"email": "x@example.com", "password": "short"}).status, 400)
        self.assertEqual(self.post("/api/v1/auth/register", {"email": email, "password": PASSWORD, "isAdmin": True})
                         .status, 400)
        r = self.post("/api/v1/auth/login", {"email": email, "password": PASSWORD})
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["code"], "NO_WORKSPACE")

    def test_me_lists_the_account_and_its_workspaces(self):
        email, body = self.onboard()
        r = self.me(body["accessToken"])
        me = r.json()
        self.assertEqual(me["email"], email)
        self.assertEqual(me["workspaceId"], body["workspaceId"])
        self.assertEqual([w["id"] for w in me["workspaces"]], [body["workspaceId"]])
        self.assertEqual(me["workspaces"][0]["role"], "owner")
        self.assertFalse(me["isAdmin"])
        for secret_field in ("passwordHash", "password_hash", "tokenVersion"):
            self.assertNotIn(secret_field, me)
        self.assertNotIn(b"argon2", r.body)

    def test_switch_workspace_needs_membership(self):
        _, a = self.onboard()
        _, b = self.onboard()
        auth = {"Authorization": "Bearer " + a["accessToken"]}
        r = self.post("/api/v1/auth/switch-workspace", {"workspaceId": b["workspaceId"]}, headers=auth)
        self.assertEqual(r.status, 404)
        r = self.post("/api/v1/auth/switch-workspace", {"workspaceId": a["workspaceId"]}, headers=auth)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["workspaceId"], a["workspaceId"])

    def test_workspace_header_must_match_the_token(self):
        _, a = self.onboard()
        _, b = self.onboard()
        r = self.studio.request("GET", "/api/v1/auth/me", headers={"Authorization": "Bearer " + a["accessToken"],
                                                                   "X-Workspace-ID": b["workspaceId"]})
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["code"], "WORKSPACE_MISMATCH")
        r = self.studio.request("GET", "/api/v1/auth/me", headers={"Authorization": "Bearer " + a["accessToken"],
                                                                   "X-Workspace-ID": a["workspaceId"]})
        self.assertEqual(r.status, 200)

    def test_credentials_in_the_query_string_are_refused(self):
        _, a = self.onboard()
        r = self.studio.request("GET", "/api/v1/auth/me?access_token=" + a["accessToken"])
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["code"], "CREDENTIALS_IN_URL")
        self.assertNotIn(a["accessToken"].encode(), r.body)

    def test_tokens_verify_with_an_independent_library(self):
        secret_path = os.path.join(self.studio.data_dir, "jwt.secret")
        if not os.path.exists(secret_path):
            self.skipTest("secret configured externally")
        _, body = self.onboard()
        script = (
            "import jwt,sys\n"
            "secret=open(sys.argv[1]).read()\n"
            "c=jwt.decode(sys.argv[2], secret, algorithms=['HS256'], audience='studio-api', issuer='studio')\n"
            "print(c['sub'])\n"
            "print(jwt.encode(dict(c, jti='jti_forged_by_pyjwt'), secret, algorithm='HS256'))\n"
            "print(jwt.encode(c, secret, algorithm='HS512'))\n")
        try:
            out = subprocess.run(["/usr/bin/python3", "-c", script, secret_path, body["accessToken"]],
                                 capture_output=True, text=True, check=True).stdout.split()
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            if os.environ.get("STUDIO_REQUIRE_PYJWT") == "1":
                raise
            self.skipTest("python3-jwt unavailable: %s" % e)
        self.assertEqual(out[0], body["userId"])
        self.assertEqual(self.me(out[1]).status, 200)  # a valid HS256 token made by PyJWT
        self.assertEqual(self.me(out[2]).status, 401)  # HS512 refused even with the right secret


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class AuthFlowsOnPostgres(OnPostgres, AuthFlows):
    pg_prefix = "studio_auth_"


if __name__ == "__main__":
    unittest.main()
