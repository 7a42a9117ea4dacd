"""`studio chat` against the real binary and a running server's data: one question (--message), a
conversation read from stdin (a follow-up that only makes sense after the first question), the
--json lines for scripts, the prompt on a terminal, and the errors (unknown workspace, bad usage).
The default (extractive) chat model answers from the documents deterministically."""

import json
import os
import pty
import subprocess
import tempfile
import time
import unittest

from harness import STUDIO_BIN, Studio, run
import kb
from kb import Client

RETURNS = "You can return any product within thirty days for a full refund."
SHIPPING = "We ship parcels to Belgium and the Netherlands within three working days."


class ChatCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        kb.require_models(cls)
        cls.studio = Studio().__enter__()
        try:
            cls.owner = Client.onboard(cls.studio, "Chat")
            cls.slug = cls.owner.call("GET", "/api/v1/workspaces/" + cls.owner.workspace_id).json()["slug"]
            cls.env = {"STUDIO_DATA_DIR": cls.studio.data_dir, "STUDIO_LOG_LEVEL": "warn"}
            # One document through `studio ingest`, one (with a URL) through the API.
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "returns.txt")
                with open(path, "w") as f:
                    f.write(RETURNS + "\n")
                r = run(["ingest", path, "--workspace", cls.slug], env=cls.env, timeout=120)
                assert r.returncode == 0 and "1 ready" in r.stdout, r.stdout + r.stderr
            created = cls.owner.add_text(SHIPPING, title="Shipping", url="https://example.com/shipping")
            assert cls.owner.wait_done(created["document"]["id"])["status"] == "ready"
        except BaseException:
            cls.studio.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    def chat(self, *args, stdin=None, timeout=120):
        e = dict(os.environ, **self.env)
        return subprocess.run([STUDIO_BIN, "chat", *args], env=e, input=stdin, capture_output=True, text=True,
                              timeout=timeout)

    def conversation(self, conversation_id):
        r = self.owner.call("GET", "/api/v1/conversations/" + conversation_id)
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def test_one_question_streams_the_answer_and_its_sources(self):
        r = self.chat("--workspace", self.slug, "--message", "Do you ship to Belgium?")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("We ship parcels to Belgium and the Netherlands within three working days", r.stdout)
        self.assertRegex(r.stdout, r"\n\[1\] Shipping — https://example\.com/shipping \(score 0\.\d{3}\)\n")
        self.assertNotIn("> ", r.stdout)  # stdin is not a terminal: no prompt
        self.assertEqual(r.stderr, "")
        # Also by workspace id; the text answer is the same one.
        by_id = self.chat("--workspace", self.owner.workspace_id, "--message", "Do you ship to Belgium?")
        self.assertEqual(by_id.returncode, 0, by_id.stderr)
        self.assertEqual(by_id.stdout, r.stdout)

    def test_json_turn(self):
        r = self.chat("--workspace", self.slug, "--message", "Can I return a product for a refund?", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 1, r.stdout)
        turn = json.loads(lines[0])
        for field in ("reply", "conversationId", "messageId", "sources", "confidence", "usage"):
            self.assertIn(field, turn)
        self.assertIn("thirty days for a full refund", turn["reply"])
        self.assertEqual([s["title"] for s in turn["sources"]], ["returns.txt"])
        self.assertGreater(turn["confidence"], 0)
        stored = self.conversation(turn["conversationId"])
        self.assertEqual(stored["channel"], "cli")
        self.assertEqual([m["role"] for m in stored["messages"]], ["user", "assistant"])
        self.assertEqual(stored["messages"][1]["id"], turn["messageId"])
        self.assertEqual(stored["messages"][1]["content"], turn["reply"])

    def test_stdin_is_one_conversation_with_follow_ups(self):
        follow_up = "how many days do I have?"
        # On its own, the follow-up matches nothing: the agent falls back and cites nothing.
        alone = json.loads(self.chat("--workspace", self.slug, "--message", follow_up, "--json").stdout)
        self.assertEqual(alone["sources"], [])
        self.assertTrue(alone["fallback"])

        r = self.chat("--workspace", self.slug, "--json",
                      stdin="Can I return a product for a refund?\n\n   \n" + follow_up + "\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        turns = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(len(turns), 2, r.stdout)  # blank lines are not questions
        self.assertEqual(turns[0]["conversationId"], turns[1]["conversationId"])
        # After the first question, the follow-up is answered from the returns policy.
        self.assertIn("thirty days", turns[1]["reply"])
        self.assertEqual([s["title"] for s in turns[1]["sources"]], ["returns.txt"])
        stored = self.conversation(turns[0]["conversationId"])
        self.assertEqual(stored["channel"], "cli")
        self.assertEqual(stored["title"], "Can I return a product for a refund?")
        self.assertEqual([(m["role"], m["content"]) for m in stored["messages"]],
                         [("user", "Can I return a product for a refund?"), ("assistant", turns[0]["reply"]),
                          ("user", follow_up), ("assistant", turns[1]["reply"])])

    def test_stdin_text_mode(self):
        r = self.chat("--workspace", self.slug, stdin="Do you ship to Belgium?\nCan I return a product for a refund?\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("within three working days", r.stdout)
        self.assertIn("thirty days for a full refund", r.stdout)
        self.assertIn("[1] Shipping — https://example.com/shipping (score ", r.stdout)
        self.assertIn("[1] returns.txt (score ", r.stdout)
        self.assertLess(r.stdout.index("three working days"), r.stdout.index("full refund"))
        # Both questions are one conversation of the "cli" channel.
        listed = self.owner.call("GET", "/api/v1/conversations?limit=100").json()["data"]
        mine = [c for c in listed if c["title"] == "Do you ship to Belgium?" and c["messageCount"] == 4]
        self.assertEqual(len(mine), 1, listed)
        self.assertEqual(mine[0]["channel"], "cli")

        empty = self.chat("--workspace", self.slug, stdin="")
        self.assertEqual((empty.returncode, empty.stdout), (0, ""), empty.stderr)

    def test_prompt_on_a_terminal(self):
        master, slave = pty.openpty()
        e = dict(os.environ, **self.env)
        proc = subprocess.Popen([STUDIO_BIN, "chat", "--workspace", self.slug], env=e, stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.close(slave)
        try:
            os.write(master, b"Do you ship to Belgium?\n")
            time.sleep(0.5)
            os.write(master, b"\x04")  # Ctrl-D at the start of a line: end of input
            out, err = proc.communicate(timeout=120)
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0, out + err)
        self.assertTrue(out.startswith("> We ship parcels to Belgium"), out)
        self.assertIn("Ctrl-D ends", err)

    def test_errors(self):
        r = self.chat("--workspace", "no-such-workspace", "--message", "hello")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no workspace", r.stderr)
        self.assertIn("no-such-workspace", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.chat("--message", "hello").returncode, 2)  # --workspace is required
        r = self.chat("--workspace", self.slug, "--message", "x" * 10001)  # longer than a message may be
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("studio chat: the question is longer than 10000 bytes", r.stderr)
        # A bad line is reported and skipped; the next one is still answered, and the run fails.
        e = dict(os.environ, **self.env)
        r = subprocess.run([STUDIO_BIN, "chat", "--workspace", self.slug, "--json"], env=e,
                           input=b"caf\xe9 latin-1\nDo you ship to Belgium?\n", capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(b"not valid UTF-8", r.stderr)
        turns = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(len(turns), 1, r.stdout)
        self.assertIn("Belgium", turns[0]["reply"])


if __name__ == "__main__":
    unittest.main()
