"""The knowledge-base commands against the real binary and a running server's data: `studio ingest`
(files and directories, progress, summary, exit codes, re-runs), `studio dlq` (stats, list,
inspect, retry, purge) and `studio worker` (runs the jobs a server without workers enqueued, and
stops cleanly on SIGTERM)."""

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from harness import STUDIO_BIN, Studio, run
import kb
from kb import Client


class KnowledgeBaseCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        kb.require_models(cls)
        # No workers in the server: whatever runs the jobs here is the command under test.
        cls.studio = Studio(env={"STUDIO_WORKERS": "0"}).__enter__()
        cls.owner = Client.onboard(cls.studio, "Cli")
        cls.env = {"STUDIO_DATA_DIR": cls.studio.data_dir, "STUDIO_WORKERS": "2", "STUDIO_LOG_LEVEL": "warn"}

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    def studio_cmd(self, *args, timeout=120):
        return run(list(args), env=self.env, timeout=timeout)

    def test_ingest_a_directory_then_manage_the_dead_letter_queue(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "sub"))
            os.makedirs(os.path.join(d, ".git"))
            files = {"faq.md": b"# FAQ\n\nWe ship to Belgium and the Netherlands within three days.\n",
                     "sub/terms.txt": b"Terms: subscriptions renew every month unless cancelled.",
                     "sub/manual.pdf": kb.make_pdf([["The charger needs twelve volts."]]),
                     "photo.png": kb.PNG,
                     ".hidden.txt": b"never read",
                     ".git/config": b"never read either"}
            for name, data in files.items():
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)

            r = self.studio_cmd("ingest", d, "--workspace", self.owner.workspace_id)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # the PNG failed
            self.assertIn("4 files into workspace", r.stdout)
            self.assertIn("3 ready", r.stdout)
            self.assertIn("1 failed", r.stdout)
            self.assertRegex(r.stdout, r"failed .*photo\.png: UNSUPPORTED_FORMAT")
            self.assertIn("4/4 done", r.stderr)  # the progress line
            docs = self.owner.call("GET", "/api/v1/documents?limit=50").json()["items"]
            by_name = {doc["filename"]: doc for doc in docs}
            self.assertEqual(set(by_name), {"faq.md", "terms.txt", "manual.pdf", "photo.png"})
            self.assertEqual(by_name["manual.pdf"]["status"], "ready")
            self.assertEqual(self.owner.search("charger volts", mode="keyword")[0]["documentId"],
                             by_name["manual.pdf"]["id"])

            # A second run stores nothing new.
            r = self.studio_cmd("ingest", d, "--workspace", self.owner.workspace_id)
            self.assertIn("4 duplicate", r.stdout, r.stdout + r.stderr)
            self.assertEqual(len(self.owner.call("GET", "/api/v1/documents?limit=50").json()["items"]), 4)

        dead_job = by_name["photo.png"]["jobId"]
        stats = self.studio_cmd("dlq", "stats")
        self.assertEqual(stats.returncode, 0, stats.stderr)
        self.assertEqual(json.loads(stats.stdout)["total"], 1)
        listing = self.studio_cmd("dlq", "list", "--queue", "ingest")
        self.assertIn(dead_job, listing.stdout)
        self.assertIn("UNSUPPORTED_FORMAT", listing.stdout)
        other = self.studio_cmd("dlq", "list", "--workspace", "no-such-workspace")
        self.assertEqual(other.returncode, 2)
        inspect = self.studio_cmd("dlq", "inspect", dead_job)
        self.assertEqual(json.loads(inspect.stdout)["id"], dead_job)
        self.assertEqual(self.studio_cmd("dlq", "inspect", "job_missing").returncode, 2)
        retry = self.studio_cmd("dlq", "retry", dead_job, "--workspace", self.owner.workspace_id)
        self.assertEqual(json.loads(retry.stdout), {"retried": 1})
        self.assertEqual(self.owner.call("GET", "/api/v1/jobs/" + dead_job).json()["status"], "waiting")
        # Nothing runs jobs in this server: a worker does, and it fails again (permanently).
        self.run_worker_until(lambda: self.owner.call("GET", "/api/v1/jobs/" + dead_job).json()["status"] == "dead")
        purge = self.studio_cmd("dlq", "purge", "--queue", "ingest")
        self.assertEqual(json.loads(purge.stdout), {"purged": 1})
        self.assertEqual(json.loads(self.studio_cmd("dlq", "stats").stdout)["total"], 0)

    def run_worker_until(self, done, timeout=60):
        env = dict(os.environ, **self.env)
        env["STUDIO_LOG_LEVEL"] = "info"
        proc = subprocess.Popen([STUDIO_BIN, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        try:
            deadline = time.time() + timeout
            while not done():
                self.assertLess(time.time(), deadline, "the worker did not finish the job")
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn("worker stopped", out)

    def test_worker_runs_what_the_server_enqueued(self):
        created = self.owner.add_text("Worker test: the help desk opens at eight.")
        time.sleep(0.5)
        self.assertEqual(self.owner.document(created["document"]["id"]).json()["status"], "queued")
        self.run_worker_until(
            lambda: self.owner.document(created["document"]["id"]).json()["status"] == "ready")

    def test_bad_invocations(self):
        self.assertEqual(self.studio_cmd("ingest", "/nonexistent/path", "--workspace",
                                         self.owner.workspace_id).returncode, 2)
        self.assertEqual(self.studio_cmd("ingest", "/etc/hostname", "--workspace", "nope").returncode, 2)
        self.assertEqual(self.studio_cmd("dlq").returncode, 2)


if __name__ == "__main__":
    unittest.main()
