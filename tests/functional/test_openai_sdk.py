"""The official `openai` npm package (tests/sdk, pinned in package.json) against the real server's
OpenAI-compatible endpoints, authenticated with a workspace API key: models.list, a completion, a
streamed completion with usage, and the SDK's error classes for an unknown model and a bad key.
tests/sdk/openai_check.mjs makes the calls and prints a JSON summary; this suite asserts on it.
Node.js and `npm ci --prefix tests/sdk` are set up by scripts/install-deps.sh and
scripts/run-tests.sh: both are required here, not optional."""

import json
import os
import shutil
import subprocess
import unittest

from harness import Studio
import kb
from kb import Client

SDK_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk"))
CHECK = os.path.join(SDK_DIR, "openai_check.mjs")

SHIPPING = "We ship parcels to Belgium and the Netherlands within three working days."
HOURS = "Our help desk is open on weekdays from nine in the morning until five in the afternoon."


def pinned_version():
    with open(os.path.join(SDK_DIR, "package.json")) as f:
        return json.load(f)["dependencies"]["openai"]


class OpenAiSdk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        kb.require_models(cls)
        if shutil.which("node") is None:
            raise AssertionError("node is not installed: run scripts/install-deps.sh test")
        if not os.path.exists(os.path.join(SDK_DIR, "node_modules", "openai", "package.json")):
            raise AssertionError("the SDK is not installed: run npm ci --prefix tests/sdk (scripts/run-tests.sh does)")
        cls.studio = Studio().__enter__()
        try:
            cls.a = Client.onboard(cls.studio, "SDK A")
            cls.b = Client.onboard(cls.studio, "SDK B")
            cls.a_doc = cls.ready(cls.a, SHIPPING, "Shipping", "https://example.com/shipping")
            cls.b_doc = cls.ready(cls.b, HOURS, "Opening hours", "https://example.org/hours")
            cls.a_key = cls.api_key(cls.a)
            cls.b_key = cls.api_key(cls.b)
        except BaseException:
            cls.studio.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    @staticmethod
    def ready(client, text, title, url):
        created = client.add_text(text, title=title, url=url)
        doc = client.wait_done(created["document"]["id"])
        assert doc["status"] == "ready", doc
        return doc

    @staticmethod
    def api_key(client):
        r = client.call("POST", "/api/v1/workspaces/%s/api-keys" % client.workspace_id,
                        body={"name": "OpenAI SDK", "scopes": ["agent:chat"]})
        assert r.status == 201, r.body
        key = r.json()["key"]
        assert key.startswith("sk_"), key
        return key

    def check(self, key, question):
        """Runs the SDK script with this key; returns its JSON summary."""
        env = dict(os.environ, STUDIO_API_KEY=key)
        env.pop("OPENAI_API_KEY", None)
        env.pop("OPENAI_BASE_URL", None)
        try:
            r = subprocess.run(["node", CHECK, "--base-url", "http://127.0.0.1:%d/v1" % self.studio.port,
                                "--question", question], env=env, capture_output=True, text=True, timeout=150)
        except subprocess.TimeoutExpired:
            self.fail("openai_check.mjs did not finish; the server's last lines:\n" +
                      "\n".join(self.studio.raw_lines()[-20:]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def assertUsage(self, usage):
        self.assertIsInstance(usage, dict)
        for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
            self.assertIsInstance(usage[field], int, usage)
        self.assertEqual(usage["total_tokens"], usage["prompt_tokens"] + usage["completion_tokens"])

    def assertSdkError(self, result, cls, status, error_type, code):
        self.assertTrue(result["threw"], result)
        self.assertEqual(result["class"], cls, result)
        self.assertTrue(result["isApiError"], result)
        self.assertEqual(result["isNotFound"], cls == "NotFoundError", result)
        self.assertEqual(result["isAuthentication"], cls == "AuthenticationError", result)
        self.assertEqual(result["status"], status, result)
        self.assertEqual(result["type"], error_type, result)
        self.assertEqual(result["code"], code, result)

    def test_the_official_sdk_against_the_agent(self):
        s = self.check(self.a_key, "Do you ship to Belgium?")
        self.assertEqual(s["sdkVersion"], pinned_version())

        self.assertNotIn("error", s["models"], s["models"])
        self.assertIn("customer-service", s["models"]["ids"])

        c = s["completion"]
        self.assertNotIn("error", c, c)
        self.assertEqual((c["object"], c["model"], c["role"], c["finishReason"]),
                         ("chat.completion", "customer-service", "assistant", "stop"))
        self.assertIn(SHIPPING.rstrip("."), c["content"])  # answered from the document…
        self.assertEqual([src["documentId"] for src in c["sources"]], [self.a_doc["id"]])  # …and cites it
        self.assertEqual(c["sources"][0]["url"], "https://example.com/shipping")
        self.assertUsage(c["usage"])

        st = s["stream"]
        self.assertNotIn("error", st, st)
        self.assertGreaterEqual(st["contentDeltas"], 3, st)  # streamed, not one blob
        self.assertTrue(st["content"])
        # The extractive model is deterministic: the stream adds up to the non-streamed answer.
        self.assertEqual(st["content"], c["content"])
        self.assertEqual((st["role"], st["finishReason"]), ("assistant", "stop"))
        self.assertEqual(len(st["ids"]), 1, st["ids"])  # every chunk of one completion shares its id
        self.assertUsage(st["usage"])
        self.assertEqual(st["usageChunkChoices"], 0)  # the usage chunk has no choices, as OpenAI's
        self.assertEqual([src["documentId"] for src in st["sources"]], [self.a_doc["id"]])

        self.assertSdkError(s["unknownModel"], "NotFoundError", 404, "not_found_error", "model_not_found")
        self.assertSdkError(s["unknownModelStream"], "NotFoundError", 404, "not_found_error", "model_not_found")
        self.assertSdkError(s["badKey"], "AuthenticationError", 401, "authentication_error", "invalid_api_key")
        self.assertSdkError(s["badKeyModels"], "AuthenticationError", 401, "authentication_error", "invalid_api_key")

        # Each call is stored as a conversation of the "openai" channel in the key's workspace.
        stored = self.a.call("GET", "/api/v1/conversations/" + c["conversationId"])
        self.assertEqual(stored.status, 200, stored.body)
        self.assertEqual(stored.json()["channel"], "openai")
        self.assertEqual(stored.json()["messages"][-1]["content"], c["content"])

    def test_a_workspace_key_never_reaches_another_workspace(self):
        # B asks A's question: B's agent knows nothing about shipping.
        s = self.check(self.b_key, "Do you ship to Belgium?")
        self.assertIn("customer-service", s["models"]["ids"])
        for answer in (s["completion"], s["stream"]):
            self.assertNotIn("error", answer, answer)
            self.assertNotIn("Belgium", answer["content"])
            self.assertNotIn("three working days", answer["content"])
            self.assertNotIn(self.a_doc["id"], json.dumps(answer["sources"]))
        self.assertEqual(s["stream"]["content"], s["completion"]["content"])
        # The call was stored in B's workspace, where A does not see it.
        self.assertEqual(self.b.call("GET", "/api/v1/conversations/" + s["completion"]["conversationId"]).status, 200)
        a_conversations = self.a.call("GET", "/api/v1/conversations?limit=100").json()["data"]
        self.assertNotIn(s["completion"]["conversationId"], [c["id"] for c in a_conversations])

        # B's own documents answer B's questions through the same SDK.
        own = self.check(self.b_key, "When is the help desk open?")
        self.assertIn("help desk is open on weekdays", own["completion"]["content"])
        self.assertEqual([src["documentId"] for src in own["completion"]["sources"]], [self.b_doc["id"]])
        self.assertNotIn(self.a_doc["id"], json.dumps(own))


if __name__ == "__main__":
    unittest.main()
