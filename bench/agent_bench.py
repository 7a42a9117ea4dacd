#!/usr/bin/env python3
"""The customer-service agent under load, with a chat model that answers at once (the fake
OpenAI-compatible API, tests/fakes/fake_openai.py). Python 3 standard library only.

    agent_bench.py --studio-port P --studio-pid PID --fake-port F --models DIR [options]

studio must run with STUDIO_CHAT_PROVIDER=openai against the fake, the local embedder and the rate
limits off; bench/run.sh starts both (`bench/run.sh BUILD_DIR agent` runs only this). Then:

 1. Setup: onboards a workspace, creates an API key (agent:chat and search:read, as an integration
    would use), and ingests a generated help centre through POST
    /api/v1/agents/customer-service/ingest (batches of 100): --docs Markdown articles, each a
    title with an introduction and --sections sections of --words words under '##' headings, one
    chunk per section (default 1,000 x 11 = 11,000 chunks). The prose is 30 % words of the
    article's topic (20 customer-service topics, 10 words each) and 70 % the local model's --vocab
    most frequent words drawn by a Zipf law; a question takes two topic words and two less common
    words of one section ("How does the refund card work with X and Y?"), so retrieval finds
    passages. --vocab 0: a built-in vocabulary of ~300 words and questions of three topic words.
 2. The fake's own time to first token, from this client: the body studio sent the fake for a turn
    (captured once), sent straight to the fake, one at a time and --concurrency at once.
 3. One request at a time: a turn's time to first token, and POST /api/v1/search with the same
    questions (hybrid, top 10: the agent's candidates) with the retriever's own stage timings.
 4. Time to first token at --concurrency conversations, each a loop of streamed turns
    (POST /api/v1/agents/customer-service/chat, stream:true, one keep-alive connection per
    conversation). A sample is the time from the moment the request has been written to the
    socket until the bytes holding the first `token` event have been read. "paced": after the
    `done` event a conversation waits --think-ms (uniform 0.5x..1.5x) before its next question;
    "saturated": no pause. After --turns turns a conversation starts anew (the memory window holds
    5 turns; beyond it every turn adds a summarising model call). The first --warmup turns of each
    run are not counted. Net = studio's percentile minus the fake's median one at a time.
 5. Memory: the fake holds every stream after its first token (chat_hold_ms); --streams streamed
    turns, each a new conversation on its own connection, are opened --open-parallel at a time.
    Once all have delivered their first token: studio's VmRSS (/proc/PID/status) against its RSS
    just before (after the runs above: warm); then every client disconnects, and RSS and threads
    are read again.

Prints one line per measurement; --json FILE also writes the results as JSON."""

import argparse
import asyncio
import http.client
import itertools
import json
import os
import random
import re
import resource
import statistics
import struct
import sys
import time
import uuid

CHAT = "/api/v1/agents/customer-service/chat"
INGEST = "/api/v1/agents/customer-service/ingest"
PASSWORD = "correct horse battery staple 42!"
# What the fake answers: a short reply citing a passage (so sources are resolved), ~20 tokens.
REPLY = ("Thanks for asking. According to our help centre [1], you can do this from your account page; "
         "it usually takes a few minutes.")

# --- the generated help centre ------------------------------------------------------------------

