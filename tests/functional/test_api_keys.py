"""Per-workspace API keys, the audit log and usage over HTTP against the real binary, on SQLite and
(when configured) on PostgreSQL: create/list/revoke, the key shown once and never its hash, how a
key authenticates and where it may not, cross-workspace isolation, audit events and pagination,
usage counts."""

import base64
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import unittest
import uuid

from harness import OnPostgres, Studio

PASSWORD = "correct horse battery staple 42!"
PG_URL = os.environ.get("STUDIO_TEST_PG_URL")
KEY_RE = re.compile(r"^sk_([a-z0-9]{8})_[A-Za-z0-9_-]{43}$")
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def unique_email(prefix="user"):
    return "%s-%s@example.com" % (prefix, uuid.uuid4().hex[:10])


def random_ip():
    return "10.%d.%d.%d" % tuple(uuid.uuid4().bytes[:3])


def well_formed_unknown_key():
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    prefix = "".join(alphabet[b % 36] for b in os.urandom(8))
    return "sk_%s_%s" % (prefix, base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())


class ApiKeyFlows(unittest.TestCase):
    # Logins are limited per client address; each login here comes from its own (proxied) one.
    env = {"STUDIO_TRUSTED_PROXIES": "127.0.0.1"}

    @classmethod
    def setUpClass(cls):
        cls.studio = Studio(env=cls.env).__enter__()
        cls.bodies = []  # every response body, for the stored-hash check

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    # --- the database behind the server (hash and side-effect checks only) ---

    def sql(self, statement):
        con = sqlite3.connect(os.path.join(self.studio.data_dir, "studio.db"), timeout=10)
        try:
            return [[str(c) for c in row] for row in con.execute(statement)]
        finally:
            con.close()

    # --- HTTP helpers ---

    def call(self, method, path, token=None, body=None, headers=None, key=None):
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        if key:
            h["X-API-Key"] = key
        data = None
        if body is not None:
            h["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        h.update(headers or {})
        r = self.studio.request(method, path, body=data, headers=h)
        self.bodies.append(r.body)
        return r

    def ok(self, r, status=200):
        self.assertEqual(r.status, status, r.body)
        return r.json() if r.body else None

    def problem(self, r, status, code=None):
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.headers.get("content-type"), "application/problem+json")
        if code:
            self.assertEqual(r.json()["code"], code, r.body)
        return r.json()

    def onboard(self):
        r = self.call("POST", "/api/v1/auth/onboarding", body={
            "workspaceName": "Keys " + uuid.uuid4().hex[:6], "adminEmail": unique_email("owner"),
            "adminPassword": PASSWORD})
        return self.ok(r, 201)

    def join(self, owner, role="member"):
        inv = self.ok(self.call("POST", "/api/v1/workspaces/%s/invitations" % owner["workspaceId"],
                                owner["accessToken"], {"email": unique_email(role), "role": role}), 201)
        return self.ok(self.call("POST", "/api/v1/invitations/accept",
                                 body={"token": inv["token"], "password": PASSWORD}))

    def keys_path(self, wid):
        return "/api/v1/workspaces/%s/api-keys" % wid

    def create_key(self, owner, **body):
        body.setdefault("name", "key " + uuid.uuid4().hex[:6])
        return self.ok(self.call("POST", self.keys_path(owner["workspaceId"]), owner["accessToken"], body), 201)

    def list_keys(self, owner):
        r = self.call("GET", self.keys_path(owner["workspaceId"]), owner["accessToken"])
        return {k["id"]: k for k in self.ok(r)["apiKeys"]}

    def audit(self, owner, query=""):
        r = self.call("GET", "/api/v1/workspaces/%s/audit-logs%s" % (owner["workspaceId"], query),
                      owner["accessToken"])
        return self.ok(r)

    def all_events(self, owner):
        return self.audit(owner, "?limit=200")["items"]

    def usage(self, owner):
        return self.ok(self.call("GET", "/api/v1/workspaces/%s/usage" % owner["workspaceId"], owner["accessToken"]))

    # --- create, list, revoke ---

    def test_create_list_revoke_and_the_key_is_shown_once(self):
        owner = self.onboard()
        r = self.call("POST", self.keys_path(owner["workspaceId"]), owner["accessToken"],
                      {"name": "CI deploys", "role": "member", "scopes": ["members:read", "usage:read"]})
        created = self.ok(r, 201)
        self.assertEqual(r.headers.get("cache-control"), "no-store")
        m = KEY_RE.match(created["key"])
        self.assertIsNotNone(m, created["key"])
        self.assertEqual(m.group(1), created["prefix"])
        self.assertTrue(created["id"].startswith("key_"))
        self.assertEqual((created["name"], created["role"], created["scopes"]),
                         ("CI deploys", "member", ["members:read", "usage:read"]))
        self.assertRegex(created["createdAt"], ISO_RE)
        self.assertEqual(created["createdBy"], owner["userId"])
        default = self.create_key(owner)
        self.assertEqual((default["role"], default["scopes"]), ("service", []))

        r = self.call("GET", self.keys_path(owner["workspaceId"]), owner["accessToken"])
        listed = {k["id"]: k for k in self.ok(r)["apiKeys"]}
        self.assertEqual(set(listed), {created["id"], default["id"]})
        item = listed[created["id"]]
        self.assertEqual(set(item), {"id", "name", "prefix", "role", "scopes", "createdAt", "lastUsedAt",
                                     "revokedAt", "createdBy"})
        self.assertIsNone(item["revokedAt"])
        secret = created["key"].rsplit("_", 1)[1]
        for leaked in (created["key"], secret, hashlib.sha256(created["key"].encode()).hexdigest()):
            self.assertNotIn(leaked.encode(), r.body)

        self.assertEqual(self.call("DELETE", self.keys_path(owner["workspaceId"]) + "/" + created["id"],
                                   owner["accessToken"]).status, 204)
        self.assertRegex(self.list_keys(owner)[created["id"]]["revokedAt"], ISO_RE)
        self.assertIsNone(self.list_keys(owner)[default["id"]]["revokedAt"])
        # Revoking twice, or an id that does not exist: the same 404.
        for key_id in (created["id"], "key_doesnotexist", "x"):
            self.problem(self.call("DELETE", self.keys_path(owner["workspaceId"]) + "/" + key_id,
                                   owner["accessToken"]), 404, "API_KEY_NOT_FOUND")

    def test_bad_input_and_mass_assignment_create_nothing(self):
        owner = self.onboard()
        path = self.keys_path(owner["workspaceId"])
        cases = [
            ({"name": "x", "id": "key_mine"}, "UNKNOWN_FIELDS"),
            ({"name": "x", "key": "sk_aaaaaaaa_" + "A" * 43}, "UNKNOWN_FIELDS"),
            ({"name": "x", "prefix": "aaaaaaaa"}, "UNKNOWN_FIELDS"),
            ({"name": "x", "workspaceId": "wks_other"}, "UNKNOWN_FIELDS"),
            ({"name": "x", "revokedAt": None, "lastUsedAt": "2020-01-01T00:00:00Z"}, "UNKNOWN_FIELDS"),
            ({"name": "x", "role": "admin"}, None),
            ({"name": "x", "role": "superuser"}, None),
            ({"name": "x", "scopes": "docs:read"}, None),
            ({"name": "x", "scopes": [1]}, None),
            ({"name": "x", "scopes": ["Has Spaces"]}, None),
            ({"name": ""}, None),
            ({"name": "n" * 101}, None),
            ({}, None),
        ]
        for body, code in cases:
            p = self.problem(self.call("POST", path, owner["accessToken"], body), 400, code)
            self.assertIn("errors", p, body)
        self.assertEqual(self.list_keys(owner), {})
        owner_key = self.create_key(owner, role="owner")  # an owner may hand out the owner role
        self.assertEqual(owner_key["role"], "owner")

    # --- authenticating with a key ---

    def test_key_authenticates_by_header_and_bearer_and_records_last_use(self):
        owner = self.onboard()
        wid = owner["workspaceId"]
        created = self.create_key(owner, role="owner")
        self.assertIsNone(self.list_keys(owner)[created["id"]]["lastUsedAt"])
        via_header = self.ok(self.call("GET", "/api/v1/workspaces/" + wid, key=created["key"]))
        self.assertEqual((via_header["id"], via_header["role"]), (wid, "owner"))
        via_bearer = self.ok(self.call("GET", "/api/v1/workspaces/" + wid, created["key"]))
        self.assertEqual(via_bearer["id"], wid)
        self.ok(self.call("GET", "/api/v1/workspaces/%s/audit-logs" % wid, key=created["key"]))
        self.ok(self.call("GET", "/api/v1/workspaces/%s/audit-logs" % wid, created["key"]))
        self.assertRegex(self.list_keys(owner)[created["id"]]["lastUsedAt"], ISO_RE)
        # A key acts with its own role: a service key may read the workspace, not its audit log.
        service = self.create_key(owner)
        self.ok(self.call("GET", "/api/v1/workspaces/" + wid, key=service["key"]))
        self.problem(self.call("GET", "/api/v1/workspaces/%s/audit-logs" % wid, key=service["key"]), 403)
        self.problem(self.call("GET", "/api/v1/workspaces/%s/usage" % wid, key=service["key"]), 403)

    def test_key_in_the_query_string_is_refused_and_not_used(self):
        owner = self.onboard()
        wid = owner["workspaceId"]
        created = self.create_key(owner, role="owner")
        for name in ("api_key", "apiKey", "access_token"):
            r = self.call("GET", "/api/v1/workspaces/%s?%s=%s" % (wid, name, created["key"]))
            self.problem(r, 400, "CREDENTIALS_IN_URL")
            self.assertNotIn(created["key"].encode(), r.body)
        # Even alongside a valid header it is refused, and the key was never used.
        self.problem(self.call("GET", "/api/v1/workspaces/%s/audit-logs?api_key=%s" % (wid, created["key"]),
                               key=created["key"]), 400, "CREDENTIALS_IN_URL")
        self.assertIsNone(self.list_keys(owner)[created["id"]]["lastUsedAt"])

    def test_revoked_key_is_refused_on_the_next_request(self):
        owner = self.onboard()
        wid = owner["workspaceId"]
        created = self.create_key(owner, role="owner")
        self.ok(self.call("GET", "/api/v1/workspaces/" + wid, key=created["key"]))
        self.assertEqual(self.call("DELETE", self.keys_path(wid) + "/" + created["id"], owner["accessToken"]).status,
                         204)
        self.problem(self.call("GET", "/api/v1/workspaces/" + wid, key=created["key"]), 401, "INVALID_API_KEY")
        self.problem(self.call("GET", "/api/v1/workspaces/" + wid, created["key"]), 401, "INVALID_API_KEY")

    def test_bad_keys_get_one_identical_answer(self):
        owner = self.onboard()
        wid = owner["workspaceId"]
        real = self.create_key(owner, role="owner")["key"]
        last = real[-1]
        attacks = {
            "malformed": "sk_nope",
            "not a key at all": "hello",
            "unknown": well_formed_unknown_key(),
            "altered secret": real[:-1] + ("A" if last != "A" else "B"),
            "right prefix, other secret": real[:12] + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode(),
            "altered prefix": real[:3] + ("a" if real[3] != "a" else "b") + real[4:],
            "trailing byte": real + "x",
            "upper case": real.upper(),
        }
        bodies = []
        for name, key in attacks.items():
            responses = [self.call("GET", "/api/v1/workspaces/" + wid, key=key)]
            if key.startswith("sk_"):  # any other Bearer is taken for a session token
                responses.append(self.call("GET", "/api/v1/workspaces/" + wid, key))
            for r in responses:
                self.problem(r, 401, "INVALID_API_KEY")
                self.assertIn("www-authenticate", r.headers, name)
                body = r.json()
                del body["requestId"]
                bodies.append(body)
        self.assertTrue(all(b == bodies[0] for b in bodies), bodies)
        self.ok(self.call("GET", "/api/v1/workspaces/" + wid, key=real))  # the real one still works

    # --- where keys may not go ---

    def routes(self):
        return self.ok(self.call("GET", "/debug/routes"))

    def test_key_of_workspace_a_gets_404_everywhere_in_workspace_b_with_no_side_effect(self):
        a, b = self.onboard(), self.onboard()
        a_key = self.create_key(a, role="owner")["key"]
        b_key = self.create_key(b, role="owner")
        inv = self.ok(self.call("POST", "/api/v1/workspaces/%s/invitations" % b["workspaceId"], b["accessToken"],
                                {"email": unique_email("invitee"), "role": "member"}), 201)
        before = (self.ok(self.call("GET", "/api/v1/workspaces/" + b["workspaceId"], b["accessToken"])),
                  self.list_keys(b), self.all_events(b))
        params = {"{id}": b["workspaceId"], "{userId}": b["userId"], "{keyId}": b_key["id"],
                  "{invitationId}": inv["id"]}
        bodies = {"PATCH": {"name": "taken over", "role": "member"}, "POST": {"name": "x", "email": unique_email(),
                                                                            "role": "member"}}
        tried = 0
        for route in self.routes():
            if not route["pattern"].startswith("/api/v1/workspaces/{id}"):
                continue
            path = route["pattern"]
            for name, value in params.items():
                path = path.replace(name, value)
            self.assertNotIn("{", path, route)
            for creds in ({"key": a_key}, {"token": a_key}):
                r = self.call(route["method"], path, body=bodies.get(route["method"]), **creds)
                self.problem(r, 404)
                tried += 1
        self.assertGreaterEqual(tried, 2 * 10)
        after = (self.ok(self.call("GET", "/api/v1/workspaces/" + b["workspaceId"], b["accessToken"])),
                 self.list_keys(b), self.all_events(b))
        self.assertEqual(before, after)
        self.ok(self.call("GET", "/api/v1/workspaces/" + b["workspaceId"], key=b_key["key"]))  # B's key untouched

    def test_key_on_a_sessions_only_route_is_refused(self):
        owner = self.onboard()
        key = self.create_key(owner, role="owner")
        params = {"{id}": owner["workspaceId"], "{keyId}": key["id"], "{userId}": owner["userId"],
                  "{invitationId}": "inv_x"}
        refused = []
        for route in self.routes():
            if route["apiKeys"] or "anonymous" in route["roles"] or not route["hasPolicy"]:
                continue
            path = route["pattern"]
            for name, value in params.items():
                path = path.replace(name, value)
            r = self.call(route["method"], path, key=key["key"], body={} if route["method"] != "GET" else None)
            self.problem(r, 403, "API_KEY_NOT_ALLOWED")
            refused.append(route["method"] + " " + route["pattern"])
        for expected in ("GET /api/v1/auth/me", "GET /api/v1/workspaces/{id}/api-keys",
                         "POST /api/v1/workspaces/{id}/api-keys", "DELETE /api/v1/workspaces/{id}/api-keys/{keyId}",
                         "DELETE /api/v1/workspaces/{id}"):
            self.assertIn(expected, refused)
        # Nothing happened: the key still exists, unrevoked, and the workspace is still there.
        self.assertIsNone(self.list_keys(owner)[key["id"]]["revokedAt"])
        self.assertEqual(len(self.list_keys(owner)), 1)

    def test_scoped_key_calls_only_its_scopes_and_unknown_scopes_are_refused(self):
        owner = self.onboard()
        wid = owner["workspaceId"]
        r = self.call("POST", self.keys_path(wid), owner["accessToken"], {"name": "bad", "scopes": ["members:fly"]})
        self.assertIn("members:read", self.problem(r, 400, "VALIDATION_FAILED")["detail"])
        self.assertEqual(self.list_keys(owner), {})

        reader = self.create_key(owner, role="owner", scopes=["workspace:read", "members:*"])
        self.assertEqual(reader["scopes"], ["workspace:read", "members:*"])
        self.ok(self.call("GET", "/api/v1/workspaces/" + wid, key=reader["key"]))
        self.ok(self.call("GET", "/api/v1/workspaces/%s/members" % wid, key=reader["key"]))
        # Outside its scopes, the owner role does not help; nothing changes and the denial is audited.
        r = self.call("PATCH", "/api/v1/workspaces/" + wid, body={"name": "Renamed"}, key=reader["key"])
        self.assertIn("workspace:write", self.problem(r, 403, "INSUFFICIENT_SCOPE")["detail"])
        r = self.call("POST", "/api/v1/workspaces/%s/invitations" % wid, body={"email": unique_email(), "role": "member"},
                      key=reader["key"])
        self.problem(r, 403, "INSUFFICIENT_SCOPE")
        self.problem(self.call("GET", "/api/v1/workspaces/%s/audit-logs" % wid, key=reader["key"]), 403,
                     "INSUFFICIENT_SCOPE")
        self.assertNotEqual(self.ok(self.call("GET", "/api/v1/workspaces/" + wid, key=reader["key"]))["name"], "Renamed")
        invitations = self.ok(self.call("GET", "/api/v1/workspaces/%s/invitations" % wid, owner["accessToken"]))
        self.assertEqual(invitations["invitations"], [])
        denied = [e for e in self.all_events(owner) if e["action"] == "authz.denied"]
        self.assertEqual(sorted(e["details"]["reason"] for e in denied), ["INSUFFICIENT_SCOPE"] * 3)
        # A key without scopes may do whatever its role allows; "*" likewise.
        for scopes in ([], ["*"]):
            key = self.create_key(owner, role="owner", scopes=scopes)
            self.ok(self.call("GET", "/api/v1/workspaces/%s/audit-logs" % wid, key=key["key"]))

    def test_members_cannot_manage_keys_or_read_the_audit_log_and_the_denial_is_audited(self):
        owner = self.onboard()
        member = self.join(owner)
        wid = owner["workspaceId"]
        self.problem(self.call("POST", self.keys_path(wid), member["accessToken"], {"name": "mine"}), 403)
        self.problem(self.call("GET", self.keys_path(wid), member["accessToken"]), 403)
        self.problem(self.call("GET", "/api/v1/workspaces/%s/audit-logs" % wid, member["accessToken"]), 403)
        self.assertEqual(self.list_keys(owner), {})
        denied = [e for e in self.all_events(owner) if e["action"] == "authz.denied"]
        self.assertEqual(len(denied), 3, denied)
        routes = {e["details"]["route"] for e in denied}
        self.assertIn("/api/v1/workspaces/{id}/audit-logs", routes)
        for e in denied:
            self.assertEqual((e["actorId"], e["outcome"]), (member["userId"], "denied"))
        # Members may see usage (the policy's staff), though.
        self.assertEqual(self.ok(self.call("GET", "/api/v1/workspaces/%s/usage" % wid,
                                           member["accessToken"]))["workspaceId"], wid)

    # --- the audit log ---

    def login(self, email, password, ip, user_agent):
        return self.call("POST", "/api/v1/auth/login", body={"email": email, "password": password},
                         headers={"X-Forwarded-For": ip, "User-Agent": user_agent})

    def test_audit_log_records_logins_and_key_events_with_request_metadata(self):
        email = unique_email("audited")
        owner = self.ok(self.call("POST", "/api/v1/auth/onboarding", body={
            "workspaceName": "Audited", "adminEmail": email, "adminPassword": PASSWORD}), 201)
        failed = self.login(email, "not the password 123", "198.51.100.7", "audit-test/fail")
        self.assertEqual(failed.status, 401)
        good = self.login(email, PASSWORD, "198.51.100.8", "audit-test/ok")
        self.assertEqual(good.status, 200, good.body)
        meta = {"X-Forwarded-For": "198.51.100.9", "User-Agent": "audit-test/keys"}
        r = self.call("POST", self.keys_path(owner["workspaceId"]), owner["accessToken"], {"name": "audited"},
                      headers=meta)
        created = self.ok(r, 201)
        r2 = self.call("DELETE", self.keys_path(owner["workspaceId"]) + "/" + created["id"], owner["accessToken"],
                       headers=meta)
        self.assertEqual(r2.status, 204)
        events = self.all_events(owner)
        by = {(e["action"], e["outcome"]): e for e in events}
        expected = {
            ("auth.login", "failure"): (failed, "198.51.100.7", "audit-test/fail"),
            ("auth.login", "success"): (good, "198.51.100.8", "audit-test/ok"),
            ("api_key.create", "success"): (r, "198.51.100.9", "audit-test/keys"),
            ("api_key.revoke", "success"): (r2, "198.51.100.9", "audit-test/keys"),
        }
        for k, (response, ip, ua) in expected.items():
            self.assertIn(k, by, [(e["action"], e["outcome"]) for e in events])
            e = by[k]
            self.assertEqual((e["ip"], e["userAgent"], e["requestId"]), (ip, ua, response.headers["x-request-id"]), k)
            self.assertEqual(e["actorId"], owner["userId"])
            self.assertRegex(e["at"], ISO_RE)
            self.assertTrue(e["id"].startswith("aud_"))
        self.assertEqual(by[("api_key.create", "success")]["details"]["keyId"], created["id"])
        self.assertEqual(by[("api_key.revoke", "success")]["details"]["keyId"], created["id"])
        self.assertNotIn(created["key"].encode(), json.dumps(events).encode())
        # The action filter.
        logins = self.audit(owner, "?action=auth.login&limit=200")["items"]
        self.assertEqual({e["outcome"] for e in logins}, {"success", "failure"})
        self.assertTrue(all(e["action"] == "auth.login" for e in logins))

    def test_audit_log_of_another_workspace_is_not_found(self):
        a, b = self.onboard(), self.onboard()
        a_key = self.create_key(a, role="owner")["key"]
        for creds in ({"token": a["accessToken"]}, {"key": a_key}):
            self.problem(self.call("GET", "/api/v1/workspaces/%s/audit-logs" % b["workspaceId"], **creds), 404)
            self.problem(self.call("GET", "/api/v1/workspaces/%s/usage" % b["workspaceId"], **creds), 404)
        self.assertTrue(all(e["actorId"] != b["userId"] for e in self.all_events(a)))
        self.assertTrue(all(e["actorId"] != a["userId"] for e in self.all_events(b)))

    def test_pagination_walks_every_event_once_newest_first(self):
        owner = self.onboard()
        for _ in range(6):
            k = self.create_key(owner)
            self.assertEqual(self.call("DELETE", self.keys_path(owner["workspaceId"]) + "/" + k["id"],
                                       owner["accessToken"]).status, 204)
        everything = self.all_events(owner)
        self.assertGreaterEqual(len(everything), 13)  # workspace.create + 6 × (create, revoke)
        self.assertIsNone(self.audit(owner, "?limit=200")["nextCursor"])
        walked, cursor, pages = [], None, 0
        while True:
            page = self.audit(owner, "?limit=5" + ("&cursor=" + cursor if cursor else ""))
            self.assertLessEqual(len(page["items"]), 5)
            walked += page["items"]
            pages += 1
            cursor = page["nextCursor"]
            if cursor is None:
                break
            self.assertLess(pages, 20)
        self.assertEqual([e["id"] for e in walked], [e["id"] for e in everything])
        self.assertEqual(len({e["id"] for e in walked}), len(walked))
        self.assertEqual(pages, (len(everything) + 4) // 5)
        keys = [(e["at"], e["id"]) for e in walked]
        self.assertEqual(keys, sorted(keys, reverse=True))
        self.assertEqual(len(self.audit(owner)["items"]), min(50, len(everything)))  # the default limit

        wid = owner["workspaceId"]
        for bad in ("limit=0", "limit=201", "limit=abc", "limit=", "limit=-1", "limit=1.5", "limit=%2B5",
                    "cursor=!!!", "cursor=", "cursor=abc", "cursor=" + base64.urlsafe_b64encode(b"x:y").decode(),
                    "cursor=" + base64.urlsafe_b64encode(b"123").rstrip(b"=").decode(),
                    "action=AUTH", "action=" + "a" * 65):
            self.problem(self.call("GET", "/api/v1/workspaces/%s/audit-logs?%s" % (wid, bad), owner["accessToken"]),
                         400)

    # --- usage ---

    def test_usage_counts_match_what_was_created(self):
        owner = self.onboard()
        wid = owner["workspaceId"]
        first = self.usage(owner)
        self.assertEqual(first["workspaceId"], wid)
        self.assertEqual(first["plan"], "free")
        self.assertEqual(first["members"], {"total": 1, "byRole": {"owner": 1, "member": 0, "agent": 0, "service": 0}})
        self.assertEqual(first["apiKeys"], {"active": 0, "revoked": 0, "usedThisPeriod": 0})
        self.assertEqual(first["invitations"], {"pending": 0})
        self.assertGreaterEqual(first["auditEvents"]["thisPeriod"], 1)  # workspace.create
        self.assertRegex(first["period"]["start"], r"^\d{4}-\d\d-01T00:00:00Z$")
        self.assertRegex(first["period"]["end"], r"^\d{4}-\d\d-01T00:00:00Z$")
        self.assertTrue(first["period"]["start"] <= first["generatedAt"] < first["period"]["end"])

        member = self.join(owner)
        self.join(owner, role="agent")
        self.ok(self.call("POST", "/api/v1/workspaces/%s/invitations" % wid, owner["accessToken"],
                          {"email": unique_email("pending"), "role": "member"}), 201)
        keys = [self.create_key(owner, role="owner"), self.create_key(owner), self.create_key(owner)]
        self.assertEqual(self.call("DELETE", self.keys_path(wid) + "/" + keys[2]["id"], owner["accessToken"]).status,
                         204)
        self.ok(self.call("GET", "/api/v1/workspaces/" + wid, key=keys[1]["key"]))
        other = self.onboard()  # another workspace's activity must not show up
        self.create_key(other)

        now = self.ok(self.call("GET", "/api/v1/workspaces/%s/usage" % wid, key=keys[0]["key"]))
        self.assertEqual(now["members"], {"total": 3, "byRole": {"owner": 1, "member": 1, "agent": 1, "service": 0}})
        # keys[0] itself was just used to ask, so two keys were used this period.
        self.assertEqual(now["apiKeys"], {"active": 2, "revoked": 1, "usedThisPeriod": 2})
        self.assertEqual(now["invitations"], {"pending": 1})
        # Every event of this workspace so far is in this period (nobody here failed a sign-in,
        # the one kind of event the log shows without it being the workspace's own).
        self.assertEqual(now["auditEvents"]["thisPeriod"], len(self.all_events(owner)))
        self.assertEqual(self.ok(self.call("GET", "/api/v1/workspaces/%s/usage" % wid,
                                           member["accessToken"]))["members"]["total"], 3)

    # --- secrets never leave ---

    def test_zz_no_response_ever_contains_a_stored_hash(self):
        # Runs last (unittest sorts by name), so it also sees every body the other tests received.
        owner = self.onboard()
        key = self.create_key(owner, role="owner")
        self.list_keys(owner)
        self.all_events(owner)
        self.usage(owner)
        self.call("GET", "/api/v1/workspaces/" + owner["workspaceId"], key=key["key"])
        self.call("DELETE", self.keys_path(owner["workspaceId"]) + "/" + key["id"], owner["accessToken"])
        self.list_keys(owner)
        stored = [row[0] for q in ("SELECT key_hash FROM api_keys", "SELECT token_hash FROM refresh_tokens",
                                   "SELECT token_hash FROM invitations",
                                   "SELECT password_hash FROM users WHERE password_hash IS NOT NULL")
                  for row in self.sql(q)]
        self.assertGreater(len(stored), 5)
        everything = b"\n".join(self.bodies)
        for h in stored:
            self.assertNotIn(h.encode(), everything)


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class ApiKeyFlowsOnPostgres(OnPostgres, ApiKeyFlows):
    pg_prefix = "studio_keys_"

    def sql(self, statement):
        r = subprocess.run(["psql", "-q", "-At", "-F", "\t", self.db_url, "-c", statement], capture_output=True,
                           text=True, check=True)
        return [line.split("\t") for line in r.stdout.splitlines() if line]


if __name__ == "__main__":
    unittest.main()
