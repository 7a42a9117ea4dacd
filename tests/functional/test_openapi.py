"""GET /api/v1/openapi.json and whether docs/openapi.json stays true to the server.

- the served document is docs/openapi.json byte for byte (OpenAPI 3.1, cacheable, with an ETag);
- its operations are exactly the routes the server registers (GET /debug/routes, test-only /debug/*
  routes aside), so an undocumented route and a documented route that does not exist both fail;
- each operation's x-roles, x-scope and security state the access policy the server enforces
  (the /api/v1/admin/* operations take the operator key besides a platform admin's session);
- every path parameter is declared, every $ref resolves, every schema is a valid 2020-12 schema;
- a request body is closed (additionalProperties: false) exactly where the handler answers
  400 UNKNOWN_FIELDS to a field it does not know;
- real responses of a realistic flow, and error responses, have a documented status and media type
  and validate against the documented schema. Validation is stricter than the document: an object
  may not carry a field the schema does not name (the document itself leaves response objects open
  so clients stay forward compatible), so a handler adding a field must document it. The flow
  covers the knowledge base too: documents (JSON, multipart upload, batch ingest) ingested by the
  server's own workers, chunks, search in every mode, jobs and the admin dead-letter queue, and
  the workspace's webhook (test_webhooks.py validates the delivered events against WebhookEvent);
  and the agent: its settings, chat and run, conversations, widget keys with the public chat, and
  the OpenAI-compatible /v1 operations, whose errors come in OpenAI's shape (x-error-format); their
  event streams (each event validated against the schema the document's x-sse-events names) run
  in OpenApiEventStreams.

Needs Debian's python3-jsonschema (Draft 2020-12, the dialect of OpenAPI 3.1 schemas), and the
model files of scripts/fetch-models.sh in $STUDIO_MODELS_DIR for the knowledge-base tests (skipped
without it, failed with STUDIO_REQUIRE_MODELS=1)."""

import copy
import json
import os
import re
import time
import unittest
import uuid

import jsonschema

from harness import StudioTestCase

DOC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "openapi.json")
PASSWORD = "correct horse battery staple 42!"
OPERATOR_KEY = "operator-key-for-openapi-tests-" + uuid.uuid4().hex
ADMIN_PREFIX = "/api/v1/admin/"  # where the guard accepts the operator key (src/api/v1/guard.cpp)
INGEST_TIMEOUT = 120  # seconds for a document to be ingested by the server's workers (ASan builds are slow)
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def load_document():
    with open(DOC_PATH, "rb") as f:
        raw = f.read()
    return raw, json.loads(raw)


def operations(spec):
    """(METHOD, path template) → operation object."""
    out = {}
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                out[(method.upper(), path)] = item[method]
    return out


def walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def pointer(spec, ref):
    """The node a local "#/a/b~1c" reference names; KeyError when it names nothing."""
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def strict(node):
    """A copy in which every object schema naming its properties refuses any other property."""
    node = copy.deepcopy(node)
    for sub in walk(node):
        if isinstance(sub, dict) and isinstance(sub.get("properties"), dict):
            if "additionalProperties" not in sub and "unevaluatedProperties" not in sub:
                sub["additionalProperties"] = False
    return node