TOPICS = {
    "refunds": "refund return money card credit receipt damaged original item bank reimbursement",
    "shipping": "shipping delivery parcel courier tracking warehouse dispatch postage address carrier",
    "passwords": "password login reset email link account security locked sign verification",
    "billing": "invoice billing payment charge vat receipt statement overdue currency tax",
    "subscriptions": "subscription plan renewal cancel upgrade downgrade monthly annual trial membership",
    "orders": "order checkout basket cart confirmation quantity purchase reference modify cancel",
    "warranty": "warranty repair defect guarantee replacement fault broken manufacturer claim service",
    "returns": "returns label package collection drop condition exchange unused packaging deadline",
    "privacy": "privacy data personal consent cookies deletion export gdpr information request",
    "mobile app": "app mobile phone install update notification android iphone download version",
    "gift cards": "gift card voucher balance code redeem expiry promotion discount coupon",
    "loyalty": "loyalty points rewards member tier bonus redeem partner offer birthday",
    "stores": "store shop opening hours location branch appointment staff pickup parking",
    "international": "international customs duties import abroad country border export overseas currency",
    "payments": "payment paypal transfer instalment declined bank card wallet authorisation secure",
    "accounts": "account profile name phone preferences newsletter settings close merge verify",
    "products": "product size colour material stock availability specification manual dimensions weight",
    "installation": "installation assembly instructions technician tools setup mounting wall visit",
    "complaints": "complaint feedback escalation manager response resolution survey apology compensation",
    "business": "business company bulk quote wholesale corporate contract discount invoice account",
}
GENERAL = ("the a you your our we can will to of and in for on with within from after before when if "
           "please usually most any each every this that these it they customers team days hours week "
           "business time free available need help contact page below above first then also may must "
           "not only more than about into over up out online form website number details ready simple "
           "quick new same other sure able check choose select click open follow receive send keep "
           "find make take give ask wait use change add remove include arrive process request support "
           "message chat call answer information option step guide case question problem reason").split()
HEADINGS = ["Overview", "How it works", "Before you start", "Step by step", "Time frames", "Costs",
            "Exceptions", "Troubleshooting", "Frequently asked", "Contact us", "Good to know", "Limits"]


def model_vocabulary(models_dir, n):
    """The n most frequent plain lower-case words of the local embedder's vocabulary (its word-vector
    file lists words by frequency: scripts/fetch-models.sh, src/search/embed/word_vectors.cpp)."""
    path = os.path.join(models_dir or "", "glove-100d.bin")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if data[:8] != b"STUDIOWV":
        return None
    count = struct.unpack_from("<I", data, 16)[0]
    words_at = struct.unpack_from("<Q", data, 32)[0]
    offsets_at = struct.unpack_from("<Q", data, 72)[0]
    out = []
    for i in range(count):
        at = words_at + struct.unpack_from("<I", data, offsets_at + 4 * i)[0]
        word = data[at + 1:at + 1 + data[at]]
        if len(word) >= 2 and word.isalpha() and word.islower() and word.isascii():
            out.append(word.decode())
            if len(out) == n:
                break
    return out


class Words:
    """Draws prose words: the topic's vocabulary (topic_share of the words), the rest from `general`,
    uniformly (the small built-in list) or by a Zipf law over a frequency-ranked list."""

    def __init__(self, general, zipf, topic_share):
        self.general = general
        self.topic_share = topic_share
        self.cum = list(itertools.accumulate(1 / (rank + 10) for rank in range(len(general)))) if zipf else None
        self.rank = {w: r for r, w in enumerate(general)}

    def draw(self, rng, topic_words, n):
        k_topic = sum(rng.random() < self.topic_share for _ in range(n))
        general = (rng.choices(self.general, cum_weights=self.cum, k=n - k_topic) if self.cum
                   else [rng.choice(self.general) for _ in range(n - k_topic)])
        words = [rng.choice(topic_words) for _ in range(k_topic)] + general
        rng.shuffle(words)
        return words


def sentences(words, rng):
    out, i = [], 0
    while i < len(words):
        k = rng.randint(8, 16)
        s = " ".join(words[i:i + k])
        out.append(s[0].upper() + s[1:] + ".")
        i += k
    return " ".join(out)


