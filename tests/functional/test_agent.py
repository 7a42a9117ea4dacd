"""The customer-service agent over HTTP against the real binary, on SQLite and (when configured)
PostgreSQL. Two servers share the suite:

  - `studio` answers with a chat model behind the fake OpenAI-compatible API
    (tests/fakes/fake_openai.py), which records every request body it receives: the tests read
    exactly what the model was sent (system prompt, summary, context passages, history) and script
    what it answers (chat_reply) and how fast it streams (chat_token_delay_ms);
  - `extractive` has no LLM (the extractive model composes answers from the passages) and a
    monthly quota of two agent messages per free workspace.

Both retrieve with the local embedder (STUDIO_EMBEDDER=local), so retrieval is real.

Covered: multi-turn memory, the summary past the memory window, the session timeout (the last
activity moved back in the database), the token budget and the refusal of a message that cannot
fit, the score threshold and both fallback modes, citations, SSE streaming and client disconnects,
isolation between workspaces on every channel (chat, run, stream, widget, OpenAI-compatible),
settings, conversations, usage and metrics, the quota, the extractive model and /run."""

import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import unittest
import urllib.request
import uuid

from harness import Studio, create_pg_database, drop_pg_database
import kb
from kb import Client, PASSWORD

PG_URL = os.environ.get("STUDIO_TEST_PG_URL")
FAKES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes")
API_KEY = "sk-test-" + uuid.uuid4().hex[:12]
CHAT = "/api/v1/agents/customer-service/chat"
RUN = "/api/v1/agents/customer-service/run"
CONFIG = "/api/v1/agents/customer-service/config"
SUMMARY_HEADING = "Summary of the earlier conversation:\n"  # agent/prompt.hpp kSummaryHeading
SUMMARISER = "You maintain the memory of a customer-service conversation"  # agent/memory.cpp
CONTEXT_HEADING = "Context passages"  # llm::FormatContext
ORIGIN = "https://shop.example.com"
SECRET = "zebracorn" + uuid.uuid4().hex[:10]  # only workspace A's document contains it
VAULT = ("Vault access. The vault access phrase for approving a refund above five hundred euros is %s. "
         "Store managers must quote the vault access phrase when approving such a refund." % SECRET)

REFUNDS = ("Refund policy. Customers may return any product within thirty days of delivery for a full refund. "
           "Refunds are paid back to the original card within five business days. Shipping costs are not "
           "refunded unless the item arrived damaged.")
SHIPPING = ("Shipping. Orders above fifty euros ship free of charge. Parcels leave our warehouse in Lyon every "
            "weekday and usually arrive within two days anywhere in France.")
PASSWORDS = ("Account security. To reset a forgotten password open the sign-in page, choose reset password and "
             "follow the link we e-mail you; the link expires after one hour.")
DOCS = {"Refunds": REFUNDS, "Shipping": SHIPPING, "Passwords": PASSWORDS}

# Ten distinct policies (near-duplicates would be de-duplicated by the retriever), each said twice
# (~130 tokens): together far more than a 1024-token budget holds next to the prompt and history.
_POLICIES = {
    "Refunds": REFUNDS + " Keep the receipt and the original packaging; the refund desk asks for both "
               "before it pays anything back, and gift wrapping is never refunded.",
    "Warranty": "Warranty. Every appliance carries a two-year manufacturer warranty covering defects in "
                "materials and workmanship. Accidental damage, water damage and normal wear are excluded. "
                "To claim, register the serial number online and attach a photo of the defect.",
    "Gift cards": "Gift cards. Gift cards are sold from ten to five hundred euros, never expire and can "
                  "be combined with a discount code. A lost card can be blocked by phone if you still "
                  "have the purchase confirmation with its sixteen-digit number.",
    "Loyalty": "Loyalty programme. Members collect one point for every euro spent in our stores and "
               "online. Two hundred points turn into a ten euro voucher, and members get early access "
               "to seasonal sales and a birthday present every year.",
    "Exchanges": "Exchanges. Clothing and shoes may be exchanged for another size or colour within sixty "
                 "days, even without a receipt, as long as the labels are still attached. Swimwear and "
                 "underwear cannot be exchanged for hygiene reasons.",
    "International": "International orders. We deliver to forty countries outside France. Customs duties "
                     "and import taxes are collected by the courier on arrival, and delivery to Canada, "
                     "Japan or Australia usually takes between eight and twelve working days.",
    "Payments": "Payment methods. We accept Visa, Mastercard, American Express, PayPal and bank "
                "transfer. Paying in three instalments without fees is possible for baskets above three "
                "hundred euros; the first instalment is charged when the parcel leaves.",
    "Price match": "Price match. If a competitor sells the identical product cheaper within fourteen "
                   "days of your purchase, we refund the difference. Marketplace sellers, flash sales and "
                   "outlet stores are not eligible for price matching.",
    "Repairs": "Repairs. Our workshop in Grenoble repairs bicycles, coffee machines and vacuum cleaners, "
               "including models bought elsewhere. A quote is free and ready within three days; spare "
               "parts stay available for seven years after a model is discontinued.",
    "Recycling": "Recycling. Bring your old batteries, light bulbs and small electronics to any store "
                 "and drop them in the green boxes near the entrance. When we deliver a large appliance "
                 "our drivers take the old one away for free.",
}
BUDGET_DOCS = {title: text + " In short: " + text for title, text in _POLICIES.items()}


# --- helpers ----------------------------------------------------------------------------------

class SseClient:
    """A streaming request over a raw socket: every event is timestamped when its bytes arrive, so
    a test can tell events sent one by one from events buffered and sent together."""

    def __init__(self, port, path, body, headers, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        raw = json.dumps(body).encode()
        head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
            path, len(raw))
        for k, v in headers.items():
            head += "%s: %s\r\n" % (k, v)
        self.sock.sendall(head.encode() + b"\r\n" + raw)
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        self.text = b""  # de-chunked body not yet parsed into events

    def _recv(self):
        b = self.sock.recv(65536)
        if not b:
            raise EOFError("connection closed")
        self.buf += b

    def _dechunk(self):
        """Moves every complete chunk of self.buf to self.text; True when the last chunk was seen."""
        while b"\r\n" in self.buf:
            size_line, rest = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return False
            self.text += rest[:size]
            self.buf = rest[size + 2:]
            if size == 0:
                return True
        return False

    def events(self):
        """Yields (arrival time, event, data) until the stream ends; comments are skipped."""
        assert self.headers.get("transfer-encoding") == "chunked", self.headers
        while True:
            done = self._dechunk()
            while b"\n\n" in self.text:
                block, self.text = self.text.split(b"\n\n", 1)
                event, data = "message", []
                for line in block.decode().split("\n"):
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        value = line[5:]
                        data.append(value[1:] if value.startswith(" ") else value)
                if data:
                    yield time.monotonic(), event, "\n".join(data)
            if done:
                return
            self._recv()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def make_workspace(server, docs, name="Agent", **extra):
    """A new workspace whose documents are queued for ingestion (see wait_ingested)."""
    c = Client.onboard(server, name)
    c.docs = {title: c.add_text(text, title=title, **extra)["document"]["id"] for title, text in docs.items()}
    return c


