"""moto_server whose DynamoDB calls run one at a time, and whose
transactions back a table up once.

Isolation. moto runs each request in a thread of its own and does not
isolate DynamoDB calls from one another: a transaction deep-copies the
table (its backup, restored if the transaction fails) while other threads
write to it, and can fail ("dictionary changed size during iteration") or,
restoring the backup, lose their writes; two conditional writes can both
pass their condition. DynamoDB isolates them. Here every DynamoDB action
runs under one lock: the requests are still read, parsed and answered
concurrently, only the actions themselves run one after the other.

One backup a table. moto 5.2.1's DynamoDBBackend.transact_write_items backs
up every table a transaction writes by deep-copying the whole table once
per operation of the transaction (moto/dynamodb/models/__init__.py: the
loop over transact_items calls copy.deepcopy(self.tables[table_name]) for
each item). Every copy is made before any operation applies, so they are
identical and only the last one is kept: here the copies after the first
of a table in one transaction return the first. An account's sweep
transaction (three regions' coverage items and the counter) copied the run
state table four times.

The arguments are moto_server's (-H host -p port).
"""

import copy
import sys
import threading

import moto.dynamodb.models as models
import moto.dynamodb.responses as responses
from moto.server import main

_deepcopy = copy.deepcopy
_local = threading.local()
_actions = threading.Lock()


class _CopyOnce:
    """The copy module as moto's DynamoDB models see it."""

    def __getattr__(self, name):
        return getattr(copy, name)

    def deepcopy(self, x, memo=None):
        cache = getattr(_local, "tables", None)
        if cache is None or not isinstance(x, models.Table):
            return _deepcopy(x, memo)
        if id(x) not in cache:
            cache[id(x)] = _deepcopy(x)
        return cache[id(x)]


_transact_write_items = models.DynamoDBBackend.transact_write_items


def _transact_copying_once(self, *args, **kwargs):
    _local.tables = {}
    try:
        return _transact_write_items(self, *args, **kwargs)
    finally:
        _local.tables = None


_call_action = responses.DynamoHandler.call_action


def _call_action_alone(self, *args, **kwargs):
    with _actions:
        return _call_action(self, *args, **kwargs)


models.copy = _CopyOnce()
models.DynamoDBBackend.transact_write_items = _transact_copying_once
responses.DynamoHandler.call_action = _call_action_alone

if __name__ == "__main__":
    sys.exit(main())
