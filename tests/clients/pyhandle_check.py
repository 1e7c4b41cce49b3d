"""Drives a running idnode with the unmodified EUDAT pyhandle REST client.

Usage: pyhandle_check.py BASE_URL IDENTITY SECRET PREFIX
Exits non-zero (with a traceback) on the first deviation.
"""
import sys

from pyhandle.handleclient import PyHandleClient
from pyhandle.handleexceptions import HandleAlreadyExistsException, HandleNotFoundException

url, identity, secret, prefix = sys.argv[1:5]
client = PyHandleClient("rest").instantiate_with_username_and_password(url, identity, secret, HTTPS_verify=False)
reader = PyHandleClient("rest").instantiate_for_read_access(handle_server_url=url, HTTPS_verify=False)

handle = prefix + "/pyhandle-check-1"
assert reader.retrieve_handle_record_json(handle) is None, "handle must not exist yet"

created = client.register_handle(handle, "https://example.com/first", checksum="abc123", EXTRA="one")
assert created == handle, created
try:
    client.register_handle(handle, "https://example.com/again")
    raise AssertionError("a second register without overwrite must fail")
except HandleAlreadyExistsException:
    pass

record = reader.retrieve_handle_record(handle)
assert record["URL"] == "https://example.com/first", record
assert record["CHECKSUM"] == "abc123", record
assert record["EXTRA"] == "one", record
assert reader.get_value_from_handle(handle, "URL") == "https://example.com/first"

client.modify_handle_value(handle, URL="https://example.com/second", NEWKEY="added")
record = reader.retrieve_handle_record(handle)
assert record["URL"] == "https://example.com/second", record
assert record["NEWKEY"] == "added", record

client.delete_handle_value(handle, "EXTRA")
assert "EXTRA" not in reader.retrieve_handle_record(handle)

minted = client.generate_and_register_handle(prefix, "https://example.com/minted")
assert minted.startswith(prefix + "/"), minted
assert reader.get_value_from_handle(minted, "URL") == "https://example.com/minted"

client.delete_handle(handle)
assert reader.retrieve_handle_record_json(handle) is None
try:
    client.delete_handle(handle)
    raise AssertionError("deleting a missing handle must fail")
except HandleNotFoundException:
    pass

print("pyhandle check passed")
