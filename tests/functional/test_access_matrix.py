"""The route × role matrix over HTTP, on SQLite and (when configured) PostgreSQL.

Every registered route (from GET /debug/routes, which lists each route with its row of the access
policy; a route without a row stops the server from starting) is called by every kind of caller:
anonymous, a platform admin, the workspace's owner, member, agent and service users, and the owner
of another workspace. Denials must come from the guard with the exact status (401 / 403 / 404) and
change nothing; allowed calls must get past the guard. Request bodies are `{}`, so an allowed call
stops at validation instead of changing data; the few calls that act without a body (logout,
revoke-all, workspace deletion) run against a fresh workspace each time they are allowed.

A second test pins the rows that matter most by hand, so a too-generous edit of the table fails
even though the matrix test derives its expectations from the table."""

import json
import os
import subprocess
import unittest
import uuid

from harness import OnPostgres, STUDIO_BIN, Studio

PASSWORD = "correct horse battery staple 42!"
PG_URL = os.environ.get("STUDIO_TEST_PG_URL")
ROLES = ("anonymous", "admin", "owner", "member", "agent", "service", "outsider")
MEMBER_ROLES = ("member", "agent", "service")
WORKSPACE_PATH = "/api/v1/workspaces/{id}"
DESTRUCTIVE = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/token/revoke"),
    ("POST", "/api/v1/auth/token/revoke-all"),
    ("DELETE", "/api/v1/workspaces/{id}"),
}


def guard_denial(r):
    """The guard's own refusals, told apart from a handler's answers by code and detail."""
    try:
        body = r.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code, detail = body.get("code"), body.get("detail", "")
    if isinstance(body.get("error"), dict):  # the OpenAI-compatible routes answer in OpenAI's shape
        code, detail = body["error"].get("code", "").upper(), body["error"].get("message", "")
    if r.status == 401 and (detail.startswith("Authentication is required") or code in ("INVALID_TOKEN", "INVALID_API_KEY")):
        return 401
    if r.status == 403 and code in ("FORBIDDEN", "API_KEY_NOT_ALLOWED", "WORKSPACE_MISMATCH"):
        return 403
    if r.status == 404 and detail == "The workspace does not exist.":
        return 404
    return None


def expected(route, role):
    """'allowed', or the status the guard must answer, from the route's policy row."""
    roles = set(route["roles"])
    workspace_path = route["pattern"].startswith(WORKSPACE_PATH)
    if "anonymous" in roles:
        return "allowed"
    if role == "anonymous":
        return 401
    if role == "outsider":  # the owner of another workspace, with that workspace's token
        if workspace_path:
            return 404
        return "allowed" if "owner" in roles else 403
    if role == "admin":  # an admin is also the owner of their own workspace
        if workspace_path:
            return "allowed" if "admin" in roles else 403
        return "allowed" if roles & {"admin", "owner"} else 403
    return "allowed" if role in roles else 403


