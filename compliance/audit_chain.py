#!/usr/bin/env python3
"""The audit chain's format and its verification.

This file is also the offline verifier of an export bundle. It needs only the Python standard
library and ``cryptography``, so a regulator can copy it out of the repository and run::

    python audit_chain.py audit-export.zip

Each event stores a canonical serialization of its content and
``hash = SHA-256(previous hash + canonical content)``; the first event's previous hash is
``GENESIS``. Checkpoints sign the hash of the chain at a given event with Ed25519. Verification
names the first event that was edited, deleted, reordered or inserted, and the checkpoint that
fails when the whole chain was recomputed by someone without the signing key.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS = "0" * 64
EXPORT_FORMAT = "regulated-assistant-audit-export/1"
# The fields of an event's content, in the order a reader expects them (the serialization itself
# sorts keys, so the order is not part of the hash).
CONTENT_FIELDS = (
    "seq",
    "at",
    "actor",
    "actor_id",
    "organization",
    "inquiry",
    "domain",
    "jurisdiction",
    "type",
    "outcome",
    "details",
)
_LOOKBACK = 4096  # how far back a misplaced link is traced to tell an insertion from an edit


def canonical(data: dict[str, Any]) -> str:
    """One serialization for one content: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(checkpoint: dict[str, Any]) -> bytes:
    signed = {k: checkpoint[k] for k in ("number", "seq", "hash", "signed_at", "key_id")}
    return canonical(signed).encode("utf-8")


def checkpoint_sign(
    private_key: Ed25519PrivateKey, *, number: int, seq: int, hash: str, signed_at: str
) -> dict[str, Any]:
    checkpoint = {
        "number": number,
        "seq": seq,
        "hash": hash,
        "signed_at": signed_at,
        "key_id": key_id(private_key.public_key()),
    }
    signature = private_key.sign(checkpoint_message(checkpoint))
    checkpoint["signature"] = base64.b64encode(signature).decode("ascii")
    return checkpoint


def public_keys_load(pem: bytes) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key in a PEM bundle, by key id."""
    keys = {}
    marker = b"-----END PUBLIC KEY-----"
    for block in pem.split(marker):
        if b"-----BEGIN PUBLIC KEY-----" not in block:
            continue
        key = serialization.load_pem_public_key(block.strip() + b"\n" + marker + b"\n")
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("only Ed25519 public keys can verify audit checkpoints")
        keys[key_id(key)] = key
    return keys


def public_keys_pem(keys: Iterable[Ed25519PublicKey]) -> bytes:
    return b"".join(
        k.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        for k in keys
    )


@dataclass(frozen=True)
class Problem:
    """One finding. ``seq`` is the first event concerned; ``checkpoint`` the checkpoint number
    when a checkpoint failed."""

    kind: str
    message: str
    seq: int | None = None
    checkpoint: int | None = None


@dataclass
class Report:
    events_checked: int = 0
    checkpoints_checked: int = 0
    witnessed_checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    last_signed_seq: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        """A checkpoint that cannot be trusted first (what it anchors proves nothing), then the
        first problem in chain order."""
        if not self.problems:
            return None
        return min(
            self.problems,
            key=lambda p: (p.seq if p.seq is not None else -1, p.checkpoint or 0),
        )

    def add(self, problem: Problem) -> None:
        if len(self.problems) < 100:
            self.problems.append(problem)
        else:
            self.problems_omitted += 1

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.events_checked} events and {self.checkpoints_checked} signed "
                f"checkpoints verify; head is event #{self.head_seq}, signed up to "
                f"#{self.last_signed_seq}."
                + (
                    f" {self.witnessed_checked} witnessed checkpoints agree."
                    if self.witnessed_checked
                    else ""
                )
            )
        first = self.first_problem
        assert first is not None
        more = len(self.problems) - 1 + self.problems_omitted
        return f"FAILED: {first.message}" + (f" ({more} further problems)" if more else "")

    def as_dict(self) -> dict[str, Any]:
        first = self.first_problem
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "witnessed_checked": self.witnessed_checked,
            "head_seq": self.head_seq,
            "last_signed_seq": self.last_signed_seq,
            "first_problem": asdict(first) if first else None,
            "problem_count": len(self.problems) + self.problems_omitted,
        }


def _signature_state(cp: dict[str, Any], public_keys: dict[str, Ed25519PublicKey]) -> str:
    """'valid', 'unknown_key' or 'invalid' for a checkpoint's signature."""
    key = public_keys.get(cp.get("key_id", ""))
    if key is None:
        return "unknown_key"
    try:
        key.verify(base64.b64decode(cp["signature"]), checkpoint_message(cp))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return "invalid"
    return "valid"


