"""Login latency (argon2id at OWASP cost dominates): N sequential logins against a running studio,
each from a different client address via X-Forwarded-For (the server trusts 127.0.0.1 as a proxy
in this run) so the per-IP login limit does not interfere. Prints p50/p99 in ms.
Usage: login_latency.py PORT EMAIL PASSWORD [N]"""

import http.client
import json
import sys
import time

port, email, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 50
body = json.dumps({"email": email, "password": password})
samples = []
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for i in range(n):
    start = time.perf_counter()
    conn.request("POST", "/api/v1/auth/login", body=body,
                 headers={"Content-Type": "application/json", "X-Forwarded-For": "198.18.%d.%d" % (i // 250, i % 250)})
    r = conn.getresponse()
    r.read()
    samples.append((time.perf_counter() - start) * 1000)
    if r.status != 200:
        sys.exit("login failed with %d" % r.status)
samples.sort()
p50 = samples[len(samples) // 2]
p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
print("%-28s %12s        p50 %6.1f ms   p99 %6.1f ms   (n=%d)" % ("login (argon2id OWASP)", "", p50, p99, n))