def corpus(docs, sections, words_per_section, vocab, seed=7):
    """[(title, markdown)] and questions. An article is a title, an introduction and `sections`
    sections under '##' headings (one chunk each). A question takes two topic words of one section
    and, with the model vocabulary, two of its less common words (frequency rank >= 1000)."""
    rng = random.Random(seed)
    names = list(TOPICS)
    out, questions = [], []
    for d in range(docs):
        topic = names[d % len(names)]
        topic_words = TOPICS[topic].split()
        title = "%s guide %d" % (topic.capitalize(), d // len(names) + 1)
        parts = ["# " + title, "", sentences(vocab.draw(rng, topic_words, 30), rng), ""]
        for s in range(sections):
            words = vocab.draw(rng, topic_words, words_per_section)
            parts += ["## " + HEADINGS[s % len(HEADINGS)], "", sentences(words, rng), ""]
            if rng.random() >= 0.2:
                continue
            present = sorted(set(words) & set(topic_words))
            rare = sorted({w for w in words if vocab.rank.get(w, 0) >= 1000} - set(topic_words))
            if vocab.cum and len(present) >= 2 and len(rare) >= 2:
                questions.append("How does the %s %s work with %s and %s?" % tuple(rng.sample(present, 2) +
                                                                                rng.sample(rare, 2)))
            elif not vocab.cum and len(present) >= 3:
                questions.append("How does the %s %s work for my %s?" % tuple(rng.sample(present, 3)))
        out.append((title, "\n".join(parts)))
    return out, questions


# --- plain HTTP for setup ------------------------------------------------------------------------

class Api:
    def __init__(self, port, token=None):
        self.port = port
        self.token = token

    def call(self, method, path, body=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"}
            if self.token:
                headers["Authorization"] = "Bearer " + self.token
            c.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data and data[:1] in b"{[" else data)
        finally:
            c.close()

    def ok(self, method, path, body=None, expect=(200, 201, 202)):
        status, data = self.call(method, path, body)
        if status not in expect:
            sys.exit("agent_bench: %s %s answered %d: %r" % (method, path, status, data))
        return data


def fake_options(fake_port, **options):
    Api(fake_port).ok("POST", "/_fake/options", options)


def setup(args):
    """Workspace, API key and the ingested help centre; returns (api key, questions, chunk count)."""
    api = Api(args.studio_port)
    d = api.ok("POST", "/api/v1/auth/onboarding",
               {"workspaceName": "Agent bench", "adminEmail": "agent-bench-%s@example.com" % uuid.uuid4().hex[:8],
                "adminPassword": PASSWORD})
    owner = Api(args.studio_port, d["accessToken"])
    key = owner.ok("POST", "/api/v1/workspaces/%s/api-keys" % d["workspaceId"],
                   {"name": "agent bench", "role": "member", "scopes": ["agent:chat", "search:read"]})["key"]
    general = model_vocabulary(args.models, args.vocab) if args.vocab > 0 else None
    if args.vocab > 0 and not general:
        sys.exit("agent_bench: no word vectors under --models %r (or --vocab 0 for the small built-in list)"
                 % args.models)
    vocab = Words(general, True, 0.3) if general else Words(GENERAL, False, 0.4)
    docs, questions = corpus(args.docs, args.sections, args.words, vocab)
    start = time.monotonic()
    for i in range(0, len(docs), 100):
        batch = [{"title": t, "text": text, "contentType": "text/markdown",
                  "chunking": {"strategy": "paragraph", "maxTokens": 512, "overlapTokens": 0}}
                 for t, text in docs[i:i + 100]]
        owner.ok("POST", INGEST, {"documents": batch})
    submitted = time.monotonic()
    while True:
        pending = 0
        for status in ("queued", "processing"):
            pending += len(owner.ok("GET", "/api/v1/documents?limit=1&status=" + status)["items"])
        if pending == 0:
            break
        if time.monotonic() - start > args.ingest_timeout:
            sys.exit("agent_bench: ingestion did not finish in %d s" % args.ingest_timeout)
        time.sleep(0.5)
    ready = time.monotonic()
    chunks, ndocs, failed, cursor = 0, 0, 0, None
    while True:
        page = owner.ok("GET", "/api/v1/documents?limit=200" + ("&cursor=" + cursor if cursor else ""))
        for doc in page["items"]:
            ndocs += 1
            chunks += doc["chunkCount"] or 0
            failed += doc["status"] != "ready"
        cursor = page["nextCursor"]
        if not cursor:
            break
    print("workspace: %d documents (%d not ready), %d chunks, %s; submit %.1f s, ingestion %.1f s"
          % (ndocs, failed, chunks, "vocabulary: %d topic words + the model's %d most frequent words (Zipf)"
             % (sum(len(t.split()) for t in TOPICS.values()), len(general)) if general else
             "vocabulary: %d built-in words" % (len(GENERAL) + sum(len(t.split()) for t in TOPICS.values())),
             submitted - start, ready - start))
    if failed:
        sys.exit("agent_bench: %d documents failed to ingest" % failed)
    return key, questions, chunks


# --- streaming over raw sockets ------------------------------------------------------------------

class Stream:
    """One keep-alive HTTP/1.1 connection reading chunked Server-Sent Events."""

    def __init__(self, port):
        self.port = port
        self.reader = self.writer = None

    async def connect(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self):
        if self.writer:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, path, body, headers):
        """Writes the request; returns the time it was written (perf_counter seconds)."""
        if self.writer is None:
            await self.connect()
        raw = json.dumps(body).encode()
        head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
            path, len(raw))
        head += "".join("%s: %s\r\n" % kv for kv in headers.items())
        self.writer.write(head.encode() + b"\r\n" + raw)
        await self.writer.drain()
        self.buf = b""
        self.text = b""
        self.head = None
        self.last_chunk = False
        return time.perf_counter()

    async def _read(self):
        b = await self.reader.read(65536)
        now = time.perf_counter()
        if not b:
            raise EOFError("connection closed by the server")
        self.buf += b
        return now

    async def events(self):
        """Yields (arrival time, event, data) of the response; the connection is kept when the
        server keeps it alive."""
        while self.head is None:
            now = await self._read()
            if b"\r\n\r\n" in self.buf:
                head, self.buf = self.buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                self.status = int(lines[0].split()[1])
                self.head = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        if self.status != 200 or "chunked" not in self.head.get("transfer-encoding", ""):
            length = int(self.head.get("content-length", "0"))
            while len(self.buf) < length:
                await self._read()
            raise RuntimeError("HTTP %d: %r" % (self.status, self.buf[:300]))
        while True:
            while True:  # de-chunk what is complete
                cut = self.buf.find(b"\r\n")
                if cut < 0:
                    break
                size = int(self.buf[:cut].split(b";")[0], 16)
                if len(self.buf) < cut + 2 + size + 2:
                    break
                self.text += self.buf[cut + 2:cut + 2 + size]
                self.buf = self.buf[cut + 4 + size:]
                if size == 0:
                    self.last_chunk = True
                    break
            while b"\n\n" in self.text:
                block, self.text = self.text.split(b"\n\n", 1)
                event, data = "message", []
                for line in block.decode().split("\n"):
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip(" "))
                if data:
                    yield now, event, "\n".join(data)
            if self.last_chunk:
                if self.head.get("connection", "").lower() == "close":
                    self.close()
                return
            now = await self._read()


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def summary(values_ms):
    v = sorted(values_ms)
    return {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95), "p99": pct(v, 99), "max": v[-1] if v else float("nan"),
            "mean": statistics.fmean(v) if v else float("nan")}