def _checkpoints_check(
    checkpoints: list[dict[str, Any]], public_keys: dict[str, Ed25519PublicKey], report: Report
) -> dict[int, dict[str, Any]]:
    """Verify signatures and numbering; return the valid checkpoints by the event they sign."""
    by_seq: dict[int, dict[str, Any]] = {}
    expected_number = 1
    last_seq = 0
    for cp in sorted(checkpoints, key=lambda c: c["number"]):
        number = cp["number"]
        if number != expected_number:
            report.add(
                Problem(
                    "checkpoint_missing",
                    f"checkpoint #{expected_number} is missing (next is #{number})",
                    checkpoint=expected_number,
                )
            )
        expected_number = number + 1
        signature = _signature_state(cp, public_keys)
        if signature == "unknown_key":
            report.add(
                Problem(
                    "checkpoint_unknown_key",
                    f"checkpoint #{number} is signed by key {cp.get('key_id')!r}, which is not "
                    "a trusted key",
                    checkpoint=number,
                )
            )
            continue
        if signature == "invalid":
            report.add(
                Problem(
                    "checkpoint_signature",
                    f"checkpoint #{number} (event #{cp.get('seq')}) has an invalid signature: "
                    "the checkpoint was altered or forged",
                    checkpoint=number,
                )
            )
            continue
        if cp["seq"] < last_seq:
            report.add(
                Problem(
                    "checkpoint_order",
                    f"checkpoint #{number} signs event #{cp['seq']}, before the previous one",
                    checkpoint=number,
                )
            )
        last_seq = max(last_seq, cp["seq"])
        by_seq[cp["seq"]] = cp
        report.checkpoints_checked += 1
    return by_seq


def _witness_check(
    witnessed: list[dict[str, Any]],
    stored: list[dict[str, Any]],
    public_keys: dict[str, Ed25519PublicKey],
    signed: dict[int, dict[str, Any]],
    report: Report,
) -> None:
    """Hold the database's checkpoints to a copy kept outside it (the checkpoint log, or the
    witness file): a checkpoint the witness has and the database lacks was deleted or rolled
    back, and a witnessed checkpoint still anchors the chain the database now holds."""
    stored_by_number = {cp["number"]: cp for cp in stored}
    for cp in witnessed:
        number = cp.get("number")
        if _signature_state(cp, public_keys) != "valid":
            report.add(
                Problem(
                    "witness_signature",
                    f"witnessed checkpoint #{number} does not carry a trusted signature: the "
                    "witness was altered, or signed with a key that is not trusted",
                    checkpoint=number,
                )
            )
            continue
        report.witnessed_checked += 1
        kept = stored_by_number.get(number)
        if kept is None:
            report.add(
                Problem(
                    "checkpoint_deleted",
                    f"checkpoint #{number} (event #{cp['seq']}, signed {cp.get('signed_at')}) "
                    "is witnessed but not in the database: checkpoints were deleted or the "
                    "trail was rolled back",
                    checkpoint=number,
                )
            )
        elif (kept["seq"], kept["hash"], kept["signature"]) != (
            cp["seq"],
            cp["hash"],
            cp["signature"],
        ):
            report.add(
                Problem(
                    "checkpoint_replaced",
                    f"checkpoint #{number} in the database is not the one witnessed (event "
                    f"#{cp['seq']}): checkpoints were replaced",
                    checkpoint=number,
                )
            )
        # Either way the witnessed signature anchors the chain at its event.
        signed.setdefault(cp["seq"], cp)