def multipart(fields, files):
    """A multipart/form-data body: fields are (name, text), files (name, filename, type, bytes).
    Returns (body, Content-Type)."""
    boundary = "studio-" + uuid.uuid4().hex
    out = []
    for name, value in fields:
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n' % (boundary, name)).encode())
        out.append(value.encode() + b"\r\n")
    for name, filename, media, data in files:
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: %s\r\n\r\n'
                    % (boundary, name, filename, media)).encode())
        out.append(data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def require_models(test):
    """Skips (or, with STUDIO_REQUIRE_MODELS=1, fails) a test of ingestion or search without the
    model files (scripts/fetch-models.sh prints their directory)."""
    if os.environ.get("STUDIO_MODELS_DIR"):
        return
    if os.environ.get("STUDIO_REQUIRE_MODELS") == "1":
        test.fail("STUDIO_REQUIRE_MODELS=1 but STUDIO_MODELS_DIR is not set: run scripts/fetch-models.sh")
    test.skipTest("STUDIO_MODELS_DIR is not set (run scripts/fetch-models.sh)")


def format_checker():
    # Only formats checked the same way by every jsonschema version (Debian's 4.10 needs optional
    # packages for date-time): the server writes UTC with seconds, or milliseconds in audit events.
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(lambda value: not isinstance(value, str) or bool(ISO_UTC.match(value)))
    return checker


class OpenApiTestCase(StudioTestCase):
    """Shared helpers: look up what the document says and check a response against it."""

    # A small upload limit, so 413 is cheap to provoke; the operator key for the admin routes (it
    # also guards /metrics then).
    server_env = {"STUDIO_MAX_BODY": "64KiB", "STUDIO_MAX_UPLOAD": "256KiB", "STUDIO_OPERATOR_KEY": OPERATOR_KEY}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.raw_doc, cls.spec = load_document()
        cls.ops = operations(cls.spec)
        cls.strict_schemas = strict(cls.spec["components"]["schemas"])
        cls.formats = format_checker()

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = pointer(self.spec, node["$ref"])
        return node

    def call(self, method, template, params=None, token=None, body=None, headers=None, query="", raw=None):
        path = template
        for name, value in (params or {}).items():
            path = path.replace("{%s}" % name, value)
        self.assertNotIn("{", path, "unfilled parameter in " + path)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        return self.studio.request(method, path + query, body=data, headers=h)

    def validate(self, instance, schema, where):
        # The schema's $refs ("#/components/schemas/X") resolve against the root of the schema
        # validated, so the (strict) component schemas ride along under the same pointer.
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": {"schemas": self.strict_schemas}, "allOf": [strict(schema)]}
        validator = jsonschema.Draft202012Validator(root, format_checker=self.formats)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            self.fail("%s: %d schema error(s), first at %s: %s\n%s" % (
                where, len(errors), "/".join(map(str, errors[0].absolute_path)), errors[0].message,
                json.dumps(instance)[:1000]))

    def check(self, r, method, template, status=None):
        """Asserts the response is documented for the operation and matches its schema; returns
        the parsed body (None when there is none)."""
        where = "%s %s → %s" % (method, template, r.status)
        if status is not None:
            self.assertEqual(r.status, status, "%s: %s" % (where, r.body[:500]))
        op = self.ops.get((method, template))
        self.assertIsNotNone(op, "%s %s is not documented" % (method, template))
        self.assertIn(str(r.status), op["responses"], "%s: status not documented (%s)" % (where, r.body[:300]))
        documented = self.resolve(op["responses"][str(r.status)])
        content = documented.get("content")
        if not content:
            self.assertEqual(r.body, b"", where + ": documented without a body")
            return None
        media = r.headers.get("content-type")
        self.assertIn(media, content, where + ": media type not documented")
        schema = content[media].get("schema")
        if not (media == "application/json" or media.endswith("+json")):
            return r.body
        body = json.loads(r.body)
        if schema is not None:
            self.validate(body, schema, where)
        return body

    def check_problem(self, r, method, template, status, code):
        p = self.check(r, method, template, status)
        self.assertEqual(r.headers.get("content-type"), "application/problem+json")
        self.assertEqual(p["code"], code, p)
        return p

    def check_openai_error(self, r, method, template, status, code):
        """An error of an x-error-format: openai operation: {"error": {message, type, param, code}}."""
        self.assertEqual(self.ops[(method, template)].get("x-error-format"), "openai")
        e = self.check(r, method, template, status)
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertEqual(e["error"]["code"], code, e)
        return e["error"]

    def check_events(self, r, method, template):
        """Checks an event-stream answer as check() does, then validates each event's data against
        the schema the document's x-sse-events names for its event type ("message" when unnamed).
        Returns [(event, data)], data parsed from JSON (the OpenAI stream's "[DONE]" kept as text)."""
        body = self.check(r, method, template, 200)
        self.assertEqual(r.headers.get("content-type"), "text/event-stream")
        media = self.resolve(self.ops[(method, template)]["responses"]["200"])["content"]["text/event-stream"]
        documented = media["x-sse-events"]
        out = []
        for block in body.decode("utf-8").split("\n\n"):
            name, data = "message", []
            for line in block.split("\n"):
                if not line or line.startswith(":"):
                    continue  # comments: heartbeats
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
            if not data:
                continue
            text = "\n".join(data)
            if text == "[DONE]":
                out.append((name, text))
                continue
            where = "%s %s → event %s" % (method, template, name)
            self.assertIn(name, documented, where + ": event type not documented")
            parsed = json.loads(text)
            self.validate(parsed, documented[name], where)
            out.append((name, parsed))
        return out

    def onboard(self, name="Docs"):
        email = "owner-%s@example.com" % uuid.uuid4().hex[:10]
        body = {"workspaceName": "%s %s" % (name, uuid.uuid4().hex[:6]), "adminEmail": email,
                "adminPassword": PASSWORD, "name": "Olga Owner"}
        r = self.call("POST", "/api/v1/auth/onboarding", body=body)
        return email, self.check(r, "POST", "/api/v1/auth/onboarding", 201)

    def wait_for_document(self, token, document_id, statuses=("ready",), version=None):
        """Polls GET /api/v1/documents/{documentId} (checking each answer against the document)
        until the document reaches one of `statuses` (at `version`, when given); returns it."""
        deadline = time.time() + INGEST_TIMEOUT
        while True:
            doc = self.check(self.call("GET", "/api/v1/documents/{documentId}", {"documentId": document_id}, token),
                             "GET", "/api/v1/documents/{documentId}", 200)
            settled = doc["status"] in ("ready", "failed") and (version is None or doc["version"] == version)
            if settled:
                self.assertIn(doc["status"], statuses, doc)
                return doc
            self.assertLess(time.time(), deadline, "document not ingested in time: %s" % doc)
            time.sleep(0.1)

    def add_agent_knowledge(self, token):
        """Adds the text document the agent tests ask about and waits until it is ready; returns its id.
        (These servers have no LLM: the built-in extractive model answers with its sentences, cited.)"""
        policy = ("Refund policy\n\nCustomers may return any product within thirty days of delivery for a full "
                  "refund. Refunds are paid to the original payment method within five business days.\n\n"
                  "Exchanges\n\nDamaged items are exchanged free of charge; contact support with the order number "
                  "and a photograph of the damage, and a courier collects the parcel at no cost to you.")
        created = self.check(self.call("POST", "/api/v1/documents", token=token,
                                       body={"text": policy, "title": "Refund policy"}),
                             "POST", "/api/v1/documents", 202)
        return self.wait_for_document(token, created["document"]["id"])["id"]

    def wait_for_job(self, token, job_id, status):
        deadline = time.time() + INGEST_TIMEOUT
        while True:
            job = self.check(self.call("GET", "/api/v1/jobs/{jobId}", {"jobId": job_id}, token),
                             "GET", "/api/v1/jobs/{jobId}", 200)
            if job["status"] == status:
                return job
            self.assertLess(time.time(), deadline, "job not %s in time: %s" % (status, job))
            time.sleep(0.1)


class OpenApiDocument(OpenApiTestCase):
    """The document itself, and that it agrees with the server's routes and policy."""

    def routes(self):
        r = self.call("GET", "/debug/routes")
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def test_served_verbatim_and_cacheable(self):
        r = self.call("GET", "/api/v1/openapi.json")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertEqual(r.body, self.raw_doc, "the served document differs from docs/openapi.json")
        self.assertEqual(r.json(), self.spec)
        self.assertIn("public", r.headers.get("cache-control", ""))
        self.assertRegex(r.headers.get("cache-control", ""), r"max-age=\d+")
        self.assertRegex(r.headers.get("etag", ""), r'^"[0-9a-f]{16,}"$')
        self.check(r, "GET", "/api/v1/openapi.json", 200)

        self.assertRegex(self.spec["openapi"], r"^3\.1\.\d+$")
        self.assertEqual(self.spec["info"]["title"], "Soft Systems Studio API")
        self.assertEqual(self.spec["servers"], [{"url": "/"}])
        status = self.call("GET", "/status").json()
        self.assertEqual(self.spec["info"]["version"], status["version"])

    def test_etag_revalidation(self):
        etag = self.call("GET", "/api/v1/openapi.json").headers["etag"]
        r = self.call("GET", "/api/v1/openapi.json", headers={"If-None-Match": etag})
        self.check(r, "GET", "/api/v1/openapi.json", 304)
        self.assertEqual(r.headers.get("etag"), etag)
        r = self.call("GET", "/api/v1/openapi.json", headers={"If-None-Match": '"other", W/' + etag})
        self.assertEqual(r.status, 304)
        r = self.call("GET", "/api/v1/openapi.json", headers={"If-None-Match": '"something-else"'})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, self.raw_doc)

    def test_operations_are_exactly_the_registered_routes(self):
        registered = {(r["method"], r["pattern"]) for r in self.routes()}
        documented = set(self.ops)
        self.assertGreater(len(registered), 30)
        self.assertEqual(sorted(registered - documented), [], "registered but not documented")
        self.assertEqual(sorted(documented - registered), [], "documented but not registered")

    def test_access_rules_state_the_policy(self):
        for route in self.routes():
            key = (route["method"], route["pattern"])
            op = self.ops[key]
            with self.subTest(route=key):
                self.assertTrue(route["hasPolicy"])
                self.assertEqual(sorted(op["x-roles"]), sorted(route["roles"]))
                self.assertEqual(op.get("x-scope", ""), route["scope"])
                schemes = sorted(sorted(req) for req in op["security"])
                if "anonymous" in route["roles"]:
                    # Public: no requirement, or "none" among the alternatives.
                    self.assertTrue(op["security"] == [] or {} in op["security"], op["security"])
                elif route["pattern"].startswith(ADMIN_PREFIX):
                    # Platform operations: an admin's session or the operator key, never API keys.
                    self.assertFalse(route["apiKeys"])
                    self.assertEqual(schemes, [["bearerAuth"], ["operatorKey"]])
                elif route["apiKeys"]:
                    self.assertEqual(schemes, [["apiKeyHeader"], ["bearerAuth"]])
                else:
                    self.assertEqual(schemes, [["bearerAuth"]])

    def test_security_schemes(self):
        schemes = self.spec["components"]["securitySchemes"]
        self.assertEqual(schemes["bearerAuth"], {**schemes["bearerAuth"], "type": "http", "scheme": "bearer",
                                                 "bearerFormat": "JWT"})
        self.assertEqual(schemes["apiKeyHeader"], {**schemes["apiKeyHeader"], "type": "apiKey", "in": "header",
                                                   "name": "X-API-Key"})
        self.assertEqual(schemes["operatorKey"], {**schemes["operatorKey"], "type": "http", "scheme": "bearer"})
        for op in self.ops.values():
            for requirement in op["security"]:
                for name in requirement:
                    self.assertIn(name, schemes)

    def test_path_parameters_are_declared(self):
        for path, item in self.spec["paths"].items():
            in_template = set(re.findall(r"\{([^}]+)\}", path))
            shared = [self.resolve(p) for p in item.get("parameters", [])]
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                with self.subTest(operation=(method, path)):
                    params = shared + [self.resolve(p) for p in item[method].get("parameters", [])]
                    declared = {p["name"] for p in params if p["in"] == "path"}
                    self.assertEqual(declared, in_template)
                    for p in params:
                        if p["in"] == "path":
                            self.assertIs(p.get("required"), True, p)

    def test_every_ref_resolves(self):
        refs = {node["$ref"] for node in walk(self.spec) if isinstance(node, dict) and "$ref" in node}
        self.assertGreater(len(refs), 20)
        for ref in sorted(refs):
            with self.subTest(ref=ref):
                try:
                    pointer(self.spec, ref)
                except (KeyError, IndexError, ValueError):
                    self.fail("%s does not resolve" % ref)

    def test_schemas_and_operations_are_well_formed(self):
        for name, schema in self.spec["components"]["schemas"].items():
            with self.subTest(schema=name):
                jsonschema.Draft202012Validator.check_schema(schema)
        ids = [op["operationId"] for op in self.ops.values()]
        self.assertEqual(len(ids), len(set(ids)), "operationIds must be unique")
        problem = self.spec["components"]["schemas"]["Problem"]
        self.assertEqual(set(problem["required"]), {"type", "title", "status", "detail", "code", "requestId"})
        for key, op in self.ops.items():
            with self.subTest(operation=key):
                self.assertTrue(any(code.startswith("2") for code in op["responses"]), "no success response")
                for code, response in op["responses"].items():
                    response = self.resolve(response)
                    self.assertIn("description", response)
                    if code.startswith("4"):
                        content = response.get("content", {})
                        if op.get("x-error-format") == "openai" and "application/problem+json" not in content:
                            # OpenAI's error shape; only what the HTTP layer refuses (413, 415) is a problem.
                            self.assertEqual(content["application/json"]["schema"],
                                             {"$ref": "#/components/schemas/OpenAIError"}, code)
                        else:
                            self.assertIn("application/problem+json", content, code)
                    for media in response.get("content", {}).values():
                        if "schema" in media:
                            jsonschema.Draft202012Validator.check_schema(media["schema"])
                if "requestBody" in op:
                    self.assertIn("application/json", op["requestBody"]["content"])

    def test_closed_request_bodies_are_the_ones_refusing_unknown_fields(self):
        _, owner = self.onboard()
        params = {"id": owner["workspaceId"], "userId": "usr_doesnotexist", "invitationId": "inv_doesnotexist",
                  "keyId": "key_doesnotexist", "documentId": "doc_doesnotexist", "jobId": "job_doesnotexist",
                  "conversationId": "cnv_doesnotexist"}
        checked = 0
        for (method, template), op in sorted(self.ops.items()):
            if "requestBody" not in op:
                continue
            schema = self.resolve(op["requestBody"]["content"]["application/json"]["schema"])
            closed = schema.get("additionalProperties") is False
            public = "anonymous" in op["x-roles"]
            # Public routes get no credentials, so logout cannot end the owner's session; platform
            # operations get the operator key.
            token = None if public else OPERATOR_KEY if template.startswith(ADMIN_PREFIX) else owner["accessToken"]
            r = self.call(method, template, params, token=token, body={"zzNotAField": 1})
            with self.subTest(operation=(method, template), closed=closed):
                code = r.json().get("code") if r.body else None
                if closed:
                    self.check_problem(r, method, template, 400, "UNKNOWN_FIELDS")
                    errors = r.json()["errors"]
                    self.assertEqual([e["field"] for e in errors], ["zzNotAField"])
                    # The agent's settings (PUT …/config) say "unknown field", the other routes "cannot be set".
                    self.assertIn(errors[0]["message"], ("cannot be set", "unknown field"))
                else:
                    self.assertNotEqual(code, "UNKNOWN_FIELDS", r.body)
                    self.check(r, method, template)
            checked += 1
        self.assertGreater(checked, 12)


