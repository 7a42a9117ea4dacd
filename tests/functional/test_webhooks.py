"""Signed webhooks over HTTP, on SQLite and (when configured) PostgreSQL.

A tiny HTTP receiver on loopback records every delivery and answers each path with the statuses
scripted for it (then 200). The server's own workers ingest the documents and deliver the events,
exactly as in production: a ready document → document.ready, a document that fails for good →
document.failed, each signed with the workspace's secret (Studio-Signature: t=…,v1=HMAC-SHA256 of
"<t>.<body>") and validated against the WebhookEvent schema of docs/openapi.json. Failed deliveries
are retried with the same event id; a deleted endpoint gets nothing more; a workspace never gets
another workspace's events; the secret is shown once and never by GET."""

import hashlib
import hmac
import http.server
import json
import os
import threading
import time
import unittest
import uuid

import jsonschema

from harness import OnPostgres, Studio
import kb
from kb import Client
from test_openapi import format_checker, load_document, strict

PG_URL = os.environ.get("STUDIO_TEST_PG_URL")
DELIVERY_TIMEOUT = 90  # seconds: ingestion on an ASan build, then the delivery (and its retries)
WHITESPACE_ONLY = " \n\t \n"  # stored, then fails for good: no text to chunk (EMPTY_DOCUMENT)


class Delivery:
    def __init__(self, path, headers, body, at):
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body  # bytes, as received
        self.at = at

    def json(self):
        return json.loads(self.body)


