"""`bundle deploy -t staging|prod`: today's `deploy/` rendering with the project in the image.

The deploy bundle (`./deploy` of the project when it holds `base.yaml`, else the one shipped with
mlplatform) is copied to a temporary folder where its one code location becomes the project's
(`mlplatform.project.location`), the container's environment names the project
(`MLPLATFORM_PROJECT`, `MLPLATFORM_TARGET`) and the Dockerfile copies the project folder into the
image. `mlplatform.deployment` then renders, validates and applies it as `mlplatform deploy` does,
loading the project's definitions for its check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from mlplatform.project.model import Project
from mlplatform.project.workspace import location_name

IMAGE_PROJECT = "/opt/dagster/app/project"
"""Where the project folder lives in the code-location image."""


class ImageError(ValueError):
    """The project cannot be put in the image (it is outside the image's build context)."""


def _source(project: Project) -> Path:
    from mlplatform.deployment.bundle import default_bundle_dir

    return default_bundle_dir(project.root)


def project_bundle(project: Project, source: Path, dest: Path) -> Path:
    """Write the deploy bundle of the project under `dest`; returns its folder."""
    folder = dest / "deploy"
    shutil.copytree(source, folder)
    base_file = folder / "base.yaml"
    base = yaml.safe_load(base_file.read_text())
    ports = [int(s.get("port", 3030)) for s in (base.get("code_locations") or {}).values()]
    base["code_locations"] = {
        location_name(project): {
            "module": "mlplatform.project.location",
            "attribute": "defs",
            "port": ports[0] if ports else 3030,
        }
    }
    helm = base.setdefault("helm", {}) or {}
    helm["env"] = dict(helm.get("env") or {}) | {
        "MLPLATFORM_PROJECT": IMAGE_PROJECT,
        "MLPLATFORM_TARGET": project.target.name,
    }
    base["helm"] = helm
    base.pop("workflows", None)  # the demo's smoke assets and retrain job: not this project's
    base_file.write_text(yaml.safe_dump(base, sort_keys=False))
    from mlplatform.deployment.bundle import DEFAULT_BUNDLE_DIR

    # the image's build context: the folder holding deploy/ (the project's, for the packaged one)
    context = (project.root if source == DEFAULT_BUNDLE_DIR else source.parent).resolve()
    try:
        inside = project.root.resolve().relative_to(context)
    except ValueError as err:
        raise ImageError(
            f"project {project.root} is outside the image's build context {context}: put it "
            "inside, or give the project its own deploy/ folder"
        ) from err
    dockerfile = folder / str(base.get("image", {}).get("dockerfile", "Dockerfile"))
    text = dockerfile.read_text().replace(
        '-m", "mlplatform.definitions"', '-m", "mlplatform.project.location"'
    )
    copy = f"# the project (bundle {project.name!r}) the code location loads\n"
    copy += f"COPY {inside.as_posix() or '.'} {IMAGE_PROJECT}\n"
    marker = "\nUSER "
    at = text.find(marker)
    text = text[: at + 1] + copy + text[at + 1 :] if at >= 0 else text + copy
    dockerfile.write_text(text)
    return folder


def git_head(folder: Path) -> str | None:
    """The commit checked out in `folder` (None outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def deploy_image(project: Project, image_tag: str | None, out: Path | None, dry_run: bool):
    """Render (and unless `dry_run` apply) the project's target with `mlplatform.deployment`."""
    from mlplatform.deployment.deployer import deploy

    tag = image_tag or os.environ.get("GITHUB_SHA") or git_head(project.root)
    with tempfile.TemporaryDirectory(prefix="mlplatform-bundle-") as tmp:
        folder = project_bundle(project, _source(project), Path(tmp))
        before = {k: os.environ.get(k) for k in ("MLPLATFORM_PROJECT", "MLPLATFORM_TARGET")}
        os.environ["MLPLATFORM_PROJECT"] = str(project.root)  # the check loads the project here
        os.environ["MLPLATFORM_TARGET"] = project.target.name
        try:
            return deploy(
                project.target.name,
                image_tag=tag,
                out=out or Path("build") / "deploy" / project.target.name,
                dry_run=dry_run,
                bundle_dir=folder,
            )
        finally:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
