"""`studio admin`: the operator commands (create-user, create-workspace, grant-admin,
create-api-key) run against the same database as a live `studio serve`, and their effect is
checked over HTTP. On SQLite and (when configured) on PostgreSQL."""

import json
import os
import re
import sqlite3
import subprocess
import unittest
import uuid

from harness import OnPostgres, STUDIO_BIN, Studio

PASSWORD = "correct horse battery staple 42!"
PG_URL = os.environ.get("STUDIO_TEST_PG_URL")


def unique_email():
    return "op-%s@example.com" % uuid.uuid4().hex[:10]


class AdminCli(unittest.TestCase):
    env = {}  # the database both the server and the CLI use (PostgreSQL subclass)

    @classmethod
    def setUpClass(cls):
        # Trusting loopback lets each login come from its own X-Forwarded-For address, so the
        # per-IP login limit never trips across the suite.
        cls.studio = Studio(env=dict(cls.env, STUDIO_TRUSTED_PROXIES="127.0.0.1")).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    # --- helpers -----------------------------------------------------------------------------

    def admin(self, *args, password=None, stdin=None):
        """Runs `studio admin ARGS` on the server's database. `password` goes into
        STUDIO_ADMIN_PASSWORD; `stdin` is fed to the process."""
        env = dict(os.environ)
        for name in ("DATABASE_URL", "STUDIO_ADMIN_PASSWORD"):
            env.pop(name, None)
        env.update({"STUDIO_DATA_DIR": self.studio.data_dir, "STUDIO_TEST_ROUTES": "true"})
        env.update(self.env)
        if password is not None:
            env["STUDIO_ADMIN_PASSWORD"] = password
        return subprocess.run([STUDIO_BIN, "admin", *args], env=env, input=stdin if stdin is not None else "",
                              capture_output=True, text=True, timeout=60)

    def assertOk(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def assertBadInput(self, r, *words):
        """Exit 2 with exactly one line on stderr naming what is wrong; nothing on stdout."""
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        for w in words:
            self.assertIn(w, lines[0])
        return lines[0]

    def create_user(self, email=None, *extra, password=PASSWORD):
        email = email or unique_email()
        out = self.assertOk(self.admin("create-user", "--email", email, *extra, password=password))
        self.assertRegex(out, r"^usr_[A-Za-z0-9]+\n$")
        return email, out.strip()

    def create_workspace(self, owner, slug=None):
        args = ["create-workspace", "--name", "Ops " + uuid.uuid4().hex[:6], "--owner", owner]
        if slug:
            args += ["--slug", slug]
        out = self.assertOk(self.admin(*args))
        m = re.fullmatch(r"(wks_[A-Za-z0-9]+) ([a-z0-9-]+)\n", out)
        self.assertIsNotNone(m, out)
        return m.group(1), m.group(2)

    def login(self, email, password=PASSWORD):
        headers = {"Content-Type": "application/json",
                   "X-Forwarded-For": "10.%d.%d.%d" % tuple(uuid.uuid4().bytes[:3])}
        return self.studio.request("POST", "/api/v1/auth/login",
                                   body=json.dumps({"email": email, "password": password}).encode(), headers=headers)

    def me(self, token):
        return self.studio.request("GET", "/api/v1/auth/me", headers={"Authorization": "Bearer " + token})

    def sql(self, query):
        """Rows of a query on the server's database, as lists of strings."""
        if "DATABASE_URL" in self.env:
            out = subprocess.run(["psql", "-At", "-F", "\t", self.env["DATABASE_URL"], "-c", query], check=True,
                                 capture_output=True, text=True).stdout
            return [line.split("\t") for line in out.splitlines()]
        with sqlite3.connect(os.path.join(self.studio.data_dir, "studio.db")) as db:
            return [["" if v is None else str(v) for v in row] for row in db.execute(query)]

    def database_dump(self):
        """Everything the database holds, as bytes, to search for a secret."""
        if "DATABASE_URL" in self.env:
            return subprocess.run(["pg_dump", "--data-only", self.env["DATABASE_URL"]], check=True,
                                  capture_output=True).stdout
        data = b""
        for suffix in ("", "-wal"):  # WAL mode: recent writes live in the -wal file
            path = os.path.join(self.studio.data_dir, "studio.db" + suffix)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    data += f.read()
        return data

    def user_count(self, email):
        return int(self.sql("SELECT count(*) FROM users WHERE email = '%s'" % email)[0][0])

    # --- tests -------------------------------------------------------------------------------

    def test_help_lists_the_commands_and_no_password_option(self):
        r = subprocess.run([STUDIO_BIN, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("admin", r.stdout)
        r = subprocess.run([STUDIO_BIN, "admin", "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for word in ("create-user", "create-workspace", "grant-admin", "create-api-key", "DATABASE_URL"):
            self.assertIn(word, r.stdout)
        r = subprocess.run([STUDIO_BIN, "admin", "create-user", "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--password-stdin", r.stdout)
        self.assertNotRegex(r.stdout, r"--password(?!-stdin)")

    def test_create_user_then_log_in_once_in_a_workspace(self):
        email, user_id = self.create_user(unique_email().upper(), "--name", "Olga Operator")
        email = email.lower()  # stored normalised
        # The password is right (403, not 401) but the account has no workspace yet.
        r = self.login(email)
        self.assertEqual(r.status, 403, r.body)
        self.assertEqual(r.json()["code"], "NO_WORKSPACE")
        self.assertEqual(self.login(email, "not the password at all 9").status, 401)

        ws_id, slug = self.create_workspace(email)
        r = self.login(email)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["workspaceId"], ws_id)
        self.assertEqual(r.json()["role"], "owner")
        me = self.me(r.json()["accessToken"]).json()
        self.assertEqual(me["userId"], user_id)
        self.assertEqual(me["name"], "Olga Operator")
        self.assertFalse(me["isAdmin"])
        self.assertEqual(me["workspaces"][0]["slug"], slug)

    def test_password_from_stdin(self):
        email = unique_email()
        r = self.admin("create-user", "--email", email, "--password-stdin", stdin=PASSWORD + "\nignored\n",
                       password="an env password is ignored when stdin is asked for 77")
        self.assertOk(r)
        self.create_workspace(email)
        self.assertEqual(self.login(email).status, 200)
        # Nothing to read: refused, nothing created.
        email = unique_email()
        self.assertBadInput(self.admin("create-user", "--email", email, "--password-stdin", stdin=""), "stdin")
        self.assertEqual(self.user_count(email), 0)

    def test_weak_or_missing_password_is_refused_and_nothing_is_created(self):
        email = unique_email()
        line = self.assertBadInput(self.admin("create-user", "--email", email, password="password1234"), "password")
        self.assertNotIn("password1234", line)
        self.assertBadInput(self.admin("create-user", "--email", email, password="short"), "password")
        self.assertBadInput(self.admin("create-user", "--email", email), "STUDIO_ADMIN_PASSWORD")
        self.assertEqual(self.user_count(email), 0)
        self.create_user(email)  # the address is still free

    def test_password_is_never_accepted_as_a_flag(self):
        email = unique_email()
        for args in (["--password", PASSWORD], ["--password=" + PASSWORD], ["-p", PASSWORD],
                     ["--password-stdin=" + PASSWORD]):
            r = self.admin("create-user", "--email", email, *args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertEqual(r.stdout, "")
            self.assertNotIn(PASSWORD, r.stderr)
        self.assertEqual(self.user_count(email), 0)

    def test_bad_user_input_exits_2(self):
        self.assertBadInput(self.admin("create-user", "--email", "not-an-email", password=PASSWORD), "e-mail")
        email, _ = self.create_user()
        self.assertBadInput(self.admin("create-user", "--email", email, password=PASSWORD), "already exists")
        r = self.admin("create-user", password=PASSWORD)  # --email is required
        self.assertEqual(r.returncode, 2)
        self.assertIn("--email", r.stderr)

    def test_create_workspace_checks_owner_and_slug(self):
        email, _ = self.create_user()
        slug = "ops-" + uuid.uuid4().hex[:8]
        ws_id, got = self.create_workspace(email, slug=slug)
        self.assertEqual(got, slug)
        before = self.sql("SELECT count(*) FROM workspaces")[0][0]
        self.assertBadInput(self.admin("create-workspace", "--name", "Other", "--slug", slug, "--owner", email),
                            "slug", slug)
        self.assertBadInput(self.admin("create-workspace", "--name", "Other", "--slug", "Bad Slug!", "--owner", email),
                            "slug")
        self.assertBadInput(self.admin("create-workspace", "--name", "Other", "--owner", unique_email()),
                            "No user")
        self.assertEqual(self.sql("SELECT count(*) FROM workspaces")[0][0], before)
        # A slug derived from the name.
        out = self.assertOk(self.admin("create-workspace", "--name", "Acme Widgets " + slug, "--owner", email))
        self.assertTrue(out.strip().endswith(" acme-widgets-" + slug), out)
        self.assertEqual(self.sql("SELECT role FROM memberships WHERE workspace_id = '%s'" % ws_id), [["owner"]])

    def test_grant_and_revoke_admin(self):
        email, user_id = self.create_user()
        self.create_workspace(email)
        before = self.login(email).json()["accessToken"]
        self.assertFalse(self.me(before).json()["isAdmin"])
        self.assertEqual(self.assertOk(self.admin("grant-admin", "--email", email)).strip(), user_id)
        self.assertTrue(self.me(self.login(email).json()["accessToken"]).json()["isAdmin"])
        self.assertTrue(self.me(before).json()["isAdmin"])  # read per request: existing sessions see it too
        self.assertOk(self.admin("grant-admin", "--email", email, "--revoke"))
        # Another process changed it; the server's account cache must not hide that.
        self.assertFalse(self.me(before).json()["isAdmin"])
        self.assertFalse(self.me(self.login(email).json()["accessToken"]).json()["isAdmin"])
        self.assertBadInput(self.admin("grant-admin", "--email", unique_email()), "No user")
        # --admin at creation.
        email, _ = self.create_user(None, "--admin")
        self.create_workspace(email)
        self.assertTrue(self.me(self.login(email).json()["accessToken"]).json()["isAdmin"])

    def test_create_api_key_prints_a_working_key_once_and_stores_only_its_hash(self):
        email, _ = self.create_user()
        ws_id, slug = self.create_workspace(email)
        for ref in (slug, ws_id):
            r = self.admin("create-api-key", "--workspace", ref, "--name", "ci", "--role", "agent",
                           "--scope", "workspace:read", "--scope", "usage:*")
            out = self.assertOk(r)
            self.assertRegex(out, r"^sk_\S+\n$")
            key = out.strip()
            m = re.search(r"created API key (key_\S+) \(prefix (\S+), role agent\) in workspace " + ws_id, r.stderr)
            self.assertIsNotNone(m, r.stderr)
            self.assertNotIn(key, r.stderr)
            self.assertIn(m.group(2), key)

            # Recognised: /auth/me refuses API keys with 403 (an unknown key would be 401).
            me = self.studio.request("GET", "/api/v1/auth/me", headers={"X-API-Key": key})
            self.assertEqual(me.status, 403, me.body)
            self.assertEqual(me.json()["code"], "API_KEY_NOT_ALLOWED")
            forged = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
            self.assertEqual(self.studio.request("GET", "/api/v1/auth/me", headers={"X-API-Key": forged}).status, 401)
            # When the workspace route is served (401 without credentials), the key reads its workspace.
            path = "/api/v1/workspaces/" + ws_id
            if self.studio.request("GET", path).status == 401:
                got = self.studio.request("GET", path, headers={"X-API-Key": key})
                self.assertEqual(got.status, 200, got.body)
                self.assertIn(ws_id, got.body.decode())

            rows = self.sql("SELECT role, scopes, created_by FROM api_keys WHERE id = '%s'" % m.group(1))
            self.assertEqual(len(rows), 1)
            self.assertEqual(rows[0][0], "agent")
            self.assertEqual(json.loads(rows[0][1]), ["workspace:read", "usage:*"])
            self.assertEqual(rows[0][2], "")  # created by no user
            self.assertNotIn(key.encode(), self.database_dump())

    def test_create_api_key_bad_input(self):
        email, _ = self.create_user()
        ws_id, _ = self.create_workspace(email)
        self.assertBadInput(self.admin("create-api-key", "--workspace", "no-such-ws", "--name", "ci"), "no-such-ws")
        self.assertBadInput(self.admin("create-api-key", "--workspace", ws_id, "--name", "ci", "--role", "root"),
                            "role")
        self.assertBadInput(self.admin("create-api-key", "--workspace", ws_id, "--name", "ci", "--scope", "BAD SCOPE"),
                            "scope")
        self.assertEqual(self.sql("SELECT count(*) FROM api_keys WHERE workspace_id = '%s'" % ws_id), [["0"]])

    def test_every_change_is_audited_without_an_actor(self):
        email, user_id = self.create_user()
        ws_id, _ = self.create_workspace(email)
        self.assertOk(self.admin("grant-admin", "--email", email))
        self.assertOk(self.admin("grant-admin", "--email", email, "--revoke"))
        self.assertOk(self.admin("create-api-key", "--workspace", ws_id, "--name", "ci"))
        rows = self.sql("SELECT action, coalesce(workspace_id, ''), coalesce(actor_id, ''), details FROM audit_log "
                        "WHERE user_agent = 'studio-admin-cli' AND (details LIKE '%%%s%%' OR workspace_id = '%s') "
                        "ORDER BY created_at_ms" % (user_id, ws_id))
        self.assertEqual([r[0] for r in rows],
                         ["user.create", "workspace.create", "user.admin_grant", "user.admin_revoke", "api_key.create"])
        for action, workspace, actor, _ in rows:
            self.assertEqual(actor, "", action)
            self.assertEqual(workspace, ws_id if action in ("workspace.create", "api_key.create") else "", action)

    def test_database_failure_exits_1(self):
        r = subprocess.run([STUDIO_BIN, "admin", "grant-admin", "--email", unique_email()],
                           env=dict(os.environ, DATABASE_URL="postgresql://nobody:hunter2pw@127.0.0.1:1/none"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertNotIn("hunter2pw", r.stderr + r.stdout)


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class AdminCliOnPostgres(OnPostgres, AdminCli):
    pg_prefix = "studio_admin_"


if __name__ == "__main__":
    unittest.main()
