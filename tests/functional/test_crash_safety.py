"""Crash safety of ingestion, on SQLite and (when configured) PostgreSQL: documents are submitted
while the server is killed with SIGKILL at random moments, several times, and restarted on the
same data. Afterwards every acknowledged document must be fully indexed exactly once: ready, its
job completed, each chunk stored once (checked in the database itself), found by search, and no
document stored twice although interrupted submissions were retried (with their Idempotency-Key,
as a client should)."""

import http.client
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import unittest
import uuid

from harness import Studio, create_pg_database, drop_pg_database
import kb
from kb import Client

PG_URL = os.environ.get("STUDIO_TEST_PG_URL")
WORDS = ("customer order refund delivery parcel invoice account password warranty return exchange "
         "shipping address payment card voucher discount store opening hours support ticket product "
         "manual battery charger screen repair replacement subscription cancel renew upgrade plan").split()


def document_text(rng, marker):
    words = [rng.choice(WORDS) for _ in range(400)]
    for i in range(0, len(words), 50):
        words.insert(i, marker)
    paragraphs = [" ".join(words[i:i + 80]) + "." for i in range(0, len(words), 80)]
    return "\n\n".join(paragraphs)


class CrashSafety(unittest.TestCase):
    documents = 40
    kills = 4
    extra_env = {}

    def setUp(self):
        kb.require_models(self)
        self.seed = int(os.environ.get("STUDIO_CRASH_SEED", random.randrange(1 << 30)))
        print("\ncrash-safety seed %d (STUDIO_CRASH_SEED to repeat)" % self.seed)
        self.rng = random.Random(self.seed)
        self.data_dir = None
        self.server = None
        self.lock = threading.Lock()

    def tearDown(self):
        if self.server:
            self.server.stop()
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def start(self):
        env = {"STUDIO_WORKERS": "2", "STUDIO_JOB_LEASE": "2s"}
        env.update(self.extra_env)
        s = Studio(env=env)
        if self.data_dir is None:
            self.data_dir = s.data_dir
        else:
            shutil.rmtree(s.data_dir, ignore_errors=True)
            s.data_dir = self.data_dir
            s.env["STUDIO_DATA_DIR"] = self.data_dir
        s.start()
        with self.lock:
            self.server = s
        return s

    def kill(self):
        with self.lock:
            s = self.server
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait(30)
        s.proc.stdout.close()

    def post(self, path, token, body, key):
        """POSTs to whichever server is up, retrying through kills until it is acknowledged."""
        payload = json.dumps(body).encode()
        while True:
            with self.lock:
                port = self.server.port
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("POST", path, body=payload, headers={"Authorization": "Bearer " + token,
                                                               "Content-Type": "application/json",
                                                               "Idempotency-Key": key})
                r = c.getresponse()
                data = r.read()
                c.close()
                if r.status in (200, 202):
                    return json.loads(data)
                if r.status != 503:  # 503 while starting or draining: try again
                    raise AssertionError("%s answered %d: %r" % (path, r.status, data))
            except (OSError, http.client.HTTPException):
                pass  # the server was killed under us: retry on the next one
            time.sleep(0.05)

    def sql(self, statement):
        if "DATABASE_URL" in self.extra_env:
            out = subprocess.run(["psql", "-qAt", "-F", "\t", self.extra_env["DATABASE_URL"], "-c", statement],
                                 check=True, capture_output=True, text=True).stdout
            return [line.split("\t") for line in out.splitlines() if line]
        con = sqlite3.connect(os.path.join(self.data_dir, "studio.db"), timeout=30)
        try:
            return [[str(c) for c in row] for row in con.execute(statement)]
        finally:
            con.close()

    def test_every_acknowledged_document_is_indexed_exactly_once(self):
        self.start()
        owner = Client.onboard(self.server, "Crash")
        markers = ["mk%s" % uuid.uuid4().hex[:10] for _ in range(self.documents)]
        texts = [document_text(self.rng, m) for m in markers]
        acked = {}  # marker → (document id, job id)

        def submit():
            for marker, text in zip(markers, texts):
                d = self.post("/api/v1/documents", owner.token, {"text": text, "title": marker}, "key-" + marker)
                acked[marker] = (d["document"]["id"], d["jobId"])

        submitter = threading.Thread(target=submit)
        submitter.start()
        for _ in range(self.kills):
            time.sleep(self.rng.uniform(0.2, 1.2))
            self.kill()
            self.start()
        submitter.join(300)
        self.assertFalse(submitter.is_alive())
        # One more kill while the workers are busy with the backlog.
        time.sleep(self.rng.uniform(0.1, 0.5))
        self.kill()
        self.start()

        client = Client(self.server, owner.token, owner.workspace_id)
        self.assertEqual(len(acked), self.documents)
        for marker, (doc_id, job_id) in acked.items():
            doc = client.wait_done(doc_id, timeout=120)
            self.assertEqual(doc["status"], "ready", doc)
            self.assertEqual(doc["version"], 1)
            self.assertEqual(client.wait_job(job_id)["status"], "completed")

        ws = owner.workspace_id
        ids = sorted(d for d, _ in acked.values())
        self.assertEqual(len(set(ids)), self.documents)  # one document per submission
        listed = client.call("GET", "/api/v1/documents?limit=200").json()["items"]
        self.assertEqual(sorted(d["id"] for d in listed), ids)  # and nothing else (no duplicates)
        rows = self.sql("SELECT document_id, count(*), count(DISTINCT ordinal), min(ordinal), max(ordinal) "
                        "FROM chunks WHERE workspace_id = '%s' GROUP BY document_id" % ws)
        per_doc = {r[0]: [int(x) for x in r[1:]] for r in rows}
        self.assertEqual(sorted(per_doc), ids)
        for d in listed:
            count, distinct, first, last = per_doc[d["id"]]
            self.assertEqual(count, d["chunkCount"], d)
            self.assertEqual(distinct, count)  # no chunk stored twice
            self.assertEqual((first, last), (0, count - 1))
        pending = self.sql("SELECT count(*) FROM jobs WHERE workspace_id = '%s' AND status <> 'completed'" % ws)
        self.assertEqual(pending[0][0], "0")
        # Keyword and vector search find every document, each chunk at most once.
        for marker, (doc_id, _) in acked.items():
            hits = client.search(marker, mode="keyword", topK=5)
            self.assertEqual(hits[0]["documentId"], doc_id, marker)
        # (These texts share one small vocabulary, so the near-duplicate filter keeps few of them.)
        hits = client.search(" ".join(WORDS[:6]), mode="vector", topK=100)
        self.assertGreaterEqual(len(hits), 1)
        self.assertEqual(len({h["chunkId"] for h in hits}), len(hits))
        self.assertTrue({h["documentId"] for h in hits} <= set(ids))


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class CrashSafetyOnPostgres(CrashSafety):
    def setUp(self):
        if not PG_URL:
            raise unittest.SkipTest("STUDIO_TEST_PG_URL is not set")
        self.dbname, url = create_pg_database(PG_URL, "studio_crash_")
        self.extra_env = {"DATABASE_URL": url, "JWT_SECRET": "c" * 48}
        super().setUp()

    def tearDown(self):
        super().tearDown()
        drop_pg_database(PG_URL, self.dbname)


if __name__ == "__main__":
    unittest.main()
