"""A CRM over an OData v4 Web API, as Dataverse serves one: an `accounts` entity set with
a Guid key, ETags on every record, and a `modifiedon` the service stamps itself in whole
seconds on every create and update. Served by odatapy's reference in-memory service on
loopback; the tests start it and read the port it prints.

    python odata_service.py [--client ID:SECRET] [--limit N/SECONDS] [PORT]   # PORT 0: any free

With `--client`, every request needs a bearer token issued by its own OAuth 2.0 token
endpoint (`POST /token`, client credentials) to that client; `POST /revoke` ends every
token issued (as an administrator would), and `GET /tokens` says how many were issued.

With `--limit`, the Web API protects itself as Dataverse's service protection does: past N
requests in any SECONDS, it answers 429 with a `Retry-After` of the seconds until the
oldest of them leaves the window. `GET /limits` says how many requests it refused and how
many came inside a window it had announced: after a 429 was answered (and the requests
already on their way when it was, a quarter of a second, had arrived) and before its
`Retry-After` had passed. A client that waits as told sends none of those.

Records are found by key through an index, so finding one (a create's check for a
duplicate, a read, an update or a delete by key) costs the same with 100,000 accounts as
with 100, as in a real service; what the service answers is odatapy's own.
"""

import json
import math
import secrets
import time
from collections import deque
import sys
import threading
from urllib.parse import parse_qs
from datetime import datetime, timezone
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from odatapy.data import ValueType
from odatapy.edm.csdl import (
    CsdlAbstractEdmProvider,
    CsdlEntityContainer,
    CsdlEntitySet,
    CsdlEntityType,
    CsdlProperty,
    CsdlPropertyRef,
    CsdlSchema,
)
from odatapy.server import OData
from odatapy.server.adapters import ODataWSGIApp
from odatapy.server.inmemory import InMemoryDataStore, InMemoryProcessor
from odatapy.server.processor import CustomETagSupport
from odatapy.errors import ODataApplicationException
from odatapy.http.status import HttpStatusCode


class Provider(CsdlAbstractEdmProvider):
    """The service's model: accounts as Dataverse names their columns."""

    def get_schemas(self):
        account = CsdlEntityType(
            name="account",
            key=[CsdlPropertyRef(name="accountid")],
            properties=[
                CsdlProperty(name="accountid", type="Edm.Guid", nullable=False),
                CsdlProperty(name="name", type="Edm.String", max_length=160),
                CsdlProperty(name="address1_city", type="Edm.String", max_length=80),
                CsdlProperty(name="emailaddress1", type="Edm.String", max_length=100),
                CsdlProperty(name="creditlimit", type="Edm.Decimal", precision=19, scale=4),
                CsdlProperty(name="modifiedon", type="Edm.DateTimeOffset"),
            ],
        )
        container = CsdlEntityContainer(
            name="System",
            entity_sets=[CsdlEntitySet(name="accounts", type="Microsoft.Dynamics.CRM.account")],
        )
        return [
            CsdlSchema(
                namespace="Microsoft.Dynamics.CRM",
                entity_types=[account],
                entity_container=container,
            )
        ]


class Indexed(InMemoryDataStore):
    """odatapy's in-memory store with each entity set's records indexed by key."""

    def __init__(self, keys):
        super().__init__()
        self.keys = keys
        self.by_key = {name: {} for name in keys}

    def key(self, entity_set, entity):
        return tuple(entity.get_value(name) for name in self.keys[entity_set])

    def reindex(self, entity_set):
        self.by_key[entity_set] = {
            self.key(entity_set, entity): entity for entity in self.data.get(entity_set, [])
        }

    def find(self, entity_set, key):
        with self.lock:
            return self.by_key[entity_set].get(key)

    def set_entities(self, entity_set, entities):
        with self.lock:
            super().set_entities(entity_set, entities)
            self.reindex(entity_set)

    def insert_entity(self, entity_set, entity, index=None):
        with self.lock:
            super().insert_entity(entity_set, entity, index)
            self.by_key[entity_set][self.key(entity_set, entity)] = entity

    def remove_entity(self, entity_set, entity):
        with self.lock:
            removed = super().remove_entity(entity_set, entity)
            if removed:
                self.by_key[entity_set].pop(self.key(entity_set, entity), None)
            return removed

    def restore(self, snapshot):
        with self.lock:
            super().restore(snapshot)
            for entity_set in self.keys:
                self.reindex(entity_set)