class AccessMatrix(unittest.TestCase):
    env = {}

    @classmethod
    def setUpClass(cls):
        cls.studio = Studio(env=cls.env).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    # --- helpers -------------------------------------------------------------------------------

    def call(self, method, path, token=None, body=None):
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return self.studio.request(method, path, body=data, headers=headers)

    def onboard(self):
        email = "owner-%s@example.com" % uuid.uuid4().hex[:10]
        r = self.call("POST", "/api/v1/auth/onboarding",
                      body={"workspaceName": "Matrix " + uuid.uuid4().hex[:6], "adminEmail": email,
                            "adminPassword": PASSWORD})
        self.assertEqual(r.status, 201, r.body)
        return email, r.json()

    def join(self, owner_token, workspace_id, role):
        email = "%s-%s@example.com" % (role, uuid.uuid4().hex[:10])
        r = self.call("POST", "/api/v1/workspaces/%s/invitations" % workspace_id, owner_token,
                      {"email": email, "role": role})
        self.assertEqual(r.status, 201, r.body)
        r = self.call("POST", "/api/v1/invitations/accept", body={"token": r.json()["token"], "password": PASSWORD})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["role"], role)
        return r.json()

    def grant_admin(self, email):
        env = dict(self.studio.env)
        r = subprocess.run([STUDIO_BIN, "admin", "grant-admin", "--email", email], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def world(self):
        """A workspace with an owner, a member, an agent and a service user; an admin; an outsider."""
        _, owner = self.onboard()
        wid = owner["workspaceId"]
        tokens = {"anonymous": None, "owner": owner["accessToken"]}
        user_ids = {"owner": owner["userId"]}
        for role in MEMBER_ROLES:
            s = self.join(owner["accessToken"], wid, role)
            tokens[role], user_ids[role] = s["accessToken"], s["userId"]
        admin_email, admin = self.onboard()
        self.grant_admin(admin_email)
        tokens["admin"] = admin["accessToken"]
        _, outsider = self.onboard()
        tokens["outsider"] = outsider["accessToken"]
        return {"workspace_id": wid, "tokens": tokens, "user_ids": user_ids}

    def routes(self):
        r = self.call("GET", "/debug/routes")
        self.assertEqual(r.status, 200)
        return r.json()

    def send(self, route, world, role):
        path = route["pattern"].replace("{id}", world["workspace_id"])
        path = path.replace("{userId}", "usr_doesnotexist")
        while "{" in path:  # any other id: one that does not exist, so nothing is touched
            start = path.index("{")
            path = path[:start] + "x_doesnotexist" + path[path.index("}") + 1:]
        body = {} if route["method"] in ("POST", "PATCH", "PUT") else None
        return self.call(route["method"], path, world["tokens"][role], body)

    def check(self, route, role, r):
        want = expected(route, role)
        where = "%s %s as %s: %s %s" % (route["method"], route["pattern"], role, r.status, r.body[:200])
        got = guard_denial(r)
        if want == "allowed":
            self.assertIsNone(got, where)
            self.assertLess(r.status, 500, where)
        else:
            self.assertEqual(r.status, want, where)
            self.assertEqual(got, want, where)

    # --- tests ---------------------------------------------------------------------------------

    def test_every_route_has_a_policy_row(self):
        routes = self.routes()
        self.assertGreater(len(routes), 30)
        for route in routes:
            self.assertTrue(route["hasPolicy"], route)
            self.assertTrue(route["roles"], route)

    def test_every_route_with_every_role(self):
        shared = self.world()
        checked = 0
        for route in self.routes():
            key = (route["method"], route["pattern"])
            for role in ROLES:
                world = shared
                if key in DESTRUCTIVE and expected(route, role) == "allowed" and role != "anonymous":
                    world = self.world()  # this call really logs out / deletes: give it its own
                with self.subTest(route=key, role=role):
                    self.check(route, role, self.send(route, world, role))
                checked += 1
        self.assertGreater(checked, 200)
        # The denials and bodiless-but-valid calls changed nothing in the shared workspace.
        owner = shared["tokens"]["owner"]
        r = self.call("GET", "/api/v1/workspaces/%s/members" % shared["workspace_id"], owner)
        self.assertEqual(r.status, 200, r.body)
        roles = sorted(m["role"] for m in r.json()["members"])
        self.assertEqual(roles, sorted(("owner",) + MEMBER_ROLES))
        for role in ("owner",) + MEMBER_ROLES:
            self.assertEqual(self.call("GET", "/api/v1/auth/me", shared["tokens"][role]).status, 200, role)

    def test_critical_rows_pinned_by_hand(self):
        by_key = {(r["method"], r["pattern"]): set(r["roles"]) for r in self.routes()}
        public = {k for k, roles in by_key.items() if "anonymous" in roles}
        self.assertEqual(public, {
            ("GET", "/health"), ("GET", "/api/v1/system/health"), ("GET", "/status"),
            ("GET", "/api/v1/system/status"), ("GET", "/status/ready"), ("GET", "/status/live"),
            ("GET", "/metrics"), ("GET", "/api/v1/observability/metrics"), ("GET", "/api/v1/openapi.json"),
            ("POST", "/api/v1/auth/onboarding"), ("POST", "/api/v1/auth/create-workspace"),
            ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/token"),
            ("POST", "/api/v1/auth/token/refresh"), ("POST", "/api/v1/auth/logout"),
            ("POST", "/api/v1/auth/token/revoke"), ("POST", "/api/v1/invitations/accept"),
            ("POST", "/api/v1/public/chat"),  # the widget key is checked by the handler
        })
        owner_only = [
            ("PATCH", "/api/v1/workspaces/{id}"), ("DELETE", "/api/v1/workspaces/{id}"),
            ("PATCH", "/api/v1/workspaces/{id}/members/{userId}"), ("DELETE", "/api/v1/workspaces/{id}/members/{userId}"),
            ("POST", "/api/v1/workspaces/{id}/invitations"), ("GET", "/api/v1/workspaces/{id}/api-keys"),
            ("POST", "/api/v1/workspaces/{id}/api-keys"), ("DELETE", "/api/v1/workspaces/{id}/api-keys/{keyId}"),
            ("GET", "/api/v1/workspaces/{id}/audit-logs"),
            ("GET", "/api/v1/agents/customer-service/config"), ("PUT", "/api/v1/agents/customer-service/config"),
            ("GET", "/api/v1/workspaces/{id}/widget-keys"), ("POST", "/api/v1/workspaces/{id}/widget-keys"),
            ("DELETE", "/api/v1/workspaces/{id}/widget-keys/{keyId}"),
        ]
        for key in owner_only:
            self.assertIn(key, by_key)
            self.assertEqual(by_key[key], {"owner", "admin"}, key)


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class AccessMatrixOnPostgres(OnPostgres, AccessMatrix):
    pg_prefix = "studio_matrix_"


if __name__ == "__main__":
    unittest.main()