def fmt(s):
    return "p50 %7.2f   p95 %7.2f   p99 %7.2f   max %7.2f ms  (n=%d)" % (s["p50"], s["p95"], s["p99"], s["max"], s["n"])


# --- time to first token through studio ----------------------------------------------------------

async def chat_load(args, key, questions):
    """args.concurrency conversations of streamed turns until args.warmup + args.samples turns have
    started; returns (time-to-first-token samples ms, whole-turn samples ms, counters, seconds
    between the first counted request and the last counted end, wall seconds)."""
    headers = {"Authorization": "Bearer " + key, "Accept": "text/event-stream"}
    samples, totals, counted = [], [], []
    stats = {"turns": 0, "fallback": 0, "errors": 0, "no_token": 0, "conversations": 0, "reconnects": 0}
    needed = args.warmup + args.samples
    started = [0]
    t_first_counted = [None]
    loop_rng = random.Random(11)

    async def conversation(i):
        rng = random.Random(1000 + i)
        s = Stream(args.studio_port)
        conversation_id, turn = None, 0
        while started[0] < needed:
            started[0] += 1
            n = started[0]
            body = {"message": rng.choice(questions), "stream": True}
            if conversation_id:
                body["conversationId"] = conversation_id
            if s.writer is None:
                stats["reconnects"] += 1
            t0 = await s.request(CHAT, body, headers)
            first = None
            try:
                async for at, event, data in s.events():
                    if event == "token" and first is None:
                        first = at
                    elif event == "done":
                        done = json.loads(data)
                        conversation_id = done["conversationId"]
                        stats["fallback"] += bool(done.get("fallback"))
                    elif event == "error":
                        stats["errors"] += 1
            except (RuntimeError, EOFError, ConnectionError) as e:
                stats["errors"] += 1
                if stats["errors"] <= 3:
                    print("agent_bench: turn failed: %s" % e, file=sys.stderr)
                s.close()
                conversation_id, turn = None, 0
                continue
            end = time.perf_counter()
            stats["turns"] += 1
            if first is None:
                stats["no_token"] += 1
            elif n > args.warmup:
                if t_first_counted[0] is None:
                    t_first_counted[0] = t0
                samples.append((first - t0) * 1000)
                totals.append((end - t0) * 1000)
                counted.append(end)
            turn += 1
            if turn >= args.turns:
                conversation_id, turn = None, 0
                stats["conversations"] += 1
            if args.think_ms > 0:
                await asyncio.sleep(args.think_ms * loop_rng.uniform(0.5, 1.5) / 1000)
        s.close()

    begin = time.perf_counter()
    await asyncio.gather(*(conversation(i) for i in range(args.concurrency)))
    elapsed = (max(counted) - t_first_counted[0]) if counted else float("nan")
    return samples, totals, stats, elapsed, time.perf_counter() - begin