class OpenApiResponses(OpenApiTestCase):
    """Real responses against the documented schemas."""

    def test_operational_endpoints(self):
        for template in ("/status/live", "/status/ready", "/health", "/api/v1/system/health", "/status",
                         "/api/v1/system/status"):
            self.check(self.call("GET", template), "GET", template, 200)
        for template in ("/metrics", "/api/v1/observability/metrics"):
            # This server has an operator key, so the metrics demand it.
            body = self.check(self.call("GET", template, token=OPERATOR_KEY), "GET", template, 200)
            self.assertIn(b"http_requests_total", body)
            self.check_problem(self.call("GET", template), "GET", template, 401, "UNAUTHORIZED")

    def test_realistic_flow(self):
        email, onboarded = self.onboard("Flow")
        self.assertIn("refreshToken", onboarded)
        wid = onboarded["workspaceId"]

        s = self.check(self.call("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD}),
                       "POST", "/api/v1/auth/login", 200)
        s = self.check(self.call("POST", "/api/v1/auth/token", body={"refreshToken": s["refreshToken"]}),
                       "POST", "/api/v1/auth/token", 200)
        s = self.check(self.call("POST", "/api/v1/auth/token/refresh", body={"refreshToken": s["refreshToken"]}),
                       "POST", "/api/v1/auth/token/refresh", 200)
        owner = s["accessToken"]
        # A browser request (with Origin) gets the refresh token as a cookie only.
        r = self.call("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD},
                      headers={"Origin": "http://127.0.0.1:%d" % self.studio.port})
        self.assertNotIn("refreshToken", self.check(r, "POST", "/api/v1/auth/login", 200))
        self.assertIn("refresh_token=", r.headers.get("set-cookie", ""))

        me = self.check(self.call("GET", "/api/v1/auth/me", token=owner), "GET", "/api/v1/auth/me", 200)
        self.assertEqual(me["workspaceId"], wid)

        self.check(self.call("GET", "/api/v1/workspaces", token=owner), "GET", "/api/v1/workspaces", 200)
        ws = {"id": wid}
        self.check(self.call("GET", "/api/v1/workspaces/{id}", ws, owner), "GET", "/api/v1/workspaces/{id}", 200)
        renamed = self.check(self.call("PATCH", "/api/v1/workspaces/{id}", ws, owner, {"name": "Renamed"}),
                             "PATCH", "/api/v1/workspaces/{id}", 200)
        self.assertEqual(renamed["name"], "Renamed")
        second = self.check(self.call("POST", "/api/v1/workspaces", token=owner, body={"name": "Second " + wid[-6:]}),
                            "POST", "/api/v1/workspaces", 201)
        self.assertEqual(second["role"], "owner")

        # People: invite, list, accept (a new account), change the role, remove.
        invited = "invitee-%s@example.com" % uuid.uuid4().hex[:10]
        inv = self.check(self.call("POST", "/api/v1/workspaces/{id}/invitations", ws, owner,
                                   {"email": invited, "role": "member"}),
                         "POST", "/api/v1/workspaces/{id}/invitations", 201)
        pending = self.check(self.call("GET", "/api/v1/workspaces/{id}/invitations", ws, owner),
                             "GET", "/api/v1/workspaces/{id}/invitations", 200)
        self.assertEqual([i["id"] for i in pending["invitations"]], [inv["id"]])
        joined = self.check(self.call("POST", "/api/v1/invitations/accept",
                                      body={"token": inv["token"], "password": PASSWORD, "name": "Ivy"}),
                            "POST", "/api/v1/invitations/accept", 200)
        self.assertEqual(joined["workspaceId"], wid)
        member = {"id": wid, "userId": joined["userId"]}
        members = self.check(self.call("GET", "/api/v1/workspaces/{id}/members", ws, owner),
                             "GET", "/api/v1/workspaces/{id}/members", 200)
        self.assertEqual(len(members["members"]), 2)
        changed = self.check(self.call("PATCH", "/api/v1/workspaces/{id}/members/{userId}", member, owner,
                                       {"role": "agent"}),
                             "PATCH", "/api/v1/workspaces/{id}/members/{userId}", 200)
        self.assertEqual(changed["role"], "agent")
        # An existing account accepts with its session.
        other_email = "other-%s@example.com" % uuid.uuid4().hex[:10]
        self.check(self.call("POST", "/api/v1/auth/register", body={"email": other_email, "password": PASSWORD}),
                   "POST", "/api/v1/auth/register", 201)
        inv2 = self.check(self.call("POST", "/api/v1/workspaces/{id}/invitations", ws, owner,
                                    {"email": other_email, "role": "service"}),
                          "POST", "/api/v1/workspaces/{id}/invitations", 201)
        accepted = self.check(self.call("POST", "/api/v1/invitations/accept",
                                        body={"token": inv2["token"], "password": PASSWORD}),
                              "POST", "/api/v1/invitations/accept", 200)
        self.assertEqual(accepted["role"], "service")
        inv3 = self.check(self.call("POST", "/api/v1/workspaces/{id}/invitations", ws, owner,
                                    {"email": "nobody-%s@example.com" % uuid.uuid4().hex[:8], "role": "agent"}),
                          "POST", "/api/v1/workspaces/{id}/invitations", 201)
        self.check(self.call("DELETE", "/api/v1/workspaces/{id}/invitations/{invitationId}",
                             {"id": wid, "invitationId": inv3["id"]}, owner),
                   "DELETE", "/api/v1/workspaces/{id}/invitations/{invitationId}", 204)
        self.check(self.call("POST", "/api/v1/auth/token/revoke", token=joined["accessToken"]),
                   "POST", "/api/v1/auth/token/revoke", 204)
        self.check(self.call("DELETE", "/api/v1/workspaces/{id}/members/{userId}", member, owner),
                   "DELETE", "/api/v1/workspaces/{id}/members/{userId}", 204)

        # API keys: create, use, list, revoke.
        key = self.check(self.call("POST", "/api/v1/workspaces/{id}/api-keys", ws, owner,
                                   {"name": "ci", "role": "member", "scopes": ["workspace:read", "usage:read"]}),
                         "POST", "/api/v1/workspaces/{id}/api-keys", 201)
        r = self.call("GET", "/api/v1/workspaces/{id}", ws, headers={"X-API-Key": key["key"]})
        self.check(r, "GET", "/api/v1/workspaces/{id}", 200)
        r = self.call("GET", "/api/v1/workspaces/{id}/usage", ws, token=key["key"])  # Bearer sk_… works too
        self.check(r, "GET", "/api/v1/workspaces/{id}/usage", 200)
        keys = self.check(self.call("GET", "/api/v1/workspaces/{id}/api-keys", ws, owner),
                          "GET", "/api/v1/workspaces/{id}/api-keys", 200)
        self.assertEqual([k["id"] for k in keys["apiKeys"]], [key["id"]])
        self.check(self.call("DELETE", "/api/v1/workspaces/{id}/api-keys/{keyId}", {"id": wid, "keyId": key["id"]},
                             owner),
                   "DELETE", "/api/v1/workspaces/{id}/api-keys/{keyId}", 204)

        # The webhook: created with its secret (shown once), read without it, rotated, removed.
        hook = "/api/v1/workspaces/{id}/webhook"
        created = self.check(self.call("PUT", hook, ws, owner, {"url": "https://hooks.example.com/studio",
                                                                "events": ["document.ready"]}),
                             "PUT", hook, 200)
        self.assertTrue(created["secret"].startswith("whsec_"), created)
        shown = self.check(self.call("GET", hook, ws, owner), "GET", hook, 200)
        self.assertEqual(shown, {k: v for k, v in created.items() if k != "secret"})
        changed = self.check(self.call("PUT", hook, ws, owner, {"url": "https://hooks.example.com/v2"}), "PUT", hook, 200)
        self.assertNotIn("secret", changed)
        rotated = self.check(self.call("PUT", hook, ws, owner, {"url": "https://hooks.example.com/v2",
                                                                "rotateSecret": True}),
                             "PUT", hook, 200)
        self.assertNotEqual(rotated["secret"], created["secret"])
        self.check(self.call("DELETE", hook, ws, owner), "DELETE", hook, 204)
        self.check_problem(self.call("GET", hook, ws, owner), "GET", hook, 404, "NOT_FOUND")

        # Audit and usage.
        page = self.check(self.call("GET", "/api/v1/workspaces/{id}/audit-logs", ws, owner, query="?limit=2"),
                          "GET", "/api/v1/workspaces/{id}/audit-logs", 200)
        self.assertEqual(len(page["items"]), 2)
        self.assertIsNotNone(page["nextCursor"])
        self.check(self.call("GET", "/api/v1/workspaces/{id}/audit-logs", ws, owner,
                             query="?limit=200&cursor=" + page["nextCursor"]),
                   "GET", "/api/v1/workspaces/{id}/audit-logs", 200)
        self.check(self.call("GET", "/api/v1/workspaces/{id}/audit-logs", ws, owner, query="?action=auth.login"),
                   "GET", "/api/v1/workspaces/{id}/audit-logs", 200)
        usage = self.check(self.call("GET", "/api/v1/workspaces/{id}/usage", ws, owner),
                           "GET", "/api/v1/workspaces/{id}/usage", 200)
        self.assertEqual(usage["members"]["byRole"]["service"], 1)

        # Sessions: switch, change the password, delete the second workspace, sign out.
        switched = self.check(self.call("POST", "/api/v1/auth/switch-workspace", token=owner,
                                        body={"workspaceId": second["id"]}),
                              "POST", "/api/v1/auth/switch-workspace", 200)
        self.assertEqual(switched["workspaceId"], second["id"])
        fresh = self.check(self.call("POST", "/api/v1/auth/password", token=switched["accessToken"],
                                     body={"currentPassword": PASSWORD, "newPassword": PASSWORD + " again"}),
                           "POST", "/api/v1/auth/password", 200)
        self.check(self.call("DELETE", "/api/v1/workspaces/{id}", {"id": second["id"]}, fresh["accessToken"]),
                   "DELETE", "/api/v1/workspaces/{id}", 204)
        self.check(self.call("POST", "/api/v1/auth/logout", body={"refreshToken": fresh["refreshToken"]}),
                   "POST", "/api/v1/auth/logout", 204)
        self.check(self.call("POST", "/api/v1/auth/token/revoke-all", token=accepted["accessToken"]),
                   "POST", "/api/v1/auth/token/revoke-all", 204)
        self.check_problem(self.call("GET", "/api/v1/auth/me", token=accepted["accessToken"]),
                           "GET", "/api/v1/auth/me", 401, "INVALID_TOKEN")

    def test_error_responses(self):
        email, owner = self.onboard("Errors")
        wid, token = owner["workspaceId"], owner["accessToken"]
        ws = {"id": wid}
        onboarding = "/api/v1/auth/onboarding"

        self.check_problem(self.call("GET", "/api/v1/auth/me"), "GET", "/api/v1/auth/me", 401, "UNAUTHORIZED")
        self.check_problem(self.call("GET", "/api/v1/workspaces/{id}", ws, headers={"X-API-Key": "sk_nope"}),
                           "GET", "/api/v1/workspaces/{id}", 401, "INVALID_API_KEY")
        self.check_problem(self.call("POST", "/api/v1/auth/login", body={"email": email, "password": "wrong"}),
                           "POST", "/api/v1/auth/login", 401, "invalid_credentials")
        self.check_problem(self.call("POST", "/api/v1/auth/token", body={"refreshToken": "nope"}),
                           "POST", "/api/v1/auth/token", 401, "INVALID_REFRESH_TOKEN")

        p = self.check_problem(self.call("POST", onboarding, body={"workspaceName": "X", "adminEmail": "bad",
                                                                   "adminPassword": PASSWORD}),
                               "POST", onboarding, 400, "VALIDATION_FAILED")
        self.assertTrue(p["errors"])
        self.check_problem(self.call("POST", onboarding, raw=b"{not json", headers={"Content-Type": "application/json"}),
                           "POST", onboarding, 400, "INVALID_JSON")
        self.check_problem(self.call("POST", onboarding, raw=b"hello", headers={"Content-Type": "text/plain"}),
                           "POST", onboarding, 415, "UNSUPPORTED_MEDIA_TYPE")
        big = {"workspaceName": "x" * (70 * 1024)}
        self.check_problem(self.call("POST", onboarding, body=big), "POST", onboarding, 413, "PAYLOAD_TOO_LARGE")
        self.check_problem(self.call("POST", onboarding, body={"workspaceName": "Again", "adminEmail": email,
                                                               "adminPassword": PASSWORD}),
                           "POST", onboarding, 409, "EMAIL_TAKEN")
        self.check_problem(self.call("GET", "/api/v1/openapi.json", query="?api_key=sk_x"),
                           "GET", "/api/v1/openapi.json", 400, "CREDENTIALS_IN_URL")
        self.check_problem(self.call("GET", "/api/v1/workspaces/{id}/audit-logs", ws, token, query="?limit=0"),
                           "GET", "/api/v1/workspaces/{id}/audit-logs", 400, "INVALID_QUERY")

        self.check_problem(self.call("GET", "/api/v1/workspaces/{id}", {"id": "ws_doesnotexist"}, token),
                           "GET", "/api/v1/workspaces/{id}", 404, "NOT_FOUND")
        hook = "/api/v1/workspaces/{id}/webhook"
        self.check_problem(self.call("PUT", hook, ws, token, {"url": "ftp://example.com/hook"}), "PUT", hook, 400,
                           "VALIDATION_FAILED")
        self.check_problem(self.call("PUT", hook, ws, token, {"url": "https://example.com/", "events": ["x"]}),
                           "PUT", hook, 400, "VALIDATION_FAILED")
        self.check_problem(self.call("DELETE", hook, ws, token), "DELETE", hook, 404, "NOT_FOUND")
        self.check_problem(self.call("GET", hook, {"id": "ws_doesnotexist"}, token), "GET", hook, 404, "NOT_FOUND")
        self.check_problem(self.call("PATCH", "/api/v1/workspaces/{id}/members/{userId}",
                                     {"id": wid, "userId": owner["userId"]}, token, {"role": "member"}),
                           "PATCH", "/api/v1/workspaces/{id}/members/{userId}", 409, "LAST_OWNER")
        self.check_problem(self.call("POST", "/api/v1/invitations/accept", body={"token": "nope", "password": "x"}),
                           "POST", "/api/v1/invitations/accept", 404, "INVITATION_NOT_FOUND")

        inv = self.call("POST", "/api/v1/workspaces/{id}/invitations", ws, token,
                        {"email": "m-%s@example.com" % uuid.uuid4().hex[:8], "role": "member"}).json()
        member = self.call("POST", "/api/v1/invitations/accept", body={"token": inv["token"], "password": PASSWORD}).json()
        self.check_problem(self.call("PATCH", "/api/v1/workspaces/{id}", ws, member["accessToken"], {"name": "Mine"}),
                           "PATCH", "/api/v1/workspaces/{id}", 403, "FORBIDDEN")
        self.check_problem(self.call("GET", "/api/v1/workspaces/{id}", ws, token, headers={"X-Workspace-ID": "ws_x"}),
                           "GET", "/api/v1/workspaces/{id}", 403, "WORKSPACE_MISMATCH")
        key = self.call("POST", "/api/v1/workspaces/{id}/api-keys", ws, token, {"name": "k", "role": "member", "scopes": ["usage:read"]})
        key = key.json()["key"]
        self.check_problem(self.call("GET", "/api/v1/auth/me", headers={"X-API-Key": key}),
                           "GET", "/api/v1/auth/me", 403, "API_KEY_NOT_ALLOWED")
        self.check_problem(self.call("GET", "/api/v1/workspaces/{id}/members", ws, headers={"X-API-Key": key}),
                           "GET", "/api/v1/workspaces/{id}/members", 403, "INSUFFICIENT_SCOPE")

    def test_knowledge_base_flow(self):
        require_models(self)
        _, owner = self.onboard("Knowledge")
        token = owner["accessToken"]
        docs = "/api/v1/documents"
        one = "/api/v1/documents/{documentId}"
        chunks = "/api/v1/documents/{documentId}/chunks"

        # By JSON, with an Idempotency-Key: the retry answers 200 with the first document.
        refunds = ("Refund policy\n\nCustomers may return any product within thirty days of delivery for a full "
                   "refund. Refunds are paid to the original payment method within five business days.\n\n"
                   "Exchanges\n\nDamaged items are exchanged free of charge; contact support with the order number "
                   "and a photograph of the damage, and a courier collects the parcel at no cost to you.\n\n"
                   "Gift cards\n\nGift cards cannot be exchanged for cash. An unused gift card stays valid for three "
                   "years from the date of purchase and can be used for several orders until its balance is spent.")
        key = {"Idempotency-Key": "refunds-" + uuid.uuid4().hex}
        body = {"text": refunds, "title": "Refund policy", "url": "https://example.com/refunds",
                "metadata": {"tags": ["billing", "policy"], "owner": "support"},
                "chunking": {"strategy": "paragraph", "maxTokens": 64, "overlapTokens": 0}}
        created = self.check(self.call("POST", docs, token=token, body=body, headers=key), "POST", docs, 202)
        self.assertFalse(created["duplicate"])
        self.assertEqual(created["document"]["status"], "queued")
        self.assertEqual(created["document"]["externalId"], "https://example.com/refunds")
        doc_id, first_job = created["document"]["id"], created["jobId"]
        again = self.check(self.call("POST", docs, token=token, body=dict(body, text="changed"), headers=key),
                           "POST", docs, 200)
        self.assertTrue(again["duplicate"])
        self.assertEqual(again["document"]["id"], doc_id)

        # By multipart upload: a Markdown file with form fields.
        shipping = (b"# Shipping\n\nParcels ship worldwide within two business days by courier.\n\n"
                    b"## Tracking\n\nEvery parcel has a tracking number, sent by e-mail when it leaves the "
                    b"warehouse.\n")
        form, media = multipart([("title", "Shipping guide"), ("externalId", "kb-shipping"),
                                 ("metadata", json.dumps({"tags": ["shipping"]})),
                                 ("chunking", json.dumps({"strategy": "fixed", "maxTokens": 64, "overlapTokens": 8}))],
                                [("file", "shipping.md", "text/markdown", shipping)])
        uploaded = self.check(self.call("POST", docs, token=token, raw=form, headers={"Content-Type": media}),
                              "POST", docs, 202)
        self.assertEqual(uploaded["document"]["filename"], "shipping.md")
        upload_id = uploaded["document"]["id"]

        # The seed's batch ingest, with a service API key.
        ws = {"id": owner["workspaceId"]}
        service = self.check(self.call("POST", "/api/v1/workspaces/{id}/api-keys", ws, token,
                                       {"name": "feeder", "role": "service", "scopes": ["documents:write"]}),
                             "POST", "/api/v1/workspaces/{id}/api-keys", 201)["key"]
        ingest = "/api/v1/agents/customer-service/ingest"
        batch = self.check(self.call("POST", ingest, headers={"X-API-Key": service},
                                     body={"workspaceId": owner["workspaceId"], "documents": [
                                         {"content": "Support is open Monday to Friday, nine to five.",
                                          "externalId": "faq-hours"},
                                         {"text": refunds}]}),  # already stored: a duplicate
                           "POST", ingest, 202)
        self.assertEqual(batch["enqueued"], 1)
        self.assertEqual(batch["documentIds"][1], doc_id)

        # The server's workers ingest them.
        ready = self.wait_for_document(token, doc_id)
        self.assertEqual(ready["job"]["id"], first_job)  # completed just after the document is ready
        self.assertEqual(ready["format"], "text")
        self.assertEqual(ready["chunking"], {"strategy": "paragraph", "maxTokens": 64, "overlapTokens": 0})
        self.assertGreaterEqual(ready["chunkCount"], 2)
        self.assertEqual(self.wait_for_document(token, upload_id)["format"], "markdown")
        self.wait_for_document(token, batch["documentIds"][0])

        # Lists: documents by cursor, chunks by offset.
        page = self.check(self.call("GET", docs, token=token, query="?limit=2"), "GET", docs, 200)
        self.assertEqual([d["id"] for d in page["items"]], [doc_id, upload_id])
        self.assertIsNotNone(page["nextCursor"])
        last = self.check(self.call("GET", docs, token=token, query="?status=ready&cursor=" + page["nextCursor"]),
                          "GET", docs, 200)
        self.assertEqual([d["id"] for d in last["items"]], [batch["documentIds"][0]])
        self.assertIsNone(last["nextCursor"])
        params = {"documentId": doc_id}
        head = self.check(self.call("GET", chunks, params, token, query="?limit=1"), "GET", chunks, 200)
        self.assertEqual((len(head["items"]), head["total"], head["nextOffset"]), (1, ready["chunkCount"], 1))
        rest = self.check(self.call("GET", chunks, params, token, query="?offset=1&limit=200"), "GET", chunks, 200)
        self.assertIsNone(rest["nextOffset"])
        self.assertEqual(len(rest["items"]), ready["chunkCount"] - 1)

        # Search, in every mode, and with a filter.
        for mode in ("hybrid", "vector", "keyword"):
            found = self.check(self.call("POST", "/api/v1/search", token=token,
                                         body={"query": "refund within thirty days", "mode": mode, "topK": 3}),
                               "POST", "/api/v1/search", 200)
            self.assertEqual(found["mode"], mode)
            self.assertTrue(found["results"], found)
            self.assertEqual(found["results"][0]["documentId"], doc_id, (mode, found["results"][0]))
        filtered = self.check(self.call("POST", "/api/v1/search", token=token, body={
            "query": "tracking number", "filter": {"tags": ["shipping"], "tagMatch": "all",
                                                   "createdAfter": "2020-01-01T00:00:00Z"}}),
            "POST", "/api/v1/search", 200)
        self.assertEqual({h["documentId"] for h in filtered["results"]}, {upload_id})

        # Jobs: the document's job; nothing dead; only a dead job can be retried.
        job = self.wait_for_job(token, first_job, "completed")
        self.assertEqual((job["status"], job["queue"], job["result"]["documentId"]), ("completed", "ingest", doc_id))
        dead = self.check(self.call("GET", "/api/v1/jobs", token=token, query="?status=dead"),
                          "GET", "/api/v1/jobs", 200)
        self.assertEqual(dead, {"items": [], "nextCursor": None})
        self.check_problem(self.call("POST", "/api/v1/jobs/{jobId}/retry", {"jobId": first_job}, token),
                           "POST", "/api/v1/jobs/{jobId}/retry", 409, "JOB_NOT_DEAD")

        # Reindex with another chunking, then with none (no body).
        reindex = "/api/v1/documents/{documentId}/reindex"
        redone = self.check(self.call("POST", reindex, params, token,
                                      {"chunking": {"strategy": "fixed", "maxTokens": 64, "overlapTokens": 16}}),
                            "POST", reindex, 202)
        self.assertEqual(redone["document"]["version"], ready["version"] + 1)
        self.assertNotEqual(redone["jobId"], first_job)
        self.assertEqual(self.wait_for_document(token, doc_id, version=redone["document"]["version"])["chunking"],
                         {"strategy": "fixed", "maxTokens": 64, "overlapTokens": 16})
        redone = self.check(self.call("POST", reindex, params, token), "POST", reindex, 202)
        self.wait_for_document(token, doc_id, version=redone["document"]["version"])

        # Another workspace sees none of it.
        _, other = self.onboard("Elsewhere")
        self.check_problem(self.call("GET", one, params, other["accessToken"]), "GET", one, 404, "NOT_FOUND")
        self.check_problem(self.call("GET", chunks, params, other["accessToken"]), "GET", chunks, 404, "NOT_FOUND")
        self.check_problem(self.call("GET", "/api/v1/jobs/{jobId}", {"jobId": first_job}, other["accessToken"]),
                           "GET", "/api/v1/jobs/{jobId}", 404, "NOT_FOUND")
        self.check_problem(self.call("DELETE", one, params, other["accessToken"]), "DELETE", one, 404, "NOT_FOUND")
        nothing = self.check(self.call("POST", "/api/v1/search", token=other["accessToken"], body={"query": "refund"}),
                             "POST", "/api/v1/search", 200)
        self.assertEqual(nothing["results"], [])

        self.check(self.call("DELETE", one, params, token), "DELETE", one, 204)
        self.check_problem(self.call("GET", one, params, token), "GET", one, 404, "NOT_FOUND")
        self.check_problem(self.call("POST", reindex, params, token), "POST", reindex, 404, "NOT_FOUND")

    def test_knowledge_base_errors(self):
        require_models(self)
        _, owner = self.onboard("KB errors")
        token = owner["accessToken"]
        docs, search = "/api/v1/documents", "/api/v1/search"

        for bad in ({"query": "refunds", "topK": 0}, {"query": "refunds", "mode": "fuzzy"}, {"query": "  "},
                    {"query": "refunds", "threshold": 2}, {"topK": 3}):
            with self.subTest(body=bad):
                p = self.check_problem(self.call("POST", search, token=token, body=bad), "POST", search, 400,
                                       "VALIDATION_FAILED")
                self.assertTrue(p["errors"])
        self.check_problem(self.call("POST", search, token=token, body={"query": "x", "filter": {"tag": ["a"]}}),
                           "POST", search, 400, "UNKNOWN_FIELDS")
        self.check_problem(self.call("POST", search, token=token, body={"query": "x", "workspaceId": "ws_other"}),
                           "POST", search, 403, "WORKSPACE_MISMATCH")
        self.check_problem(self.call("POST", search, token=token, raw=b"query=x",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"}),
                           "POST", search, 415, "UNSUPPORTED_MEDIA_TYPE")

        self.check_problem(self.call("POST", docs, token=token, body={"text": "a", "content": "b"}),
                           "POST", docs, 400, "VALIDATION_FAILED")
        self.check_problem(self.call("POST", docs, token=token, body={"text": "a"},
                                     headers={"Idempotency-Key": "has space"}),
                           "POST", docs, 400, "INVALID_IDEMPOTENCY_KEY")
        self.check_problem(self.call("POST", docs, token=token, body={"text": "a", "chunking": {"maxTokens": 1}}),
                           "POST", docs, 400, "VALIDATION_FAILED")
        form, media = multipart([("colour", "blue")], [("file", "a.txt", "text/plain", b"hello")])
        self.check_problem(self.call("POST", docs, token=token, raw=form, headers={"Content-Type": media}),
                           "POST", docs, 400, "UNKNOWN_FIELDS")
        png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
        form, media = multipart([], [("file", "pixel.png", "image/png", png + b"\x00" * 64)])
        self.check_problem(self.call("POST", docs, token=token, raw=form, headers={"Content-Type": media}),
                           "POST", docs, 415, "UNSUPPORTED_MEDIA_TYPE")
        self.check_problem(self.call("POST", docs, token=token, raw=b"hello", headers={"Content-Type": "text/plain"}),
                           "POST", docs, 415, "UNSUPPORTED_MEDIA_TYPE")
        # Over STUDIO_MAX_UPLOAD (256 KiB here) but within the form's allowance: refused by ingestion.
        form, media = multipart([], [("file", "big.txt", "text/plain", b"words and more words\n" * 15000)])
        self.check_problem(self.call("POST", docs, token=token, raw=form, headers={"Content-Type": media}),
                           "POST", docs, 413, "PAYLOAD_TOO_LARGE")
        self.check_problem(self.call("GET", docs, token=token, query="?status=lost"), "GET", docs, 400, "INVALID_QUERY")
        self.check_problem(self.call("GET", docs, token=token, query="?cursor=%21%21"), "GET", docs, 400,
                           "INVALID_QUERY")
        self.check_problem(self.call("GET", "/api/v1/jobs", token=token, query="?status=waiting"),
                           "GET", "/api/v1/jobs", 400, "INVALID_QUERY")
        self.check_problem(self.call("GET", "/api/v1/jobs/{jobId}", {"jobId": "job_nope"}, token),
                           "GET", "/api/v1/jobs/{jobId}", 404, "NOT_FOUND")

        # An agent reads but does not write documents; a key searches only with search:read; only owners
        # (and platform admins) list the dead jobs.
        key = self.check(self.call("POST", "/api/v1/workspaces/{id}/api-keys", {"id": owner["workspaceId"]}, token,
                                   {"name": "reader", "role": "agent", "scopes": ["documents:read"]}),
                         "POST", "/api/v1/workspaces/{id}/api-keys", 201)["key"]
        self.check_problem(self.call("POST", docs, headers={"X-API-Key": key}, body={"text": "x"}),
                           "POST", docs, 403, "FORBIDDEN")
        self.check_problem(self.call("POST", search, headers={"X-API-Key": key}, body={"query": "x"}),
                           "POST", search, 403, "INSUFFICIENT_SCOPE")
        self.check_problem(self.call("GET", "/api/v1/jobs", headers={"X-API-Key": key}),
                           "GET", "/api/v1/jobs", 403, "FORBIDDEN")

    def test_agent_flow(self):
        require_models(self)
        _, owner = self.onboard("Agent")
        token, wid = owner["accessToken"], owner["workspaceId"]
        ws = {"id": wid}
        doc_id = self.add_agent_knowledge(token)

        # Settings: every default as documented; PUT merges, null resets one field.
        config = "/api/v1/agents/customer-service/config"
        documented = self.spec["components"]["schemas"]["AgentConfig"]["properties"]
        got = self.check(self.call("GET", config, token=token), "GET", config, 200)
        self.assertEqual(got, {name: p["default"] for name, p in documented.items()})
        changed = self.check(self.call("PUT", config, token=token,
                                       body={"persona": "friendly", "topK": 3, "responseLength": "short"}),
                             "PUT", config, 200)
        self.assertEqual((changed["persona"], changed["topK"], changed["responseLength"]), ("friendly", 3, "short"))
        self.assertEqual(changed["temperature"], documented["temperature"]["default"])
        reset = self.check(self.call("PUT", config, token=token, body={"persona": None, "workspaceId": wid}),
                           "PUT", config, 200)
        self.assertEqual((reset["persona"], reset["topK"]), ("professional", 3))
        self.assertEqual(self.check(self.call("GET", config, token=token), "GET", config, 200), reset)
        p = self.check_problem(self.call("PUT", config, token=token, body={"topK": 0, "temperature": 3}),
                               "PUT", config, 400, "VALIDATION_FAILED")
        self.assertEqual({e["field"] for e in p["errors"]}, {"topK", "temperature"})
        self.check_problem(self.call("PUT", config, token=token, body={"colour": "blue"}), "PUT", config, 400,
                           "UNKNOWN_FIELDS")

        # Chat: a new conversation, then a follow-up in it (stream: false wins over Accept).
        chat = "/api/v1/agents/customer-service/chat"
        first = self.check(self.call("POST", chat, token=token,
                                     body={"message": "How long does it take for refunds to be paid?"}),
                           "POST", chat, 200)
        self.assertEqual((first["status"], first["fallback"], first["model"]), ("complete", False, "extractive"))
        self.assertTrue(first["sources"], first)
        self.assertEqual(first["sources"][0]["documentId"], doc_id)
        self.assertIn("[%d]" % first["sources"][0]["n"], first["reply"])
        conversation = first["conversationId"]
        follow = self.check(self.call("POST", chat, token=token,
                                      body={"message": "Are damaged items exchanged free of charge?",
                                            "conversationId": conversation, "context": {"page": "/orders/42"},
                                            "stream": False},
                                      headers={"Accept": "text/event-stream"}),
                            "POST", chat, 200)
        self.assertEqual(follow["conversationId"], conversation)
        self.check_problem(self.call("POST", chat, token=token, body={"message": "x", "conversationId": "cnv_nope"}),
                           "POST", chat, 404, "CONVERSATION_NOT_FOUND")
        self.check_problem(self.call("POST", chat, token=token, body={"message": ""}), "POST", chat, 400,
                           "VALIDATION_FAILED")

        # Run: with the client's own history (a new conversation), and with a message in a stored one.
        run = "/api/v1/agents/customer-service/run"
        ran = self.check(self.call("POST", run, token=token, body={"input": {"messages": [
            {"role": "system", "content": "Answer in one sentence."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Can damaged items be exchanged?"}]}}),
            "POST", run, 200)
        self.assertEqual((ran["runId"], ran["status"]), (ran["messageId"], "completed"))
        self.assertNotEqual(ran["conversationId"], conversation)
        again = self.check(self.call("POST", run, token=token,
                                     body={"message": "Where are refunds paid to?", "conversationId": conversation}),
                           "POST", run, 200)
        self.assertEqual(again["conversationId"], conversation)
        self.check_problem(self.call("POST", run, token=token,
                                     body={"message": "x", "input": {"messages": [{"role": "user", "content": "x"}]}}),
                           "POST", run, 400, "VALIDATION_FAILED")
        self.check_problem(self.call("POST", run, token=token,
                                     body={"input": {"messages": [{"role": "user", "content": "x"}], "extra": 1}}),
                           "POST", run, 400, "UNKNOWN_FIELDS")

        # Conversations: the list by cursor, one with its messages, paged by afterSeq.
        listing = "/api/v1/conversations"
        one = "/api/v1/conversations/{conversationId}"
        page = self.check(self.call("GET", listing, token=token, query="?limit=1"), "GET", listing, 200)
        self.assertEqual([c["id"] for c in page["data"]], [conversation])  # the most recently updated
        rest = self.check(self.call("GET", listing, token=token, query="?cursor=" + page["nextCursor"]),
                          "GET", listing, 200)
        self.assertEqual(([c["id"] for c in rest["data"]], rest["nextCursor"]), ([ran["conversationId"]], None))
        params = {"conversationId": conversation}
        whole = self.check(self.call("GET", one, params, token), "GET", one, 200)
        self.assertEqual((whole["channel"], whole["messageCount"], whole["nextAfterSeq"]), ("api", 6, None))
        self.assertEqual([m["seq"] for m in whole["messages"]], [1, 2, 3, 4, 5, 6])
        self.assertEqual([m["role"] for m in whole["messages"]], ["user", "assistant"] * 3)
        self.assertEqual((whole["messages"][1]["id"], whole["messages"][1]["content"]),
                         (first["messageId"], first["reply"]))
        part = self.check(self.call("GET", one, params, token, query="?afterSeq=2&limit=2"), "GET", one, 200)
        self.assertEqual(([m["seq"] for m in part["messages"]], part["nextAfterSeq"]), ([3, 4], 4))
        self.check_problem(self.call("GET", one, params, token, query="?limit=0"), "GET", one, 400, "INVALID_QUERY")
        self.check_problem(self.call("GET", listing, token=token, query="?cursor=%21%21"), "GET", listing, 400,
                           "INVALID_QUERY")

        # The widget: a key for one origin, the public chat from it (and from nowhere else).
        keys = "/api/v1/workspaces/{id}/widget-keys"
        origin = "https://shop.example.com"
        key = self.check(self.call("POST", keys, ws, token, {"name": "Shop", "allowedOrigins": [origin]}),
                         "POST", keys, 201)
        self.assertEqual((key["allowedOrigins"], key["revokedAt"]), ([origin], None))
        listed = self.check(self.call("GET", keys, ws, token), "GET", keys, 200)
        self.assertEqual([k["id"] for k in listed["data"]], [key["id"]])
        self.check_problem(self.call("POST", keys, ws, token, {"allowedOrigins": ["https://shop.example.com/path"]}),
                           "POST", keys, 400, "VALIDATION_FAILED")
        public = "/api/v1/public/chat"
        visitor = {"X-Widget-Key": key["key"], "Origin": origin}
        answer = self.check(self.call("POST", public, headers=visitor, body={"message": "How long do refunds take?"}),
                            "POST", public, 200)
        followed = self.check(self.call("POST", public, headers={"Origin": origin},
                                        body={"message": "And exchanges?", "conversationId": answer["conversationId"],
                                              "widgetKey": key["key"]}),
                              "POST", public, 200)
        self.assertEqual(followed["conversationId"], answer["conversationId"])
        self.check_problem(self.call("POST", public, headers={"Origin": origin}, body={"message": "hi"}),
                           "POST", public, 401, "WIDGET_KEY_REQUIRED")
        self.check_problem(self.call("POST", public, headers={"X-Widget-Key": "pk_nope", "Origin": origin},
                                     body={"message": "hi"}),
                           "POST", public, 401, "INVALID_WIDGET_KEY")
        self.check_problem(self.call("POST", public, headers=dict(visitor, Origin="https://evil.example.com"),
                                     body={"message": "hi"}),
                           "POST", public, 403, "ORIGIN_NOT_ALLOWED")
        self.check_problem(self.call("POST", public, headers=visitor,
                                     body={"message": "hi", "conversationId": conversation}),  # a staff one
                           "POST", public, 404, "CONVERSATION_NOT_FOUND")
        widget_conversation = self.check(self.call("GET", one, {"conversationId": answer["conversationId"]}, token),
                                         "GET", one, 200)
        self.assertEqual((widget_conversation["channel"], widget_conversation["messageCount"]), ("widget", 4))

        # The OpenAI-compatible endpoints, with an API key as OpenAI's SDKs send it.
        api_key = self.check(self.call("POST", "/api/v1/workspaces/{id}/api-keys", ws, token,
                                       {"name": "sdk", "role": "agent", "scopes": ["agent:chat"]}),
                             "POST", "/api/v1/workspaces/{id}/api-keys", 201)["key"]
        models = self.check(self.call("GET", "/v1/models", token=api_key), "GET", "/v1/models", 200)
        self.assertEqual([m["id"] for m in models["data"]], ["customer-service"])
        completions = "/v1/chat/completions"
        completion = self.check(self.call("POST", completions, token=api_key, body={
            "model": "customer-service", "temperature": 0.5, "user": "ignored-by-the-agent",
            "messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": [{"type": "text", "text": "How long do refunds take?"}]}]}),
            "POST", completions, 200)
        self.assertEqual(completion["choices"][0]["message"]["role"], "assistant")
        self.assertTrue(completion["sources"], completion)
        e = self.check_openai_error(self.call("POST", completions, token=api_key,
                                              body={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}),
                                    "POST", completions, 404, "model_not_found")
        self.assertEqual(e["type"], "not_found_error")
        e = self.check_openai_error(self.call("POST", completions, token=api_key, body={"model": "customer-service"}),
                                    "POST", completions, 400, "validation_failed")
        self.assertEqual((e["type"], e["param"]), ("invalid_request_error", "messages"))
        self.check_openai_error(self.call("POST", completions, body={"model": "customer-service"}),
                                "POST", completions, 401, "unauthorized")
        self.check_openai_error(self.call("GET", "/v1/models", headers={"X-API-Key": "sk_nope"}),
                                "GET", "/v1/models", 401, "invalid_api_key")
        reader = self.check(self.call("POST", "/api/v1/workspaces/{id}/api-keys", ws, token,
                                      {"name": "reader", "role": "agent", "scopes": ["documents:read"]}),
                            "POST", "/api/v1/workspaces/{id}/api-keys", 201)["key"]
        self.check_openai_error(self.call("GET", "/v1/models", token=reader), "GET", "/v1/models", 403,
                                "insufficient_scope")
        self.check_problem(self.call("POST", completions, token=api_key, raw=b"model=customer-service",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"}),
                           "POST", completions, 415, "UNSUPPORTED_MEDIA_TYPE")

        # The agent's usage this period (once the usage route reports it): 7 answers above.
        usage = self.check(self.call("GET", "/api/v1/workspaces/{id}/usage", ws, token),
                           "GET", "/api/v1/workspaces/{id}/usage", 200)
        if "agent" in usage:
            self.assertEqual(usage["agent"]["messages"], 7, usage["agent"])

        # Revoke the widget key; delete a conversation (members may, agents may not).
        revoke = "/api/v1/workspaces/{id}/widget-keys/{keyId}"
        self.check(self.call("DELETE", revoke, {"id": wid, "keyId": key["id"]}, token), "DELETE", revoke, 204)
        self.check_problem(self.call("DELETE", revoke, {"id": wid, "keyId": key["id"]}, token), "DELETE", revoke,
                           404, "NOT_FOUND")
        self.check_problem(self.call("POST", public, headers=visitor, body={"message": "hi"}), "POST", public, 401,
                           "INVALID_WIDGET_KEY")
        revoked = self.check(self.call("GET", keys, ws, token), "GET", keys, 200)["data"][0]
        self.assertIsNotNone(revoked["revokedAt"])
        self.check_problem(self.call("DELETE", one, params, headers={"X-API-Key": api_key}), "DELETE", one, 403,
                           "FORBIDDEN")
        self.check(self.call("DELETE", one, params, token), "DELETE", one, 204)
        self.check_problem(self.call("GET", one, params, token), "GET", one, 404, "CONVERSATION_NOT_FOUND")
        self.check_problem(self.call("DELETE", one, params, token), "DELETE", one, 404, "CONVERSATION_NOT_FOUND")

    def test_dead_letter_queue(self):
        require_models(self)
        _, owner = self.onboard("Dead letters")
        token = owner["accessToken"]
        dlq = "/api/v1/admin/dlq"

        # Platform operations: the operator key or a platform admin, never a workspace's credentials.
        self.check_problem(self.call("GET", dlq), "GET", dlq, 401, "UNAUTHORIZED")
        self.check_problem(self.call("GET", dlq, token="not-the-operator-key"), "GET", dlq, 401, "INVALID_TOKEN")
        self.check_problem(self.call("GET", dlq, token=token), "GET", dlq, 403, "FORBIDDEN")
        key = self.check(self.call("POST", "/api/v1/workspaces/{id}/api-keys", {"id": owner["workspaceId"]}, token,
                                   {"name": "ops", "role": "owner"}),
                         "POST", "/api/v1/workspaces/{id}/api-keys", 201)["key"]
        self.check_problem(self.call("GET", dlq + "/stats", headers={"X-API-Key": key}),
                           "GET", dlq + "/stats", 403, "API_KEY_NOT_ALLOWED")

        # Text without words cannot be chunked: a permanent failure, straight to the dead-letter queue.
        created = self.check(self.call("POST", "/api/v1/documents", token=token, body={"text": " \n\t \n"}),
                             "POST", "/api/v1/documents", 202)
        failed = self.wait_for_document(token, created["document"]["id"], statuses=("failed",))
        self.assertEqual(failed["error"]["code"], "EMPTY_DOCUMENT", failed)
        job_id = created["jobId"]
        dead = self.wait_for_job(token, job_id, "dead")
        self.assertTrue(dead["errors"])
        self.assertIsNotNone(dead["finishedAt"])

        page = self.check(self.call("GET", "/api/v1/jobs", token=token), "GET", "/api/v1/jobs", 200)
        self.assertEqual([j["id"] for j in page["items"]], [job_id])
        retried = self.check(self.call("POST", "/api/v1/jobs/{jobId}/retry", {"jobId": job_id}, token),
                             "POST", "/api/v1/jobs/{jobId}/retry", 200)
        self.assertEqual(retried["attempts"], 0)
        self.wait_for_job(token, job_id, "dead")

        op = OPERATOR_KEY
        listed = self.check(self.call("GET", dlq, token=op, query="?queue=ingest&limit=500"), "GET", dlq, 200)
        self.assertIn(job_id, [j["id"] for j in listed["items"]])
        stats = self.check(self.call("GET", dlq + "/stats", token=op), "GET", dlq + "/stats", 200)
        self.assertGreaterEqual(stats["total"], 1)
        self.assertIn(owner["workspaceId"], [g["key"] for g in stats["byWorkspace"]])
        one = self.check(self.call("GET", dlq + "/{jobId}", {"jobId": job_id}, op), "GET", dlq + "/{jobId}", 200)
        self.assertEqual((one["status"], one["workspaceId"]), ("dead", owner["workspaceId"]))
        self.check_problem(self.call("GET", dlq + "/{jobId}", {"jobId": "job_nope"}, op),
                           "GET", dlq + "/{jobId}", 404, "NOT_FOUND")

        self.check(self.call("POST", dlq + "/{jobId}/retry", {"jobId": job_id}, op),
                   "POST", dlq + "/{jobId}/retry", 200)
        self.wait_for_job(token, job_id, "dead")
        retried = self.check(self.call("POST", dlq + "/retry-all", token=op, body={"queue": "ingest"}),
                             "POST", dlq + "/retry-all", 200)
        self.assertGreaterEqual(retried["retried"], 1)
        self.wait_for_job(token, job_id, "dead")
        self.check_problem(self.call("POST", dlq + "/retry-all", token=op, body={"queue": 7}),
                           "POST", dlq + "/retry-all", 400, "VALIDATION_FAILED")
        purged = self.check(self.call("DELETE", dlq, token=op, query="?queue=ingest"), "DELETE", dlq, 200)
        self.assertGreaterEqual(purged["purged"], 1)
        self.check_problem(self.call("POST", dlq + "/{jobId}/retry", {"jobId": job_id}, op),
                           "POST", dlq + "/{jobId}/retry", 404, "NOT_FOUND")
        empty = self.check(self.call("GET", dlq + "/stats", token=op), "GET", dlq + "/stats", 200)
        self.assertEqual(empty, {"total": 0, "oldestAt": None, "byQueue": [], "byWorkspace": []})
        self.check(self.call("GET", dlq, token=op), "GET", dlq, 200)
        self.check_problem(self.call("GET", dlq, token=op, query="?cursor=nonsense"), "GET", dlq, 400, "INVALID_CURSOR")


class OpenApiEventStreams(OpenApiTestCase):
    """The agent's event streams, each event against the schema x-sse-events names."""

    def test_agent_event_streams(self):
        require_models(self)
        _, owner = self.onboard("Streams")
        token, ws = owner["accessToken"], {"id": owner["workspaceId"]}
        self.add_agent_knowledge(token)

        # Chat: token…, sources, done; the reply is the tokens, citing the sources.
        chat = "/api/v1/agents/customer-service/chat"
        events = self.check_events(self.call("POST", chat, token=token,
                                             body={"message": "How long does it take for refunds to be paid?",
                                                   "stream": True}),
                                   "POST", chat)
        kinds = [name for name, _ in events]
        self.assertEqual(kinds[-2:], ["sources", "done"], kinds)
        self.assertTrue(kinds[:-2] and set(kinds[:-2]) == {"token"}, kinds)
        self.assertEqual(events[-1][1]["status"], "complete")
        reply = "".join(data["delta"] for name, data in events if name == "token")
        self.assertTrue(events[-2][1]["sources"], events)
        for source in events[-2][1]["sources"]:
            self.assertIn("[%d]" % source["n"], reply)

        # Run, streamed because of Accept; the widget's chat, streamed because of stream: true.
        run = "/api/v1/agents/customer-service/run"
        streamed = self.check_events(self.call("POST", run, token=token, body={"message": "How are refunds paid?"},
                                               headers={"Accept": "text/event-stream"}),
                                     "POST", run)
        self.assertEqual(streamed[-1][0], "done")
        origin = "https://shop.example.com"
        key = self.check(self.call("POST", "/api/v1/workspaces/{id}/widget-keys", ws, token,
                                   {"allowedOrigins": [origin]}),
                         "POST", "/api/v1/workspaces/{id}/widget-keys", 201)["key"]
        public = "/api/v1/public/chat"
        widget = self.check_events(self.call("POST", public, headers={"X-Widget-Key": key, "Origin": origin},
                                             body={"message": "Refunds?", "stream": True}),
                                   "POST", public)
        self.assertEqual(widget[-1][0], "done")

        # OpenAI's chunks, the usage chunk, then [DONE].
        completions = "/v1/chat/completions"
        chunks = self.check_events(self.call("POST", completions, token=token, body={
            "model": "customer-service", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "How long do refunds take?"}]}),
            "POST", completions)
        self.assertEqual(chunks[-1], ("message", "[DONE]"))
        data = [c for _, c in chunks[:-1]]
        self.assertEqual({c["object"] for c in data}, {"chat.completion.chunk"})
        self.assertEqual(len({c["id"] for c in data}), 1)
        self.assertEqual(data[0]["choices"][0]["delta"]["role"], "assistant")
        self.assertEqual((data[-1]["choices"], "usage" in data[-1]), ([], True))
        self.assertEqual(data[-2]["choices"][0]["finish_reason"], "stop")
        self.assertIn("sources", data[-2])

        # The server is still answering.
        self.check(self.call("GET", "/status/live"), "GET", "/status/live", 200)


class OpenApiRateLimited(OpenApiTestCase):
    """429 needs its own server: a per-IP limit of a few requests would starve the other tests."""

    server_env = {"STUDIO_RATE_LIMIT_PER_IP": "3"}

    def test_too_many_requests(self):
        statuses = []
        for _ in range(6):
            r = self.call("GET", "/api/v1/openapi.json")
            statuses.append(r.status)
            if r.status == 429:
                self.check_problem(r, "GET", "/api/v1/openapi.json", 429, "RATE_LIMITED")
                self.assertTrue(r.headers.get("retry-after"))
                break
            self.check(r, "GET", "/api/v1/openapi.json", 200)
        self.assertEqual(statuses[-1], 429, statuses)


if __name__ == "__main__":
    unittest.main()
