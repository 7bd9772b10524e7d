#!/usr/bin/env python3
"""A jobq worker in Python, standard library only: the lease protocol over HTTP.

Claims jobs (long poll), runs a handler per job type, heartbeats while it runs,
then completes or fails it under its lease token. SIGTERM/SIGINT: stops after
the running job; a job claimed as it stops is released (its attempt unspent).

    JOBQ_URL=http://127.0.0.1:8080 JOBQ_TOKEN=... JOBQ_QUEUE=py python3 worker.py
"""
import json
import os
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request

URL = os.environ.get("JOBQ_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("JOBQ_TOKEN")
QUEUE = os.environ.get("JOBQ_QUEUE", "default")
LEASE_MS = 30_000


class Permanent(Exception):
    """Raise it to fail a job for good (no retry)."""


def add(payload, job):
    return {"sum": payload["a"] + payload["b"]}


def flaky(payload, job):
    if job["attempts"] < 2:
        raise RuntimeError("flaky: failing attempt %d" % job["attempts"])
    return "ok on attempt %d" % job["attempts"]


def doomed(payload, job):
    raise Permanent("doomed: bad input")


HANDLERS = {"add": add, "flaky": flaky, "doomed": doomed}


def call(method, path, body=None, timeout=10):
    """One request; returns (status, parsed JSON). Error answers are {"error": {"code", "message"}}."""
    req = urllib.request.Request(URL + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if TOKEN:
        req.add_header("authorization", "Bearer " + TOKEN)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def log(**fields):
    print(json.dumps(fields), flush=True)


state = {"busy": False, "stop": 0}


def on_signal(signum, frame):
    state["stop"] += 1
    if not state["busy"]:
        sys.exit(0)  # idle (or in a long poll): the server gives back what a dropped poll took


def heartbeat(job, done):
    """Extends the lease every LEASE_MS / 3 until the job is done; reports a lost lease."""
    lease = {"id": job["id"], "leaseToken": job["leaseToken"]}
    while not done.wait(LEASE_MS / 3000):
        status, body = call("POST", "/v1/leases/extend", {"leases": [lease], "leaseMs": LEASE_MS})
        if status == 200 and body["lost"]:
            log(event="lease lost", id=job["id"])
            return


def run(job):
    lease = {"leaseToken": job["leaseToken"]}
    done = threading.Event()
    threading.Thread(target=heartbeat, args=(job, done), daemon=True).start()
    try:
        result = HANDLERS[job["type"]](job["payload"], job)
        outcome = ("complete", dict(lease, result=result))
    except Permanent as e:
        outcome = ("fail", dict(lease, error={"message": str(e)}, retryable=False))
    except Exception as e:
        outcome = ("fail", dict(lease, error={"message": str(e), "stack": traceback.format_exc()}))
    finally:
        done.set()
    status, body = call("POST", "/v1/jobs/%s/%s" % (job["id"], outcome[0]), outcome[1])
    log(event=outcome[0], id=job["id"], type=job["type"], attempt=job["attempts"], status=status, answer=body)


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log(event="running", url=URL, queue=QUEUE, types=sorted(HANDLERS))
    backoff = 0.1
    while not state["stop"]:
        claim = {"max": 1, "leaseMs": LEASE_MS, "waitMs": 20_000, "types": sorted(HANDLERS)}
        try:
            status, body = call("POST", "/v1/queues/%s/claim" % QUEUE, claim, timeout=30)
        except (urllib.error.URLError, OSError) as e:
            log(event="server unreachable", error=str(e), retry_in=backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, 5)
            continue
        backoff = 0.1
        if status in (401, 403):
            log(event="token refused", answer=body)
            sys.exit(1)
        if status != 200:
            time.sleep(1)
            continue
        for job in body["jobs"]:
            state["busy"] = True
            try:
                if state["stop"]:
                    call("POST", "/v1/jobs/%s/release" % job["id"], {"leaseToken": job["leaseToken"]})
                else:
                    run(job)
            finally:
                state["busy"] = False
    log(event="stopped")


if __name__ == "__main__":
    main()