# --- the fake on its own -------------------------------------------------------------------------

async def fake_load(fake_port, api_key, body, concurrency, count):
    headers = {"Authorization": "Bearer " + api_key}
    samples = []
    left = [count]

    async def worker():
        s = Stream(fake_port)
        while left[0] > 0:
            left[0] -= 1
            t0 = await s.request("/v1/chat/completions", body, headers)
            first = None
            async for at, _event, data in s.events():
                if first is None and data != "[DONE]":
                    choices = json.loads(data)["choices"]
                    if choices and choices[0]["delta"].get("content"):
                        first = at
            samples.append((first - t0) * 1000)
        s.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


def captured_body(fake_port):
    """The last chat request studio sent the fake that answered a turn (not a summary)."""
    _, data = Api(fake_port).call("GET", "/_fake/requests")
    for entry in reversed(data["requests"]):
        if entry["path"] == "/v1/chat/completions" and entry["body"] and entry["body"].get("stream"):
            return entry["body"]
    sys.exit("agent_bench: the fake recorded no streamed chat request")


# --- memory with many open streams ---------------------------------------------------------------

def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def streams_open_metric(port):
    try:
        status, text = Api(port).call("GET", "/metrics", timeout=10)
        m = re.search(rb"^http_streams_open(?:\{[^}]*\})? (\S+)$", text, re.M) if status == 200 else None
        return int(float(m.group(1))) if m else None
    except (OSError, ValueError):
        return None


def mb(kib):
    return kib / 1024


async def hold_streams(args, key, questions):
    """Opens args.streams streamed turns, --open-parallel at a time, each on its own connection in
    a new conversation, and keeps those that delivered their first token. A 503 (e.g. the database
    busy while many turns start at once) is retried after a second, up to 5 times, as a client
    would. A turn whose question found no passage gets the fallback message without a model call
    and ends at once: it is replaced by another, so that args.streams are open at the reading."""
    headers = {"Authorization": "Bearer " + key, "Accept": "text/event-stream"}
    rng = random.Random(5)
    held, failures = [], []
    counts = {"retries": 0, "ended": 0}
    gate = asyncio.Semaphore(args.open_parallel)

    async def follow(s, it):
        """Reads the rest of a held stream (heartbeats): marks it ended at `done` or EOF."""
        try:
            async for _at, event, _data in it:
                if event == "done":
                    break
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - the client closes it at the end
            pass
        s.ended = True

    async def attempt():
        s = Stream(args.studio_port)
        s.status, s.ended = None, False
        try:
            await s.connect()
            await s.request(CHAT, {"message": rng.choice(questions), "stream": True}, headers)
            it = s.events().__aiter__()
            while True:
                _at, event, data = await asyncio.wait_for(it.__anext__(), args.stream_timeout)
                if event == "token":
                    s.follower = asyncio.ensure_future(follow(s, it))
                    return s, None
                if event == "error":
                    raise RuntimeError("error event: " + data)
        except (Exception, asyncio.TimeoutError) as e:  # noqa: BLE001 - counted and reported
            s.close()
            return None, (s.status, repr(e))

    async def one():
        for n in range(6):
            async with gate:
                s, error = await attempt()
            if s:
                held.append(s)
                return
            if error[0] != 503 or n == 5:
                failures.append(error[1])
                return
            counts["retries"] += 1
            await asyncio.sleep(1)

    t0 = time.monotonic()
    await asyncio.gather(*(one() for _ in range(args.streams)))
    for _round in range(5):
        await asyncio.sleep(1)
        ended = [s for s in held if s.ended]
        if not ended:
            break
        counts["ended"] += len(ended)
        for s in ended:
            held.remove(s)
            s.close()
        await asyncio.gather(*(one() for _ in ended))
    return held, failures, counts, time.monotonic() - t0


