"""keyvault_py.py - the Python side of keyvault.test.mjs: Debian's python3-azure
azure.keyvault.secrets (api_version 7.3) against sasgw's Key Vault API over TLS.

Run by /usr/bin/python3 with env KV_URL, KV_RESOURCE, KV_CA (the test's CA
file), KV_TOKEN_APP and KV_TOKEN_READER (demo-issuer JWTs for demo-app and
jwt-app, aud = the resource). Names under .localhost resolve to 127.0.0.1
(the host has no resolver for them; the SDK checks the challenge's resource
against the vault's domain). Prints one JSON line {"steps": [...]} and exits
0, or raises (exit 1).
"""
import json
import os
import socket
import sys
import time

_getaddrinfo = socket.getaddrinfo


def _local_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _local_getaddrinfo

from azure.core.credentials import AccessToken  # noqa: E402
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError  # noqa: E402
from azure.keyvault.secrets import SecretClient  # noqa: E402

URL = os.environ["KV_URL"]
RESOURCE = os.environ["KV_RESOURCE"]
CA = os.environ["KV_CA"]
steps = []


class DemoCredential:
    """Returns a demo-issuer JWT made by the test for the scope the challenge names."""

    def __init__(self, token):
        self.token = token
        self.scopes = []

    def get_token(self, *scopes, **kwargs):
        self.scopes.extend(scopes)
        return AccessToken(self.token, int(time.time()) + 240)


def client(token, version="7.3"):
    cred = DemoCredential(token)
    return SecretClient(URL, cred, api_version=version, connection_verify=CA), cred


def expect_status(fn, status, code=None):
    try:
        fn()
    except HttpResponseError as e:
        assert e.status_code == status, f"expected {status}, got {e.status_code}: {e}"
        if code is not None:
            assert e.error is not None and e.error.code == code, f"expected {code}, got {e.error and e.error.code}"
        return e
    raise AssertionError(f"expected HTTP {status}")


kv, cred = client(os.environ["KV_TOKEN_APP"])

# set, get (latest and by version): the first request is unauthenticated (the challenge)
a1 = kv.set_secret("demo-py", "one")
assert cred.scopes == [RESOURCE + "/.default"], cred.scopes
a2 = kv.set_secret("demo-py", "two", content_type="text/plain", tags={"lang": "py"})
assert kv.get_secret("demo-py").value == "two"
assert kv.get_secret("demo-py", a1.properties.version).value == "one"
assert a2.properties.tags == {"lang": "py"}
steps.append("set-get")

# list with paging (max_page_size becomes maxresults)
for i in range(7):
    kv.set_secret(f"demo-py-{i}", f"v{i}")
pages = 0
names = []
for page in kv.list_properties_of_secrets(max_page_size=3).by_page():
    pages += 1
    for p in page:
        names.append(p.name)
assert pages >= 3, pages
assert all(f"demo-py-{i}" in names for i in range(7)), names
assert len(set(names)) == len(names)
versions = [p.version for p in kv.list_properties_of_secret_versions("demo-py")]
assert sorted(versions) == sorted([a1.properties.version, a2.properties.version])
steps.append("list-paging")

# update properties (version omitted: the newest)
props = kv.update_secret_properties("demo-py", content_type="application/json", tags={"k": "v"})
assert props.content_type == "application/json" and props.tags == {"k": "v"} and props.version == a2.properties.version
steps.append("update")

# backup, delete (poller), list deleted, recover (poller), purge, restore
blob = kv.backup_secret("demo-py")
deleted = kv.begin_delete_secret("demo-py").result()
assert deleted.name == "demo-py" and deleted.deleted_date is not None
assert "demo-py" in [d.name for d in kv.list_deleted_secrets()]
expect_status(lambda: kv.get_secret("demo-py"), 404, "SecretNotFound")
try:
    kv.set_secret("demo-py", "three")
    raise AssertionError("set on a deleted secret succeeded")
except ResourceExistsError as e:
    assert e.status_code == 409
steps.append("delete")
kv.begin_recover_deleted_secret("demo-py").result()
assert kv.get_secret("demo-py").value == "two"
steps.append("recover")
kv.begin_delete_secret("demo-py").result()
kv.purge_deleted_secret("demo-py")
try:
    kv.get_deleted_secret("demo-py")
    raise AssertionError("purged secret still listed as deleted")
except ResourceNotFoundError:
    pass
restored = kv.restore_secret_backup(blob)
assert restored.name == "demo-py"
assert kv.get_secret("demo-py").value == "two"
steps.append("backup-restore")

# a principal without secrets/get
reader, _ = client(os.environ["KV_TOKEN_READER"])
e = expect_status(lambda: reader.get_secret("demo-py"), 403, "Forbidden")
steps.append("forbidden")

# an api-version outside 7.3-7.6
old, _ = client(os.environ["KV_TOKEN_APP"], version="7.2")
expect_status(lambda: old.get_secret("demo-py"), 400, "BadParameter")
steps.append("api-version")

print(json.dumps({"steps": steps}))
sys.stdout.flush()
