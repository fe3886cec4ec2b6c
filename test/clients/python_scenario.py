"""The scenario of issue 22 through the client openapi-python-client generated (test/clients/python.test.ts).

Reads the service's address and API key from the environment, drives every step with the generated functions
only (no hand-written HTTP), and prints what it observed as one JSON object, which the test holds to the same
expectations as the TypeScript clients (test/clients/scenario.ts).
"""

import base64
import json
import os

from cache_service_client import AuthenticatedClient
from cache_service_client.api.cache import (
    delete_cache_entry,
    get_cache_entries,
    get_cache_entry,
    invalidate_cache_tag,
    put_cache_entries,
    put_cache_entry,
)
from cache_service_client.api.sessions import (
    create_session,
    delete_session,
    get_session,
    list_session_events,
    list_sessions,
    patch_session,
    revoke_sessions,
    rotate_session,
)
from cache_service_client.models import (
    CreateSessionBody,
    CreateSessionBodyData,
    DeleteCacheEntryMode,
    GetCacheEntriesBody,
    InvalidateCacheTagMode,
    PatchSessionBody,
    Problem,
    PutCacheEntriesBody,
    PutCacheEntriesBodyEntriesItem,
    RevokeSessionsBody,
    Session,
)
from cache_service_client.types import File

client = AuthenticatedClient(base_url=os.environ["SERVICE_URL"], token=os.environ["SERVICE_API_KEY"],
                             raise_on_unexpected_status=True)
value = bytes.fromhex(os.environ["BINARY_VALUE_HEX"])
media_type = os.environ["BINARY_MEDIA_TYPE"]
key = "scenario/binary ✓"


def put(key, payload, **headers):
    return put_cache_entry.sync_detailed(key, client=client, body=File(payload=payload), **headers)


created = put(key, value, ttl=60, cache_content_type=media_type, if_none_match="*")
repeated = put(key, value, cache_content_type=media_type, if_none_match="*")
read = get_cache_entry.sync_detailed(key, client=client)
revalidated = get_cache_entry.sync_detailed(key, client=client, if_none_match=read.headers["etag"])

session = create_session.sync_detailed(client=client, body=CreateSessionBody(data=CreateSessionBodyData.from_dict({"user": "ada"})))
session_id = session.parsed.id
session_read = get_session.sync(session_id, client=client)
patched = patch_session.sync(session_id, client=client, body=PatchSessionBody.from_dict({"cart": {"sku": 2}}))
deleted = delete_session.sync_detailed(session_id, client=client)
gone = get_session.sync_detailed(session_id, client=client)

subject = "ada@example.com"
login = create_session.sync(client=client, body=CreateSessionBody(subject=subject, data=CreateSessionBodyData()))
create_session.sync(client=client, body=CreateSessionBody(subject=subject, data=CreateSessionBodyData()))
rotated = rotate_session.sync_detailed(login.id, client=client)
listed = list_sessions.sync(client=client, subject=subject)
revoked = revoke_sessions.sync(client=client, body=RevokeSessionsBody(subject=subject, except_id=rotated.parsed.id))
left = list_sessions.sync(client=client, subject=subject, limit=10)
told = list_session_events.sync(client=client)
told_after = list_session_events.sync(client=client, after=told.next_)

bulk_put = put_cache_entries.sync(client=client, body=PutCacheEntriesBody(entries=[
    PutCacheEntriesBodyEntriesItem(key="bulk-1", value=base64.b64encode(b"one").decode(), content_type="text/plain"),
    PutCacheEntriesBodyEntriesItem(key="bulk-2", value=base64.b64encode(b"two").decode(), ttl_seconds=60),
]))
bulk_get = get_cache_entries.sync(client=client, body=GetCacheEntriesBody(keys=["bulk-1", "missing", "bulk-2"]))

for tagged in ["tagged-1", "tagged-2"]:
    put(tagged, tagged.encode(), cache_tag="scenario, other")
invalidated = invalidate_cache_tag.sync(client=client, tag="scenario")
after_tag = get_cache_entry.sync_detailed("tagged-1", client=client)

for soft in ["soft-1", "soft-2"]:
    put(soft, soft.encode(), ttl=60, stale=60, cache_tag="soft")
soft_key = delete_cache_entry.sync_detailed("soft-1", client=client, mode=DeleteCacheEntryMode.STALE)
soft_tag = invalidate_cache_tag.sync(client=client, tag="soft", mode=InvalidateCacheTagMode.STALE)
after_soft = get_cache_entry.sync_detailed("soft-1", client=client)

leased = "scenario/leased"
miss = get_cache_entry.sync_detailed(leased, client=client, cache_lease="acquire")
token = miss.headers.get("cache-lease-token")
fulfilled = put(leased, b"computed", cache_lease_token=token, cache_content_type="text/plain")
lease_read = get_cache_entry.sync_detailed(leased, client=client)

refused = put(key, value, ttl=0)
problem = refused.parsed

print(json.dumps({
    "binary": {
        "created": created.status_code,
        "repeated": repeated.status_code,
        "repeatedProblemType": repeated.parsed.type_,
        "read": read.status_code,
        "bytesHex": read.parsed.payload.read().hex(),
        "contentType": read.headers["content-type"],
        "cacheControl": read.headers["cache-control"],
        "revalidated": revalidated.status_code,
    },
    "session": {
        "created": session.status_code,
        "read": session_read.data.to_dict() if isinstance(session_read, Session) else None,
        "patched": patched.data.to_dict() if isinstance(patched, Session) else None,
        "deleted": deleted.status_code,
        "gone": gone.status_code,
    },
    "subject": {
        "rotated": rotated.status_code,
        "newId": rotated.parsed.id != login.id,
        "listed": len(listed.sessions),
        "refLength": len(listed.sessions[0].ref),
        "idListed": rotated.parsed.id in json.dumps(listed.to_dict()),
        "ended": revoked.ended,
        "left": len(left.sessions),
        "told": [event.reason.value for event in told.events],
        "missed": told.missed,
        "toldAfter": len(told_after.events),
    },
    "bulk": {
        "outcomes": [result.outcome.value for result in bulk_put.results],
        "found": [entry.found for entry in bulk_get.entries],
        "valueBase64": bulk_get.entries[0].value,
        "contentType": bulk_get.entries[0].content_type,
    },
    "tag": {"removed": invalidated.removed, "gone": after_tag.status_code},
    "markStale": {
        "key": soft_key.status_code,
        "markedStale": soft_tag.marked_stale,
        "cacheStatus": after_soft.headers.get("cache-status"),
    },
    "lease": {
        "miss": miss.status_code,
        "lease": miss.headers.get("cache-lease"),
        "hasToken": token is not None,
        "fulfilled": fulfilled.status_code,
        "read": lease_read.parsed.payload.read().decode(),
    },
    "problem": {
        "status": problem.status,
        "type": problem.type_,
        "paths": [error.path for error in problem.errors],
        "typed": isinstance(problem, Problem),
    },
}))