async def wait_threads(pid, at_most, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc_status(pid)["Threads"] > at_most:
        await asyncio.sleep(0.2)
    return time.monotonic()


async def memory(args, key, questions, results):
    pid = args.studio_pid
    fake_options(args.fake_port, chat_reply=REPLY, chat_token_delay_ms=0, chat_hold_ms=args.hold_ms, record=False)
    await asyncio.sleep(args.settle)
    idle, idle_fds = proc_status(pid), open_fds(pid)
    streams, failures, counts, took = await hold_streams(args, key, questions)
    await asyncio.sleep(2)
    loaded, loaded_fds = proc_status(pid), open_fds(pid)
    open_metric = streams_open_metric(args.studio_port)
    ok = sum(not s.ended for s in streams)
    if args.keep_open:
        print("streams open; studio pid %d; closing them in %d s" % (pid, args.keep_open), flush=True)
        await asyncio.sleep(args.keep_open)
    closed = time.monotonic()
    for s in streams:
        s.follower.cancel()
        s.close()
    settled = await wait_threads(pid, idle["Threads"] + 2, 60)
    after1, after1_fds = proc_status(pid), open_fds(pid)
    await asyncio.sleep(max(0.0, closed + args.after - time.monotonic()))
    after2 = proc_status(pid)
    fake_options(args.fake_port, chat_hold_ms=0)
    delta = loaded["VmRSS"] - idle["VmRSS"]
    results["memory"] = {"streams": args.streams, "with_first_token": ok, "failures": failures[:10],
                         "retries_after_503": counts["retries"], "replaced_fallback_turns": counts["ended"],
                         "open_seconds": took, "idle_rss_kib": idle["VmRSS"], "loaded_rss_kib": loaded["VmRSS"],
                         "delta_kib": delta, "per_stream_kib": delta / max(ok, 1),
                         "after_threads_gone_rss_kib": after1["VmRSS"], "after_rss_kib": after2["VmRSS"],
                         "after_seconds": args.after, "threads": [idle["Threads"], loaded["Threads"],
                                                                 after1["Threads"]],
                         "fds": [idle_fds, loaded_fds, after1_fds], "http_streams_open": open_metric}
    print("%d streamed chat turns open, each past its first token (%d failed, %d retries after a 503, %d fallback "
          "answers replaced; opened in %.1f s, %d at a time)"
          % (ok, len(failures), counts["retries"], counts["ended"], took, args.open_parallel))
    for f in failures[:3]:
        print("   failure: " + f)
    print("studio RSS idle (warm, before)        %7.1f MB   threads %5d   fds %5d"
          % (mb(idle["VmRSS"]), idle["Threads"], idle_fds))
    print("studio RSS with %4d open streams     %7.1f MB   threads %5d   fds %5d   http_streams_open %s"
          % (ok, mb(loaded["VmRSS"]), loaded["Threads"], loaded_fds, open_metric))
    print("   above idle                         %7.1f MB   (%.1f KiB per stream)" % (mb(delta), delta / max(ok, 1)))
    print("after the clients left: threads back to %d in %.1f s, RSS then %.1f MB (fds %d); %.0f s after: %.1f MB"
          % (after1["Threads"], settled - closed, mb(after1["VmRSS"]), after1_fds, args.after, mb(after2["VmRSS"])))


# --- main ----------------------------------------------------------------------------------------

async def latency(args, key, questions, think_ms, samples_wanted, label):
    run = argparse.Namespace(**vars(args))
    run.think_ms, run.samples = think_ms, samples_wanted
    load = os.getloadavg()
    samples, totals, stats, elapsed, _wall = await chat_load(run, key, questions)
    ttft, total = summary(samples), summary(totals)
    rate = len(samples) / elapsed if elapsed > 0 else float("nan")
    print("-- %s: %d conversations at once, %d turns each then a new one, think time %s; %d warm-up turns not "
          "counted; load average before %.2f %.2f %.2f"
          % (label, args.concurrency, args.turns, "%g ms (0.5x..1.5x)" % think_ms if think_ms else "none",
             args.warmup, *load))
    print("time to first token, through studio   " + fmt(ttft))
    print("whole turn (to the end of the stream) " + fmt(total))
    print("throughput %.1f turns/s; fallback answers %d of %d turns, errors %d, turns without a token %d"
          % (rate, stats["fallback"], stats["turns"], stats["errors"], stats["no_token"]))
    return {"ttft_ms": ttft, "turn_ms": total, "throughput_turns_per_s": rate, "stats": stats, "think_ms": think_ms,
            "loadavg_before": load, "loadavg_after": os.getloadavg()}


async def sequential(args, key, questions, fake_seq):
    """One request at a time: a turn's time to first token next to a search with the same question
    (POST /api/v1/search, hybrid, the agent's 10 candidates): how much of a turn retrieval is."""
    rng = random.Random(3)
    c = http.client.HTTPConnection("127.0.0.1", args.studio_port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
    search, parts = [], {}
    for i in range(args.sequential_samples + 20):
        body = json.dumps({"query": rng.choice(questions), "mode": "hybrid", "topK": 10})
        t0 = time.perf_counter()
        c.request("POST", "/api/v1/search", body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        took = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            sys.exit("agent_bench: search answered %d" % r.status)
        if i >= 20:
            search.append(took)
            for k, v in json.loads(data)["timings"].items():
                parts.setdefault(k, []).append(v)
    c.close()
    run = argparse.Namespace(**vars(args))
    run.concurrency, run.warmup, run.samples, run.think_ms = 1, 20, args.sequential_samples, 0
    samples, _totals, _stats, _elapsed, _wall = await chat_load(run, key, questions)
    ttft, search = summary(samples), summary(search)
    print("-- one request at a time (same questions):")
    print("time to first token, through studio   " + fmt(ttft))
    print("POST /api/v1/search (hybrid, top 10)  " + fmt(search))
    medians = {k: statistics.median(v) for k, v in parts.items()}
    print("   the retriever's own timings, medians: " + ", ".join("%s %.2f" % kv for kv in medians.items()))
    print("   the rest of a turn before its first token (guard, conversation read and write, prompt, the model "
          "call): p50 %.2f ms, of which the fake %.2f ms" % (ttft["p50"] - search["p50"], fake_seq["p50"]))
    return {"ttft_ms": ttft, "search_ms": search, "retriever_timings_median_ms": medians}


async def main_async(args):
    results = {}
    fake_options(args.fake_port, chat_reply=REPLY, chat_token_delay_ms=0, record=True, tcp_nodelay=True)
    key, questions, chunks = setup(args)
    results["chunks"] = chunks
    results["questions"] = len(questions)

    if args.samples > 0 or args.saturation_samples > 0 or args.sequential_samples > 0:
        # One turn to capture what studio sends the fake, then recording off for the run.
        warm = argparse.Namespace(**vars(args))
        warm.concurrency, warm.warmup, warm.samples, warm.think_ms = 1, 0, 1, 0
        await chat_load(warm, key, questions)
        body = captured_body(args.fake_port)
        fake_options(args.fake_port, record=False)
        print("prompt studio sends the model: %d messages, %d bytes of JSON"
              % (len(body["messages"]), len(json.dumps(body))))
        fake_seq = summary(await fake_load(args.fake_port, args.api_key, body, 1, args.fake_samples))
        fake_conc = summary(await fake_load(args.fake_port, args.api_key, body, args.concurrency,
                                            max(args.fake_samples, 1000)))
        print("the fake alone, one at a time          " + fmt(fake_seq))
        print("the fake alone, %3d at a time          " % args.concurrency + fmt(fake_conc))
        results["fake_sequential_ms"], results["fake_concurrent_ms"] = fake_seq, fake_conc
        if args.sequential_samples > 0:
            results["sequential"] = await sequential(args, key, questions, fake_seq)
        for label, think_ms, wanted in (("paced", args.think_ms, args.samples),
                                        ("saturated", 0, args.saturation_samples)):
            if wanted <= 0:
                continue
            r = await latency(args, key, questions, think_ms, wanted, label)
            r["net_ms"] = {p: r["ttft_ms"][p] - fake_seq["p50"] for p in ("p50", "p95", "p99", "max")}
            print("net (minus the fake's own median %.2f ms):  p50 %7.2f   p95 %7.2f   p99 %7.2f   max %7.2f ms"
                  % (fake_seq["p50"], *(r["net_ms"][p] for p in ("p50", "p95", "p99", "max"))))
            st = proc_status(args.studio_pid)
            print("studio RSS after this run %.1f MB, threads %d; load average after %.2f %.2f %.2f"
                  % (mb(st["VmRSS"]), st["Threads"], *os.getloadavg()))
            results[label] = r

    if args.streams > 0:
        await memory(args, key, questions, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--studio-port", type=int, required=True)
    p.add_argument("--studio-pid", type=int, required=True)
    p.add_argument("--fake-port", type=int, required=True)
    p.add_argument("--api-key", default="sk-test-key", help="the fake's API key (default sk-test-key)")
    p.add_argument("--models", default=os.environ.get("STUDIO_MODELS_DIR", ""),
                   help="the model directory (scripts/fetch-models.sh), for the vocabulary")
    p.add_argument("--vocab", type=int, default=30000,
                   help="prose words: the model's N most frequent words, Zipf-distributed (default 30000); 0 = a "
                        "built-in list of ~300 words, the worst case for keyword search")
    p.add_argument("--docs", type=int, default=1000, help="generated articles (default 1000)")
    p.add_argument("--sections", type=int, default=10, help="sections (= chunks) per article (default 10)")
    p.add_argument("--words", type=int, default=150, help="words per section (default 150)")
    p.add_argument("--ingest-timeout", type=int, default=900)
    p.add_argument("--concurrency", type=int, default=50, help="conversations at once (default 50)")
    p.add_argument("--turns", type=int, default=5, help="turns per conversation (default 5)")
    p.add_argument("--think-ms", type=float, default=1000,
                   help="paced run: pause between a turn's end and the next question, mean ms (default 1000)")
    p.add_argument("--warmup", type=int, default=300, help="turns not counted, per run (default 300)")
    p.add_argument("--samples", type=int, default=3000, help="counted turns of the paced run, 0 = skip (default 3000)")
    p.add_argument("--saturation-samples", type=int, default=2000,
                   help="counted turns of a run without think time, 0 = skip (default 2000)")
    p.add_argument("--sequential-samples", type=int, default=300,
                   help="turns and searches one at a time, 0 = skip (default 300)")
    p.add_argument("--fake-samples", type=int, default=500, help="requests straight to the fake (default 500)")
    p.add_argument("--streams", type=int, default=1000, help="streams held open for the memory test, 0 = skip")
    p.add_argument("--open-parallel", type=int, default=10, help="streams being opened at once (default 10)")
    p.add_argument("--hold-ms", type=int, default=600_000, help="how long the fake holds a stream (default 10 min)")
    p.add_argument("--stream-timeout", type=float, default=60)
    p.add_argument("--settle", type=float, default=5, help="quiet seconds before reading idle RSS (default 5)")
    p.add_argument("--after", type=float, default=15, help="RSS read again this long after closing (default 15 s)")
    p.add_argument("--keep-open", type=int, default=0, help="seconds to keep the streams open after measuring "
                   "(to inspect studio meanwhile)")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.streams + args.concurrency + 256))
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
