"""Workspaces, members and invitations over HTTP against the real binary, on SQLite and (when
configured) on PostgreSQL: CRUD, mass assignment, roles taking effect on the next request, the
last-owner rule, invitations (new account, existing account, signed-in user, single use, expiry,
revocation), cross-workspace isolation and platform admins."""

import calendar
import json
import time
import os
import re
import sqlite3
import subprocess
import threading
import unittest
import uuid

from harness import OnPostgres, STUDIO_BIN, Studio

PASSWORD = "correct horse battery staple 42!"
PG_URL = os.environ.get("STUDIO_TEST_PG_URL")
SAFE_ID = re.compile(r"^[A-Za-z0-9_]+$")


def unique_email(prefix="user"):
    return "%s-%s@example.com" % (prefix, uuid.uuid4().hex[:10])



def iso_seconds(text):
    """Unix seconds of an ISO-8601 UTC timestamp as the API writes it ("2026-01-31T12:00:00Z")."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))

class WorkspaceFlows(unittest.TestCase):
    env = {}
    invitation_ttl_hours = 7 * 24  # the default

    @classmethod
    def setUpClass(cls):
        cls.studio = Studio(env=cls.env).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    # --- the database behind the server (expiry and audit checks only) ---

    def sql(self, statement):
        """Runs one statement on the server's database; returns the rows as lists of strings."""
        con = sqlite3.connect(os.path.join(self.studio.data_dir, "studio.db"), timeout=10)
        try:
            rows = [[str(c) for c in row] for row in con.execute(statement)]
            con.commit()
            return rows
        finally:
            con.close()

    # --- HTTP helpers ---

    def call(self, method, path, token=None, body=None, headers=None):
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            h["Content-Type"] = "application/json"
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.update(headers or {})
        return self.studio.request(method, path, body=data, headers=h)

    def ok(self, r, status=200):
        self.assertEqual(r.status, status, r.body)
        return r.json() if r.body else None

    def problem(self, r, status, code=None):
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.headers.get("content-type"), "application/problem+json")
        if code:
            self.assertEqual(r.json()["code"], code, r.body)
        return r.json()

    def onboard(self, email=None):
        email = email or unique_email("owner")
        r = self.call("POST", "/api/v1/auth/onboarding", body={
            "workspaceName": "Acme " + uuid.uuid4().hex[:6], "adminEmail": email, "adminPassword": PASSWORD})
        return email, self.ok(r, 201)

    def switch(self, token, workspace_id):
        return self.ok(self.call("POST", "/api/v1/auth/switch-workspace", token, {"workspaceId": workspace_id}))

    def invite(self, token, workspace_id, email, role="member"):
        body = self.ok(self.call("POST", "/api/v1/workspaces/%s/invitations" % workspace_id, token,
                                 {"email": email, "role": role}), 201)
        return body

    def accept(self, body, token=None):
        return self.call("POST", "/api/v1/invitations/accept", token, body)

    def join(self, owner_token, workspace_id, role="member", email=None):
        """A new account joining by invitation; returns (email, session)."""
        email = email or unique_email(role)
        inv = self.invite(owner_token, workspace_id, email, role)
        return email, self.ok(self.accept({"token": inv["token"], "password": PASSWORD, "name": "New " + role}))

    def workspace(self, token, workspace_id):
        return self.ok(self.call("GET", "/api/v1/workspaces/" + workspace_id, token))

    def members(self, token, workspace_id):
        return self.ok(self.call("GET", "/api/v1/workspaces/%s/members" % workspace_id, token))["members"]

    def roles(self, token, workspace_id):
        return {m["userId"]: m["role"] for m in self.members(token, workspace_id)}

    def pending(self, token, workspace_id):
        return self.ok(self.call("GET", "/api/v1/workspaces/%s/invitations" % workspace_id, token))["invitations"]

    def grant_admin(self, email):
        r = subprocess.run([STUDIO_BIN, "admin", "grant-admin", "--email", email], env=dict(self.studio.env),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def audit_actions(self, workspace_id):
        self.assertRegex(workspace_id, SAFE_ID)
        return [row[0] for row in self.sql("SELECT action FROM audit_log WHERE workspace_id = '%s'" % workspace_id)]

    # --- workspaces ---

    def test_create_list_get_rename_delete(self):
        _, owner = self.onboard()
        token = owner["accessToken"]
        created = self.ok(self.call("POST", "/api/v1/workspaces", token, {"name": "Second Co"}), 201)
        self.assertEqual(set(created), {"id", "name", "slug", "plan", "role"})
        self.assertEqual((created["name"], created["plan"], created["role"]), ("Second Co", "free", "owner"))
        self.assertTrue(created["slug"].startswith("second-co"), created)
        mine = self.ok(self.call("GET", "/api/v1/workspaces", token))["workspaces"]
        self.assertEqual({w["id"] for w in mine}, {owner["workspaceId"], created["id"]})
        self.assertEqual({w["role"] for w in mine}, {"owner"})

        # The token of the first workspace cannot address the second: switch first.
        self.problem(self.call("GET", "/api/v1/workspaces/" + created["id"], token), 404)
        second = self.switch(token, created["id"])["accessToken"]
        self.assertEqual(self.workspace(second, created["id"])["name"], "Second Co")
        renamed = self.ok(self.call("PATCH", "/api/v1/workspaces/" + created["id"], second, {"name": "Renamed"}))
        self.assertEqual((renamed["name"], renamed["slug"]), ("Renamed", created["slug"]))
        self.assertEqual(self.workspace(second, created["id"])["name"], "Renamed")

        r = self.call("DELETE", "/api/v1/workspaces/" + created["id"], second)
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(r.body, b"")
        # Its tokens stop working on the next request; the other workspace is untouched.
        self.problem(self.call("GET", "/api/v1/workspaces/" + created["id"], second), 401)
        mine = self.ok(self.call("GET", "/api/v1/workspaces", token))["workspaces"]
        self.assertEqual([w["id"] for w in mine], [owner["workspaceId"]])
        self.assertIn("workspace.rename", self.audit_actions(created["id"]))

    def test_create_with_bad_input_changes_nothing(self):
        _, owner = self.onboard()
        token = owner["accessToken"]
        slug = "taken-" + uuid.uuid4().hex[:8]
        self.ok(self.call("POST", "/api/v1/workspaces", token, {"name": "Taken", "slug": slug}), 201)
        before = self.ok(self.call("GET", "/api/v1/workspaces", token))["workspaces"]
        cases = [
            ({}, 400, None),
            ({"name": ""}, 400, None),
            ({"name": 42}, 400, None),
            ({"name": "x" * 101}, 400, None),
            ({"name": "Ok", "slug": "Bad Slug!"}, 400, None),
            ({"name": "Ok", "plan": "enterprise"}, 400, "UNKNOWN_FIELDS"),
            ({"name": "Ok", "id": "wks_mine"}, 400, "UNKNOWN_FIELDS"),
            ({"name": "Ok", "slug": slug}, 409, "SLUG_TAKEN"),
            ([1, 2], 400, None),
        ]
        for body, status, code in cases:
            self.problem(self.call("POST", "/api/v1/workspaces", token, body), status, code)
        self.problem(self.call("POST", "/api/v1/workspaces", token, b"{not json"), 400)
        self.assertEqual(self.ok(self.call("GET", "/api/v1/workspaces", token))["workspaces"], before)
        self.problem(self.call("POST", "/api/v1/workspaces", None, {"name": "Anon"}), 401)

    def test_rename_by_member_is_forbidden_and_mass_assignment_is_refused(self):
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        before = self.workspace(token, wid)
        _, member = self.join(token, wid, "member")
        self.problem(self.call("PATCH", "/api/v1/workspaces/" + wid, member["accessToken"], {"name": "Mine now"}), 403)
        self.problem(self.call("DELETE", "/api/v1/workspaces/" + wid, member["accessToken"]), 403)
        # A member may read the workspace, with their own role.
        self.assertEqual(self.workspace(member["accessToken"], wid)["role"], "member")
        for extra in ({"id": "wks_x"}, {"slug": "hijack"}, {"plan": "enterprise"}, {"role": "owner"},
                      {"ownerId": member["userId"]}):
            body = dict({"name": "Sneaky"}, **extra)
            p = self.problem(self.call("PATCH", "/api/v1/workspaces/" + wid, token, body), 400, "UNKNOWN_FIELDS")
            self.assertEqual(p["errors"][0]["field"], list(extra)[0])
        for body in ({}, {"name": ""}, {"name": None}, {"name": ["x"]}, {"name": "x" * 101}):
            self.problem(self.call("PATCH", "/api/v1/workspaces/" + wid, token, body), 400)
        self.assertEqual(self.workspace(token, wid), before)

    # --- members ---

    def test_members_role_change_applies_to_the_next_request_and_removal_revokes(self):
        owner_email, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        member_email, member = self.join(token, wid, "member")
        members = {m["email"]: m for m in self.members(token, wid)}
        self.assertEqual({e: m["role"] for e, m in members.items()}, {owner_email: "owner", member_email: "member"})
        for m in members.values():
            self.assertEqual(set(m), {"userId", "email", "name", "role", "joinedAt"})
        self.assertEqual(members[member_email]["name"], "New member")
        self.assertEqual(members[member_email]["userId"], member["userId"])
        path = "/api/v1/workspaces/%s/members/%s" % (wid, member["userId"])
        mtoken = member["accessToken"]

        # Promoted: the member's existing token can do owner things on its next request.
        self.assertEqual(self.ok(self.call("PATCH", path, token, {"role": "owner"}))["role"], "owner")
        self.ok(self.call("PATCH", "/api/v1/workspaces/" + wid, mtoken, {"name": "By the new owner"}))
        # Demoted: the same token is now refused on an owner route, still fine on a member one.
        self.assertEqual(self.ok(self.call("PATCH", path, token, {"role": "member"}))["role"], "member")
        self.problem(self.call("PATCH", "/api/v1/workspaces/" + wid, mtoken, {"name": "Again"}), 403)
        self.assertEqual(self.workspace(mtoken, wid)["role"], "member")
        self.assertEqual(self.workspace(token, wid)["name"], "By the new owner")

        # Bad input changes nothing.
        for body, code in (({"role": "admin"}, None), ({"role": ""}, None), ({}, None),
                           ({"role": "owner", "userId": "usr_x"}, "UNKNOWN_FIELDS"),
                           ({"role": "owner", "email": "x@example.com"}, "UNKNOWN_FIELDS")):
            self.problem(self.call("PATCH", path, token, body), 400, code)
        self.problem(self.call("PATCH", "/api/v1/workspaces/%s/members/usr_nobody" % wid, token, {"role": "member"}),
                     404, "MEMBER_NOT_FOUND")
        self.assertEqual(self.roles(token, wid), {owner["userId"]: "owner", member["userId"]: "member"})

        # A member cannot change roles or remove people.
        self.problem(self.call("PATCH", "/api/v1/workspaces/%s/members/%s" % (wid, owner["userId"]), mtoken,
                               {"role": "member"}), 403)
        self.problem(self.call("DELETE", "/api/v1/workspaces/%s/members/%s" % (wid, owner["userId"]), mtoken), 403)

        # Removed: the member's token dies on its next request.
        r = self.call("DELETE", path, token)
        self.assertEqual(r.status, 204, r.body)
        self.problem(self.call("GET", "/api/v1/workspaces/" + wid, mtoken), 401)
        self.assertEqual([m["email"] for m in self.members(token, wid)], [owner_email])
        self.problem(self.call("DELETE", path, token), 404, "MEMBER_NOT_FOUND")
        actions = self.audit_actions(wid)
        self.assertEqual(actions.count("member.role_change"), 2)
        self.assertIn("member.remove", actions)

    def test_the_last_owner_cannot_be_demoted_or_removed(self):
        _, owner = self.onboard()
        wid, token, uid = owner["workspaceId"], owner["accessToken"], owner["userId"]
        _, member = self.join(token, wid, "member")
        path = "/api/v1/workspaces/%s/members/%s" % (wid, uid)
        self.problem(self.call("PATCH", path, token, {"role": "member"}), 409, "LAST_OWNER")
        self.problem(self.call("DELETE", path, token), 409, "LAST_OWNER")
        self.assertEqual(self.roles(token, wid), {uid: "owner", member["userId"]: "member"})
        self.ok(self.call("PATCH", "/api/v1/workspaces/" + wid, token, {"name": "Still mine"}))
        # With a second owner the first may step down.
        self.ok(self.call("PATCH", "/api/v1/workspaces/%s/members/%s" % (wid, member["userId"]), token,
                          {"role": "owner"}))
        self.assertEqual(self.ok(self.call("PATCH", path, token, {"role": "member"}))["role"], "member")
        mtoken = member["accessToken"]
        self.problem(self.call("DELETE", "/api/v1/workspaces/%s/members/%s" % (wid, member["userId"]), mtoken),
                     409, "LAST_OWNER")
        self.assertEqual(self.roles(mtoken, wid), {uid: "member", member["userId"]: "owner"})

    # --- invitations ---

    def test_invitation_creates_an_account_once(self):
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        email = unique_email("Invitee").replace("Invitee", "INVITEE")
        inv = self.invite(token, wid, email, "member")
        self.assertEqual(set(inv), {"id", "workspaceId", "email", "role", "invitedBy", "expiresAt", "createdAt",
                                    "token"})
        self.assertEqual((inv["email"], inv["role"], inv["invitedBy"]), (email.lower(), "member", owner["userId"]))
        lifetime = iso_seconds(inv["expiresAt"]) - iso_seconds(inv["createdAt"])
        self.assertAlmostEqual(lifetime, self.invitation_ttl_hours * 3600, delta=60)
        self.assertGreaterEqual(len(inv["token"]), 43)
        listed = self.pending(token, wid)
        self.assertEqual([i["id"] for i in listed], [inv["id"]])
        self.assertNotIn("token", listed[0])
        self.assertNotIn("tokenHash", listed[0])

        r = self.accept({"token": inv["token"], "password": PASSWORD, "name": "Ivy"})
        s = self.ok(r)
        for field in ("accessToken", "refreshToken", "expiresAt", "userId", "workspaceId", "role"):
            self.assertIn(field, s)
        self.assertEqual((s["workspaceId"], s["role"]), (wid, "member"))
        self.assertEqual(r.headers.get("cache-control"), "no-store")
        me = self.ok(self.call("GET", "/api/v1/auth/me", s["accessToken"]))
        self.assertEqual((me["email"], me["name"], me["workspaceId"]), (email.lower(), "Ivy", wid))
        # Single use: the second acceptance gets the same answer as an unknown token.
        again = self.problem(self.accept({"token": inv["token"], "password": PASSWORD}), 404, "INVITATION_NOT_FOUND")
        unknown = self.problem(self.accept({"token": "x" * 43, "password": PASSWORD}), 404, "INVITATION_NOT_FOUND")
        del again["requestId"], unknown["requestId"]
        self.assertEqual(again, unknown)
        self.assertEqual(self.pending(token, wid), [])
        self.assertEqual(len(self.members(token, wid)), 2)
        # The new account signs in like any other.
        self.ok(self.call("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD}))
        actions = self.audit_actions(wid)
        self.assertIn("invitation.create", actions)
        self.assertIn("invitation.accept", actions)
        # Neither the token nor its hash is stored in clear anywhere the API shows.
        self.assertNotIn(inv["token"], json.dumps(self.members(token, wid)))

    def test_parallel_acceptances_of_one_invitation_let_exactly_one_in(self):
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        inv = self.invite(token, wid, unique_email("racer"))
        statuses = []
        lock = threading.Lock()

        def race():
            r = self.accept({"token": inv["token"], "password": PASSWORD})
            with lock:
                statuses.append(r.status)

        threads = [threading.Thread(target=race) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(statuses.count(200), 1, statuses)
        # The losers lost to the single conditional UPDATE (404) or to the new account's unique e-mail (409).
        self.assertTrue(set(statuses) <= {200, 404, 409}, statuses)
        self.assertEqual(len(self.members(token, wid)), 2)

    def test_invitation_for_an_existing_account_needs_its_password(self):
        # An account without a workspace (registered) and one with its own workspace.
        email = unique_email("registered")
        self.ok(self.call("POST", "/api/v1/auth/register", body={"email": email, "password": PASSWORD}), 201)
        other_email, other = self.onboard()
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        for who, uid in ((email, None), (other_email, other["userId"])):
            inv = self.invite(token, wid, who, "member")
            self.problem(self.accept({"token": inv["token"], "password": "not the password 123"}), 401,
                         "invalid_credentials")
            s = self.ok(self.accept({"token": inv["token"], "password": PASSWORD}))
            self.assertEqual((s["workspaceId"], s["role"]), (wid, "member"))
            if uid:
                self.assertEqual(s["userId"], uid)
        self.assertEqual(len(self.members(token, wid)), 3)
        # The other workspace of the second account is still theirs.
        self.assertEqual(self.workspace(other["accessToken"], other["workspaceId"])["role"], "owner")

    def test_signed_in_user_accepts_and_a_wrong_session_is_refused(self):
        invitee_email, invitee = self.onboard()
        _, stranger = self.onboard()
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        inv = self.invite(token, wid, invitee_email, "owner")
        self.problem(self.accept({"token": inv["token"]}, stranger["accessToken"]), 403, "INVITATION_EMAIL_MISMATCH")
        self.assertEqual(len(self.members(token, wid)), 1)
        s = self.ok(self.accept({"token": inv["token"]}, invitee["accessToken"]))
        self.assertEqual((s["userId"], s["workspaceId"], s["role"]), (invitee["userId"], wid, "owner"))
        # The new session is for the invited workspace, with the invited role.
        self.ok(self.call("PATCH", "/api/v1/workspaces/" + wid, s["accessToken"], {"name": "Co-owned"}))
        self.problem(self.accept({"token": inv["token"]}, invitee["accessToken"]), 404, "INVITATION_NOT_FOUND")
        # The stranger's own session is unharmed.
        self.ok(self.call("GET", "/api/v1/auth/me", stranger["accessToken"]))

    def test_already_a_member(self):
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        email = unique_email("twice")
        first = self.invite(token, wid, email)
        second = self.invite(token, wid, email)
        self.ok(self.accept({"token": first["token"], "password": PASSWORD}))
        self.problem(self.accept({"token": second["token"], "password": PASSWORD}), 409, "ALREADY_A_MEMBER")
        # Refused, not consumed: still pending, and inviting a member again is refused too.
        self.assertEqual([i["id"] for i in self.pending(token, wid)], [second["id"]])
        self.problem(self.call("POST", "/api/v1/workspaces/%s/invitations" % wid, token,
                               {"email": email, "role": "member"}), 409, "ALREADY_A_MEMBER")

    def expire(self, invitation_id):
        self.assertRegex(invitation_id, SAFE_ID)
        self.sql("UPDATE invitations SET expires_at = 1000 WHERE id = '%s'" % invitation_id)

    def test_expired_invitation_is_not_found(self):
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        email = unique_email("late")
        inv = self.invite(token, wid, email)
        self.expire(inv["id"])
        self.problem(self.accept({"token": inv["token"], "password": PASSWORD}), 404, "INVITATION_NOT_FOUND")
        self.assertEqual(self.pending(token, wid), [])
        self.assertEqual(len(self.members(token, wid)), 1)
        # No account was created for the address.
        self.problem(self.call("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD}), 401)

    def test_revoked_invitation_is_not_found(self):
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        inv = self.invite(token, wid, unique_email("revoked"))
        keep = self.invite(token, wid, unique_email("kept"))
        r = self.call("DELETE", "/api/v1/workspaces/%s/invitations/%s" % (wid, inv["id"]), token)
        self.assertEqual(r.status, 204, r.body)
        self.problem(self.accept({"token": inv["token"], "password": PASSWORD}), 404, "INVITATION_NOT_FOUND")
        self.problem(self.call("DELETE", "/api/v1/workspaces/%s/invitations/%s" % (wid, inv["id"]), token), 404,
                     "INVITATION_NOT_FOUND")
        self.assertEqual([i["id"] for i in self.pending(token, wid)], [keep["id"]])
        self.assertIn("invitation.revoke", self.audit_actions(wid))

    def test_invitation_bad_input_changes_nothing(self):
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        path = "/api/v1/workspaces/%s/invitations" % wid
        for body, code in (({"email": "not-an-email", "role": "member"}, None),
                           ({"email": unique_email(), "role": "admin"}, None),
                           ({"email": unique_email()}, None),
                           ({"role": "member"}, None),
                           ({"email": unique_email(), "role": "member", "token": "mine"}, "UNKNOWN_FIELDS"),
                           ({"email": unique_email(), "role": "member", "expiresAt": 9999999999}, "UNKNOWN_FIELDS")):
            self.problem(self.call("POST", path, token, body), 400, code)
        self.assertEqual(self.pending(token, wid), [])

        email = unique_email("weak")
        inv = self.invite(token, wid, email)
        self.problem(self.accept({}), 400)
        self.problem(self.accept({"token": inv["token"]}), 400)  # neither a session nor a password
        self.problem(self.accept({"token": inv["token"], "password": PASSWORD, "role": "owner"}), 400,
                     "UNKNOWN_FIELDS")
        weak = self.problem(self.accept({"token": inv["token"], "password": "password1234"}), 400)
        self.assertEqual(weak["errors"][0]["field"], "password")
        self.problem(self.accept({"token": inv["token"]}, "not.a.jwt"), 401)
        # Still usable after every refusal, and with the invited role only.
        s = self.ok(self.accept({"token": inv["token"], "password": PASSWORD}))
        self.assertEqual(s["role"], "member")

    def test_only_owners_manage_invitations(self):
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        inv = self.invite(token, wid, unique_email("pending"))
        _, member = self.join(token, wid, "member")
        mtoken = member["accessToken"]
        path = "/api/v1/workspaces/%s/invitations" % wid
        self.problem(self.call("POST", path, mtoken, {"email": unique_email(), "role": "owner"}), 403)
        self.problem(self.call("POST", path, mtoken, {"email": unique_email(), "role": "member"}), 403)
        self.problem(self.call("GET", path, mtoken), 403)
        self.problem(self.call("DELETE", path + "/" + inv["id"], mtoken), 403)
        self.assertEqual([i["id"] for i in self.pending(token, wid)], [inv["id"]])

    # --- isolation and platform admins ---

    def test_another_workspace_is_invisible_and_untouched(self):
        _, attacker = self.onboard()
        atoken = attacker["accessToken"]
        _, victim = self.onboard()
        wid, vtoken = victim["workspaceId"], victim["accessToken"]
        _, member = self.join(vtoken, wid, "member")
        inv = self.invite(vtoken, wid, unique_email("victim-invitee"))
        before = (self.workspace(vtoken, wid), self.members(vtoken, wid), self.pending(vtoken, wid))
        base = "/api/v1/workspaces/" + wid
        calls = [
            ("GET", base, None),
            ("PATCH", base, {"name": "Pwned"}),
            ("DELETE", base, None),
            ("GET", base + "/members", None),
            ("PATCH", base + "/members/" + member["userId"], {"role": "owner"}),
            ("PATCH", base + "/members/" + attacker["userId"], {"role": "owner"}),
            ("DELETE", base + "/members/" + member["userId"], None),
            ("DELETE", base + "/members/" + victim["userId"], None),
            ("GET", base + "/invitations", None),
            ("POST", base + "/invitations", {"email": unique_email("attacker"), "role": "owner"}),
            ("DELETE", base + "/invitations/" + inv["id"], None),
        ]
        for method, path, body in calls:
            p = self.problem(self.call(method, path, atoken, body), 404)
            self.assertEqual(p["detail"], "The workspace does not exist.", (method, path))
        # A workspace that does not exist looks exactly the same.
        self.problem(self.call("GET", "/api/v1/workspaces/wks_doesnotexist", atoken), 404)
        self.assertEqual((self.workspace(vtoken, wid), self.members(vtoken, wid), self.pending(vtoken, wid)), before)
        # The attacker's own invitation cannot be revoked through the victim's workspace either.
        own = self.invite(atoken, attacker["workspaceId"], unique_email("own"))
        self.problem(self.call("DELETE", "/api/v1/workspaces/%s/invitations/%s" % (attacker["workspaceId"], inv["id"]),
                               atoken), 404, "INVITATION_NOT_FOUND")
        self.assertEqual(len(self.pending(vtoken, wid)), 1)
        self.assertEqual(len(self.pending(atoken, attacker["workspaceId"])), 1)
        self.assertNotEqual(own["id"], inv["id"])

    def test_platform_admin_acts_as_an_owner_of_any_existing_workspace(self):
        admin_email, admin = self.onboard()
        self.grant_admin(admin_email)
        atoken = admin["accessToken"]
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]
        self.assertEqual(self.workspace(atoken, wid)["role"], "admin")
        self.assertEqual(self.ok(self.call("PATCH", "/api/v1/workspaces/" + wid, atoken, {"name": "Support fix"}))["name"],
                         "Support fix")
        self.assertEqual(len(self.members(atoken, wid)), 1)
        inv = self.invite(atoken, wid, unique_email("by-admin"), "owner")
        self.assertEqual(inv["invitedBy"], admin["userId"])
        self.assertEqual(len(self.pending(token, wid)), 1)
        # The admin is still not a member, and a missing workspace is still 404.
        self.assertEqual(len(self.members(token, wid)), 1)
        self.problem(self.call("GET", "/api/v1/workspaces/wks_doesnotexist", atoken), 404)
        self.problem(self.call("PATCH", "/api/v1/workspaces/wks_doesnotexist", atoken, {"name": "x"}), 404)

    def test_api_key_acts_with_its_own_role(self):
        _, owner = self.onboard()
        wid, token = owner["workspaceId"], owner["accessToken"]

        def key(role):
            r = subprocess.run([STUDIO_BIN, "admin", "create-api-key", "--workspace", wid, "--name", role,
                                "--role", role], env=dict(self.studio.env), capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout.strip()

        owner_key, service_key = key("owner"), key("service")
        self.assertEqual(self.workspace(owner_key, wid)["role"], "owner")
        self.ok(self.call("PATCH", "/api/v1/workspaces/" + wid, owner_key, {"name": "By key"}))
        self.assertEqual(len(self.members(owner_key, wid)), 1)
        self.assertEqual(self.workspace(service_key, wid)["role"], "service")
        self.problem(self.call("PATCH", "/api/v1/workspaces/" + wid, service_key, {"name": "No"}), 403)
        # Session-only routes and accepting invitations are for people.
        self.problem(self.call("DELETE", "/api/v1/workspaces/" + wid, owner_key), 403, "API_KEY_NOT_ALLOWED")
        inv = self.invite(token, wid, unique_email("keyed"))
        self.problem(self.accept({"token": inv["token"]}, owner_key), 403, "API_KEY_NOT_ALLOWED")
        self.assertEqual(self.workspace(token, wid)["name"], "By key")


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class WorkspaceFlowsOnPostgres(OnPostgres, WorkspaceFlows):
    pg_prefix = "studio_ws_"
    # The lifetime is configurable; this half of the suite checks a non-default one.
    pg_extra_env = {"STUDIO_INVITATION_TTL": "36h"}
    invitation_ttl_hours = 36

    def sql(self, statement):
        r = subprocess.run(["psql", "-q", "-At", "-F", "\t", self.db_url, "-c", statement], capture_output=True,
                           text=True, check=True)
        return [line.split("\t") for line in r.stdout.splitlines() if line]


if __name__ == "__main__":
    unittest.main()
