"""Ask the assistant one question over its REST API, print the answer as it streams in, then
the final answer with its sources. Needs only `requests`.

    ASSISTANT_USER=clinician ASSISTANT_PASSWORD=clinician-demo-pass \
        python examples/ask.py "How long does a covered entity have to notify individuals?"

Settings (environment): ASSISTANT_URL (default http://127.0.0.1:8000), ASSISTANT_USER,
ASSISTANT_PASSWORD, ASSISTANT_DOMAIN (default healthcare), ASSISTANT_JURISDICTION (default US).
"""

from __future__ import annotations

import json
import os
import sys
import uuid

import requests

BASE = os.environ.get("ASSISTANT_URL", "http://127.0.0.1:8000").rstrip("/")


def events(response: requests.Response):
    """(event, data) pairs from a server-sent events response."""
    name = None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


def ask(question: str) -> int:
    api = requests.Session()
    login = api.post(
        f"{BASE}/api/v1/auth/token",
        json={
            "username": os.environ["ASSISTANT_USER"],
            "password": os.environ["ASSISTANT_PASSWORD"],
            "label": "examples/ask.py",
        },
        timeout=30,
    )
    if not login.ok:
        print(f"login failed: {login.json()['error']['message']}", file=sys.stderr)
        return 1
    api.headers["Authorization"] = f"Token {login.json()['token']}"

    created = api.post(
        f"{BASE}/api/v1/inquiries",
        json={
            "domain": os.environ.get("ASSISTANT_DOMAIN", "healthcare"),
            "jurisdiction": os.environ.get("ASSISTANT_JURISDICTION", "US"),
            "question": question,
        },
        # A retry of this request (e.g. after a timeout) cannot create a second inquiry.
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    if not created.ok:
        print(f"not accepted: {created.json()['error']['message']}", file=sys.stderr)
        return 1

    shown = ""
    inquiry = None
    with api.get(
        created.json()["stream"],
        params={"restore": "true"},
        headers={"Accept": "text/event-stream"},
        stream=True,
        timeout=(10, 360),
    ) as stream:
        for event, data in events(stream):
            if event == "status":
                print(f"[{data['status']} {data.get('progress', '')}]".strip(), file=sys.stderr)
            elif event == "draft" and data["text"].startswith(shown):
                print(data["text"][len(shown) :], end="", flush=True)
                shown = data["text"]
            elif event in ("done", "timeout"):
                inquiry = data
                break
    if inquiry is None or "answer" not in inquiry:
        print("\nno answer yet; fetch it later from", created.json()["url"], file=sys.stderr)
        return 1

    print("\n\n" + "=" * 70)
    print(f"{inquiry['status'].upper()}: {inquiry['answer']}")
    if inquiry["redaction_notice"]["question"]:
        print(f"\nRedacted before the model saw it: {inquiry['redaction_notice']['question']}")
    for citation in inquiry["citations"]:
        print(f"\n[{citation['number']}] {citation['citation']}: {citation['text']}")
    return 0 if inquiry["status"] == "answered" else 2


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(ask(sys.argv[1]))
