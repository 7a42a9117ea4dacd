"""Retries and the dead-letter queue over HTTP, on SQLite and (when configured) PostgreSQL. The
server embeds through the fake OpenAI-compatible API (tests/fakes/fake_openai.py), scripted to
refuse every request that carries a poisoned document: such a document fails on every attempt,
reaches the DLQ after maxAttempts with growing delays, and comes back from it by retry once the
fault is gone; other workspaces' documents go through meanwhile."""

import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.request
import uuid

from harness import OnPostgres, Studio
import kb
from kb import Client

PG_URL = os.environ.get("STUDIO_TEST_PG_URL")
FAKES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes")
OPERATOR_KEY = "operator-" + uuid.uuid4().hex
POISON_FAULT = {"path": "/v1/embeddings", "match": "POISON", "status": 400, "count": -1,
                "message": "This input is refused by the test."}


class DeadLetters(unittest.TestCase):
    extra_env = {}

    @classmethod
    def setUpClass(cls):
        kb.require_models(cls)  # the tokenizer still comes from the local model files
        cls.fake = subprocess.Popen([sys.executable, os.path.join(FAKES, "fake_openai.py"), "--exit-on-eof"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        cls.fake_url = "http://127.0.0.1:%s" % cls.fake.stdout.readline().strip()
        env = {"STUDIO_EMBEDDER": "openai", "OPENAI_API_KEY": "sk-test-key", "OPENAI_BASE_URL": cls.fake_url,
               "STUDIO_JOB_MAX_ATTEMPTS": "3", "STUDIO_OPERATOR_KEY": OPERATOR_KEY, "STUDIO_WORKERS": "2"}
        env.update(cls.extra_env)
        cls.studio = Studio(env=env).__enter__()
        cls.a = Client.onboard(cls.studio, "Poisoned")
        cls.b = Client.onboard(cls.studio, "Healthy")

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)
        cls.fake.stdin.close()
        cls.fake.wait(10)

    def fake_control(self, path, body=None):
        req = urllib.request.Request(self.fake_url + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def operator(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + OPERATOR_KEY}
        raw = None
        if body is not None:
            raw = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return self.studio.request(method, path, body=raw, headers=headers)

    def poisoned(self, n):
        """n documents of workspace A that fail on every attempt while the fault is scripted."""
        return [self.a.add_text("POISON %s: this document cannot be embedded." % uuid.uuid4().hex) for _ in range(n)]

    def test_dead_letter_lifecycle(self):
        self.fake_control("/_fake/reset")
        self.fake_control("/_fake/faults", {"faults": [POISON_FAULT]})
        bad = self.poisoned(3)
        good = self.b.add_text("Healthy workspace document about store opening hours.")

        # Workspace B is not held up by A's failing jobs.
        self.assertEqual(self.b.wait_done(good["document"]["id"], timeout=30)["status"], "ready")

        jobs = [self.a.wait_job(d["jobId"], timeout=60) for d in bad]
        for job in jobs:
            self.assertEqual(job["status"], "dead", job)
            self.assertEqual(job["attempts"], 3)
            self.assertEqual(len(job["errors"]), 3)
            self.assertIn("refused by the test", job["lastError"])
            # Equal-jitter backoff from 2 s: the 1st delay is 1..2 s, the 2nd 2..4 s.
            at = [e["at"] for e in job["errors"]]
            first, second = at[1] - at[0], at[2] - at[1]
            self.assertGreaterEqual(first, 900, at)
            self.assertGreaterEqual(second, 1900, at)
            self.assertGreaterEqual(second, first * 0.95, at)
        for d in bad:
            doc = self.a.document(d["document"]["id"]).json()
            self.assertEqual(doc["status"], "failed")
            self.assertEqual(doc["error"]["code"], "INGESTION_FAILED")

        # The owner sees the workspace's dead jobs; the other workspace does not.
        mine = self.a.call("GET", "/api/v1/jobs?status=dead").json()["items"]
        self.assertTrue({d["jobId"] for d in bad} <= {j["id"] for j in mine})
        self.assertEqual(self.b.call("GET", "/api/v1/jobs?status=dead").json()["items"], [])

        # The platform DLQ: operator key (or a platform admin) only.
        listing = self.operator("GET", "/api/v1/admin/dlq?queue=ingest")
        self.assertEqual(listing.status, 200, listing.body)
        self.assertTrue({d["jobId"] for d in bad} <= {j["id"] for j in listing.json()["items"]})
        stats = self.operator("GET", "/api/v1/admin/dlq/stats").json()
        self.assertGreaterEqual(stats["total"], 3)
        self.assertIn(self.a.workspace_id, [g["key"] for g in stats["byWorkspace"]])
        self.assertNotIn(self.b.workspace_id, [g["key"] for g in stats["byWorkspace"]])
        inspect = self.operator("GET", "/api/v1/admin/dlq/" + bad[0]["jobId"])
        self.assertEqual(inspect.status, 200, inspect.body)
        self.assertEqual(inspect.json()["workspaceId"], self.a.workspace_id)
        self.assertEqual(self.operator("GET", "/api/v1/admin/dlq/" + good["jobId"]).status, 404)  # not dead
        self.assertEqual(self.a.call("GET", "/api/v1/admin/dlq").status, 403)  # an owner is no platform admin
        self.assertEqual(self.studio.request("GET", "/api/v1/admin/dlq").status, 401)
        self.assertEqual(self.studio.request("GET", "/api/v1/admin/dlq",
                                             headers={"Authorization": "Bearer wrong-" + OPERATOR_KEY}).status, 401)
        # The operator key is no workspace credential.
        self.assertEqual(self.operator("GET", "/api/v1/documents").status, 401)

        metrics = self.studio.request("GET", "/metrics", headers={"Authorization": "Bearer " + OPERATOR_KEY})
        text = metrics.body.decode()
        dlq = re.search(r'^job_dlq_size\{queue="ingest"\} (\d+)', text, re.M)
        self.assertIsNotNone(dlq, text[:2000])
        self.assertGreaterEqual(int(dlq.group(1)), 3)
        self.assertRegex(text, r'job_retries_total\{queue="ingest"\} [1-9]')
        self.assertRegex(text, r'document_ingestions_total\{outcome="dead"\} [1-9]')

        # The fault is fixed: one job retried by the operator, one by the workspace owner.
        self.fake_control("/_fake/reset")
        r = self.operator("POST", "/api/v1/admin/dlq/%s/retry" % bad[0]["jobId"])
        self.assertEqual(r.status, 200, r.body)
        r = self.a.call("POST", "/api/v1/jobs/%s/retry" % bad[1]["jobId"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.b.call("POST", "/api/v1/jobs/%s/retry" % bad[2]["jobId"]).status, 404)
        for d in bad[:2]:
            self.assertEqual(self.a.wait_done(d["document"]["id"], timeout=30, statuses=("ready",))["status"], "ready")
            job = self.a.wait_job(d["jobId"])
            self.assertEqual(job["status"], "completed")
            self.assertEqual(len(job["errors"]), 3)  # the history is kept
        self.assertEqual(self.operator("POST", "/api/v1/admin/dlq/%s/retry" % bad[0]["jobId"]).status, 409)

        # Purge what is left for the queue; the purged job is gone.
        purged = self.operator("DELETE", "/api/v1/admin/dlq?queue=ingest")
        self.assertEqual(purged.status, 200, purged.body)
        self.assertGreaterEqual(purged.json()["purged"], 1)
        self.assertEqual(self.operator("GET", "/api/v1/admin/dlq/" + bad[2]["jobId"]).status, 404)
        self.assertEqual(self.operator("GET", "/api/v1/admin/dlq/stats").json()["total"], 0)

    def test_retry_all(self):
        self.fake_control("/_fake/reset")
        self.fake_control("/_fake/faults", {"faults": [POISON_FAULT]})
        bad = self.poisoned(2)
        for d in bad:
            self.assertEqual(self.a.wait_job(d["jobId"], timeout=60)["status"], "dead")
        self.fake_control("/_fake/reset")
        r = self.operator("POST", "/api/v1/admin/dlq/retry-all", {"queue": "ingest"})
        self.assertEqual(r.status, 200, r.body)
        self.assertGreaterEqual(r.json()["retried"], 2)
        for d in bad:
            self.assertEqual(self.a.wait_done(d["document"]["id"], timeout=30, statuses=("ready",))["status"], "ready")
        self.assertEqual(self.operator("POST", "/api/v1/admin/dlq/retry-all", {"colour": "red"}).status, 400)


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class DeadLettersOnPostgres(OnPostgres, DeadLetters):
    pg_prefix = "studio_dlq_"
    pg_env_attr = "extra_env"


if __name__ == "__main__":
    unittest.main()