def wait_ingested(c, attempts=3):
    """Waits until every document of `c` is ready. Under AddressSanitizer a forked extraction child
    can hang on an allocator lock another server thread held at fork time (see
    ingest/extract/isolate.cpp); it would only be killed by the 60 s wall timeout. A document still
    processing after 10 s (text takes milliseconds) has its server's children killed (by pid) and
    is ingested again."""
    for doc_id in c.docs.values():
        for attempt in range(attempts):
            deadline = time.time() + 10
            while True:
                doc = c.document(doc_id).json()
                if doc["status"] in ("ready", "failed") or time.time() > deadline:
                    break
                time.sleep(0.1)
            if doc["status"] == "ready":
                break
            if doc["status"] != "failed":
                children = subprocess.run(["pgrep", "-P", str(c.studio.proc.pid)], capture_output=True,
                                          text=True).stdout.split()
                for pid in children:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            r = c.call("POST", "/api/v1/documents/%s/reindex" % doc_id)
            assert r.status == 202, r.body
        else:
            logs = [ln for ln in c.studio.raw_lines() if '"msg":"request"' not in ln]
            raise AssertionError("document %s: %s\n%s" % (doc_id, json.dumps(doc), "\n".join(logs[-30:])))


def parse_metrics(text):
    """[(name, {label: value}, value)] of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if m:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


class Agent(unittest.TestCase):
    env = {"STUDIO_WORKERS": "2"}
    extractive_env = {"STUDIO_WORKERS": "1"}

    @classmethod
    def setUpClass(cls):
        kb.require_models(cls)  # local embedder and the cl100k tokenizer
        # Class cleanups run even when setUpClass fails half-way (tearDownClass would not).
        cls.fake = subprocess.Popen([sys.executable, os.path.join(FAKES, "fake_openai.py"), "--exit-on-eof",
                                     "--api-key", API_KEY],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        cls.addClassCleanup(stop_fake, cls.fake)
        cls.fake_url = "http://127.0.0.1:%s" % cls.fake.stdout.readline().strip()
        llm = {"STUDIO_CHAT_PROVIDER": "openai", "OPENAI_BASE_URL": cls.fake_url, "OPENAI_API_KEY": API_KEY,
               "STUDIO_EMBEDDER": "local", "STUDIO_LLM_TIMEOUT": "30s"}
        cls.studio = Studio(env=dict(cls.env, **llm)).__enter__()
        cls.addClassCleanup(cls.studio.__exit__, None, None, None)
        extractive = {"STUDIO_CHAT_PROVIDER": "extractive", "STUDIO_EMBEDDER": "local", "STUDIO_AGENT_QUOTA": "free=2"}
        cls.extractive = Studio(env=dict(cls.extractive_env, **extractive)).__enter__()
        cls.addClassCleanup(cls.extractive.__exit__, None, None, None)
        # Every workspace with documents is made and ingested up front, while the servers are
        # otherwise idle. Tests that change settings or count per workspace get their own.
        cls.shared = make_workspace(cls.studio, DOCS, "Shared")  # chat only, settings untouched
        cls.thresholds = make_workspace(cls.studio, DOCS, "Threshold")
        cls.citing = make_workspace(cls.studio, DOCS, "Citations")
        cls.listing = make_workspace(cls.studio, {"Refunds": REFUNDS}, "Listing")
        # Ten policies in one document, one chunk (passage) each.
        cls.budget = make_workspace(cls.studio, {"Policies": "\n\n".join(BUDGET_DOCS.values())}, "Budget",
                                    chunking={"strategy": "paragraph", "maxTokens": 160, "overlapTokens": 0})
        cls.vault = make_workspace(cls.studio, {"Vault": VAULT}, "Alpha")
        cls.quoting = make_workspace(cls.extractive, DOCS, "Extractive")
        for c in (cls.shared, cls.thresholds, cls.citing, cls.listing, cls.budget, cls.vault, cls.quoting):
            wait_ingested(c)

    def setUp(self):
        self.fake_control("/_fake/reset")

    # --- the fake ---

    def fake_control(self, path, body=None):
        req = urllib.request.Request(self.fake_url + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def fake_options(self, **options):
        self.fake_control("/_fake/options", options)

    def fake_entries(self):
        with urllib.request.urlopen(self.fake_url + "/_fake/requests", timeout=10) as r:
            return [e for e in json.loads(r.read())["requests"] if e["path"] == "/v1/chat/completions"]

    def sent(self):
        """Bodies of the chat requests that answered a turn (summarisation requests left out)."""
        return [e["body"] for e in self.fake_entries() if not is_summary(e["body"])]

    def summaries(self):
        return [e["body"] for e in self.fake_entries() if is_summary(e["body"])]

    def sent_for(self, user_message):
        """The one answering request whose last message is this user message."""
        found = [b for b in self.sent() if b["messages"][-1] == {"role": "user", "content": user_message}]
        self.assertEqual(len(found), 1, [b["messages"][-1] for b in self.sent()])
        return found[0]

    # --- workspaces ---

    def bare(self, server=None, **settings):
        """A workspace of its own without documents (with fallbackMode "model" every turn calls the
        model, told that nothing matched)."""
        c = Client.onboard(server or self.studio, "Bare")
        if settings:
            self.configure(c, **settings)
        return c

    def configure(self, c, **settings):
        r = c.call("PUT", CONFIG, body=settings)
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def chat(self, c, message, status=200, **extra):
        r = c.call("POST", CHAT, body=dict(extra, message=message))
        self.assertEqual(r.status, status, r.body)
        return r.json()

    def conversation(self, c, conversation_id):
        r = c.call("GET", "/api/v1/conversations/" + conversation_id)
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def join(self, owner, role):
        email = "%s-%s@example.com" % (role, uuid.uuid4().hex[:10])
        r = owner.call("POST", "/api/v1/workspaces/%s/invitations" % owner.workspace_id,
                       body={"email": email, "role": role})
        self.assertEqual(r.status, 201, r.body)
        r = owner.studio.request("POST", "/api/v1/invitations/accept",
                                 body=json.dumps({"token": r.json()["token"], "password": PASSWORD}),
                                 headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.body)
        return Client(owner.studio, r.json()["accessToken"], owner.workspace_id)

    def problem(self, r, status, code=None):
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.headers.get("content-type"), "application/problem+json", r.body)
        p = r.json()
        if code:
            self.assertEqual(p["code"], code, r.body)
        return p

    def max_cosine(self, c, question):
        hits = c.search(question, mode="hybrid", topK=20)
        return max((h["cosine"] or -1) for h in hits) if hits else -1

    # --- 1. multi-turn ----------------------------------------------------------------------------

    def test_follow_up_is_sent_with_the_history_in_order(self):
        c = self.shared
        q1, q2 = "How long do refunds take?", "And does that include shipping costs?"
        a1 = "Refunds are paid back to the original card within five business days [1]."
        self.fake_options(chat_reply=a1)
        first = self.chat(c, q1)
        self.assertEqual(first["reply"], a1)
        self.fake_options(chat_reply="No: shipping costs are not refunded unless the item arrived damaged [1].")
        second = self.chat(c, q2, conversationId=first["conversationId"])
        self.assertEqual(second["conversationId"], first["conversationId"])

        turn2 = self.sent_for(q2)["messages"]
        self.assertEqual(turn2[0]["role"], "system")
        self.assertIn("customer-service assistant", turn2[0]["content"])
        # After the leading system messages (prompt, context): exactly the history, then the question.
        dialogue = [m for m in turn2 if m["role"] != "system"]
        self.assertEqual(dialogue, [{"role": "user", "content": q1}, {"role": "assistant", "content": a1},
                                    {"role": "user", "content": q2}])
        roles = [m["role"] for m in turn2]
        self.assertEqual(roles[:roles.index("user")], ["system"] * roles.index("user"))  # systems first
        # Turn 1 had no history: just system messages and the question.
        self.assertEqual([m for m in self.sent_for(q1)["messages"] if m["role"] != "system"],
                         [{"role": "user", "content": q1}])
        # The follow-up is answered from the refunds document (retrieved with the history's help).
        self.assertEqual([s["documentId"] for s in second["sources"]], [c.docs["Refunds"]])

    # --- 2. summary past the window ---------------------------------------------------------------

    def test_messages_past_the_window_are_summarised_by_the_llm_and_stored(self):
        c = self.bare(fallbackMode="model")  # nothing to retrieve: every turn asks the model
        self.assertEqual(self.configure(c, memoryWindow=2)["memoryWindow"], 2)
        questions = ["How long do refunds take?", "Do you refund shipping costs?", "How do I reset my password?",
                     "When does the reset link expire?"]
        conversation_id = None
        for q in questions:  # the fake echoes: each answer is "Echo: <question>"
            extra = {"conversationId": conversation_id} if conversation_id else {}
            r = self.chat(c, q, **extra)
            conversation_id = r["conversationId"]

        # Turn 3 is the first with more than 2 earlier messages: turn 1's pair is folded by the LLM.
        summaries = self.summaries()
        self.assertEqual(len(summaries), 2, summaries)  # turns 3 and 4 each fold one pair
        first_fold = summaries[0]["messages"][-1]["content"]
        self.assertIn("Customer: " + questions[0], first_fold)
        self.assertIn("Agent: Echo: " + questions[0], first_fold)
        self.assertNotIn(questions[1], first_fold)
        llm_summary = "Echo: " + first_fold  # what the fake answered the summarisation request

        turn3 = self.sent_for(questions[2])["messages"]
        self.assertEqual(turn3[0]["role"], "system")
        self.assertIn("customer-service assistant", turn3[0]["content"])
        summary_msgs = [m for m in turn3 if m["content"].startswith(SUMMARY_HEADING)]
        self.assertEqual(len(summary_msgs), 1, turn3)
        self.assertEqual(summary_msgs[0], {"role": "system", "content": SUMMARY_HEADING + llm_summary})
        # Only the last 2 messages verbatim, then the new question.
        self.assertEqual([m for m in turn3 if m["role"] != "system"],
                         [{"role": "user", "content": questions[1]},
                          {"role": "assistant", "content": "Echo: " + questions[1]},
                          {"role": "user", "content": questions[2]}])
        # The summarisation request came before the answer of turn 3.
        order = [("summary" if is_summary(e["body"]) else e["body"]["messages"][-1]["content"])
                 for e in self.fake_entries()]
        self.assertEqual(order, [questions[0], questions[1], "summary", questions[2], "summary", questions[3]])

        # Turn 4 folds turn 2's pair into the running summary (the previous one is handed back).
        self.assertIn("Summary so far:\n" + llm_summary, summaries[1]["messages"][-1]["content"])
        turn4 = self.sent_for(questions[3])["messages"]
        self.assertEqual([m for m in turn4 if m["role"] != "system"],
                         [{"role": "user", "content": questions[2]},
                          {"role": "assistant", "content": "Echo: " + questions[2]},
                          {"role": "user", "content": questions[3]}])

        stored = self.conversation(c, conversation_id)
        self.assertEqual(stored["summary"], "Echo: " + summaries[1]["messages"][-1]["content"])
        self.assertEqual(stored["messageCount"], 8)
        self.assertEqual(len(stored["messages"]), 8)  # every message stays stored

    def test_an_idle_conversation_starts_a_fresh_context(self):
        # The session timeout is at least a minute; the conversation's last activity is moved back
        # in the database instead of waiting for it.
        c = self.bare(fallbackMode="model", memoryWindow=2)
        questions = ["How long do refunds take?", "Do you refund shipping costs?", "How do I reset my password?"]
        conversation_id = None
        for q in questions:
            extra = {"conversationId": conversation_id} if conversation_id else {}
            conversation_id = self.chat(c, q, **extra)["conversationId"]
        self.assertTrue(self.conversation(c, conversation_id)["summary"])  # turn 3 folded turn 1

        self.age_conversation(conversation_id, minutes=29)  # within the 30 minutes: same session
        q4 = "When does the reset link expire?"
        self.chat(c, q4, conversationId=conversation_id)
        turn4 = self.sent_for(q4)["messages"]
        self.assertEqual(len([m for m in turn4 if m["content"].startswith(SUMMARY_HEADING)]), 1)
        self.assertEqual([m["content"] for m in turn4 if m["role"] != "system"],
                         [questions[2], "Echo: " + questions[2], q4])

        self.age_conversation(conversation_id, minutes=31)
        q5 = "Can I pay in instalments?"
        r = self.chat(c, q5, conversationId=conversation_id)
        self.assertEqual(r["conversationId"], conversation_id)
        turn5 = self.sent_for(q5)["messages"]
        self.assertEqual([m for m in turn5 if m["role"] != "system"], [{"role": "user", "content": q5}])
        self.assertFalse([m for m in turn5 if m["content"].startswith(SUMMARY_HEADING)], turn5)
        stored = self.conversation(c, conversation_id)
        self.assertEqual(stored["summary"], "")
        self.assertEqual(stored["messageCount"], 10)  # the earlier session stays stored
        # The next turn continues the new session only.
        q6 = "And is there a fee?"
        self.chat(c, q6, conversationId=conversation_id)
        self.assertEqual([m["content"] for m in self.sent_for(q6)["messages"] if m["role"] != "system"],
                         [q5, "Echo: " + q5, q6])

    def age_conversation(self, conversation_id, minutes):
        """Moves the conversation's last activity `minutes` back (SQLite file or PostgreSQL)."""
        sql = ("UPDATE conversations SET updated_at_ms = updated_at_ms - %d WHERE id = '%s'"
               % (minutes * 60000, conversation_id))
        url = self.studio.env.get("DATABASE_URL")
        if url:
            subprocess.run(["psql", "-q", url, "-c", sql], check=True, capture_output=True)
        else:
            db = sqlite3.connect(os.path.join(self.studio.data_dir, "studio.db"), timeout=10)
            try:
                with db:
                    self.assertEqual(db.execute(sql).rowcount, 1)
            finally:
                db.close()

    # --- 3. the token budget ----------------------------------------------------------------------

    def test_the_context_budget_is_never_exceeded(self):
        c = self.budget
        top_k = len(BUDGET_DOCS)
        self.configure(c, contextBudget=1024, topK=top_k, scoreThreshold=0.0, maxTokens=256)
        # Every document is a candidate above the threshold: what is dropped is dropped for the budget.
        question = "How long does a refund take and do refunds include the shipping costs? " * 4
        hits = [h for h in c.search(question, mode="hybrid", topK=2 * top_k) if (h["cosine"] or -1) >= 0.0]
        self.assertGreaterEqual(len(hits), top_k)

        long_answer = ("Refunds are paid back to the original card within five business days after the inspection "
                       "of the returned product, and shipping costs are only refunded for damaged goods [1]. ") * 4
        self.fake_options(chat_reply=long_answer)
        conversation_id = None
        questions = []
        for turn in range(4):
            q = ("Turn %d: " % turn) + question
            questions.append(q)
            extra = {"conversationId": conversation_id} if conversation_id else {}
            r = self.chat(c, q, **extra)
            conversation_id = r["conversationId"]
            usage = r["usage"]
            self.assertEqual(usage["contextBudget"], 1024)
            self.assertGreater(usage["contextTokens"], 0)
            self.assertLessEqual(usage["contextTokens"], 1024, usage)
            self.assertGreater(usage["contextTokens"], 1024 // 2, usage)  # the budget is what limited it

            body = self.sent_for(q)
            context = [m["content"] for m in body["messages"] if m["content"].startswith(CONTEXT_HEADING)]
            self.assertEqual(len(context), 1, body["messages"])
            numbers = [int(n) for n in re.findall(r"^\[(\d+)\] ", context[0], re.M)]
            self.assertEqual(numbers, list(range(1, len(numbers) + 1)))
            self.assertGreaterEqual(len(numbers), 1)
            self.assertLess(len(numbers), top_k)  # fewer passages than topK: the rest did not fit
            # A sanity bound independent of the server's own count: 1024 tokens of English prose
            # are far below 6 characters a token (the material offered is much larger than this).
            self.assertLess(sum(len(m["content"]) for m in body["messages"]), 1024 * 6)
        # By turn 4 the oldest history no longer fits: the window tail is what the model saw.
        turn4 = self.sent_for(questions[3])["messages"]
        self.assertNotIn(questions[0], [m["content"] for m in turn4])
        self.assertIn(questions[2], [m["content"] for m in turn4])

        # A message that cannot fit with the system prompt is refused, and leaves nothing behind.
        before = self.conversation(c, conversation_id)["messageCount"]
        listed = c.call("GET", "/api/v1/conversations").json()["data"]
        too_long = "How long does a refund take for order %d? " * 220 % tuple(range(220))  # < 10000 bytes
        self.assertLess(len(too_long.encode()), 10000)
        for extra in ({"conversationId": conversation_id}, {}):
            r = c.call("POST", CHAT, body=dict(extra, message=too_long))
            self.problem(r, 422, "MESSAGE_TOO_LONG")
        self.assertEqual(self.conversation(c, conversation_id)["messageCount"], before)
        self.assertEqual(c.call("GET", "/api/v1/conversations").json()["data"], listed)
        self.assertEqual(len(self.sent()), 4)

    # --- 4. the score threshold -------------------------------------------------------------------

    def test_unrelated_question_gets_the_fallback_without_calling_the_model(self):
        c = self.thresholds
        question = "What is the capital of France?"
        self.assertLess(self.max_cosine(c, question), 0.3)  # below the default threshold
        fallback = "Sorry, our documents do not cover that. Please write to help@example.com."
        self.configure(c, fallbackMessage=fallback)
        self.fake_options(chat_reply="Paris [1].")
        r = self.chat(c, question)
        self.assertEqual(r["reply"], fallback)
        self.assertEqual(r["sources"], [])
        self.assertEqual(r["confidence"], 0)
        self.assertIs(r["fallback"], True)
        self.assertEqual(r["usage"]["contextTokens"], 0)
        self.assertEqual(self.fake_entries(), [])  # the model was never asked
        stored = self.conversation(c, r["conversationId"])["messages"]
        self.assertEqual([(m["role"], m["content"]) for m in stored], [("user", question), ("assistant", fallback)])

        # fallbackMode "model": the model answers, without passages, and its [1] cites nothing.
        self.configure(c, fallbackMode="model")
        r = self.chat(c, question)
        self.assertEqual(r["reply"], "Paris [1].")
        self.assertEqual(r["sources"], [])
        self.assertEqual(r["confidence"], 0)
        self.assertIs(r["fallback"], True)
        sent = self.sent()
        self.assertEqual(len(sent), 1)
        self.assertFalse([m for m in sent[0]["messages"] if CONTEXT_HEADING in m["content"]], sent[0])
        for text in DOCS.values():
            self.assertNotIn(text[:40], json.dumps(sent[0]))
        self.assertIn("Nothing in the company's documents matches", sent[0]["messages"][0]["content"])
        self.assertGreater(r["usage"]["contextTokens"], 0)

    # --- 5. citations -----------------------------------------------------------------------------

    def test_sources_are_exactly_the_cited_passages_that_were_given(self):
        c = self.citing
        self.configure(c, scoreThreshold=0.1)  # several passages are given; only one is cited
        self.fake_options(chat_reply="Refunds take five business days [1]. Ask about anything else [7].")
        r = self.chat(c, "How long do refunds take?")
        context = [m["content"] for m in self.sent()[0]["messages"] if m["content"].startswith(CONTEXT_HEADING)][0]
        given = re.findall(r"^\[(\d+)\] (.*)$", context, re.M)
        self.assertGreaterEqual(len(given), 2, context)  # unused passages exist
        self.assertLess(len(given), 7)  # [7] was never given
        self.assertEqual(given[0][1], "Refunds")
        self.assertEqual(len(r["sources"]), 1, r["sources"])
        source = r["sources"][0]
        self.assertEqual((source["n"], source["documentId"], source["title"]), (1, c.docs["Refunds"], "Refunds"))
        self.assertIn(source["snippet"][:30], REFUNDS)
        self.assertEqual(r["confidence"], round(source["score"], 3))
        self.assertGreater(r["confidence"], 0.3)
        self.assertIs(r["fallback"], False)
        stored = self.conversation(c, r["conversationId"])["messages"][1]
        self.assertEqual(stored["sources"], r["sources"])
        self.assertEqual(stored["confidence"], r["confidence"])

    # --- 6. streaming -----------------------------------------------------------------------------

    def read_stream(self, c, body, headers=None):
        h = {"Authorization": "Bearer " + c.token}
        h.update(headers or {})
        s = SseClient(self.studio.port, CHAT, body, h)
        try:
            self.assertEqual(s.status, 200)
            self.assertTrue(s.headers["content-type"].startswith("text/event-stream"), s.headers)
            return list(s.events())
        finally:
            s.close()

    def test_streaming_sends_tokens_as_they_come_then_sources_and_done(self):
        c = self.shared
        reply = "Refunds are paid back within five business days [1]."
        self.fake_options(chat_reply=reply, chat_token_delay_ms=150)
        for body, headers in (({"message": "How long do refunds take?", "stream": True}, {}),
                              ({"message": "How long do refunds take to arrive?"}, {"Accept": "text/event-stream"})):
            events = self.read_stream(c, body, headers)
            names = [e for _, e, _ in events]
            tokens = [(t, json.loads(d)["delta"]) for t, e, d in events if e == "token"]
            self.assertGreaterEqual(len(tokens), 5, names)
            self.assertEqual(names, ["token"] * len(tokens) + ["sources", "done"])
            # Incremental: the tokens arrived spread over the model's ~150 ms a token, not at once
            # (buffered, every gap would be ~0; a busy machine may bunch a few).
            gaps = [b[0] - a[0] for a, b in zip(tokens, tokens[1:])]
            self.assertGreaterEqual(sum(1 for g in gaps if g >= 0.05), len(gaps) // 2, gaps)
            self.assertGreaterEqual(tokens[-1][0] - tokens[0][0], 0.5, gaps)
            text = "".join(d for _, d in tokens)
            self.assertEqual(text, reply)
            sources = json.loads(events[-2][2])["sources"]
            self.assertEqual([s["documentId"] for s in sources], [c.docs["Refunds"]])
            done = json.loads(events[-1][2])
            self.assertTrue(done["messageId"].startswith("msg_"), done)
            self.assertEqual(done["status"], "complete")
            self.assertLessEqual(done["usage"]["contextTokens"], done["usage"]["contextBudget"])
            self.assertGreater(done["usage"]["contextTokens"], 0)
            stored = self.conversation(c, done["conversationId"])["messages"]
            self.assertEqual([m["role"] for m in stored], ["user", "assistant"])
            self.assertEqual((stored[1]["id"], stored[1]["content"], stored[1]["status"]),
                             (done["messageId"], text, "complete"))
            self.assertEqual(stored[1]["sources"], sources)
        self.assertTrue(all(b.get("stream") is True for b in self.sent()))

    def test_client_disconnect_cancels_the_model_and_stores_the_partial_answer(self):
        c = self.shared
        words = ["word%02d" % i for i in range(30)]
        full = "Refunds " + " ".join(words) + " [1]."
        self.fake_options(chat_reply=full, chat_token_delay_ms=300)
        question = "How long do refunds take? " + uuid.uuid4().hex
        s = SseClient(self.studio.port, CHAT, {"message": question, "stream": True},
                      {"Authorization": "Bearer " + c.token})
        received = []
        for _, event, data in s.events():
            if event == "token":
                received.append(json.loads(data)["delta"])
            if len(received) == 2:
                break
        s.close()

        # The server stopped the model call: the fake saw its client go away.
        deadline = time.time() + 8
        while True:
            entries = self.fake_entries()
            if entries and entries[-1].get("client_disconnected"):
                break
            self.assertLess(time.time(), deadline, entries)
            time.sleep(0.1)
        self.assertLess(entries[-1]["chunks_sent"], len(words))

        # The partial answer is stored once the model call has ended, status "interrupted".
        conversation = [x for x in c.call("GET", "/api/v1/conversations").json()["data"] if x["title"] == question]
        self.assertEqual(len(conversation), 1)
        deadline = time.time() + 8
        while True:
            messages = self.conversation(c, conversation[0]["id"])["messages"]
            if len(messages) == 2:
                break
            self.assertLess(time.time(), deadline, messages)
            time.sleep(0.1)
        answer = messages[1]
        self.assertEqual((answer["role"], answer["status"]), ("assistant", "interrupted"))
        self.assertTrue(full.startswith(answer["content"]), answer["content"])
        self.assertTrue(answer["content"].startswith("".join(received)), (answer["content"], received))
        self.assertLess(len(answer["content"]), len(full))
        self.assertEqual(answer["sources"], [])  # the [1] never came

    # --- 7. isolation between workspaces ----------------------------------------------------------

    def test_no_channel_reaches_another_workspaces_documents_or_conversations(self):
        secret, a, b = SECRET, self.vault, self.shared
        question = "What is the vault access phrase for approving a refund?"
        self.fake_options(chat_reply="Here is what I found [1] [2] [3] [4] [5].")

        # The question does find the vault document in its own workspace (so the test can fail).
        in_a = self.chat(a, question)
        self.assertEqual([s["documentId"] for s in in_a["sources"]], [a.docs["Vault"]])
        self.assertIn(secret, json.dumps(self.sent()))
        a_conversation = in_a["conversationId"]

        def check(label, response_sources):
            ids = {s["documentId"] for s in response_sources}
            self.assertLessEqual(ids, set(b.docs.values()), label)
            sent = json.dumps(self.fake_entries())
            self.assertNotIn(secret, sent, label)
            self.assertNotIn("vault access phrase for approving", sent.lower().replace(question.lower(), ""), label)
            self.fake_control("/_fake/reset")
            self.fake_options(chat_reply="Here is what I found [1] [2] [3] [4] [5].")

        self.fake_control("/_fake/reset")
        self.fake_options(chat_reply="Here is what I found [1] [2] [3] [4] [5].")
        r = self.chat(b, question)
        self.assertNotIn(secret, r["reply"])
        check("chat", r["sources"])
        b_conversation = r["conversationId"]

        r = b.call("POST", RUN, body={"message": question})
        self.assertEqual(r.status, 200, r.body)
        check("run message", r.json()["sources"])

        r = b.call("POST", RUN, body={"input": {"messages": [{"role": "user", "content": "Hello"},
                                                             {"role": "assistant", "content": "Hi, how can I help?"},
                                                             {"role": "user", "content": question}]}})
        self.assertEqual(r.status, 200, r.body)
        check("run input", r.json()["sources"])

        events = self.read_stream(b, {"message": question, "stream": True})
        self.assertEqual(events[-1][1], "done")
        check("stream", json.loads(events[-2][2])["sources"])

        # The public widget, with B's publishable key.
        r = b.call("POST", "/api/v1/workspaces/%s/widget-keys" % b.workspace_id,
                   body={"name": "shop", "allowedOrigins": [ORIGIN]})
        self.assertEqual(r.status, 201, r.body)
        key = r.json()

        def widget(body, origin=ORIGIN, widget_key=key["key"]):
            return self.studio.request("POST", "/api/v1/public/chat", body=json.dumps(body),
                                       headers={"Content-Type": "application/json", "X-Widget-Key": widget_key,
                                                "Origin": origin})

        r = widget({"message": question})
        self.assertEqual(r.status, 200, r.body)
        check("widget", r.json()["sources"])
        widget_conversation = r.json()["conversationId"]
        self.assertEqual(self.conversation(b, widget_conversation)["channel"], "widget")
        r = widget({"message": "And who may approve it?", "conversationId": widget_conversation})
        self.assertEqual(r.status, 200, r.body)  # a visitor continues the widget's own conversation
        check("widget follow-up", r.json()["sources"])
        self.problem(widget({"message": question, "conversationId": b_conversation}), 404, "CONVERSATION_NOT_FOUND")
        self.problem(widget({"message": question, "conversationId": a_conversation}), 404, "CONVERSATION_NOT_FOUND")
        self.problem(widget({"message": question}, origin="https://evil.example.com"), 403, "ORIGIN_NOT_ALLOWED")
        self.problem(widget({"message": question}, origin=""), 403, "ORIGIN_NOT_ALLOWED")
        self.problem(widget({"message": question}, widget_key=""), 401)
        self.assertEqual(self.fake_entries(), [])  # refused requests never reached the model
        # A's owner can neither list, mint for B nor revoke B's widget keys.
        self.problem(a.call("GET", "/api/v1/workspaces/%s/widget-keys" % b.workspace_id), 404)
        self.problem(a.call("POST", "/api/v1/workspaces/%s/widget-keys" % b.workspace_id,
                            body={"allowedOrigins": ["https://evil.example.com"]}), 404)
        self.problem(a.call("DELETE", "/api/v1/workspaces/%s/widget-keys/%s" % (b.workspace_id, key["id"])), 404)
        self.problem(a.call("DELETE", "/api/v1/workspaces/%s/widget-keys/%s" % (a.workspace_id, key["id"])), 404)
        self.assertEqual(widget({"message": "Still working?"}).status, 200)
        r = b.call("DELETE", "/api/v1/workspaces/%s/widget-keys/%s" % (b.workspace_id, key["id"]))
        self.assertEqual(r.status, 204, r.body)
        self.problem(widget({"message": question}), 401, "INVALID_WIDGET_KEY")

        # The OpenAI-compatible endpoint with B's API key.
        r = b.call("POST", "/api/v1/workspaces/%s/api-keys" % b.workspace_id, body={"name": "sdk"})
        self.assertEqual(r.status, 201, r.body)
        api_key = r.json()["key"]
        r = self.studio.request("POST", "/v1/chat/completions",
                                body=json.dumps({"model": "customer-service",
                                                 "messages": [{"role": "user", "content": question}]}),
                                headers={"Content-Type": "application/json", "Authorization": "Bearer " + api_key})
        self.assertEqual(r.status, 200, r.body)
        completion = r.json()
        self.assertEqual(completion["object"], "chat.completion")
        check("openai", completion["sources"])

        # B's credentials on A's conversation: as if it did not exist, and A's stays untouched.
        self.problem(b.call("GET", "/api/v1/conversations/" + a_conversation), 404, "CONVERSATION_NOT_FOUND")
        self.problem(b.call("DELETE", "/api/v1/conversations/" + a_conversation), 404, "CONVERSATION_NOT_FOUND")
        self.problem(b.call("POST", CHAT, body={"message": question, "conversationId": a_conversation}), 404,
                     "CONVERSATION_NOT_FOUND")
        self.problem(b.call("POST", RUN, body={"message": question, "conversationId": a_conversation}), 404,
                     "CONVERSATION_NOT_FOUND")
        self.assertNotIn(a_conversation, [x["id"] for x in b.call("GET", "/api/v1/conversations").json()["data"]])
        self.assertEqual(self.fake_entries(), [])
        self.assertEqual(self.conversation(a, a_conversation)["messageCount"], 2)

    # --- 8. settings ------------------------------------------------------------------------------

    def test_settings_defaults_validation_roles_and_personas(self):
        c = self.bare()
        defaults = c.call("GET", CONFIG)
        self.assertEqual(defaults.status, 200, defaults.body)
        d = defaults.json()
        self.assertEqual((d["contextBudget"], d["memoryWindow"], d["sessionTimeoutMinutes"]), (8192, 10, 30))
        self.assertEqual((d["persona"], d["fallbackMode"], d["topK"], d["scoreThreshold"]),
                         ("professional", "message", 5, 0.3))
        self.assertTrue(d["systemPrompt"] and d["fallbackMessage"])

        bad = [({"contextBudget": 1023}, "contextBudget"), ({"memoryWindow": 101}, "memoryWindow"),
               ({"sessionTimeoutMinutes": 0}, "sessionTimeoutMinutes"), ({"topK": 0}, "topK"),
               ({"temperature": 2.5}, "temperature"), ({"scoreThreshold": "high"}, "scoreThreshold"),
               ({"persona": "grumpy"}, "persona"), ({"fallbackMode": "silent"}, "fallbackMode"),
               ({"systemPrompt": ""}, "systemPrompt"), ({"maxTokens": 1.5}, "maxTokens")]
        for body, field in bad:
            # A valid field next to the bad one: nothing at all is changed.
            p = self.problem(c.call("PUT", CONFIG, body=dict(body, memoryWindow=4) if field != "memoryWindow"
                                    else dict(body, topK=7)), 400, "VALIDATION_FAILED")
            self.assertIn(field, [e["field"] for e in p["errors"]], p)
        p = self.problem(c.call("PUT", CONFIG, body={"memoryWindow": 4, "contextWindow": 1}), 400, "UNKNOWN_FIELDS")
        self.assertEqual([e["field"] for e in p["errors"]], ["contextWindow"])
        self.problem(c.call("PUT", CONFIG, raw=b"[1]", headers={"Content-Type": "application/json"}), 400)
        self.assertEqual(c.call("GET", CONFIG).json(), d)

        changed = self.configure(c, contextBudget=1024, memoryWindow=0, sessionTimeoutMinutes=5)
        self.assertEqual((changed["contextBudget"], changed["memoryWindow"], changed["sessionTimeoutMinutes"]),
                         (1024, 0, 5))
        self.assertEqual(c.call("GET", CONFIG).json(), changed)
        self.assertEqual(self.configure(c, contextBudget=None, memoryWindow=None, sessionTimeoutMinutes=None), d)

        for role in ("member", "agent"):
            other = self.join(c, role)
            self.problem(other.call("GET", CONFIG), 403)
            self.problem(other.call("PUT", CONFIG, body={"persona": "friendly"}), 403)
            self.assertEqual(self.chat(other, "How long do refunds take?")["conversationId"][:4], "cnv_")
        self.assertEqual(c.call("GET", CONFIG).json()["persona"], "professional")

        self.configure(c, fallbackMode="model")  # no documents here: let the model answer
        systems = {}
        for persona in ("professional", "friendly", "technical"):
            self.configure(c, persona=persona)
            q = "How long do refunds take? (%s)" % persona
            self.chat(c, q)
            systems[persona] = self.sent_for(q)["messages"][0]["content"]
        self.assertEqual(len(set(systems.values())), 3)
        self.assertIn("Tone: professional", systems["professional"])
        self.assertIn("Tone: warm and friendly", systems["friendly"])
        self.assertIn("Tone: technical", systems["technical"])

        self.configure(c, customInstructions="Always mention our hotline 0800-123.", responseLength="short")
        self.chat(c, "How do I reset my password?")
        system = self.sent_for("How do I reset my password?")["messages"][0]["content"]
        self.assertIn("Always mention our hotline 0800-123.", system)
        self.assertIn("one to three sentences", system)
        body = self.sent_for("How do I reset my password?")
        self.assertEqual((body["temperature"], body["max_tokens"]), (0.2, 512))

    # --- 9. conversations -------------------------------------------------------------------------

    def test_conversations_list_get_and_delete(self):
        c = self.listing
        self.fake_options(chat_reply="Refunds take five business days [1].")
        ids = []
        for q in ("How long do refunds take?", "How do I reset my password?", "Do orders ship free?"):
            ids.append(self.chat(c, q)["conversationId"])
            time.sleep(0.01)
        r = c.call("GET", "/api/v1/conversations?limit=2")
        self.assertEqual(r.status, 200, r.body)
        page1 = r.json()
        self.assertEqual([x["id"] for x in page1["data"]], [ids[2], ids[1]])
        self.assertIsNotNone(page1["nextCursor"])
        page2 = c.call("GET", "/api/v1/conversations?limit=2&cursor=" + page1["nextCursor"]).json()
        self.assertEqual([x["id"] for x in page2["data"]], [ids[0]])
        self.assertIsNone(page2["nextCursor"])
        first = page2["data"][0]
        self.assertEqual((first["title"], first["channel"], first["agent"], first["messageCount"]),
                         ("How long do refunds take?", "api", "customer-service", 2))

        # Continuing the oldest moves it to the top (most recently updated first).
        self.chat(c, "And for damaged items?", conversationId=ids[0])
        self.assertEqual([x["id"] for x in c.call("GET", "/api/v1/conversations").json()["data"]],
                         [ids[0], ids[2], ids[1]])

        got = self.conversation(c, ids[0])
        self.assertEqual(got["messageCount"], 4)
        msgs = got["messages"]
        self.assertEqual([(m["role"], m["seq"]) for m in msgs],
                         [("user", 1), ("assistant", 2), ("user", 3), ("assistant", 4)])
        self.assertEqual(msgs[0]["content"], "How long do refunds take?")
        self.assertEqual(msgs[0]["sources"], [])
        self.assertEqual(msgs[1]["content"], "Refunds take five business days [1].")
        self.assertEqual(msgs[1]["status"], "complete")
        self.assertEqual(msgs[1]["sources"][0]["documentId"], c.docs["Refunds"])
        self.assertEqual(msgs[1]["model"], "gpt-4o-mini")
        self.assertGreater(msgs[1]["usage"]["totalTokens"], 0)
        self.assertGreater(msgs[1]["confidence"], 0)
        paged = c.call("GET", "/api/v1/conversations/%s?afterSeq=2&limit=1" % ids[0]).json()
        self.assertEqual([m["seq"] for m in paged["messages"]], [3])
        self.assertEqual(paged["nextAfterSeq"], 3)

        self.assertEqual(c.call("DELETE", "/api/v1/conversations/" + ids[0]).status, 204)
        self.problem(c.call("GET", "/api/v1/conversations/" + ids[0]), 404, "CONVERSATION_NOT_FOUND")
        self.problem(c.call("DELETE", "/api/v1/conversations/" + ids[0]), 404, "CONVERSATION_NOT_FOUND")
        self.problem(c.call("POST", CHAT, body={"message": "Still there?", "conversationId": ids[0]}), 404,
                     "CONVERSATION_NOT_FOUND")
        self.assertEqual([x["id"] for x in c.call("GET", "/api/v1/conversations").json()["data"]], [ids[2], ids[1]])

    def test_a_failed_model_call_answers_the_question_with_a_failed_marker(self):
        c = self.bare(fallbackMode="model")  # no documents: every turn calls the model
        self.fake_options(chat_reply="Refunds take five business days [1].")
        first = self.chat(c, "How long do refunds take?")
        # Every attempt fails (the agent retries 5xx): the turn fails, and the stored question is
        # answered by an empty "failed" assistant message rather than left hanging.
        self.fake_control("/_fake/faults", {"faults": [{"status": 500, "count": -1}]})
        try:
            r = c.call("POST", CHAT, body={"message": "And for damaged items?",
                                           "conversationId": first["conversationId"]})
        finally:
            self.fake_control("/_fake/reset")
        self.assertGreaterEqual(r.status, 500, r.body)
        msgs = self.conversation(c, first["conversationId"])["messages"]
        self.assertEqual([(m["role"], m["status"]) for m in msgs][2:],
                         [("user", "complete"), ("assistant", "failed")])
        self.assertEqual(msgs[3]["content"], "")
        # The next turn sends the history without the failed answer (no empty assistant message).
        self.fake_options(chat_reply="Damaged items are refunded in full [1].")
        self.chat(c, "Is shipping refunded?", conversationId=first["conversationId"])
        dialogue = [m for m in self.sent_for("Is shipping refunded?")["messages"] if m["role"] != "system"]
        self.assertEqual([m["role"] for m in dialogue], ["user", "assistant", "user", "user"])
        self.assertNotIn({"role": "assistant", "content": ""}, dialogue)

    # --- 10. usage and metrics --------------------------------------------------------------------

    def test_usage_and_metrics_count_the_workspaces_turns(self):
        c = self.bare(fallbackMode="model")
        other = Client.onboard(self.studio, "Quiet")
        self.configure(c, memoryWindow=2)
        conversation_id = None
        for q in ("How long do refunds take?", "Do you refund shipping?", "How do I reset my password?"):
            extra = {"conversationId": conversation_id} if conversation_id else {}
            conversation_id = self.chat(c, q, **extra)["conversationId"]
        self.configure(c, fallbackMode="message")
        self.chat(c, "What is the capital of France?")  # the fallback: a message without a model call
        answers = self.sent()
        self.assertEqual(len(answers), 3)
        self.assertEqual(len(self.summaries()), 1)

        usage = c.call("GET", "/api/v1/workspaces/%s/usage" % c.workspace_id)
        self.assertEqual(usage.status, 200, usage.body)
        agent = usage.json()["agent"]
        self.assertEqual(set(agent), {"messages", "llmCalls", "tokensIn", "tokensOut"})
        self.assertEqual(agent["messages"], 4)
        self.assertEqual(agent["llmCalls"], 4)  # 3 answers + 1 summary
        self.assertGreater(agent["tokensIn"], 0)
        self.assertGreater(agent["tokensOut"], 0)
        quiet = other.call("GET", "/api/v1/workspaces/%s/usage" % other.workspace_id).json()["agent"]
        self.assertEqual(quiet, {"messages": 0, "llmCalls": 0, "tokensIn": 0, "tokensOut": 0})

        text = self.studio.request("GET", "/metrics").body.decode()
        metrics = parse_metrics(text)

        def value(name, **labels):
            return sum(v for n, ls, v in metrics if n == name and all(ls.get(k) == x for k, x in labels.items()))

        self.assertEqual(value("llm_api_calls_total", model="gpt-4o-mini", workspace=c.workspace_id, status="ok"), 4)
        self.assertEqual(value("llm_api_calls_total", workspace=other.workspace_id), 0)
        self.assertGreater(value("llm_tokens_used_total", workspace=c.workspace_id, type="prompt"), 0)
        self.assertGreater(value("llm_tokens_used_total", workspace=c.workspace_id, type="completion"), 0)
        self.assertEqual(value("agent_conversations_active", workspace=c.workspace_id), 2)
        self.assertEqual(value("agent_conversations_active", workspace=other.workspace_id), 0)

    # --- 11. quota --------------------------------------------------------------------------------

    def test_monthly_quota_refuses_the_third_message(self):
        c = self.bare(self.extractive)
        first = self.chat(c, "How long do refunds take?")
        self.chat(c, "Do you refund shipping costs?", conversationId=first["conversationId"])
        r = c.call("POST", CHAT, body={"message": "How do I reset my password?",
                                       "conversationId": first["conversationId"]})
        self.problem(r, 429, "QUOTA_EXCEEDED")
        self.assertGreater(int(r.headers["retry-after"]), 0)
        self.assertLessEqual(int(r.headers["retry-after"]), 31 * 86400)
        r = c.call("POST", CHAT, body={"message": "Hello?", "stream": True})
        self.problem(r, 429, "QUOTA_EXCEEDED")  # streaming too, before any event
        self.assertEqual(self.conversation(c, first["conversationId"])["messageCount"], 4)  # nothing stored
        self.assertEqual(c.call("GET", "/api/v1/workspaces/%s/usage" % c.workspace_id).json()["agent"]["messages"], 2)
        # Another workspace has its own quota.
        self.chat(Client.onboard(self.extractive, "Other"), "Hello")

    # --- 12. the extractive model -----------------------------------------------------------------

    def test_extractive_model_quotes_the_document(self):
        c = self.quoting
        r = self.chat(c, "How long do refunds take?")
        self.assertIs(r["fallback"], False)
        self.assertIn("[1]", r["reply"])
        self.assertIn("within five business days", r["reply"])
        self.assertEqual(r["sources"][0]["n"], 1)
        self.assertEqual(r["sources"][0]["documentId"], c.docs["Refunds"])
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", r["reply"])}
        self.assertEqual(cited, {s["n"] for s in r["sources"]})
        self.assertGreater(r["confidence"], 0.3)
        self.assertEqual(r["model"], "extractive")
        self.assertGreater(r["usage"]["contextTokens"], 0)
        self.assertEqual(r["usage"]["contextBudget"], 8192)
        r = self.chat(c, "What is the capital of France?")
        self.assertIs(r["fallback"], True)
        self.assertEqual(r["sources"], [])

    # --- 13. /run ---------------------------------------------------------------------------------

    def test_run_with_a_message_or_the_clients_history(self):
        c = self.shared
        self.fake_options(chat_reply="Five business days [1].")
        r = c.call("POST", RUN, body={"message": "How long do refunds take?"})
        self.assertEqual(r.status, 200, r.body)
        run = r.json()
        self.assertEqual(run["status"], "completed")
        self.assertEqual(run["reply"], "Five business days [1].")
        self.assertTrue(run["runId"])
        self.assertTrue(run["conversationId"].startswith("cnv_"))
        self.assertEqual([s["documentId"] for s in run["sources"]], [c.docs["Refunds"]])
        self.assertEqual(self.conversation(c, run["conversationId"])["messages"][1]["id"], run["runId"])

        instruction = "Answer in French. Marker %s." % uuid.uuid4().hex[:8]
        history = [{"role": "system", "content": instruction},
                   {"role": "user", "content": "Hello, I bought a kettle."},
                   {"role": "assistant", "content": "Hello! How can I help with your kettle?"},
                   {"role": "user", "content": "How long do refunds take?"}]
        r = c.call("POST", RUN, body={"input": {"messages": history}})
        self.assertEqual(r.status, 200, r.body)
        run = r.json()
        self.assertEqual(run["status"], "completed")
        sent = self.sent()[-1]["messages"]
        self.assertEqual(sent[0]["role"], "system")
        self.assertIn("customer-service assistant", sent[0]["content"])
        self.assertIn(instruction, sent[0]["content"])
        self.assertEqual([m for m in sent if m["role"] != "system"], history[1:])
        # The client keeps the history: only this turn is stored.
        stored = self.conversation(c, run["conversationId"])["messages"]
        self.assertEqual([(m["role"], m["content"]) for m in stored],
                         [("user", "How long do refunds take?"), ("assistant", "Five business days [1].")])

        before = len(self.fake_entries())
        user = {"role": "user", "content": "Hi"}
        invalid = [
            {},
            {"message": "Hi", "input": {"messages": [user]}},
            {"input": {"messages": []}},
            {"input": {"messages": "Hi"}},
            {"input": "Hi"},
            {"input": {"messages": [user, {"role": "assistant", "content": "Hello"}]}},
            {"input": {"messages": [{"role": "tool", "content": "x"}, user]}},
            {"input": {"messages": [{"role": "user"}]}},
            {"input": {"messages": [{"role": "user", "content": 5}]}},
            {"input": {"messages": [{"role": "user", "content": ""}]}},
            {"input": {"messages": [user], "temperature": 1}},
            {"input": {"messages": [user]}, "conversationId": run["conversationId"]},
            {"message": ""},
            {"message": "x" * 10001},
            {"message": "Hi", "stream": "yes"},
            {"message": "Hi", "unknown": 1},
        ]
        for body in invalid:
            self.problem(c.call("POST", RUN, body=body), 400)
        self.assertEqual(len(self.fake_entries()), before)


def stop_fake(fake):
    fake.stdin.close()  # --exit-on-eof
    fake.wait(10)


def is_summary(body):
    return bool(body and body["messages"] and body["messages"][0]["content"].startswith(SUMMARISER))


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class AgentOnPostgres(Agent):
    @classmethod
    def setUpClass(cls):
        if not PG_URL:
            raise unittest.SkipTest("STUDIO_TEST_PG_URL is not set")
        urls = []
        for _ in range(2):  # one database per server
            name, url = create_pg_database(PG_URL, "studio_agent_")
            cls.addClassCleanup(drop_pg_database, PG_URL, name)  # after the servers stopped (LIFO)
            urls.append(url)
        cls.env = dict(Agent.env, DATABASE_URL=urls[0], JWT_SECRET="k" * 48)
        cls.extractive_env = dict(Agent.extractive_env, DATABASE_URL=urls[1], JWT_SECRET="k" * 48)
        super().setUpClass()


if __name__ == "__main__":
    unittest.main()
