"""moto_server whose DynamoDB calls run one at a time, and whose
transactions back up the items they write rather than whole tables.

Isolation. moto runs each request in a thread of its own and does not
isolate DynamoDB calls from one another: a transaction deep-copies the
table (its backup, restored if the transaction fails) while other threads
write to it, and can fail ("dictionary changed size during iteration") or,
restoring the backup, lose their writes; two conditional writes can both
pass their condition. DynamoDB isolates them. Here every DynamoDB action
runs under one lock: the requests are still read, parsed and answered
concurrently, only the actions themselves run one after the other.

Items backed up, not tables. moto 5.2.1's
DynamoDBBackend.transact_write_items backs up every table a transaction
writes by deep-copying the whole table, once per operation of the
transaction (moto/dynamodb/models/__init__.py: the loop over
transact_items calls copy.deepcopy(self.tables[table_name]) for each
item), and puts the copies back if the transaction fails. A transaction
so costs O(table) where DynamoDB's costs O(its items): an account's sweep
transaction (three regions' coverage items and the counter) copied the
run state table four times, and the copies held every other DynamoDB call
behind them. Here a transaction copies only the items it names, before
any applies, and puts those back if it fails; moto's own table copies
become the table itself, so its restore changes nothing. Every action
runs alone (above), so no other write can interleave with the restore.

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


class _TablesNotCopied:
    """The copy module as moto's DynamoDB models see it: within a
    transaction, a table's "copy" is the table itself."""

    def __getattr__(self, name):
        return getattr(copy, name)

    def deepcopy(self, x, memo=None):
        if getattr(_local, "in_transaction", False) and isinstance(x, models.Table):
            return x
        return _deepcopy(x, memo)


def _named_items(backend, transact_items):
    """The (table, hash key, range key) of each operation whose key can
    be read; an operation whose cannot fails in moto before it writes."""
    named = []
    for item in transact_items:
        try:
            _, op = next(iter(item.items()))
            table = backend.tables[op["TableName"]]
            if "Item" in op:
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            named.append((table, *backend.get_keys_value(table, key)))
        except Exception:
            continue
    return named


def _restore(table, hash_key, range_key, old):
    if range_key is None:
        if old is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = old
        return
    if old is None:
        table.items.get(hash_key, {}).pop(range_key, None)
        if hash_key in table.items and not table.items[hash_key]:
            del table.items[hash_key]
    else:
        table.items[hash_key][range_key] = old


_transact_write_items = models.DynamoDBBackend.transact_write_items


def _transact_backing_up_items(self, transact_items, *args, **kwargs):
    saved = [
        (table, h, r, _deepcopy(table.get_item(h, r)))
        for table, h, r in _named_items(self, transact_items)
    ]
    _local.in_transaction = True
    try:
        return _transact_write_items(self, transact_items, *args, **kwargs)
    except Exception:
        for table, h, r, old in reversed(saved):
            _restore(table, h, r, old)
        raise
    finally:
        _local.in_transaction = False


_call_action = responses.DynamoHandler.call_action


def _call_action_alone(self, *args, **kwargs):
    with _actions:
        return _call_action(self, *args, **kwargs)


models.copy = _TablesNotCopied()
models.DynamoDBBackend.transact_write_items = _transact_backing_up_items
responses.DynamoHandler.call_action = _call_action_alone

if __name__ == "__main__":
    sys.exit(main())