class Receiver:
    """Records every POST; each path answers its scripted statuses in order, then 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = []
        self.script = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.deliveries.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                        body, time.time()))
                    statuses = receiver.script.get(self.path, [])
                    status = statuses.pop(0) if statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def at(self, path):
        with self.lock:
            return [d for d in self.deliveries if d.path == path]

    def all(self):
        with self.lock:
            return list(self.deliveries)

    def wait(self, path, count, timeout=DELIVERY_TIMEOUT):
        deadline = time.time() + timeout
        while len(self.at(path)) < count:
            if time.time() > deadline:
                raise AssertionError("%d deliveries to %s after %ss: %r" % (
                    len(self.at(path)), path, timeout, [d.body for d in self.at(path)]))
            time.sleep(0.05)
        return self.at(path)


def signature_ok(secret, delivery, tolerance=300):
    """The receiver's check: HMAC-SHA256(secret, "<t>.<raw body>") in constant time, t recent."""
    parts = dict(p.split("=", 1) for p in delivery.headers["studio-signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + delivery.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) <= tolerance


class Webhooks(unittest.TestCase):
    extra_env = {}

    @classmethod
    def setUpClass(cls):
        kb.require_models(cls)
        cls.receiver = Receiver()
        cls.studio = Studio(env=dict({"STUDIO_WORKERS": "2"}, **cls.extra_env)).__enter__()
        _, spec = load_document()
        cls.event_schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                            "components": {"schemas": strict(spec["components"]["schemas"])},
                            "$ref": "#/components/schemas/WebhookEvent"}

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)
        cls.receiver.close()

    # --- helpers -------------------------------------------------------------------------------

    def hook_path(self, name):
        return "/%s-%s" % (name, uuid.uuid4().hex[:10])

    def webhook_url(self, client):
        return "/api/v1/workspaces/%s/webhook" % client.workspace_id

    def configure(self, client, path, **extra):
        r = client.call("PUT", self.webhook_url(client), body=dict(extra, url=self.receiver.base + path))
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def settle(self, client, doc_id):
        """The document once ready or failed; a timeout fails with the document and its job's errors."""
        try:
            return client.wait_done(doc_id, timeout=DELIVERY_TIMEOUT)
        except AssertionError:
            self.fail("document not ready or failed in time: %s" % client.document(doc_id).body[:3000])

    def problem(self, r, status, code):
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.headers.get("content-type"), "application/problem+json")
        self.assertEqual(r.json()["code"], code, r.body)

    def check_event(self, delivery, secret, client, doc_id, event_type):
        """A delivery as a receiver must be able to trust it; returns its body."""
        event = delivery.json()
        validator = jsonschema.Draft202012Validator(self.event_schema, format_checker=format_checker())
        errors = list(validator.iter_errors(event))
        self.assertEqual(errors, [], event)
        self.assertEqual(delivery.headers.get("content-type"), "application/json")
        self.assertTrue(delivery.headers.get("user-agent", "").startswith("studio-webhooks/"), delivery.headers)
        self.assertEqual(delivery.headers.get("studio-event-id"), event["id"])
        self.assertTrue(event["id"].startswith("evt_"), event)
        self.assertTrue(signature_ok(secret, delivery), delivery.headers)
        self.assertEqual(event["type"], event_type)
        self.assertEqual(event["workspaceId"], client.workspace_id)
        self.assertEqual(event["document"]["id"], doc_id)
        return event

    # --- tests ---------------------------------------------------------------------------------

    def test_ready_and_failed_events_are_signed_and_stay_in_their_workspace(self):
        a = Client.onboard(self.studio, "Hooks A")
        b = Client.onboard(self.studio, "Hooks B")
        path_a, path_b = self.hook_path("a") + "?token=receiver-own-token", self.hook_path("b")
        hook_a = self.configure(a, path_a)
        self.assertTrue(hook_a["secret"].startswith("whsec_"), hook_a)
        self.assertEqual(hook_a["events"], ["document.ready", "document.failed"])
        hook_b = self.configure(b, path_b, events=["document.failed"])

        # A ready document.
        r = a.upload("refunds.md", b"# Refunds\n\nRefunds are possible within thirty days of purchase.\n",
                     "text/markdown")
        self.assertEqual(r.status, 202, r.body)
        ready_id = r.json()["document"]["id"]
        ready = self.settle(a, ready_id)
        self.assertEqual(ready["status"], "ready", ready)
        [delivery] = self.receiver.wait(path_a, 1)
        event = self.check_event(delivery, hook_a["secret"], a, ready_id, "document.ready")
        self.assertFalse(signature_ok(hook_b["secret"], delivery))
        self.assertEqual(event["document"]["status"], "ready")
        self.assertEqual(event["document"]["version"], ready["version"])
        self.assertEqual(event["document"]["chunkCount"], ready["chunkCount"])
        self.assertGreaterEqual(event["document"]["chunkCount"], 1)
        self.assertEqual(event["document"]["title"], ready["title"])
        self.assertIsNone(event["document"]["error"])

        # A document that fails for good (nothing to chunk).
        failed_id = a.add_text(WHITESPACE_ONLY)["document"]["id"]
        self.assertEqual(self.settle(a, failed_id)["status"], "failed")
        delivered = self.receiver.wait(path_a, 2)
        event = self.check_event(delivered[1], hook_a["secret"], a, failed_id, "document.failed")
        self.assertEqual(event["document"]["status"], "failed")
        self.assertEqual(event["document"]["chunkCount"], 0)
        self.assertEqual(event["document"]["error"]["code"], "EMPTY_DOCUMENT")
        self.assertNotEqual(event["id"], delivered[0].json()["id"])

        # B listens to failures only: its ready document sends nothing, its failed one does.
        b_ready = b.add_text("Workspace B's opening hours are nine to five.")["document"]["id"]
        self.assertEqual(self.settle(b, b_ready)["status"], "ready")
        b_failed = b.add_text(WHITESPACE_ONLY)["document"]["id"]
        self.assertEqual(self.settle(b, b_failed)["status"], "failed")
        [delivery] = self.receiver.wait(path_b, 1)
        self.check_event(delivery, hook_b["secret"], b, b_failed, "document.failed")
        time.sleep(1.5)  # time for anything wrongly enqueued to arrive
        self.assertEqual(len(self.receiver.at(path_b)), 1)
        # No workspace's event went anywhere but its own endpoint.
        for d in self.receiver.all():
            owner = d.json()["workspaceId"]
            if owner in (a.workspace_id, b.workspace_id):
                self.assertEqual(d.path, path_a if owner == a.workspace_id else path_b)

    def test_failed_deliveries_are_retried_with_the_same_event(self):
        c = Client.onboard(self.studio, "Hooks retry")
        path = self.hook_path("flaky") + "?token=never-logged"
        self.receiver.script[path] = [500, 500]
        hook = self.configure(c, path, events=["document.ready"])
        doc_id = c.add_text("Shipping takes three to five working days.")["document"]["id"]
        attempts = self.receiver.wait(path, 3)
        first = attempts[0].json()
        for d in attempts:
            self.check_event(d, hook["secret"], c, doc_id, "document.ready")
            self.assertEqual(d.body, attempts[0].body)  # the same bytes, the same event id
            self.assertEqual(d.headers["studio-event-id"], first["id"])
        # Backoff between attempts (equal jitter from 2 s: at least 1 s, then 2 s).
        self.assertGreaterEqual(attempts[1].at - attempts[0].at, 0.9)
        self.assertGreaterEqual(attempts[2].at - attempts[1].at, 1.9)
        time.sleep(2)
        self.assertEqual(len(self.receiver.at(path)), 3)  # the 200 completed it
        # Failures were logged by origin only: neither the receiver's query nor the secret.
        logs = "\n".join(self.studio.raw_lines())
        self.assertIn("webhook delivery failed", logs)
        self.assertNotIn("never-logged", logs)
        self.assertNotIn(hook["secret"], logs)

    def test_a_deleted_endpoint_gets_nothing_more(self):
        d = Client.onboard(self.studio, "Hooks deleted")
        path = self.hook_path("gone")
        self.receiver.script[path] = [503] * 10
        self.configure(d, path)
        d.add_text("Gift cards never expire.")
        self.receiver.wait(path, 1)
        self.assertEqual(d.call("DELETE", self.webhook_url(d)).status, 204)
        time.sleep(4.5)  # the retry (after 1–2 s) runs, finds no endpoint and completes silently
        self.assertEqual(len(self.receiver.at(path)), 1)

    def test_configuration(self):
        owner = Client.onboard(self.studio, "Hooks config")
        other = Client.onboard(self.studio, "Hooks other")
        url = self.webhook_url(owner)
        self.problem(owner.call("GET", url), 404, "NOT_FOUND")

        for bad in ({"url": "ftp://example.com/hook"}, {"url": "example.com/hook"},
                    {"url": "https://user:pass@example.com/hook"}, {"url": "https://example.com/" + "a" * 2100},
                    {"url": "https://exa mple.com/"}, {"url": 5}, {},
                    {"url": "https://example.com/h", "events": ["document.deleted"]},
                    {"url": "https://example.com/h", "events": []},
                    {"url": "https://example.com/h", "events": "document.ready"},
                    {"url": "https://example.com/h", "rotateSecret": "yes"}):
            with self.subTest(body=bad):
                r = owner.call("PUT", url, body=bad)
                self.problem(r, 400, "VALIDATION_FAILED")
                self.assertTrue(r.json()["errors"], r.body)
        r = owner.call("PUT", url, body={"url": "https://example.com/h", "secret": "whsec_mine"})
        self.problem(r, 400, "UNKNOWN_FIELDS")
        self.assertEqual(r.json()["errors"], [{"field": "secret", "message": "cannot be set"}])
        self.problem(owner.call("GET", url), 404, "NOT_FOUND")  # nothing was stored

        created = owner.call("PUT", url, body={"url": "https://hooks.example.com/in/path-token?x=1",
                                               "events": ["document.failed", "document.failed"]})
        self.assertEqual(created.status, 200, created.body)
        created = created.json()
        secret = created["secret"]
        self.assertTrue(secret.startswith("whsec_") and len(secret) > 40, created)
        self.assertEqual(created["events"], ["document.failed"])
        shown = owner.call("GET", url)
        self.assertEqual(shown.status, 200, shown.body)
        self.assertNotIn(secret.encode(), shown.body)
        self.assertEqual(shown.json(), {k: v for k, v in created.items() if k != "secret"})

        changed = owner.call("PUT", url, body={"url": "https://hooks.example.com/v2"}).json()
        self.assertNotIn("secret", changed)
        self.assertEqual(changed["url"], "https://hooks.example.com/v2")
        self.assertEqual(changed["events"], ["document.ready", "document.failed"])
        self.assertEqual(changed["createdAt"], created["createdAt"])
        rotated = owner.call("PUT", url, body={"url": "https://hooks.example.com/v2", "rotateSecret": True}).json()
        self.assertTrue(rotated["secret"].startswith("whsec_"))
        self.assertNotEqual(rotated["secret"], secret)
        self.assertNotIn(rotated["secret"].encode(), owner.call("GET", url).body)

        # Another workspace cannot see, change or remove it: 404, as for a workspace that does not exist.
        for method, body in (("GET", None), ("PUT", {"url": "https://evil.example.com/"}), ("DELETE", None)):
            self.problem(other.call(method, url, body=body), 404, "NOT_FOUND")
        self.assertEqual(owner.call("GET", url).json()["url"], "https://hooks.example.com/v2")

        # API keys: webhooks:read reads, webhooks:write writes.
        def key(scopes):
            r = owner.call("POST", "/api/v1/workspaces/%s/api-keys" % owner.workspace_id,
                           body={"name": "hooks", "role": "owner", "scopes": scopes})
            self.assertEqual(r.status, 201, r.body)
            return {"X-API-Key": r.json()["key"]}
        reader, writer = key(["webhooks:read"]), key(["webhooks:write"])
        r = self.studio.request("GET", url, headers=reader)
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn(b"whsec_", r.body)
        self.problem(self.studio.request("DELETE", url, headers=reader), 403, "INSUFFICIENT_SCOPE")
        r = self.studio.request("PUT", url, body=json.dumps({"url": "https://hooks.example.com/v3"}).encode(),
                                headers=dict(writer, **{"Content-Type": "application/json"}))
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn("secret", r.json())

        # Changes are audited by origin only (the path may carry the receiver's own token).
        r = owner.call("GET", "/api/v1/workspaces/%s/audit-logs?action=webhook.update" % owner.workspace_id)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(r.json()["items"]), 4)
        self.assertNotIn(b"path-token", r.body)
        self.assertNotIn(b"whsec_", r.body)

        self.assertEqual(owner.call("DELETE", url).status, 204)
        self.problem(owner.call("GET", url), 404, "NOT_FOUND")
        self.problem(owner.call("DELETE", url), 404, "NOT_FOUND")
        again = owner.call("PUT", url, body={"url": "https://hooks.example.com/again"}).json()
        self.assertTrue(again["secret"].startswith("whsec_"))  # a new endpoint, a new secret, shown once


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class WebhooksOnPostgres(OnPostgres, Webhooks):
    pg_prefix = "studio_hooks_"
    pg_env_attr = "extra_env"


if __name__ == "__main__":
    unittest.main()
