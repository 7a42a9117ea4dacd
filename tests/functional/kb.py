"""Helpers for the knowledge-base suites: real document files made here (PDF, DOCX, hostile ones),
multipart/form-data bodies, and a signed-in client that waits for ingestion."""

import io
import json
import os
import time
import uuid
import zipfile

PASSWORD = "correct horse battery staple 42!"
MODELS_DIR = os.environ.get("STUDIO_MODELS_DIR", "")


def models_available():
    return bool(MODELS_DIR) and os.path.exists(os.path.join(MODELS_DIR, "glove-100d.bin"))


def require_models(testcase_cls):
    """Skips without the local model files, unless the run requires them (then it fails)."""
    if not models_available() and os.environ.get("STUDIO_REQUIRE_MODELS") != "1":
        import unittest
        raise unittest.SkipTest("no model files: run scripts/fetch-models.sh and set STUDIO_MODELS_DIR")


# --- document files ---------------------------------------------------------------------------

def _pdf_escape(text):
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages):
    """A valid PDF with one page per list of lines, in the standard Helvetica font (so poppler
    extracts the text exactly). Written object by object with a correct xref table."""
    n_pages = len(pages)
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               "<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join("%d 0 R" % (4 + 2 * i) for i in range(n_pages)),
                                                          n_pages),
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "72 720 Td", "16 TL"]
        for line in lines:
            ops.append("(%s) Tj T*" % _pdf_escape(line))
        ops.append("ET")
        stream = "\n".join(ops)
        objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                       "/Resources << /Font << /F1 3 0 R >> >> >>" % (5 + 2 * i))
        objects.append("<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += ("%d 0 obj\n%s\nendobj\n" % (number, body)).encode("latin-1")
    xref = len(out)
    out += ("xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)).encode()
    for off in offsets:
        out += ("%010d 00000 n \n" % off).encode()
    out += ("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)).encode()
    return bytes(out)


CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                 '<Default Extension="xml" ContentType="application/xml"/>'
                 '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                 'officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/></Relationships>')
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_document_xml(paragraphs, prolog=""):
    body = "".join('<w:p><w:r><w:t xml:space="preserve">%s</w:t></w:r></w:p>' % p for p in paragraphs)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>%s'
            '<w:document xmlns:w="%s"><w:body>%s</w:body></w:document>' % (prolog, W_NS, body))


def make_docx(paragraphs=None, document_xml=None, extra=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("word/document.xml", document_xml or docx_document_xml(paragraphs or []))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


def make_zip_bomb_docx(uncompressed_mb=300):
    """A DOCX whose document part inflates to hundreds of MB of zeros (deflate ~1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            zeros = b"\0" * (1 << 20)
            for _ in range(uncompressed_mb):
                f.write(zeros)
    return buf.getvalue()


def make_xxe_docx():
    prolog = '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return make_docx(document_xml=docx_document_xml(["secret: &xxe;"], prolog))


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def multipart(fields, files):
    """(body, content_type) for text fields {name: value} and files {name: (filename, bytes, type)}."""
    boundary = "----studio" + uuid.uuid4().hex
    out = bytearray()
    for name, value in fields.items():
        out += ('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n' % (boundary, name)).encode()
        out += value.encode() if isinstance(value, str) else value
        out += b"\r\n"
    for name, (filename, data, ctype) in files.items():
        out += ('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: %s\r\n\r\n'
                % (boundary, name, filename, ctype)).encode()
        out += data + b"\r\n"
    out += ("--%s--\r\n" % boundary).encode()
    return bytes(out), "multipart/form-data; boundary=" + boundary


# --- a signed-in client -----------------------------------------------------------------------

class Client:
    """One workspace owner's session against a running server."""

    def __init__(self, studio, token, workspace_id):
        self.studio = studio
        self.token = token
        self.workspace_id = workspace_id

    @classmethod
    def onboard(cls, studio, name="KB"):
        body = json.dumps({"workspaceName": name + " " + uuid.uuid4().hex[:6],
                           "adminEmail": "kb-%s@example.com" % uuid.uuid4().hex[:10],
                           "adminPassword": PASSWORD})
        r = studio.request("POST", "/api/v1/auth/onboarding", body=body,
                           headers={"Content-Type": "application/json"})
        assert r.status == 201, r.body
        d = r.json()
        return cls(studio, d["accessToken"], d["workspaceId"])

    def call(self, method, path, body=None, headers=None, raw=None, timeout=30):
        h = {"Authorization": "Bearer " + self.token}
        if body is not None:
            raw = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return self.studio.request(method, path, body=raw, headers=h, timeout=timeout)

    def upload(self, filename, data, ctype="application/octet-stream", fields=None, headers=None):
        body, content_type = multipart(fields or {}, {"file": (filename, data, ctype)})
        h = {"Content-Type": content_type}
        h.update(headers or {})
        return self.call("POST", "/api/v1/documents", raw=body, headers=h)

    def add_text(self, text, **extra):
        r = self.call("POST", "/api/v1/documents", body=dict(extra, text=text))
        assert r.status in (200, 202), r.body
        return r.json()

    def document(self, doc_id):
        return self.call("GET", "/api/v1/documents/" + doc_id)

    def wait_done(self, doc_id, timeout=60, statuses=("ready", "failed")):
        """Polls until the document is ready or failed; returns it."""
        deadline = time.time() + timeout
        while True:
            r = self.document(doc_id)
            assert r.status == 200, r.body
            d = r.json()
            if d["status"] in statuses:
                return d
            if time.time() > deadline:
                raise AssertionError("document %s still %s after %ss" % (doc_id, d["status"], timeout))
            time.sleep(0.1)

    def wait_job(self, job_id, timeout=60):
        """Polls until the job is finished (completed or dead); returns it. A document turns ready
        in the job's last transaction, a moment before the job itself is marked completed."""
        deadline = time.time() + timeout
        while True:
            r = self.call("GET", "/api/v1/jobs/" + job_id)
            assert r.status == 200, r.body
            job = r.json()
            if job["status"] in ("completed", "dead"):
                return job
            if time.time() > deadline:
                raise AssertionError("job %s still %s after %ss" % (job_id, job["status"], timeout))
            time.sleep(0.05)

    def search(self, query, **extra):
        r = self.call("POST", "/api/v1/search", body=dict(extra, query=query))
        assert r.status == 200, r.body
        return r.json()["results"]
