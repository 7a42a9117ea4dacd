"""The knowledge base over HTTP against the real binary, on SQLite and (when configured) on
PostgreSQL: uploads of every format (multipart and JSON) through the real ingestion workers,
hostile files, de-duplication and versions, idempotency, the seed's batch ingest, chunks, search
in each mode with filters and thresholds, deletion, jobs, and isolation between workspaces."""

import json
import os
import socket
import unittest
import uuid

from harness import OnPostgres, Studio
import kb
from kb import Client

PG_URL = os.environ.get("STUDIO_TEST_PG_URL")

REFUNDS = ("Refund policy. Customers may return any product within thirty days of delivery for a full refund. "
           "Refunds are paid back to the original card within five business days.")
SHIPPING = ("Shipping. Orders above fifty euros ship free of charge. Parcels leave our warehouse in Lyon every "
            "weekday and usually arrive within two days anywhere in France.")
PASSWORDS = ("Account security. To reset a forgotten password open the sign-in page, choose reset password and "
             "follow the link we e-mail you; the link expires after one hour.")


class KnowledgeBase(unittest.TestCase):
    env = {"STUDIO_WORKERS": "2"}

    @classmethod
    def setUpClass(cls):
        kb.require_models(cls)
        cls.studio = Studio(env=cls.env).__enter__()
        cls.a = Client.onboard(cls.studio, "Alpha")
        cls.b = Client.onboard(cls.studio, "Beta")

    @classmethod
    def tearDownClass(cls):
        cls.studio.__exit__(None, None, None)

    def problem(self, r, status, code=None):
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.headers.get("content-type"), "application/problem+json")
        if code:
            self.assertEqual(r.json()["code"], code, r.body)
        return r.json()

    def ready(self, client, created):
        doc = client.wait_done(created["document"]["id"])
        self.assertEqual(doc["status"], "ready", doc)
        return doc

    # --- formats ------------------------------------------------------------------------------

    def test_every_format_is_extracted_chunked_and_searchable(self):
        word = "zq" + uuid.uuid4().hex[:8]  # a token only this test's documents contain
        files = {
            "notes.txt": (("Plain text about %s and the refund window." % word).encode(), "text/plain", "text"),
            "guide.md": (("# Guide\n\n## Returns\n\nThe %s form lives under Returns.\n" % word).encode(),
                         "text/markdown", "markdown"),
            "page.html": (("<html><head><title>Help page</title><script>var hidden='%s-script';</script></head>"
                           "<body><nav>menu</nav><h1>Help</h1><p>Ask %s about delivery.</p></body></html>"
                           % (word, word)).encode(), "text/html", "html"),
            "manual.pdf": (kb.make_pdf([["Manual page one mentions %s." % word], ["Page two covers warranty."]]),
                           "application/pdf", "pdf"),
            "letter.docx": (kb.make_docx(["Dear customer,", "your %s order shipped." % word]),
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        }
        docs = {}
        for name, (data, ctype, fmt) in files.items():
            r = self.a.upload(name, data, ctype, fields={"title": name, "metadata": json.dumps({"tags": [fmt]})})
            self.assertEqual(r.status, 202, r.body)
            docs[name] = (r.json()["document"]["id"], fmt)
        for name, (doc_id, fmt) in docs.items():
            doc = self.a.wait_done(doc_id)
            self.assertEqual(doc["status"], "ready", doc)
            self.assertEqual(doc["format"], fmt, name)
            self.assertEqual(doc["filename"], name)
            self.assertGreaterEqual(doc["chunkCount"], 1)
            job = self.a.wait_job(doc["jobId"])
            self.assertEqual(job["status"], "completed")
            self.assertEqual(job["progress"], 100)
            chunks = self.a.call("GET", "/api/v1/documents/%s/chunks" % doc_id).json()
            self.assertEqual(chunks["total"], doc["chunkCount"])
            text = " ".join(c["text"] for c in chunks["items"])
            self.assertIn(word, text, name)
            self.assertNotIn("-script", text)  # HTML scripts are dropped
        # Page numbers survive for PDFs, headings for Markdown.
        pdf_chunks = self.a.call("GET", "/api/v1/documents/%s/chunks" % docs["manual.pdf"][0]).json()["items"]
        self.assertEqual(pdf_chunks[0]["pageStart"], 1)
        self.assertEqual(pdf_chunks[-1]["pageEnd"], 2)
        md_chunks = self.a.call("GET", "/api/v1/documents/%s/chunks" % docs["guide.md"][0]).json()["items"]
        self.assertTrue(md_chunks[0]["headingPath"].startswith("Guide"), md_chunks[0])
        # Every one of them is found by keyword; the tag filter narrows to one format.
        hits = self.a.search(word, mode="keyword", topK=20)
        self.assertEqual({h["documentId"] for h in hits}, {d for d, _ in docs.values()})
        only_pdf = self.a.search(word, mode="hybrid", filter={"tags": ["pdf"]})
        self.assertEqual({h["documentId"] for h in only_pdf}, {docs["manual.pdf"][0]})
        self.assertEqual(only_pdf[0]["pageStart"], 1)

    def test_a_pdf_named_txt_is_still_read_as_pdf(self):
        data = kb.make_pdf([["Renamed file about the loyalty programme."]])
        doc = self.ready(self.a, self.a.upload("renamed.txt", data, "text/plain").json())
        self.assertEqual(doc["format"], "pdf")

    # --- hostile and bad input ----------------------------------------------------------------

    def test_hostile_files_fail_their_job_clearly_and_harm_nothing(self):
        cases = {
            "bomb.docx": (kb.make_zip_bomb_docx(300), "ZIP_BOMB"),
            "xxe.docx": (kb.make_xxe_docx(), None),
            "truncated.pdf": (kb.make_pdf([["cut short"] * 40])[:300], None),
        }
        for name, (data, code) in cases.items():
            r = self.a.upload(name, data)
            self.assertEqual(r.status, 202, r.body)
            doc = self.a.wait_done(r.json()["document"]["id"])
            if name == "xxe.docx":
                # Either refused, or parsed with the entity left unexpanded: never the file's content.
                if doc["status"] == "ready":
                    chunks = self.a.call("GET", "/api/v1/documents/%s/chunks" % doc["id"]).json()["items"]
                    self.assertNotIn("root:", " ".join(c["text"] for c in chunks))
                continue
            self.assertEqual(doc["status"], "failed", doc)
            self.assertTrue(doc["error"]["message"])
            if code:
                self.assertEqual(doc["error"]["code"], code, doc)
            # A permanent failure goes straight to the dead-letter queue: no pointless retries.
            job = self.a.wait_job(doc["jobId"])
            self.assertEqual(job["status"], "dead")
            self.assertEqual(job["attempts"], 1)
        self.assertEqual(self.studio.request("GET", "/status/live").status, 200)

    def test_bad_uploads_are_refused_before_anything_is_stored(self):
        before = self.a.call("GET", "/api/v1/documents?limit=200").json()["items"]
        self.problem(self.a.upload("empty.txt", b""), 400, "EMPTY_DOCUMENT")
        self.problem(self.a.upload("pixel.png", kb.PNG, "image/png"), 415)
        body, ctype = kb.multipart({"title": "no file"}, {})
        self.problem(self.a.call("POST", "/api/v1/documents", raw=body, headers={"Content-Type": ctype}), 400)
        body, ctype = kb.multipart({"colour": "red"}, {"file": ("a.txt", b"hello there", "text/plain")})
        self.problem(self.a.call("POST", "/api/v1/documents", raw=body, headers={"Content-Type": ctype}), 400,
                     "UNKNOWN_FIELDS")
        self.problem(self.a.upload("a.txt", b"some text", fields={"metadata": "{not json"}), 400)
        self.problem(self.a.upload("a.txt", b"some text", fields={"chunking": '{"strategy":"random"}'}), 400)
        self.problem(self.a.call("POST", "/api/v1/documents", body={"title": "no text"}), 400)
        self.problem(self.a.call("POST", "/api/v1/documents", body={"text": "x", "content": "y"}), 400)
        self.problem(self.a.call("POST", "/api/v1/documents", body={"text": "x", "role": "owner"}), 400,
                     "UNKNOWN_FIELDS")
        self.problem(self.a.call("POST", "/api/v1/documents", body={"text": "x", "url": "javascript:alert(1)"}), 400)
        self.problem(self.a.call("POST", "/api/v1/documents", body={"text": "x", "metadata": {"tags": [1]}}), 400)
        self.problem(self.a.call("POST", "/api/v1/documents", body={"text": "x", "workspaceId": self.b.workspace_id}),
                     403, "WORKSPACE_MISMATCH")
        self.problem(self.a.call("POST", "/api/v1/documents", raw=b"text=hello",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
        after = self.a.call("GET", "/api/v1/documents?limit=200").json()["items"]
        self.assertEqual(len(after), len(before))

    def test_an_upload_over_the_limit_gets_413_before_the_body_is_sent(self):
        # Only the headers go out: the answer must come without the server waiting for 100 MB.
        s = socket.create_connection(("127.0.0.1", self.studio.port), timeout=10)
        try:
            s.sendall(("POST /api/v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                       "Content-Type: multipart/form-data; boundary=abc\r\nContent-Length: %d\r\n\r\n"
                       % (self.a.token, 100 * 1024 * 1024)).encode())
            answer = s.recv(65536)
        finally:
            s.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:200])

    # --- dedup, versions, idempotency ---------------------------------------------------------

    def test_identical_content_is_stored_once_and_a_changed_url_document_is_a_new_version(self):
        text = "Opening hours %s: Monday to Friday, nine to five." % uuid.uuid4().hex
        first = self.a.add_text(text, title="Hours")
        again = self.a.call("POST", "/api/v1/documents", body={"text": text, "title": "Hours again"})
        self.assertEqual(again.status, 200, again.body)
        self.assertTrue(again.json()["duplicate"])
        self.assertEqual(again.json()["document"]["id"], first["document"]["id"])
        # The same text in another workspace is that workspace's own document.
        other = self.b.add_text(text)
        self.assertFalse(other["duplicate"])
        self.assertNotEqual(other["document"]["id"], first["document"]["id"])

        url = "https://example.com/faq/%s" % uuid.uuid4().hex
        v1 = self.ready(self.a, self.a.add_text("Old answer: deliveries take a week.", url=url))
        v2 = self.a.add_text("New answer: deliveries take two days.", url=url)
        self.assertEqual(v2["document"]["id"], v1["id"])
        doc = self.ready(self.a, v2)
        self.assertEqual(doc["version"], 2)
        chunks = self.a.call("GET", "/api/v1/documents/%s/chunks" % doc["id"]).json()["items"]
        self.assertTrue(all(c["version"] == 2 for c in chunks))
        self.assertNotIn("a week", " ".join(c["text"] for c in chunks))

    def test_idempotency_key_returns_the_first_document(self):
        key = uuid.uuid4().hex
        r1 = self.a.call("POST", "/api/v1/documents", body={"text": "Gift cards never expire. " + key},
                         headers={"Idempotency-Key": key})
        r2 = self.a.call("POST", "/api/v1/documents", body={"text": "A different body, same key. " + key},
                         headers={"Idempotency-Key": key})
        self.assertEqual(r1.status, 202, r1.body)
        self.assertEqual(r2.status, 200, r2.body)
        self.assertEqual(r2.json()["document"]["id"], r1.json()["document"]["id"])
        self.assertEqual(r2.json()["jobId"], r1.json()["jobId"])
        self.problem(self.a.call("POST", "/api/v1/documents", body={"text": "x"}, headers={"Idempotency-Key": "a b"}),
                     400, "INVALID_IDEMPOTENCY_KEY")

    # --- the seed's batch ingest --------------------------------------------------------------

    def test_seed_batch_ingest(self):
        c = Client.onboard(self.studio, "Seed")  # a workspace of its own: rankings depend on the corpus
        r = c.call("POST", "/api/v1/agents/customer-service/ingest", body={"documents": [
            {"text": REFUNDS, "title": "Refunds", "metadata": {"tags": ["policy"]}},
            {"content": SHIPPING, "title": "Shipping", "url": "https://example.com/shipping"},
            {"text": PASSWORDS, "title": "Passwords", "metadata": {"tags": ["account"]}}]})
        self.assertEqual(r.status, 202, r.body)
        d = r.json()
        self.assertEqual(d["ok"], True)
        self.assertEqual(d["enqueued"], 3)
        self.assertTrue(d["ingestionId"].startswith("ing_"))
        self.assertEqual(len(d["jobIds"]), 3)
        for job_id in d["jobIds"]:
            job = c.call("GET", "/api/v1/jobs/" + job_id)
            self.assertEqual(job.status, 200, job.body)
            self.assertIn(job.json()["status"], ("waiting", "active", "completed"))
        for doc_id in d["documentIds"]:
            self.assertEqual(c.wait_done(doc_id)["status"], "ready")
        self.assertEqual(c.wait_job(d["jobIds"][0])["status"], "completed")

        # Each mode puts the right document first for a question in other words than the text's.
        for mode in ("hybrid", "vector", "keyword"):
            hits = c.search("how do I get my money back for a product", mode=mode, topK=3)
            self.assertEqual(hits[0]["title"], "Refunds", (mode, hits))
        hits = c.search("reset forgotten password link", topK=3)
        self.assertEqual(hits[0]["title"], "Passwords")
        self.assertIn("password", hits[0]["snippet"].lower())
        self.assertEqual(c.search("refund", filter={"tags": ["account"]}, mode="keyword"), [])
        # A threshold no chunk reaches leaves nothing.
        self.assertEqual(c.search("quantum chromodynamics lattice", mode="vector", threshold=0.99), [])

        too_many = {"documents": [{"text": "doc %d" % i} for i in range(101)]}
        self.problem(c.call("POST", "/api/v1/agents/customer-service/ingest", body=too_many), 400)
        self.problem(c.call("POST", "/api/v1/agents/customer-service/ingest", body={"documents": []}), 400)
        # All or nothing: one bad document refuses the batch.
        before = len(c.call("GET", "/api/v1/documents?limit=200").json()["items"])
        bad = {"documents": [{"text": "fine " + uuid.uuid4().hex}, {"title": "no text"}]}
        self.problem(c.call("POST", "/api/v1/agents/customer-service/ingest", body=bad), 400)
        self.assertEqual(len(c.call("GET", "/api/v1/documents?limit=200").json()["items"]), before)

    def test_search_rejects_bad_requests(self):
        for body in ({"query": ""}, {"query": "x", "mode": "fuzzy"}, {"query": "x", "topK": 0},
                     {"query": "x", "topK": 101}, {"query": "x", "threshold": 2}, {"query": "x", "filter": []},
                     {"query": "x", "filter": {"colour": "red"}}, {"query": "x", "filter": {"createdAfter": "May"}},
                     {"query": "x" * 5000}, {"query": "x", "limit": 3}):
            self.problem(self.a.call("POST", "/api/v1/search", body=body), 400)

    # --- delete, reindex, chunks --------------------------------------------------------------

    def test_delete_removes_document_chunks_and_search_hits(self):
        word = "del" + uuid.uuid4().hex[:8]
        doc = self.ready(self.a, self.a.add_text("Temporary notice %s about the spring sale." % word))
        self.assertEqual(self.a.search(word, mode="keyword")[0]["documentId"], doc["id"])
        self.assertTrue(any(h["documentId"] == doc["id"]
                            for h in self.a.search("temporary notice spring sale", mode="vector", topK=20)))
        self.assertEqual(self.a.call("DELETE", "/api/v1/documents/" + doc["id"]).status, 204)
        self.problem(self.a.document(doc["id"]), 404, "NOT_FOUND")
        self.problem(self.a.call("GET", "/api/v1/documents/%s/chunks" % doc["id"]), 404)
        self.assertEqual(self.a.search(word, mode="keyword"), [])
        self.assertFalse(any(h["documentId"] == doc["id"]
                             for h in self.a.search("temporary notice spring sale", mode="vector", topK=20)))
        self.problem(self.a.call("DELETE", "/api/v1/documents/" + doc["id"]), 404)

    def test_reindex_with_other_chunking_makes_a_new_version(self):
        text = "\n\n".join("Paragraph %d talks about topic %d in some detail, with several words." % (i, i)
                           for i in range(60))
        doc = self.ready(self.a, self.a.add_text(text, chunking={"strategy": "paragraph", "maxTokens": 1000,
                                                                  "overlapTokens": 0}))
        self.assertEqual(doc["chunking"]["strategy"], "paragraph")
        r = self.a.call("POST", "/api/v1/documents/%s/reindex" % doc["id"],
                        body={"chunking": {"strategy": "fixed", "maxTokens": 64, "overlapTokens": 16}})
        self.assertEqual(r.status, 202, r.body)
        again = self.ready(self.a, r.json())
        self.assertEqual(again["version"], doc["version"] + 1)
        self.assertEqual(again["chunking"], {"strategy": "fixed", "maxTokens": 64, "overlapTokens": 16})
        self.assertGreater(again["chunkCount"], doc["chunkCount"])
        page1 = self.a.call("GET", "/api/v1/documents/%s/chunks?limit=5" % doc["id"]).json()
        page2 = self.a.call("GET", "/api/v1/documents/%s/chunks?limit=5&offset=5" % doc["id"]).json()
        self.assertEqual([c["ordinal"] for c in page1["items"]], [0, 1, 2, 3, 4])
        self.assertEqual(page1["nextOffset"], 5)
        self.assertEqual(page2["items"][0]["ordinal"], 5)
        self.assertTrue(all(c["tokenCount"] <= 64 for c in page1["items"]))
        self.problem(self.a.call("POST", "/api/v1/documents/%s/reindex" % doc["id"],
                                 body={"chunking": {"maxTokens": 64, "overlapTokens": 40}}), 400)

    def test_document_list_pages_and_filters_by_status(self):
        for i in range(3):
            self.a.add_text("Listing test %d %s" % (i, uuid.uuid4().hex))
        seen, cursor = [], None
        while True:
            r = self.a.call("GET", "/api/v1/documents?limit=2" + ("&cursor=" + cursor if cursor else ""))
            self.assertEqual(r.status, 200, r.body)
            page = r.json()
            seen += [d["id"] for d in page["items"]]
            cursor = page["nextCursor"]
            if not cursor:
                break
        self.assertEqual(len(seen), len(set(seen)))
        everything = self.a.call("GET", "/api/v1/documents?limit=200").json()["items"]
        self.assertEqual(len(seen), len(everything))
        failed = self.a.call("GET", "/api/v1/documents?status=failed&limit=200").json()["items"]
        self.assertTrue(all(d["status"] == "failed" for d in failed))
        self.problem(self.a.call("GET", "/api/v1/documents?status=lost"), 400)
        self.problem(self.a.call("GET", "/api/v1/documents?cursor=%%%"), 400)
        self.problem(self.a.call("GET", "/api/v1/documents?limit=0"), 400)

    # --- isolation ----------------------------------------------------------------------------

    def test_another_workspace_sees_nothing(self):
        word = "iso" + uuid.uuid4().hex[:8]
        created = self.a.add_text("Confidential pricing %s for alpha customers only." % word)
        doc = self.ready(self.a, created)
        doc_id, job_id = doc["id"], created["jobId"]
        for method, path, body in (("GET", "/api/v1/documents/" + doc_id, None),
                                   ("GET", "/api/v1/documents/%s/chunks" % doc_id, None),
                                   ("POST", "/api/v1/documents/%s/reindex" % doc_id, None),
                                   ("DELETE", "/api/v1/documents/" + doc_id, None),
                                   ("GET", "/api/v1/jobs/" + job_id, None),
                                   ("POST", "/api/v1/jobs/%s/retry" % job_id, None)):
            self.problem(self.b.call(method, path, body=body), 404)
        for mode in ("hybrid", "vector", "keyword"):
            hits = self.b.search("confidential pricing alpha customers " + word, mode=mode, topK=50)
            self.assertFalse(any(h["documentId"] == doc_id for h in hits), mode)
        self.assertNotIn(doc_id, [d["id"] for d in self.b.call("GET", "/api/v1/documents?limit=200").json()["items"]])
        self.problem(self.b.call("POST", "/api/v1/search", body={"query": word, "workspaceId": self.a.workspace_id}),
                     403, "WORKSPACE_MISMATCH")
        # Still there for its owner.
        self.assertEqual(self.a.document(doc_id).status, 200)

    def test_jobs_routes(self):
        self.problem(self.a.call("GET", "/api/v1/jobs/job_doesnotexist"), 404)
        created = self.a.add_text("Job status test " + uuid.uuid4().hex)
        self.ready(self.a, created)
        job = self.a.wait_job(created["jobId"])
        self.assertEqual(job["status"], "completed")
        self.assertEqual(job["attempts"], 1)
        self.assertEqual(job["result"]["documentId"], created["document"]["id"])
        self.problem(self.a.call("POST", "/api/v1/jobs/%s/retry" % created["jobId"]), 409, "JOB_NOT_DEAD")
        self.assertEqual(self.a.call("GET", "/api/v1/jobs?status=dead").status, 200)
        self.problem(self.a.call("GET", "/api/v1/jobs?status=waiting"), 400)


@unittest.skipUnless(PG_URL or os.environ.get("STUDIO_REQUIRE_PG") == "1", "no PostgreSQL (STUDIO_TEST_PG_URL)")
class KnowledgeBaseOnPostgres(OnPostgres, KnowledgeBase):
    pg_prefix = "studio_kb_"


if __name__ == "__main__":
    unittest.main()
