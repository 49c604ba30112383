"""The center files the deployments mount (MOTCUA_REGISTRY_DIR) are valid registry files,
and every file of a folder is in its ConfigMap (a file left out would never load)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from motcua.devtools.services import ROOT
from motcua.services.registry.files import load_folder, load_registry

K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = [K8S / "base", K8S / "overlays" / "production"]


def _listed(kustomization: Path) -> list[str]:
    data = yaml.safe_load((kustomization / "kustomization.yaml").read_text(encoding="utf-8"))
    (generator,) = [
        g for g in data.get("configMapGenerator", []) if g["name"] == "motcua-registry-files"
    ]
    return list(generator["files"])


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_the_mounted_center_files_are_valid_and_all_listed(kustomization: Path) -> None:
    folder = kustomization / "registry"
    centers = load_folder(folder)
    assert centers, folder
    on_disk = sorted(f"registry/{p.name}" for p in folder.glob("*.json"))
    assert sorted(_listed(kustomization)) == on_disk


def test_the_base_sample_is_the_packaged_one() -> None:
    packaged = ROOT / "motcua" / "services" / "registry" / "data" / "nam-cuong.json"
    assert (K8S / "base" / "registry" / "nam-cuong.json").read_bytes() == packaged.read_bytes()


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_the_mounted_procedure_catalog_is_valid(kustomization: Path) -> None:
    files = load_registry(kustomization / "registry")
    assert files.procedures, kustomization


def test_the_base_catalog_is_the_packaged_one() -> None:
    packaged = ROOT / "motcua" / "services" / "registry" / "data" / "procedures.json"
    assert (K8S / "base" / "registry" / "procedures.json").read_bytes() == packaged.read_bytes()