def _columns_mismatch(content: dict[str, Any], columns: dict[str, Any]) -> list[str]:
    return [name for name, value in columns.items() if content.get(name) != value]


def verify(
    events: Iterable[dict[str, Any]],
    checkpoints: list[dict[str, Any]],
    public_keys: dict[str, Ed25519PublicKey],
    *,
    contiguous: bool = True,
    head: tuple[int, str] | None = None,
    witnessed: list[dict[str, Any]] | None = None,
) -> Report:
    """Check a chain, in stored order.

    ``events`` yields ``{"seq", "prev_hash", "hash", "content"}`` (``content`` the stored
    canonical text) and, optionally, ``"columns"``: the same fields as stored in separate
    database columns, which must agree with the content. With ``contiguous=False`` (an export
    of selected segments) the chain may skip from one signed checkpoint to the event after
    another. ``head`` is the (seq, hash) the database says the chain ends at. ``witnessed``
    are signed checkpoints kept outside the database, which it must still hold and agree with.
    """
    report = Report()
    signed = _checkpoints_check(checkpoints, public_keys, report)
    if witnessed:
        _witness_check(witnessed, checkpoints, public_keys, signed, report)
    prev_seq, prev_hash = 0, GENESIS
    recent: OrderedDict[str, int] = OrderedDict({GENESIS: 0})
    for event in events:
        seq = event["seq"]
        report.events_checked += 1
        if seq <= prev_seq:
            report.add(Problem("duplicate", f"event #{seq} appears twice or out of order", seq=seq))
            continue
        gap = seq != prev_seq + 1
        if gap:
            anchor = signed.get(seq - 1)
            if contiguous or anchor is None or (prev_seq and prev_seq not in signed):
                missing = (
                    f"event #{prev_seq + 1}"
                    if seq == prev_seq + 2
                    else f"events #{prev_seq + 1}..#{seq - 1}"
                )
                report.add(
                    Problem(
                        "missing", f"{missing} missing: deleted from the trail", seq=prev_seq + 1
                    )
                )
            else:
                prev_hash, gap = anchor["hash"], False
        try:
            content = json.loads(event["content"])
        except (TypeError, ValueError):
            report.add(Problem("content", f"event #{seq}: content is not valid JSON", seq=seq))
            content = {}
        in_place = content.get("seq") == seq
        if not in_place:
            report.add(
                Problem(
                    "reordered",
                    f"event #{seq} holds the content of event #{content.get('seq')}: events were "
                    "deleted, inserted or reordered and renumbered",
                    seq=seq,
                )
            )
        intact = chain_hash(event["prev_hash"], event["content"]) == event["hash"]
        if event["prev_hash"] != prev_hash and not gap:
            earlier = recent.get(event["prev_hash"])
            if earlier is not None and earlier < prev_seq:
                report.add(
                    Problem(
                        "inserted",
                        f"event #{earlier + 1} was inserted: event #{seq} follows event "
                        f"#{earlier} in the chain",
                        seq=earlier + 1,
                    )
                )
            elif intact and in_place:
                # This event is what was written; the one before it is not.
                report.add(
                    Problem(
                        "edited",
                        f"event #{prev_seq} was edited and re-hashed: event #{seq} recorded a "
                        "different hash for it",
                        seq=prev_seq,
                    )
                )
            else:
                report.add(
                    Problem(
                        "link",
                        f"event #{seq} does not link to event #{prev_seq}: an event before it "
                        "was altered, removed or inserted",
                        seq=seq,
                    )
                )
        if not intact:
            report.add(
                Problem("edited", f"event #{seq} was edited: its hash does not match", seq=seq)
            )
        elif event.get("columns") is not None:
            mismatched = _columns_mismatch(content, event["columns"])
            if mismatched:
                report.add(
                    Problem(
                        "edited",
                        f"event #{seq} was edited: stored {', '.join(mismatched)} "
                        f"{'differs' if len(mismatched) == 1 else 'differ'} from its hashed content",
                        seq=seq,
                    )
                )
        checkpoint = signed.get(seq)
        if checkpoint is not None:
            if checkpoint["hash"] != event["hash"]:
                report.add(
                    Problem(
                        "checkpoint_mismatch",
                        f"checkpoint #{checkpoint['number']} signed a different chain at event "
                        f"#{seq}: the trail was rewritten at or before event #{seq}",
                        seq=seq,
                        checkpoint=checkpoint["number"],
                    )
                )
            report.last_signed_seq = seq
        prev_seq, prev_hash = seq, event["hash"]
        recent[prev_hash] = seq
        if len(recent) > _LOOKBACK:
            recent.popitem(last=False)
    report.head_seq, report.head_hash = prev_seq, prev_hash
    beyond = [cp for s, cp in signed.items() if s > prev_seq]
    if beyond and contiguous:
        last = max(beyond, key=lambda cp: cp["seq"])
        report.add(
            Problem(
                "truncated",
                f"events after #{prev_seq} are missing: checkpoint #{last['number']} signed the "
                f"chain up to event #{last['seq']}",
                seq=prev_seq + 1,
                checkpoint=last["number"],
            )
        )
    if head is not None and contiguous and tuple(head) != (prev_seq, prev_hash):
        head_seq, head_hash = head
        if head_seq > prev_seq:
            problem = Problem(
                "truncated",
                f"events #{prev_seq + 1}..#{head_seq} are missing: the chain head records "
                f"event #{head_seq}",
                seq=prev_seq + 1,
            )
        else:
            problem = Problem(
                "head",
                f"the chain head records event #{head_seq} ({head_hash[:12]}...), but the trail "
                f"ends at event #{prev_seq} ({prev_hash[:12]}...)",
                seq=min(head_seq, prev_seq) + 1,
            )
        report.add(problem)
    return report


