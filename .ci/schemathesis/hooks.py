"""Narrow corrections for schemathesis 4.25 against this service, each with its reason (see schemathesis.toml).

Every hook here only drops a generated case that schemathesis labels "positive" (valid per the document) while
the document says it is not valid, or a rule JSON Schema cannot state and the document states in words. Nothing
the service answers is ever excused here.
"""

import json
import re

import schemathesis

SAFE_INTEGER = 2**53


def _mode(case):
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return getattr(mode, "value", mode)


def _header_patterns(operation):
    parameters = operation.definition.raw.get("parameters", [])
    return {
        parameter["name"].lower(): re.compile(parameter["schema"]["pattern"])
        for parameter in parameters
        if parameter.get("in") == "header" and "pattern" in parameter.get("schema", {})
    }


def _exact_json(value, depth=1):
    """The document's words on session data: numbers a double holds exactly, nesting at most 64 levels."""
    if depth > 64 and isinstance(value, (dict, list)):
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= SAFE_INTEGER
    if isinstance(value, dict):
        return all(key not in ("__proto__",) and _exact_json(item, depth + 1) for key, item in value.items())
    if isinstance(value, list):
        return all(_exact_json(item, depth + 1) for item in value)
    return True


@schemathesis.hook
def filter_case(context, case):
    if _mode(case) != "positive":
        return True
    # The coverage phase cannot draw a header value whose pattern needs a character other than a letter or a digit
    # (If-Match needs a quote, a media type a slash), and then sends a value such as "0" as a valid one.
    for name, pattern in _header_patterns(case.operation).items():
        value = next((v for k, v in (case.headers or {}).items() if k.lower() == name), None)
        if isinstance(value, str) and not pattern.search(value):
            return False
    body = case.body if isinstance(case.body, (dict, list)) else None
    # uniqueItems compares whole entries; the document says in words that no two entries may name one key.
    if case.operation.path == "/cache-bulk/put" and isinstance(body, dict):
        keys = [entry.get("key") for entry in body.get("entries", []) if isinstance(entry, dict)]
        if len(keys) != len(set(map(json.dumps, keys))):
            return False
    if case.operation.path.startswith("/sessions") and body is not None and not _exact_json(body):
        return False
    return True
