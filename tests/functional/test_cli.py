"""The command line: help, version, config validation, migrate, PostgreSQL mode."""

import os
import shutil
import subprocess
import tempfile
import unittest
import uuid

from harness import Studio, run


class Cli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="studio-cli-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_help_lists_subcommands(self):
        r = run(["--help"])
        self.assertEqual(r.returncode, 0)
        for word in ("serve", "migrate", "version"):
            self.assertIn(word, r.stdout)
        r = run(["serve", "--help"])
        self.assertEqual(r.returncode, 0)
        for word in ("--listen", "STUDIO_LISTEN", "DATABASE_URL", "--data-dir"):
            self.assertIn(word, r.stdout)

    def test_version(self):
        r = run(["version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^studio \d+\.\d+\.\d+ \(commit \S+\)\n$")

    def test_bad_setting_prints_one_line_and_exits_nonzero(self):
        cases = [
            ({"STUDIO_LISTEN": "nonsense"}, "STUDIO_LISTEN"),
            ({"STUDIO_SHUTDOWN_GRACE": "forever"}, "STUDIO_SHUTDOWN_GRACE"),
            ({"DATABASE_URL": "mysql://root:topsecretpw@db/x"}, "DATABASE_URL"),
            ({"STUDIO_DB_POOL_SIZE": "-3"}, "STUDIO_DB_POOL_SIZE"),
        ]
        for env, name in cases:
            env = dict(env, STUDIO_DATA_DIR=self.dir)
            r = run(["serve"], env=env)
            self.assertEqual(r.returncode, 2, (env, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(name, lines[0])
            self.assertNotIn("topsecretpw", r.stderr + r.stdout)

    def test_flag_beats_env_and_toml_file_is_read(self):
        cfg = os.path.join(self.dir, "studio.toml")
        with open(cfg, "w") as f:
            f.write('listen = "127.0.0.1:notaport"\n')
        r = run(["serve", "--config", cfg], env={"STUDIO_DATA_DIR": self.dir})
        self.assertEqual(r.returncode, 2)
        self.assertIn("listen", r.stderr)
        r = run(["serve", "--listen", "bad"], env={"STUDIO_LISTEN": "127.0.0.1:1", "STUDIO_DATA_DIR": self.dir})
        self.assertEqual(r.returncode, 2)
        self.assertIn("'bad'", r.stderr)
        with open(cfg, "w") as f:
            f.write('unknown_thing = 1\n')
        r = run(["serve", "--config", cfg], env={"STUDIO_DATA_DIR": self.dir})
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown_thing", r.stderr)

    def test_migrate_creates_the_database_and_is_idempotent(self):
        env = {"STUDIO_DATA_DIR": os.path.join(self.dir, "nested", "data")}
        r = run(["migrate"], env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("migration applied", r.stdout)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "nested", "data", "studio.db")))
        r = run(["migrate"], env=env)
        self.assertEqual(r.returncode, 0)
        self.assertNotIn("migration applied", r.stdout)
        self.assertIn("schema up to date", r.stdout)

    def test_port_in_use_is_a_clear_error(self):
        with Studio() as s:
            r = run(["serve"], env={"STUDIO_LISTEN": "127.0.0.1:%d" % s.port, "STUDIO_DATA_DIR": self.dir})
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot listen", r.stdout)


PG_URL = os.environ.get("STUDIO_TEST_PG_URL")


def psql(url, sql):
    subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", url, "-c", sql], check=True, capture_output=True)


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class PostgresMode(unittest.TestCase):
    def setUp(self):
        if not PG_URL:
            self.fail("STUDIO_REQUIRE_PG=1 but STUDIO_TEST_PG_URL is not set")
        self.dbname = "studio_func_" + uuid.uuid4().hex[:12]
        psql(PG_URL, "CREATE DATABASE " + self.dbname)
        self.url = PG_URL.rsplit("/", 1)[0] + "/" + self.dbname

    def tearDown(self):
        psql(PG_URL, "ALTER DATABASE %s ALLOW_CONNECTIONS true" % self.dbname)
        psql(PG_URL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'" % self.dbname)
        psql(PG_URL, "DROP DATABASE IF EXISTS " + self.dbname)

    def test_serves_on_postgres_and_health_turns_503_when_the_database_goes_away(self):
        with Studio(env={"DATABASE_URL": self.url, "STUDIO_DB_POOL_SIZE": "2", "JWT_SECRET": "j" * 40}) as s:
            body = s.request("GET", "/health").json()
            self.assertEqual(body["checks"]["database"]["backend"], "postgres")
            self.assertEqual(body["status"], "ok")
            self.assertEqual(s.request("GET", "/status").json()["mode"], "scale-out")
            # Make the database unreachable: refuse new connections and cut the open ones.
            psql(PG_URL, "ALTER DATABASE %s ALLOW_CONNECTIONS false" % self.dbname)
            psql(PG_URL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'" % self.dbname)
            r = s.request("GET", "/health", timeout=20)
            self.assertEqual(r.status, 503, r.body)
            self.assertEqual(r.json()["checks"]["database"]["status"], "down")
            self.assertEqual(s.request("GET", "/api/v1/system/health", timeout=20).status, 503)
            self.assertEqual(s.request("GET", "/status/live").status, 200)  # liveness is not dependency health
            # And back.
            psql(PG_URL, "ALTER DATABASE %s ALLOW_CONNECTIONS true" % self.dbname)
            r = s.request("GET", "/health", timeout=20)
            self.assertEqual(r.status, 200, r.body)

    def test_postgres_mode_requires_a_shared_jwt_secret(self):
        s = Studio(env={"DATABASE_URL": self.url})
        with self.assertRaises(RuntimeError) as ctx:
            s.start()
        self.assertIn("JWT_SECRET", str(ctx.exception))
        s.stop()
        r = run(["serve"], env={"DATABASE_URL": self.url, "JWT_SECRET": "too-short"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("JWT_SECRET", r.stderr)

    def test_migrate_on_postgres(self):
        r = run(["migrate"], env={"DATABASE_URL": self.url})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("migration applied", r.stdout)
        r = run(["migrate"], env={"DATABASE_URL": self.url})
        self.assertNotIn("migration applied", r.stdout)


if __name__ == "__main__":
    unittest.main()