# --- export bundles -----------------------------------------------------------------------------


def _jsonl(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise ValueError(f"line {number}: {exc}") from None


def bundle_verify(path: str) -> tuple[Report, dict[str, Any]]:
    """Verify an export bundle against the public keys it carries (compare their ids with the
    ones the organisation published) and return the report and the manifest."""
    with zipfile.ZipFile(path) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        if manifest.get("format") != EXPORT_FORMAT:
            raise ValueError(f"{path}: not an audit export ({manifest.get('format')!r})")
        keys = public_keys_load(bundle.read("public_keys.pem"))
        checkpoints = list(_jsonl(bundle.read("checkpoints.jsonl").splitlines()))
        with bundle.open("events.jsonl") as handle:
            report = verify(_jsonl(handle), checkpoints, keys, contiguous=False)
    # Every exported event must be covered by a signed checkpoint, or its chain proves nothing.
    if report.head_seq > report.last_signed_seq:
        report.add(
            Problem(
                "unsigned",
                f"events after #{report.last_signed_seq} are not covered by a signed checkpoint",
                seq=report.last_signed_seq + 1,
            )
        )
    return report, manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an audit trail export bundle offline.")
    parser.add_argument("bundle", help="the .zip written by audit_export or the officer UI")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        report, manifest = bundle_verify(args.bundle)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        print(f"{args.bundle}: cannot read the bundle: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**report.as_dict(), "manifest": manifest}, indent=2))
    else:
        print(
            f"{args.bundle}: exported {manifest.get('exported_at')} by {manifest.get('exported_by')}"
        )
        print(f"signing keys: {', '.join(manifest.get('key_ids', [])) or 'none'}")
        print(f"selected events: {len(manifest.get('selected', []))}")
        print(report.summary())
        for problem in report.problems[1:10]:
            print(f"  also: {problem.message}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