class Service(InMemoryProcessor, CustomETagSupport):
    """The reference service, stamping `modifiedon` as the system does, finding by key
    through the store's index."""

    def _check_duplicate(self, entity_set, entity):
        names = entity_set.entity_type.key_predicate_names
        values = {name: entity.get_value(name) for name in names}
        if self.store.find(entity_set.name, tuple(values.values())) is not None:
            raise ODataApplicationException(
                f"An entity with key "
                f"({', '.join(f'{k}={v!r}' for k, v in values.items())}) "
                f"already exists in '{entity_set.name}'.",
                HttpStatusCode.CONFLICT,
                code="409",
            )

    def _find_by_key(self, entity_set, part):
        keys = self._keys_of(entity_set.entity_type, part)
        names = entity_set.entity_type.key_predicate_names
        entity = self.store.find(entity_set.name, tuple(keys.get(name) for name in names))
        if entity is None:
            raise ODataApplicationException("Entity not found.", HttpStatusCode.NOT_FOUND, code="404")
        return entity

    def has_etag(self, entity_set_or_singleton):
        return True

    def _bump_etag(self, entity_set, entity, *, create=False):
        if entity is not None:
            now = datetime.now(timezone.utc).replace(microsecond=0)
            entity.set_property("modifiedon", now, ValueType.PRIMITIVE, "Edm.DateTimeOffset")
        super()._bump_etag(entity_set, entity, create=create)


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class Limited:
    """At most `requests` requests in any `seconds` to the Web API; the rest answered 429."""

    # Requests already sent when a 429 is answered arrive within this many seconds of it.
    IN_FLIGHT = 0.25

    def __init__(self, app, requests, seconds):
        self.app, self.requests, self.seconds = app, requests, seconds
        self.taken, self.lock = deque(), threading.Lock()
        self.refused, self.inside = 0, 0
        self.announced, self.closed_until = 0.0, 0.0

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/limits":
            return SignedIn.answer(start_response, "200 OK", {
                "refused": self.refused, "inside_window": self.inside,
            })
        now = time.monotonic()
        with self.lock:
            if self.announced + self.IN_FLIGHT < now < self.closed_until:
                self.inside += 1
            while self.taken and self.taken[0] <= now - self.seconds:
                self.taken.popleft()
            wait = None
            if len(self.taken) >= self.requests:
                wait = max(1, math.ceil(self.taken[0] + self.seconds - now))
                self.refused += 1
                self.announced = now
                self.closed_until = max(self.closed_until, now + wait)
            else:
                self.taken.append(now)
        if wait is None:
            return self.app(environ, start_response)
        data = json.dumps({"error": {
            "code": "0x80072322",
            "message": f"Number of requests exceeded the limit of {self.requests} "
                       f"over time window of {self.seconds} seconds.",
        }}).encode()
        start_response("429 Too Many Requests", [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Retry-After", str(wait)),
        ])
        return [data]


class SignedIn:
    """Client credentials in front of the service: tokens issued to one client only."""

    def __init__(self, app, client_id, secret):
        self.app, self.client_id, self.secret = app, client_id, secret
        self.tokens, self.issued, self.lock = set(), 0, threading.Lock()

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path == "/token" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = parse_qs(environ["wsgi.input"].read(length).decode())
            asked = (form.get("client_id", [""])[0], form.get("client_secret", [""])[0])
            if form.get("grant_type") != ["client_credentials"] or asked != (self.client_id, self.secret):
                return self.answer(start_response, "401 Unauthorized", {
                    "error": "invalid_client",
                    "error_description": "The client credentials are not valid.",
                })
            token = secrets.token_urlsafe(24)
            with self.lock:
                self.tokens.add(token)
                self.issued += 1
            return self.answer(start_response, "200 OK", {
                "access_token": token, "token_type": "Bearer", "expires_in": 3599,
            })
        if path == "/revoke" and method == "POST":
            with self.lock:
                self.tokens.clear()
            return self.answer(start_response, "200 OK", {})
        if path == "/tokens":
            return self.answer(start_response, "200 OK", {"issued": self.issued})
        bearer = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
        with self.lock:
            known = bearer in self.tokens
        if not known:
            return self.answer(start_response, "401 Unauthorized", {
                "error": {"code": "0x80040220", "message": "The token is not valid."},
            })
        return self.app(environ, start_response)

    @staticmethod
    def answer(start_response, status, body):
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def main():
    args = sys.argv[1:]
    client, limit = None, None
    while args[:1] in (["--client"], ["--limit"]):
        if args[0] == "--client":
            client = args[1].split(":", 1)
        else:
            limit = tuple(int(n) for n in args[1].split("/", 1))
        args = args[2:]
    port = int(args[0]) if args else 0
    odata = OData.new_instance()
    handler = odata.create_handler(odata.create_service_metadata(Provider()))
    store = Indexed({"accounts": ("accountid",)})
    store.set_entities("accounts", [])
    handler.register(Service(store, page_size=500))
    app = ODataWSGIApp(handler)
    if limit:
        app = Limited(app, *limit)
    if client:
        app = SignedIn(app, *client)
    server = make_server("127.0.0.1", port, app, Server, Quiet)
    print(f"listening on 127.0.0.1:{server.server_port}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Stops when the test that started it closes its standard input, or ends.
    sys.stdin.read()


if __name__ == "__main__":
    main()
