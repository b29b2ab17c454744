#!/usr/bin/env python3
"""scripts/azurite-admin.py: a tiny Azure blob client (SharedKey) for the sandbox's Azurite.

Used by scripts/sandbox and test/integration/lib.sh to make containers and to check
what drctl wrote, with an independent signer (python's hmac, not drctl's C code).

usage: azurite-admin.py COMMAND [ARGS]

  create NAME             create container NAME (exit 0 if it already exists)
  delete NAME             delete container NAME and all its blobs (0 if absent)
  exists NAME             exit 0 if container NAME exists, 1 if not
  list [NAME]             list containers, or the blobs of container NAME, one a line
  put NAME BLOB FILE      upload FILE as a block blob ("-" = stdin)
  get NAME BLOB           print the blob's bytes on stdout (exit 1 if absent)
  rm NAME BLOB            delete the blob (exit 0 if absent)

Environment: AZURE_ENDPOINT (default http://127.0.0.1:10000), AZURE_ACCOUNT
(default devstoreaccount1), AZURE_KEY (default: Azurite's well-known key).
URLs are path-style: ENDPOINT/ACCOUNT/CONTAINER/BLOB. Only the standard library.
"""
import base64
import email.utils
import hashlib
import hmac
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

WELL_KNOWN_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
                  "K1SZFPTOtr/KBHBeksoGMGw==")
API_VERSION = "2021-08-06"

ENDPOINT = os.environ.get("AZURE_ENDPOINT", "http://127.0.0.1:10000").rstrip("/")
ACCOUNT = os.environ.get("AZURE_ACCOUNT", "devstoreaccount1")
KEY = os.environ.get("AZURE_KEY", WELL_KNOWN_KEY)

# The standard headers of the string-to-sign, in order (after the verb).
SIGNED_STD = ["content-encoding", "content-language", "content-length", "content-md5",
              "content-type", "date", "if-modified-since", "if-match", "if-none-match",
              "if-unmodified-since", "range"]


def string_to_sign(verb, path, query, headers):
    """SharedKey string-to-sign: verb, standard headers, x-ms-* headers, resource."""
    h = {k.lower(): v for k, v in headers.items()}
    if h.get("content-length") == "0":
        h["content-length"] = ""        # since 2015-02-21: a zero length is signed empty
    lines = [verb] + [h.get(name, "") for name in SIGNED_STD]
    ms = sorted((k, v.strip()) for k, v in h.items() if k.startswith("x-ms-"))
    canon_headers = "".join(f"{k}:{v}\n" for k, v in ms)
    # Path-style: the path already starts with /ACCOUNT, so the account appears twice.
    resource = f"/{ACCOUNT}{path}"
    for name in sorted({k.lower() for k, _ in query}):
        values = sorted(v for k, v in query if k.lower() == name)
        resource += f"\n{name}:{','.join(values)}"
    return "\n".join(lines) + "\n" + canon_headers + resource


def request(verb, path, query=(), body=None, headers=None):
    """One signed request; returns (status, body bytes). path is /ACCOUNT/..., unencoded."""
    headers = dict(headers or {})
    headers["x-ms-date"] = email.utils.formatdate(usegmt=True)
    headers["x-ms-version"] = API_VERSION
    headers["Content-Length"] = str(len(body) if body is not None else 0)
    qpath = urllib.parse.quote(path)
    sts = string_to_sign(verb, qpath, query, headers)
    mac = hmac.new(base64.b64decode(KEY), sts.encode("utf-8"), hashlib.sha256).digest()
    headers["Authorization"] = f"SharedKey {ACCOUNT}:{base64.b64encode(mac).decode()}"
    url = ENDPOINT + qpath + ("?" + urllib.parse.urlencode(query) if query else "")
    # No body: data=None, else urllib would add (unsigned) form Content-Type.
    req = urllib.request.Request(url, data=body, method=verb, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def fail(msg, code=1):
    print(f"azurite-admin: {msg}", file=sys.stderr)
    sys.exit(code)


def expect(what, status, body, ok):
    if status not in ok:
        text = body.decode("utf-8", "replace")
        m = re.search(r"<Message>(.*?)</Message>", text, re.S)
        why = (m.group(1) if m else text).strip().split("\n")[0][:300]
        fail(f"{what} failed: HTTP {status}: {why}")


def container(name):
    return f"/{ACCOUNT}/{name}"


def cmd_create(name):
    st, body = request("PUT", container(name), [("restype", "container")])
    expect(f"create container '{name}'", st, body, (201, 409))


def cmd_delete(name):
    st, body = request("DELETE", container(name), [("restype", "container")])
    expect(f"delete container '{name}'", st, body, (202, 404))


def cmd_exists(name):
    st, body = request("GET", container(name), [("restype", "container")])
    if st == 404:
        sys.exit(1)
    expect(f"get container '{name}'", st, body, (200,))


def cmd_list(name=None):
    if name is None:
        st, body = request("GET", f"/{ACCOUNT}", [("comp", "list")])
        tag = "Container"
    else:
        st, body = request("GET", container(name),
                           [("comp", "list"), ("restype", "container")])
        tag = "Blob"
    expect(f"list '{name or ACCOUNT}'", st, body, (200,))
    # Names only; one page (the sandbox never holds more than 5000).
    for m in re.finditer(rf"<{tag}><Name>(.*?)</Name>", body.decode("utf-8")):
        print(m.group(1))


def cmd_put(name, blob, path):
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    st, body = request("PUT", f"{container(name)}/{blob}", body=data,
                       headers={"x-ms-blob-type": "BlockBlob",
                                "Content-Type": "application/octet-stream"})
    expect(f"put blob '{name}/{blob}'", st, body, (201,))


def cmd_get(name, blob):
    st, body = request("GET", f"{container(name)}/{blob}")
    expect(f"get blob '{name}/{blob}'", st, body, (200,))
    sys.stdout.buffer.write(body)


def cmd_rm(name, blob):
    st, body = request("DELETE", f"{container(name)}/{blob}")
    expect(f"delete blob '{name}/{blob}'", st, body, (202, 404))


COMMANDS = {"create": (cmd_create, 1, 1), "delete": (cmd_delete, 1, 1),
            "exists": (cmd_exists, 1, 1), "list": (cmd_list, 0, 1),
            "put": (cmd_put, 3, 3), "get": (cmd_get, 2, 2), "rm": (cmd_rm, 2, 2)}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(__doc__[__doc__.index("usage:"):].strip(), file=sys.stderr)
        sys.exit(2)
    fn, lo, hi = COMMANDS[argv[1]]
    args = argv[2:]
    if not lo <= len(args) <= hi:
        fail(f"'{argv[1]}' takes {lo}..{hi} arguments (see --help)", 2)
    try:
        fn(*args)
    except (urllib.error.URLError, OSError) as e:
        fail(f"{argv[1]}: cannot reach {ENDPOINT}: {e}")


if __name__ == "__main__":
    main(sys.argv)
