"""A CRM over an OData v4 Web API, as Dataverse serves one: an `accounts` entity set with
a Guid key, ETags on every record, and a `modifiedon` the service stamps itself in whole
seconds on every create and update. Served by odatapy's reference in-memory service on
loopback; the tests start it and read the port it prints.

    python odata_service.py [PORT]      # 0 (the default): any free port
"""

import sys
import threading
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


class Service(InMemoryProcessor, CustomETagSupport):
    """The reference service, stamping `modifiedon` as the system does."""

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


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    odata = OData.new_instance()
    handler = odata.create_handler(odata.create_service_metadata(Provider()))
    store = InMemoryDataStore()
    store.set_entities("accounts", [])
    handler.register(Service(store, page_size=500))
    server = make_server("127.0.0.1", port, ODataWSGIApp(handler), Server, Quiet)
    print(f"listening on 127.0.0.1:{server.server_port}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Stops when the test that started it closes its standard input, or ends.
    sys.stdin.read()


if __name__ == "__main__":
    main()
