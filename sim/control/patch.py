"""Apply the three PATCH formats the apiserver accepts to JSON-shaped objects.

* JSON merge patch (RFC 7386): maps merge recursively, ``null`` deletes,
  anything else (lists included) replaces.
* Strategic merge patch: treated as a merge patch, except that the lists
  upstream merges by key (``conditions`` and ``addresses`` by ``type``,
  ``ownerReferences`` by ``uid``) are merged element by element, and a
  ``$patch: delete`` element removes the matching entry. Other directives are
  not modelled; the annotation and label patches kubeadm and kubelets send
  behave exactly as upstream.
* JSON patch (RFC 6902): add, remove, replace, move, copy, test.
Upstream: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go,
staging/src/k8s.io/apimachinery/pkg/util/strategicpatch/patch.go,
github.com/evanphx/json-patch.
"""

from __future__ import annotations

from typing import Any

from sim.control import status
from sim.control.store import clone
from sim.protocol.errors import ApiStatusError

__all__ = ["PatchError", "json_patch", "merge_patch", "strategic_merge_patch"]

# Lists strategic merge patch merges by a key field (patchMergeKey tags of the types joinsim serves).
_MERGE_KEYS = {"conditions": "type", "addresses": "type", "ownerReferences": "uid"}


class PatchError(ValueError):
    """Report a patch that cannot be applied; the text becomes the 422 message."""


def merge_patch(target: Any, patch: Any) -> Any:
    """Return ``target`` with an RFC 7386 merge patch applied (inputs are not modified)."""
    if not isinstance(patch, dict):
        return clone(patch)
    out = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Return ``target`` with a strategic merge patch applied (see the module note for what is modelled)."""
    if isinstance(patch, list) and field in _MERGE_KEYS and isinstance(target, list):
        return _merge_list(target, patch, _MERGE_KEYS[field])
    if not isinstance(patch, dict):
        return clone(patch)
    out = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
        else:
            out[key] = strategic_merge_patch(out.get(key), value, key)
    return out


def _merge_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    out: list[Any] = clone(target)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            out.append(clone(item))
            continue
        index = next((i for i, cur in enumerate(out) if isinstance(cur, dict) and cur.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del out[index]
        elif index is None:
            out.append(strategic_merge_patch({}, item))
        else:
            out[index] = strategic_merge_patch(out[index], item)
    return out


# --- RFC 6902 ---

def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'invalid JSON pointer "{path}"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, path: str, op: str) -> tuple[Any, str]:
    parts = _pointer(path)
    if not parts:
        raise PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")
    node = doc
    for part in parts[:-1]:
        node = _child(node, part, op, path)
    return node, parts[-1]


def _child(node: Any, part: str, op: str, path: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")


def _get(doc: Any, path: str, op: str) -> Any:
    node = doc
    for part in _pointer(path):
        node = _child(node, part, op, path)
    return node


def _add(doc: Any, path: str, value: Any, op: str = "add") -> Any:
    if path == "":
        return clone(value)
    parent, last = _parent(doc, path, op)
    if isinstance(parent, dict):
        parent[last] = clone(value)
    elif isinstance(parent, list):
        if last == "-":
            parent.append(clone(value))
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), clone(value))
        else:
            raise PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")
    else:
        raise PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> Any:
    parent, last = _parent(doc, path, op)
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """Return ``target`` with an RFC 6902 JSON patch applied; raise PatchError or a 400 for a bad patch."""
    if not isinstance(operations, list):
        raise status.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = clone(target)
    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str) or not isinstance(op.get("path"), str):
            raise PatchError("invalid operation: missing op or path")
        name, path = op["op"], op["path"]
        if name == "add":
            doc = _add(doc, path, op.get("value"))
        elif name == "remove":
            doc = _remove(doc, path)
        elif name == "replace":
            _get(doc, path, "replace")
            doc = _add(_remove(doc, path, "replace"), path, op.get("value"), "replace") if path else clone(op["value"])
        elif name in ("move", "copy"):
            source = op.get("from", "")
            value = clone(_get(doc, source, name))
            if name == "move":
                doc = _remove(doc, source, name)
            doc = _add(doc, path, value, name)
        elif name == "test":
            if _get(doc, path, "test") != op.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {name}")
    return doc


def patch_failed(err: PatchError) -> ApiStatusError:
    """Return the 422 the patch handler answers when a JSON patch does not apply."""
    body = status.status(422, "Invalid", str(err))
    return ApiStatusError(body)
