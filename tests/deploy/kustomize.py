"""A small Python stand-in for ``kustomize build``, for the fields deploy/k8s uses.

It resolves ``resources`` (files and directories), ``configMapGenerator`` and
``secretGenerator`` (create and merge), ``patches`` (strategic merge, with or
without a target), ``replicas``, ``images``, ``replacements`` (by kind and name,
with ``delimiter``/``index`` options) and ``namespace``, and fails loudly
on anything else, so a manifest using a field this checker does not model is
caught rather than silently mis-built. Generated names get no hash suffix here;
kustomize rewrites the references to them, so they match either way.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "patches",
    "configMapGenerator",
    "secretGenerator",
    "replicas",
    "images",
    "replacements",
}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "PriorityClass",
    "StorageClass",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
# Strategic-merge keys of the lists this project patches.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "envFrom": None,
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}


class KustomizeError(AssertionError):
    """The kustomization cannot be built."""


@dataclass(frozen=True)
class Built:
    directory: Path
    resources: list[Resource]

    def find(self, kind: str, name: str) -> Resource:
        for r in self.resources:
            if r["kind"] == kind and r["metadata"]["name"] == name:
                return r
        raise KeyError(f"{kind}/{name} not in the build of {self.directory}")

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r["kind"] == kind]


def load_kustomization(directory: Path) -> dict[str, Any]:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        path = directory / name
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise KustomizeError(f"{path} is not a mapping")
            return data
    raise KustomizeError(f"{directory} has no kustomization.yaml")


def build(directory: Path) -> Built:
    return Built(directory, _build(directory.resolve(), ()))


def _build(directory: Path, stack: tuple[Path, ...]) -> list[Resource]:
    if directory in stack:
        raise KustomizeError(f"cycle through {directory}")
    k = load_kustomization(directory)
    unknown = set(k) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}: fields this checker does not model: {sorted(unknown)}")
    out: list[Resource] = []
    for entry in k.get("resources", []):
        if "://" in entry or entry.startswith("github.com/"):
            raise KustomizeError(f"{directory}: remote resource {entry!r} is not allowed")
        path = (directory / entry).resolve()
        if path.is_dir():
            out.extend(_build(path, (*stack, directory)))
        elif path.is_file():
            out.extend(_load_docs(path))
        else:
            raise KustomizeError(f"{directory}: resource {entry!r} does not exist")
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for gen in k.get(key, []):
            _generate(directory, out, kind, gen)
    for entry in k.get("patches", []):
        _patch(directory, out, entry)
    for entry in k.get("replicas", []):
        targets = [
            r
            for r in out
            if r["kind"] in ("Deployment", "StatefulSet") and r["metadata"]["name"] == entry["name"]
        ]
        if not targets:
            raise KustomizeError(f"{directory}: replicas for unknown {entry['name']!r}")
        for r in targets:
            r["spec"]["replicas"] = int(entry["count"])
    for entry in k.get("images", []):
        if not _set_image(out, entry):
            raise KustomizeError(
                f"{directory}: images entry {entry['name']!r} matches no container"
            )
    for entry in k.get("replacements", []):
        _replace(directory, out, entry)
    if "namespace" in k:
        for r in out:
            if r["kind"] not in CLUSTER_SCOPED:
                r["metadata"]["namespace"] = k["namespace"]
    seen: set[tuple[str, str]] = set()
    for r in out:
        ident = (r["kind"], r["metadata"]["name"])
        if ident in seen:
            raise KustomizeError(f"{directory}: {ident[0]}/{ident[1]} defined twice")
        seen.add(ident)
    return out


def _load_docs(path: Path) -> list[Resource]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    for d in docs:
        if not isinstance(d, dict) or not {"apiVersion", "kind", "metadata"} <= set(d):
            raise KustomizeError(f"{path}: a document lacks apiVersion, kind or metadata")
        if not d["metadata"].get("name"):
            raise KustomizeError(f"{path}: a {d['kind']} has no metadata.name")
    return docs


def _generate(directory: Path, out: list[Resource], kind: str, gen: dict[str, Any]) -> None:
    data: dict[str, str] = {}
    for literal in gen.get("literals", []):
        key, sep, value = literal.partition("=")
        if not sep:
            raise KustomizeError(f"{directory}: literal {literal!r} has no '='")
        data[key] = value
    for env_file in gen.get("envs", []):
        path = directory / env_file
        if not path.is_file():
            raise KustomizeError(f"{directory}: env file {env_file!r} does not exist")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                data[key.strip()] = value
    for file_entry in gen.get("files", []):
        key, sep, rel = file_entry.partition("=")
        path = directory / (rel if sep else key)
        if not path.is_file():
            raise KustomizeError(f"{directory}: file {path} does not exist")
        data[key if sep else path.name] = path.read_text(encoding="utf-8")
    behavior = gen.get("behavior", "create")
    existing = [r for r in out if r["kind"] == kind and r["metadata"]["name"] == gen["name"]]
    if behavior == "create":
        if existing:
            raise KustomizeError(f"{directory}: {kind} {gen['name']} already exists; use merge")
        out.append(
            {"apiVersion": "v1", "kind": kind, "metadata": {"name": gen["name"]}, "data": data}
        )
    elif behavior in ("merge", "replace"):
        if not existing:
            raise KustomizeError(f"{directory}: {behavior} of unknown {kind} {gen['name']}")
        target = existing[0]
        target["data"] = (target.get("data", {}) if behavior == "merge" else {}) | data
    else:
        raise KustomizeError(f"{directory}: unknown generator behavior {behavior!r}")


def _patch(directory: Path, out: list[Resource], entry: dict[str, Any]) -> None:
    if "path" in entry:
        path = directory / entry["path"]
        if not path.is_file():
            raise KustomizeError(f"{directory}: patch {entry['path']!r} does not exist")
        text = path.read_text(encoding="utf-8")
    elif "patch" in entry:
        text = entry["patch"]
    else:
        raise KustomizeError(f"{directory}: a patch needs path or patch")
    body = yaml.safe_load(text)
    if not isinstance(body, dict):
        raise KustomizeError(f"{directory}: only strategic-merge patches are modelled")
    if "target" in entry:
        targets = [r for r in out if _selected(r, entry["target"])]
    else:
        targets = [
            r
            for r in out
            if r["kind"] == body.get("kind") and r["metadata"]["name"] == body["metadata"]["name"]
        ]
    if not targets:
        raise KustomizeError(f"{directory}: patch {entry.get('path', '<inline>')} targets nothing")
    if body.get("$patch") == "delete":  # the resource itself goes, as kustomize does it
        out[:] = [r for r in out if all(r is not t for t in targets)]
        return
    for r in targets:
        patched = strategic_merge(r, {k: v for k, v in body.items() if k != "metadata"})
        r.clear()
        r.update(patched)


def _replace(directory: Path, out: list[Resource], entry: dict[str, Any]) -> None:
    """One ``replacements`` entry: a source field's value (or one delimited part of
    it) written into target fields (whole, or one delimited part of them)."""
    source = entry["source"]
    found = [r for r in out if _selected(r, source)]
    if len(found) != 1:
        raise KustomizeError(f"{directory}: replacement source {source} matches {len(found)}")
    value = _cut(_get(found[0], source["fieldPath"]), source.get("options", {}))
    for target in entry["targets"]:
        resources = [r for r in out if _selected(r, target["select"])]
        if not resources:
            raise KustomizeError(f"{directory}: replacement target {target['select']} is missing")
        options = target.get("options", {})
        for r in resources:
            for path in target["fieldPaths"]:
                *parents, last = _steps(path)
                node = _walk(r, parents, path)
                key = _locate(node, last, path)
                node[key] = _splice(node[key], value, options)


def _steps(path: str) -> list[str]:
    # Enough of kustomize's field paths: dotted names, list indexes and [key=value].
    return re.findall(r"\[[^\]]*\]|[^.]+", path)


def _locate(node: Any, step: str, path: str) -> Any:
    if step.startswith("["):
        field, _, wanted = step[1:-1].partition("=")
        for i, item in enumerate(node):
            if (item.get(field) if field else item) == wanted:
                return i
        raise KustomizeError(f"{path}: nothing matches {step}")
    if isinstance(node, list):
        return int(step)
    if step not in node:
        raise KustomizeError(f"{path}: no field {step}")
    return step


def _walk(node: Any, steps: list[str], path: str) -> Any:
    for step in steps:
        node = node[_locate(node, step, path)]
    return node


def _get(resource: Resource, path: str) -> str:
    *parents, last = _steps(path)
    node = _walk(resource, parents, path)
    return str(node[_locate(node, last, path)])


def _cut(value: str, options: dict[str, Any]) -> str:
    if "delimiter" not in options:
        return value
    return value.split(options["delimiter"])[int(options.get("index", 0))]


def _splice(current: Any, value: str, options: dict[str, Any]) -> str:
    if "delimiter" not in options:
        return value
    parts = str(current).split(options["delimiter"])
    parts[int(options.get("index", 0))] = value
    return str(options["delimiter"]).join(parts)


def _selected(resource: Resource, target: dict[str, Any]) -> bool:
    if "kind" in target and resource["kind"] != target["kind"]:
        return False
    if "name" in target and resource["metadata"]["name"] != target["name"]:
        return False
    if "labelSelector" in target:
        labels = resource["metadata"].get("labels", {})
        for term in str(target["labelSelector"]).split(","):
            key, _, value = term.partition("=")
            if labels.get(key.strip()) != value.strip():
                return False
    return True


def strategic_merge(base: Any, patch: Any) -> Any:
    """Kubernetes strategic merge for the shapes used here: maps merge, keyed lists
    merge by their key, ``null`` deletes, other lists are replaced."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = strategic_merge(out[key], value)
        elif isinstance(value, list) and isinstance(out.get(key), list) and key in MERGE_KEYS:
            out[key] = _merge_list(out[key], value, MERGE_KEYS[key])
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_list(base: list[Any], patch: list[Any], key: str | None) -> list[Any]:
    out = copy.deepcopy(base)
    for item in patch:
        if key is None or not isinstance(item, dict) or key not in item:
            if item not in out:
                out.append(copy.deepcopy(item))
            continue
        match = next((i for i, b in enumerate(out) if b.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if match is not None:
                del out[match]
        elif match is None:
            out.append(copy.deepcopy(item))
        else:
            out[match] = strategic_merge(out[match], item)
    return out


def pod_spec(resource: Resource) -> dict[str, Any] | None:
    if resource["kind"] in WORKLOADS:
        spec: dict[str, Any] = resource["spec"]["template"]["spec"]
        return spec
    return None


def image_name(image: str) -> str:
    """The image without tag or digest: ``registry/motcua:1.0`` → ``registry/motcua``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def _set_image(out: list[Resource], entry: dict[str, Any]) -> bool:
    hit = False
    for r in out:
        spec = pod_spec(r)
        if spec is None:
            continue
        for c in [*spec.get("containers", []), *spec.get("initContainers", [])]:
            if image_name(c["image"]) != entry["name"]:
                continue
            hit = True
            tag = c["image"][len(image_name(c["image"])) :]
            name = entry.get("newName", entry["name"])
            if "digest" in entry:
                tag = "@" + entry["digest"]
            elif "newTag" in entry:
                tag = ":" + str(entry["newTag"])
            c["image"] = name + tag
    return hit
